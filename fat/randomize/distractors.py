"""Distractors: 0-N objects that fall with the targets, collide with them and hide them, and are never
annotated: primitives (boxes, spheres, cylinders, capsules, cones, plates, sticks) and, by option,
meshes from a folder (PyBullet's ``random_urdfs`` in ``pybullet_data``, for example). Each gets a
random material for its drop.

A distractor's size (its longest side) is one of four sizes spaced evenly in ratio over the
``size`` range, so each mesh is converted (collision shape and all) at most four times, once per
machine (the asset cache)."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..looks import LOOK_KINDS
from ..drop.sampling import random_rotation
from ..geometry import make_pose
from . import Draft, Options, RandomizeError, Randomizer, draw, param
from .surfaces import set_folders

PRIMITIVES = ("box", "sphere", "cylinder", "capsule", "cone", "plate", "stick")
SIZE_LEVELS = 4
#: Mesh files of a folder looked at, at most (a folder is listed, not read, until a mesh is drawn).
MAX_MESHES = 100_000


@dataclass(frozen=True)
class DistractorOptions(Options):
    count: tuple = param((0, 6), "count_range", "Distractors per drop.", low=0, high=20)
    size: tuple = param((0.04, 0.25), "range", "Longest side, metres.", low=0.005, high=2.0)
    radius: float = param(0.25, "number", "They start within this distance (metres) of the drop's axis.",
                          low=0.0, high=2.0)
    meshes: str | None = param(None, "path", "A folder of meshes (one per file or sub-folder; random_urdfs, "
                               "for example) drawn from besides the primitives.")
    primitives: float = param(0.5, "probability", "With meshes: the share of primitives.")
    kinds: dict = param({"texture": 1.0, "color": 1.0, "pattern": 1.0}, "weights",
                        "Weights of their materials: texture sets, flat colours, patterns.", names=LOOK_KINDS)
    textures: str | None = param(None, "path", "A folder of PBR texture sets. [--textures, else the shipped sets]")


def mesh_files(folder: str) -> list[Path]:
    """The meshes of ``folder``: its top-level mesh files and one per sub-folder (not collision
    meshes), sorted; listed, not read."""
    from ..assets.mesh_reading import MESH_SUFFIXES

    root = Path(folder)
    if not root.is_dir():
        raise RandomizeError("randomize.distractors.meshes", f"{folder}: not a folder")

    def meshes(d: Path) -> list[Path]:
        return sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in MESH_SUFFIXES
                      and not p.name.startswith(".") and "coll" not in p.stem.lower())

    out = meshes(root)
    for sub in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        found = meshes(sub)
        out += found[:1]
        if len(out) >= MAX_MESHES:
            break
    if not out:
        raise RandomizeError("randomize.distractors.meshes", f"{folder}: no mesh file in the folder or its sub-folders")
    return out[:MAX_MESHES]


def primitive_file(shape: str) -> Path:
    """An OBJ of a primitive about 1 m across, written once into the cache."""
    import trimesh

    from ..assets.cache import cache_dir
    from ..fileio import writing

    path = cache_dir() / "distractors" / "v1" / f"{shape}.obj"
    if path.is_file():
        return path
    c = trimesh.creation
    mesh = {"box": lambda: c.box(extents=(1.0, 0.7, 0.5)), "sphere": lambda: c.icosphere(subdivisions=3, radius=0.5),
            "cylinder": lambda: c.cylinder(radius=0.35, height=1.0, sections=32),
            "capsule": lambda: c.capsule(height=0.6, radius=0.2, count=(16, 16)),
            "cone": lambda: c.cone(radius=0.45, height=1.0, sections=32),
            "plate": lambda: c.box(extents=(1.0, 0.8, 0.08)), "stick": lambda: c.box(extents=(1.0, 0.12, 0.12))}[shape]()
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.parent / "grey.mtl").write_text("newmtl grey\nKd 0.8 0.8 0.8\n")
    text = trimesh.exchange.obj.export_obj(mesh, include_texture=False, include_normals=False)
    with writing(path) as tmp:
        Path(tmp).write_text("mtllib grey.mtl\nusemtl grey\n" + text)
    return path


@functools.lru_cache(maxsize=4096)
def _asset(path: str, size: float):
    """The asset of the mesh ``path`` scaled to ``size`` metres at its longest side."""
    from ..assets.objects import file_assets
    from ..assets.mesh_reading import read_mesh_file
    from ..objectsets.build import Entry, make_set

    mesh = read_mesh_file(Path(path)).mesh
    longest = float(np.ptp(mesh.vertices, axis=0).max())
    if not longest > 0:
        raise RandomizeError("randomize.distractors.meshes", f"{path}: the mesh has no extent")
    s = size / longest
    name = f"distractor_{Path(path).stem}"
    entry = Entry(name, Path(path), path, 1.0, "aabb", transform=np.diag([s, s, s, 1.0]), class_name="distractor")
    info = make_set("distractors", [entry], "distractor", "distractors", path).objects[0]
    return file_assets([info], texture_size=256)[name]


#: Start positions tried for a distractor (all drawn, whatever is taken: the stream does not depend on the props).
START_TRIES = 8


def _free_start(rng, loc, radius: float, size: float) -> np.ndarray:
    """A start position in the cylinder of ``radius`` about the drop's axis, above the targets' drop
    height, the first of :data:`START_TRIES` draws that keeps ``size`` clear of every prop (a draw
    inside a wall or a pillar could not be freed by lifting); else on the drop's axis."""
    points = []
    for _ in range(START_TRIES):
        r, a = radius * math.sqrt(rng.uniform()), rng.uniform(0.0, 2 * math.pi)
        h = loc.drop_height + rng.uniform(0.0, loc.drop_span) + size / 2
        points.append(loc.fixation + np.array([r * math.cos(a), r * math.sin(a), h]))
    for p in points:
        if not any(np.any(prop.contains(p[None], size)) for prop in loc.props):
            return p
    return loc.fixation + np.array([0.0, 0.0, loc.drop_height + loc.drop_span + size / 2])


