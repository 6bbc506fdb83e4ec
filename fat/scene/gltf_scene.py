"""A glTF 2.0 file as a location's scenery: its triangles by material, the pieces the physics holds,
its lights and its named nodes, in the project's world.

glTF is Y-up; the project's world is Z-up. A point (x, y, z) of the file is (x, -z, y) here: the
inverse of what Blender's exporter does to a Z-up scene, so a scene comes back as it was modelled.
Units are metres (glTF's). A node's frame in the world is :data:`Y_UP` times its glTF matrix;
its x axis, projected on the ground, is a location's heading.

Each material's triangles are one :class:`Batch` (one vertex and index buffer for a renderer),
with the texture coordinates its textures read (the base colour texture's set, its
``KHR_texture_transform`` applied); a material's parts without those coordinates are a batch of
their own, drawn in the texture's mean colour. Each node's mesh is one :class:`Piece` of static
collision. Punctual lights (``KHR_lights_punctual``) are read with their world position and the
direction they shine along (their node's -z axis).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .gltf import GltfFile, Part, read_gltf, triangle_count
from .gltf_materials import DEFAULT_MATERIAL, GltfMaterial, materials

#: The file's (Y-up) axes -> the world's (Z-up): (x, y, z) -> (x, -z, y).
Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
#: Triangles a scene may hold (bounded memory: about 150 bytes a triangle while it is read).
MAX_TRIANGLES = 5_000_000
#: Bytes a scene file (with its buffers and images) may hold.
MAX_FILE_BYTES = 2 * 2**30
#: The suffixes of the files read as scenes.
SUFFIXES = (".glb", ".gltf")


@dataclass(frozen=True, eq=False)
class Batch:
    """The triangles of one material (``material``: index into :attr:`GltfScene.materials`, None:
    glTF's default), world coordinates."""

    material: int | None
    vertices: np.ndarray  # (N, 3) float64
    faces: np.ndarray  # (M, 3) int64
    normals: np.ndarray  # (N, 3) unit: the file's, or flat where a part gives none (glTF's rule)
    uvs: np.ndarray | None  # (N, 2) the textures' coordinates, OBJ's convention (v = 0 at the image's bottom)


@dataclass(frozen=True, eq=False)
class Piece:
    """One node's mesh, world coordinates: one static collision shape."""

    name: str
    vertices: np.ndarray
    faces: np.ndarray


@dataclass(frozen=True, eq=False)
class SceneLight:
    name: str
    kind: str  # directional, point or spot
    color: tuple[float, float, float]  # linear
    intensity: float  # lux (directional) or candela (point, spot)
    position: np.ndarray  # (3,) world
    direction: np.ndarray  # (3,) unit, world: where the light shines (its node's -z)
    range: float = math.inf
    inner: float = 0.0  # spot cone angles, radians
    outer: float = math.pi / 4

    def irradiance_at(self, point: np.ndarray) -> tuple[float, np.ndarray]:
        """The light's irradiance (lux) on a surface at ``point`` facing it, and the unit direction
        from ``point`` towards it. glTF's inverse square law with its range window and spot cone."""
        if self.kind == "directional":
            return self.intensity, -self.direction
        d = self.position - point
        r = float(np.linalg.norm(d))
        if r < 1e-6:
            return 0.0, np.array([0.0, 0.0, 1.0])
        towards = d / r
        e = self.intensity / r ** 2
        if math.isfinite(self.range) and self.range > 0:
            e *= max(min(1 - (r / self.range) ** 4, 1.0), 0.0) ** 2
        if self.kind == "spot":
            cos = float(-towards @ self.direction)
            lo, hi = math.cos(self.outer), math.cos(self.inner)
            e *= min(max((cos - lo) / max(hi - lo, 1e-4), 0.0), 1.0) ** 2
        return e, towards


@dataclass(frozen=True, eq=False)
class GltfScene:
    path: Path
    gltf: GltfFile  # the file as read (its images)
    materials: tuple[GltfMaterial, ...]
    batches: tuple[Batch, ...]
    pieces: tuple[Piece, ...]
    lights: tuple[SceneLight, ...]
    nodes: dict  # node name -> 4x4 world frame
    lo: np.ndarray  # (3,) bounds of every triangle
    hi: np.ndarray

    @property
    def triangles(self) -> int:
        return sum(len(b.faces) for b in self.batches)

    def material(self, index: int | None) -> GltfMaterial:
        return DEFAULT_MATERIAL if index is None else self.materials[index]

    @property
    def centre(self) -> np.ndarray:
        return (self.lo + self.hi) / 2


def _with_normals(part: Part) -> Part:
    """``part`` with the file's normals, or, where it gives none, flat normals (glTF's rule): each
    triangle with vertices of its own."""
    if part.normals is not None:
        return part
    f = part.faces.reshape(-1)
    a, b, c = (part.positions[part.faces[:, k]] for k in range(3))
    n = np.cross(b - a, c - a)
    length = np.linalg.norm(n, axis=1, keepdims=True)
    n = np.where(length > 1e-20, n / np.maximum(length, 1e-300), [0.0, 0.0, 1.0])
    return replace(part, positions=part.positions[f], faces=np.arange(len(f)).reshape(-1, 3),
                   texcoords={k: t[f] for k, t in part.texcoords.items()},
                   colors=None if part.colors is None else part.colors[f], normals=np.repeat(n, 3, axis=0))


def _uv_ref(m: GltfMaterial):
    """The texture whose coordinates a material's batch carries: the base colour's, else the first."""
    return next((t for t in (m.base_texture, m.metallic_roughness_texture, m.normal_texture, m.occlusion_texture,
                             m.emissive_texture) if t is not None), None)


def _check_size(path: Path) -> None:
    files = [path]
    if path.suffix.lower() == ".gltf":
        from .gltf import companion_files
        files += companion_files(path)
    total = sum(f.stat().st_size for f in files)
    if total > MAX_FILE_BYTES:
        raise ConfigError(f"{path}: {total:,} bytes with its buffers and images, more than a scene may hold "
                          f"({MAX_FILE_BYTES:,})")
    n = triangle_count(path)
    if n is not None and n > MAX_TRIANGLES:
        raise ConfigError(f"{path}: {n:,} triangles, more than a scene may hold ({MAX_TRIANGLES:,}); "
                          "decimate it or split it")


def load_gltf_scene(path: str | os.PathLike) -> GltfScene:
    """The scene of the glTF file ``path`` (read once per process for each version of the file)."""
    p = Path(path).expanduser().resolve()
    if p.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"{p}: a scene is a glTF 2.0 file ({', '.join(SUFFIXES)})")
    try:
        st = p.stat()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the scene: {e.strerror}") from None
    return _load(str(p), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _load(path: str, size: int, mtime_ns: int) -> GltfScene:
    p = Path(path)
    _check_size(p)
    f = read_gltf(p)
    mats = tuple(materials(f.doc, str(p)))
    groups: dict[tuple, list] = {}
    pieces: dict[int, list] = {}
    for part in map(_with_normals, f.parts):
        m = DEFAULT_MATERIAL if part.material is None else mats[part.material]
        ref = _uv_ref(m)
        uv = part.texcoords.get(ref.tex_coord) if ref is not None else None
        groups.setdefault((part.material, uv is not None), []).append(part)
        pieces.setdefault(part.node, []).append(part)
    batches = []
    for (material, textured), parts in groups.items():
        m = DEFAULT_MATERIAL if material is None else mats[material]
        ref = _uv_ref(m)
        offsets = np.cumsum([0] + [len(q.positions) for q in parts])
        vertices = np.concatenate([q.positions for q in parts]) @ Y_UP.T
        faces = np.concatenate([q.faces + o for q, o in zip(parts, offsets)])
        normals = np.concatenate([q.normals for q in parts]) @ Y_UP.T
        uvs = None
        if textured:
            t = ref.transform(np.concatenate([q.texcoords[ref.tex_coord] for q in parts]))
            uvs = np.column_stack([t[:, 0], 1.0 - t[:, 1]])
        batches.append(Batch(material, vertices, faces.astype(np.int64), normals, uvs))
    names = {i: n.get("name", "") for i, n in enumerate(f.doc.get("nodes", [])) if isinstance(n, dict)}
    solids = []
    for node, parts in pieces.items():
        offsets = np.cumsum([0] + [len(q.positions) for q in parts])
        solids.append(Piece(names.get(node, "") or f"node {node}", np.concatenate([q.positions for q in parts]) @ Y_UP.T,
                            np.concatenate([q.faces + o for q, o in zip(parts, offsets)]).astype(np.int64)))
    if not batches or not any(len(b.faces) for b in batches):
        raise ConfigError(f"{p}: the scene has no triangles")
    frames = {}
    for index, M in f.matrices.items():
        name = names.get(index)
        if name and name not in frames:
            W = np.eye(4)
            W[:3, :4] = Y_UP @ M[:3, :4]
            frames[name] = W
    allv = np.concatenate([b.vertices for b in batches])
    return GltfScene(p, f, mats, tuple(batches), tuple(solids), _lights(f, p), frames, allv.min(0), allv.max(0))


def _lights(f: GltfFile, path: Path) -> tuple[SceneLight, ...]:
    defs = ((f.doc.get("extensions") or {}).get("KHR_lights_punctual") or {}).get("lights", [])
    out = []
    for index, M in f.matrices.items():
        node = f.doc["nodes"][index]
        ref = ((node.get("extensions") or {}).get("KHR_lights_punctual") or {}).get("light")
        if ref is None:
            continue
        if not isinstance(ref, int) or not 0 <= ref < len(defs) or not isinstance(defs[ref], dict):
            raise ConfigError(f"{path}: nodes[{index}] names light {ref!r}, which KHR_lights_punctual does not hold")
        d = defs[ref]
        kind = d.get("type")
        if kind not in ("directional", "point", "spot"):
            raise ConfigError(f"{path}: KHR_lights_punctual lights[{ref}]: type {kind!r} is not directional, point or spot")
        try:
            color = tuple(float(c) for c in d.get("color", (1.0, 1.0, 1.0)))
            intensity = float(d.get("intensity", 1.0))
            spot = d.get("spot") or {}
            rng = float(d["range"]) if "range" in d else math.inf
            inner, outer = float(spot.get("innerConeAngle", 0.0)), float(spot.get("outerConeAngle", math.pi / 4))
        except (TypeError, ValueError):
            raise ConfigError(f"{path}: KHR_lights_punctual lights[{ref}]: colour, intensity, range and cone "
                              "angles must be numbers") from None
        if len(color) != 3 or not all(math.isfinite(x) and x >= 0 for x in (*color, intensity)):
            raise ConfigError(f"{path}: KHR_lights_punctual lights[{ref}]: colour and intensity must be finite and >= 0")
        direction = Y_UP @ (M[:3, :3] @ np.array([0.0, 0.0, -1.0]))
        n = float(np.linalg.norm(direction))
        out.append(SceneLight(str(d.get("name", node.get("name", f"light {ref}"))), kind, color, intensity,
                              Y_UP @ M[:3, 3], direction / n if n > 0 else np.array([0.0, 0.0, -1.0]),
                              rng, inner, outer))
    return tuple(out)
