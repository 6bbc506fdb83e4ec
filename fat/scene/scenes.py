"""Scenes and locations: plain data loaded from ``scenes/<scene>.json``, or a scene file the user names.

A location has a fixation point (where objects land and the camera looks), a heading (the world
azimuth of camera azimuth 0), a ground, props, lighting and the drop cylinder. Prop positions in the
files are given in the location's frame: origin at the fixation point, x along the heading, z up.
Props never sit where the camera is sampled: :func:`check_camera_clearance` proves it for the ranges
in use, and loading refuses a location that breaks it.

A scene may instead be a glTF 2.0 file (``"asset"`` in its scene file, or the file itself given as
the scene: :func:`scene_name`): its triangles are the scenery, its locations are named nodes,
points, or the largest free horizontal surface near its centre (:mod:`fat.scene.sightlines`), and each
camera is checked against its triangles when it is drawn.
"""

from __future__ import annotations

import functools
import json
import math
import re
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..geometry import make_pose
from .location import CAMERA_MARGIN, CameraRanges, Light as Light, Location, Prop, Surface, _light, _rot  # Light: re-exported
from .props import PROP_SHAPES



def scenes_folder():
    """Where the scene files are: the ``scenes/`` folder, installed as ``fat.scenes``."""
    return resources.files("fat.scenes")


@functools.lru_cache(maxsize=1)
def scene_names() -> tuple[str, ...]:
    """Every scene of :func:`scenes_folder`: one per ``<name>.json`` file, sorted by name. A scene
    is data; adding a file adds a scene."""
    return tuple(sorted(f.name[: -len(".json")] for f in scenes_folder().iterdir()
                        if f.name.endswith(".json") and not f.name.startswith((".", "_"))))


#: FAT's scenes: the default choice (the other scenes of scenes/ are chosen by name).
FAT_SCENES = ("kitchen", "kitedemo", "temple")
#: Scene files given by path (a glTF file, or a scene file): scene name -> absolute path.
_FILES: dict[str, str] = {}
#: Suffixes of the files a scene may be given as.
SCENE_FILES = (".glb", ".gltf", ".json")


def scene_name(given: str) -> str:
    """The name of a scene given by name (one of :func:`scene_names`) or by the path of a scene
    file (``.glb``, ``.gltf``, or a scene ``.json``): the file's name without its suffix, letters,
    digits, ``_`` and ``-`` kept. A path is remembered in this process, so its locations are found by name."""
    if given in scene_names() or given in _FILES:
        return given
    p = Path(given).expanduser()
    if p.suffix.lower() not in SCENE_FILES:
        raise ConfigError(f"unknown scene {given!r}; known: {', '.join(scene_names())}, or a scene file "
                          f"({', '.join(SCENE_FILES)})")
    if not p.is_file():
        raise ConfigError(f"{p}: no such scene file")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", p.stem).strip("-") or "scene"
    if name in scene_names():
        raise ConfigError(f"{p}: its name {name!r} is a shipped scene's; rename the file")
    path = str(p.resolve())
    if _FILES.setdefault(name, path) != path:
        raise ConfigError(f"{p}: another scene file is named {name!r} ({_FILES[name]}); rename one")
    return name

def _surface(d: dict, where: str) -> Surface:
    from .textures import KINDS

    if d.get("texture") not in KINDS:
        raise ConfigError(f"{where}: texture {d.get('texture')!r} is not one of {', '.join(sorted(KINDS))}")
    cols = tuple(tuple(float(x) for x in c) for c in d.get("colors", []))
    if not cols or any(len(c) != 3 for c in cols):
        raise ConfigError(f"{where}: colors must be a list of RGB triples")
    return Surface(d["texture"], cols, float(d.get("tile", 1.0)))