class Distractors(Randomizer):
    """Per drop, with its probability: distractors with start poses around the drop, and their materials."""

    name = "distractors"
    Options = DistractorOptions

    @classmethod
    def check(cls, options) -> None:
        if options.meshes is not None:
            mesh_files(options.meshes)
        if options.textures is not None:
            set_folders(options.textures, "randomize.distractors.textures")

    def __init__(self, options):
        super().__init__(options)
        self.meshes = mesh_files(options.meshes) if options.meshes else []
        lo, hi = options.size
        self.sizes = [float(x) for x in np.geomspace(lo, hi, SIZE_LEVELS)] if hi > lo else [float(lo)]

    def apply(self, rng, draft: Draft) -> None:
        o = self.options
        on = rng.uniform() < o.probability
        n = int(rng.integers(o.count[0], o.count[1] + 1))
        sets = set_folders(o.textures or draft.textures, "randomize.distractors.textures")
        loc = draft.location
        drawn, looks = [], []
        for _ in range(n):
            primitive = not self.meshes or rng.uniform() < o.primitives
            k = int(rng.integers(len(PRIMITIVES) if primitive else len(self.meshes)))
            size = self.sizes[int(rng.integers(len(self.sizes)))]
            start = make_pose(random_rotation(rng), _free_start(rng, loc, o.radius, size))
            look = draw.look(rng, o.kinds, sets, (0.2, 1.0), 0.1)
            path = primitive_file(PRIMITIVES[k]) if primitive else self.meshes[k]
            drawn.append((str(path), size, start))
            looks.append(look)
        if not on or not drawn:
            return
        draft.distractors.extend((_asset(path, size), start) for path, size, start in drawn)
        for frame_looks in draft.looks:
            frame_looks["distractors"] = tuple(looks)