def _prop(d: dict, frame: np.ndarray, where: str) -> Prop:
    shape = PROP_SHAPES.get(d.get("shape"))
    if shape is None:
        raise ConfigError(f"{where}: shape {d.get('shape')!r} is not one of {', '.join(PROP_SHAPES)}")
    local = make_pose(_rot("z", d.get("yaw_deg", 0.0)) @ _rot("x", d.get("roll_deg", 0.0)), d["center"])
    try:
        size = shape.size(d)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {shape.name} sizes ({', '.join(shape.fields)}) must be numbers") from None
    if size.shape != (3,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
        raise ConfigError(f"{where}: sizes must be positive")
    return Prop(d.get("name", shape.name), shape.name, frame @ local, size, _surface(d, where))


def _backdrop_room(d: dict) -> float:
    """How far from the fixation point's vertical the ring of :func:`_backdrop` begins."""
    inner = float(d["radius"]) * (1 - abs(float(d.get("jitter", 0.0))))
    return inner - (0.05 if d["kind"] == "walls" else float(d.get("radius_each", 0.2)))


def _backdrop(d: dict, frame: np.ndarray, ground_z: float, where: str) -> list[Prop]:
    """A ring of props standing on the ground around the location, far outside the camera's reach:
    walls, trees, columns."""
    out = []
    n, radius, height = int(d["count"]), float(d["radius"]), float(d["height"])
    base = ground_z - frame[2, 3] + float(d.get("base", 0.0))  # bottom, in the location frame
    for k in range(n):
        a = 2 * math.pi * (k + 0.5 * (d.get("stagger", 0) and k % 2)) / n
        r = radius * (1 + d.get("jitter", 0.0) * math.sin(7.3 * k))
        c = [r * math.cos(a), r * math.sin(a), base + height / 2]
        if d["kind"] == "walls":
            width = 2 * radius * math.tan(math.pi / n) * 1.02
            spec = {"shape": "box", "size": [0.1, width, height], "center": c, "yaw_deg": math.degrees(a)}
        else:
            spec = {"shape": "cylinder", "radius": d.get("radius_each", 0.2), "height": height, "center": c}
        out.append(_prop({**spec, "texture": d["texture"], "colors": d["colors"], "tile": d.get("tile", 1.0),
                          "name": f"{d['kind']}{k}"}, frame, f"{where}[{k}]"))
    return out


def _location(scene: str, scene_doc: dict, i: int, d: dict) -> Location:
    where = f"scenes/{scene}.json: locations[{i}]"
    try:
        fix = np.array(d["fixation"], float)
        heading = float(d.get("heading_deg", 0.0))
        frame = make_pose(_rot("z", heading), fix)
        ground = _surface({**scene_doc.get("ground", {}), **d.get("ground", {})}, f"{where}.ground")
        props = [_prop(p, frame, f"{where}.props[{k}]") for k, p in enumerate(d.get("props", []))]
        ground_z = float(d.get("ground_z", 0.0))
        room = math.inf
        for b in scene_doc.get("backdrop", []) + d.get("backdrop", []):
            props += _backdrop(b, frame, ground_z, f"{where}.backdrop")
            room = min(room, _backdrop_room(b))
        light = _light(d["light"], frame, d["light"].get("label", ""))
        return Location(scene, i, fix, heading, ground_z, ground, tuple(props), light,
                        float(d.get("drop_height", scene_doc.get("drop_height", 0.15))),
                        description=d.get("description", ""),
                        environment=str(d.get("environment", scene_doc.get("environment", ""))), room=room)
    except KeyError as e:
        raise ConfigError(f"{where}: missing field {e.args[0]!r}") from None


@functools.lru_cache(maxsize=None)
def load_scene(scene: str) -> tuple[Location, ...]:
    """The locations of a scene (FAT's: ``kitchen``, ``kitedemo``, ``temple``, five each; or a scene
    file given by path, :func:`scene_name`)."""
    from . import gltf_places

    scene = scene_name(scene)
    if scene in _FILES and Path(_FILES[scene]).suffix.lower() != ".json":
        return gltf_places.file_locations(scene, Path(_FILES[scene]))
    if scene in _FILES:
        where, folder = _FILES[scene], Path(_FILES[scene]).parent
        read = Path(_FILES[scene]).read_text
    elif scene in scene_names():
        where, folder = f"scenes/{scene}.json", Path(str(scenes_folder()))
        read = scenes_folder().joinpath(f"{scene}.json").read_text
    else:
        raise ConfigError(f"unknown scene {scene!r}; known: {', '.join(scene_names())}")
    try:
        doc = json.loads(read(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise ConfigError(f"{where}: unreadable ({str(e).splitlines()[0]})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("locations", []), list):
        raise ConfigError(f"{where}: expected an object with a list of locations")
    if "asset" in doc:
        locs = gltf_places.scene_locations(scene, doc, folder, where)
    else:
        locs = tuple(_location(scene, doc, i, d) for i, d in enumerate(doc.get("locations", [])))
    if not locs:
        raise ConfigError(f"{where}: no locations")
    return locs


def n_locations(scene: str) -> int:
    """How many locations ``scene`` has (indices 0 .. n - 1)."""
    return len(load_scene(scene))


def get_location(name: str) -> Location:
    """``kitchen_0`` ... ``temple_4``: a scene's name, ``_``, a location index."""
    scene, _, idx = name.rpartition("_")
    known = scene_names() + tuple(_FILES)
    if scene not in known or not idx.isdigit() or not 0 <= int(idx) < n_locations(scene):
        raise ConfigError(f"unknown location {name!r}; locations are <scene>_<index> with scene in {', '.join(known)}"
                          + (f" and index 0..{n_locations(scene) - 1}" if scene in known else ""))
    return load_scene(scene)[int(idx)]


def all_locations() -> list[Location]:
    return [loc for s in scene_names() for loc in load_scene(s)]


def _grid(lo: float, hi: float, step: float) -> np.ndarray:
    return np.arange(lo, hi + 1e-9, step)


def camera_region_samples(loc: Location, ranges: CameraRanges, step_deg: float = 1.0, step_m: float = 0.02) -> np.ndarray:
    """World points densely covering where cameras are sampled at this location."""
    return _region_points(loc, _grid(*ranges.azimuth, step_deg), _grid(*ranges.elevation, step_deg),
                          _grid(*ranges.distance, step_m))


def _region_points(loc: Location, az_deg: np.ndarray, el_deg: np.ndarray, d: np.ndarray) -> np.ndarray:
    """The world points of the grid ``az_deg x el_deg x d`` about the fixation point."""
    A, E, D = np.meshgrid(az_deg, el_deg, d, indexing="ij")
    return _region_points_flat(loc, A.reshape(-1), E.reshape(-1), D.reshape(-1))


def _region_points_flat(loc: Location, az_deg: np.ndarray, el_deg: np.ndarray, d: np.ndarray) -> np.ndarray:
    """World points at the azimuths (about the heading), elevations and distances given point by point."""
    az, el = np.radians(az_deg + loc.heading), np.radians(el_deg)
    pts = np.stack([d * np.cos(el) * np.cos(az), d * np.cos(el) * np.sin(az), d * np.sin(el)], -1)
    return pts + loc.fixation


#: Fine grid points per side of a coarse cell of :func:`_hits`.
_CELL = 8


def _hits(loc: Location, prop: Prop, az: np.ndarray, el: np.ndarray, d: np.ndarray) -> bool:
    """Whether a point of the grid ``az x el x d`` (degrees about the heading, degrees, metres) lies
    inside ``prop`` grown by :data:`CAMERA_MARGIN`: the same answer as testing every point, found by
    testing the centres of cells of ``_CELL**3`` points against the prop grown by the cells' radius
    too (each shape grown by r holds every point within r of it), then the points of the cells that hit."""
    def cells(v):
        return [v[i:i + _CELL] for i in range(0, len(v), _CELL)]

    A, E = cells(az), cells(el)
    ac = np.array([(a[0] + a[-1]) / 2 for a in A])
    ec = np.array([(e[0] + e[-1]) / 2 for e in E])
    half = math.radians(max(a[-1] - a[0] for a in A) / 2) + math.radians(max(e[-1] - e[0] for e in E) / 2)
    AC, EC = (x.reshape(-1) for x in np.meshgrid(ac, ec, indexing="ij"))
    for r in cells(d):  # one slab of distances at a time: its cells share a radius
        radius = r[-1] * half + (r[-1] - r[0]) / 2
        centres = _region_points_flat(loc, AC, EC, np.full(len(AC), (r[0] + r[-1]) / 2))
        for n in np.flatnonzero(prop.contains(centres, CAMERA_MARGIN + radius + 1e-9)):
            i, j = divmod(int(n), len(E))
            if np.any(prop.contains(_region_points(loc, A[i], E[j], r), CAMERA_MARGIN)):
                return True
    return False


def check_camera_clearance(loc: Location, ranges: CameraRanges) -> None:
    """Raise ConfigError when a prop or the ground lies where the camera can be placed, or the camera
    can leave the ring of props around the location (then they would stand between it and the objects).
    The camera region is tested on a grid of 1 degree and 2 cm; near each prop only (a few
    milliseconds a location). A glTF scene's location: some camera of the ranges must see the
    drop point (:func:`fat.scene.sightlines.check_views`); each camera is checked when it is drawn."""
    if loc.asset:
        from .gltf_scene import load_gltf_scene
        from .sightlines import check_views

        check_views(load_gltf_scene(loc.asset), loc.name, loc.fixation, loc.heading, loc.drop_radius, ranges)
        return
    reach = ranges.distance[1] * max(math.cos(math.radians(e)) for e in (*ranges.elevation, 0.0)
                                     if ranges.elevation[0] <= e <= ranges.elevation[1])
    if reach > loc.room - CAMERA_MARGIN:
        raise ConfigError(f"{loc.name}: the camera distance range {list(ranges.distance)} reaches {reach:.2f} m from the "
                          f"drop point, beyond the props around the location ({loc.room:.2f} m away)")
    low = min(d * math.sin(math.radians(ranges.elevation[0])) for d in ranges.distance)
    if loc.fixation[2] + low <= loc.ground_z + CAMERA_MARGIN:
        raise ConfigError(f"{loc.name}: the camera elevation range {list(ranges.elevation)} reaches the ground")
    grid = _grid(*ranges.azimuth, 1.0), _grid(*ranges.elevation, 1.0), _grid(*ranges.distance, 0.02)
    for p in loc.props:
        if _hits(loc, p, *grid):
            raise ConfigError(
                f"{loc.name}: prop {p.name!r} lies where the camera is sampled "
                f"(azimuth {list(ranges.azimuth)}, elevation {list(ranges.elevation)}, distance {list(ranges.distance)})"
            )
