"""Object assets: the meshes PyBullet loads and the annotator projects, built once and cached.

Every asset is a folder in the cache, whatever its source:

```
<cache>/assets/<key>/<object name>/
    visual.obj  visual.mtl  texture.png   render mesh in the FAT-aligned frame (metres), textured
    material.png  emission.png  material.json   a glTF file's materials in the texture's layout (optional)
    collision.obj                         convex parts (one "o" block each): PyBullet's compound shape,
                                          the source's parts merged down to at most 16 (see below)
    parts.npz                             the source's convex parts (silhouettes) and the render mesh's
                                          convex hull (2D boxes: its projection holds every rendered pixel)
```

Sources: the procedural stand-ins (``objects/standins.py``), or a folder of real YCB models in the
official ``<dir>/<name>/google_16k/textured.obj`` layout or the flat ``<dir>/<name>/textured.obj``
layout (with ``texture_map.*``, optional ``textured_vhacd.stl`` / ``model.urdf`` collision mesh).
Real meshes are moved into the FAT frame by the catalog's ``fixed_model_transform``.

PyBullet's cost per step grows with the number of convex parts in contact: the 64 V-HACD parts of a
YCB scan make a 10-object drop about twice as slow as 16. So the physics gets the parts merged (two
at a time, the pair whose joint hull adds the least volume first) down to :data:`MAX_COLLISION_PARTS`,
as long as the merged hulls add at most :data:`MAX_ADDED_VOLUME` of the parts' volume; concave
objects such as the bowl keep more parts. The annotator keeps the source's parts.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .atlas import chart_mask, prepare_atlas, prepare_maps
from .cache import cache_dir
from ..catalog import DEFAULT_TEXTURE_SIZE, Meshes, MeshFiles, ObjectInfo, Standins, YcbModels
from ..errors import ConfigError
from ..fileio import commit_folder, discard, locked, temp_folder
from .mesh_reading import MESH_SUFFIXES, OBJECT_TEXTURE_SIDE, probe_mesh
from .meshes import (Mesh, MeshWarning, concatenate, convex_hull, load_mesh, merge_close_vertices, merge_convex_parts,
                     open_edges, split_closed_parts, write_mtl, write_obj)
from ..scene.texture_sets import probe_image, read_image

ASSET_VERSION = "3"
#: Beside a glTF object's texture: its material map (RGBA: G roughness, B metalness, A coverage, as
#: fat.scene.gltf_bake makes it), its emission map (sRGB, only when something emits) and what they hold.
MATERIAL_MAP, EMISSION_MAP, MATERIAL_FILE = "material.png", "emission.png", "material.json"
#: Largest difference (metres) allowed between a real mesh's box and the FAT cuboid.
ALIGN_TOLERANCE = 0.002
#: Convex parts given to the physics: at most this many ...
MAX_COLLISION_PARTS = 16
#: ... while merging adds at most this fraction of the parts' volume.
MAX_ADDED_VOLUME = 0.10


@dataclass(frozen=True)
class ObjectAsset:
    info: ObjectInfo
    folder: Path
    parts: tuple[np.ndarray, ...]  # convex collision parts' vertices, FAT frame, metres
    hull: np.ndarray  # vertices of the render mesh's convex hull, FAT frame, metres
    source: str  # "standin" or the mesh file

    @property
    def visual(self) -> Path:
        return self.folder / "visual.obj"

    @property
    def collision(self) -> Path:
        return self.folder / "collision.obj"


# ----------------------------------------------------------------------------- stand-ins
def _palette_texture(names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A texture of 16x16 swatches (with a faint grain) and the UV of each swatch's centre."""
    from fat.objects.standins import PALETTE

    cols = 8
    rows = (len(names) + cols - 1) // cols
    img = np.zeros((rows * 16, cols * 16, 3), np.uint8)
    rng = np.random.default_rng(12345)
    uv = {}
    for i, n in enumerate(names):
        r, c = divmod(i, cols)
        sw = np.clip(np.array(PALETTE[n], float) + rng.normal(0, 4, (16, 16, 1)), 0, 255)
        img[r * 16 : (r + 1) * 16, c * 16 : (c + 1) * 16] = sw.astype(np.uint8)
        uv[n] = np.array([(c * 16 + 8) / img.shape[1], 1 - (r * 16 + 8) / img.shape[0]])
    return img, uv


def _fit_to_cuboid(parts: list[Mesh], dims: np.ndarray) -> list[Mesh]:
    """Scale and move all parts together so that their bounding box is exactly ``dims``, centred."""
    v = np.concatenate([m.vertices for m in parts])
    lo, hi = v.min(0), v.max(0)
    scale = dims / (hi - lo)
    centre = (hi + lo) / 2
    out = []
    for m in parts:
        n = None if m.normals is None else m.normals / scale
        if n is not None:
            n = n / np.linalg.norm(n, axis=1, keepdims=True)
        out.append(Mesh((m.vertices - centre) * scale, m.faces, m.uvs, n))
    return out


def _build_standin(info: ObjectInfo, folder: Path) -> None:
    from fat.objects.standins import RECIPES

    recipe = RECIPES[info.name]()
    meshes = _fit_to_cuboid([m for m, _ in recipe], info.dimensions)
    names = sorted({c for _, c in recipe})
    texture, uv = _palette_texture(names)
    visual = [Mesh(m.vertices, m.faces, np.tile(uv[c], (len(m.vertices), 1)), m.normals)
              for m, (_, c) in zip(meshes, recipe)]
    cv2.imwrite(str(folder / "texture.png"), cv2.cvtColor(texture, cv2.COLOR_RGB2BGR))
    write_mtl(folder / "visual.mtl", "texture.png")
    write_obj(folder / "visual.obj", [concatenate(visual)], mtl="visual.mtl")
    hulls = [convex_hull(m.vertices) for m in meshes]
    _save_parts(folder, [h.vertices for h in hulls], concatenate(visual).vertices)


# ----------------------------------------------------------------------------- real YCB models
@dataclass(frozen=True)
class YcbSource:
    mesh: Path
    texture: Path | None
    collision: Path | None


def find_ycb(root: Path, info: ObjectInfo) -> YcbSource | None:
    """Locate one object's files in a YCB folder (official google_16k or flat layout)."""
    for folder in (root / info.name / "google_16k", root / info.name):
        mesh = folder / "textured.obj"
        if mesh.is_file():
            return YcbSource(mesh, _texture_of(mesh), _collision_of(folder))
    return None


def _texture_of(obj: Path) -> Path | None:
    from .mesh_reading import obj_material

    texture, _ = obj_material(obj)
    if texture is not None:
        return texture
    for name in ("texture_map.png", "texture_map.jpg"):
        if (obj.parent / name).is_file():
            return obj.parent / name
    return None


def _collision_of(folder: Path) -> Path | None:
    urdf = folder / "model.urdf"
    if urdf.is_file():
        try:
            for collision in ET.parse(urdf).getroot().iter("collision"):
                for mesh in collision.iter("mesh"):
                    fn = mesh.get("filename", "")
                    if fn and (folder / fn).is_file():
                        return folder / fn
        except ET.ParseError as e:
            raise ConfigError(f"{urdf}: not valid XML: {e}") from None
    for name in ("textured_vhacd.stl", "textured_vhacd.obj", "collision.obj"):
        if (folder / name).is_file():
            return folder / name
    return None


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def align_to_fat(info: ObjectInfo, vertices: np.ndarray) -> tuple[np.ndarray, str]:
    """The 4x4 transform from a YCB mesh (metres) into the FAT frame, and a note.

    First ``fixed_model_transform``. If the result's bounding box is not the FAT cuboid (the current
    036_wood_block scan is already axis-aligned and needs about 12.55 degrees more), search the
    rotation about the aligned y axis that makes it so and recentre on the box. A mesh that still
    does not match within 2 mm is refused.
    """
    T = info.model_transform.copy()
    p = vertices @ T[:3, :3].T + T[:3, 3]
    err = np.abs((p.max(0) - p.min(0)) - info.dimensions).max()
    if err <= ALIGN_TOLERANCE:
        return T, "fixed_model_transform"

    def mismatch(a):
        q = p @ _rot_y(a).T
        return np.abs((q.max(0) - q.min(0)) - info.dimensions).sum()

    grid = np.radians(np.arange(-45.0, 45.0, 0.25))
    a = grid[int(np.argmin([mismatch(x) for x in grid]))]
    lo, hi = a - math.radians(0.25), a + math.radians(0.25)
    for _ in range(40):  # golden-section refinement
        m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
        lo, hi = (lo, m2) if mismatch(m1) < mismatch(m2) else (m1, hi)
    a = (lo + hi) / 2
    R = _rot_y(a)
    q = p @ R.T
    centre = (q.max(0) + q.min(0)) / 2
    err2 = np.abs((q.max(0) - q.min(0)) - info.dimensions).max()
    if err2 > ALIGN_TOLERANCE:
        raise ConfigError(
            f"{info.name}: mesh does not fit the FAT cuboid {np.round(info.dimensions * 100, 2).tolist()} cm "
            f"(off by {err * 100:.2f} cm after fixed_model_transform, {err2 * 100:.2f} cm at best); is it a YCB google_16k scan?"
        )
    A = np.eye(4)
    A[:3, :3] = R
    A[:3, 3] = -centre
    return A @ T, f"fixed_model_transform + {math.degrees(a):.2f} deg about y"


def _build_ycb(info: ObjectInfo, src: YcbSource, folder: Path, texture_size: int) -> str:
    try:
        mesh = load_mesh(src.mesh)
    except ConfigError:
        raise
    except Exception as e:  # trimesh raises many kinds
        raise ConfigError(f"{src.mesh}: cannot read the mesh: {e}") from None
    if len(mesh.faces) == 0:
        raise ConfigError(f"{src.mesh}: the mesh has no triangles")
    n_open, n_edges = open_edges(mesh)
    if n_open:  # YCB scans are closed surfaces; one that lost faces (a file cut at a line's end) is not
        warnings.warn(MeshWarning(f"{src.mesh.resolve()}: the mesh is not closed ({n_open:,} of {n_edges:,} edges border "
                                  "one triangle only); is the file cut short?"), stacklevel=2)
    T, note = align_to_fat(info, mesh.vertices)
    visual = Mesh(mesh.vertices, mesh.faces, mesh.uvs).transformed(T).with_vertex_normals(weld=True)
    if src.texture is not None and visual.uvs is not None:
        if src.texture.suffix.lower() in (".jpg", ".jpeg", ".png"):  # checked, and read at reduced scale if huge
            img = read_image(src.texture, OBJECT_TEXTURE_SIDE)
        else:
            img = cv2.imread(str(src.texture), cv2.IMREAD_COLOR)
        if img is None:
            raise ConfigError(f"{src.texture}: cannot read the texture")
        img = prepare_atlas(img, visual.uvs, visual.faces, texture_size)
    else:
        img = np.full((4, 4, 3), 180, np.uint8)
        visual = Mesh(visual.vertices, visual.faces, np.full((len(visual.vertices), 2), 0.5), visual.normals)
    cv2.imwrite(str(folder / "texture.png"), img)
    write_mtl(folder / "visual.mtl", "texture.png")
    write_obj(folder / "visual.obj", [visual], mtl="visual.mtl")
    if src.collision is not None:
        try:
            raw = load_mesh(src.collision)
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(f"{src.collision}: cannot read the collision mesh: {e}") from None
        parts = [convex_hull(m.transformed(T).vertices) for m in split_closed_parts(raw)]
        if not parts:
            raise ConfigError(f"{src.collision}: the collision mesh holds no convex part")
    else:
        parts = [convex_hull(visual.vertices)]
    _save_parts(folder, [p.vertices for p in parts], visual.vertices)
    return note


# ----------------------------------------------------------------------------- the user's meshes
#: A closed mesh whose volume is at least this fraction of its convex hull's is collided as its hull.
CONVEX_FRACTION = 0.95
#: V-HACD's voxel budget for concave meshes (its default is 100,000; half is as good at object sizes).
VHACD_RESOLUTION = 50_000
#: PyBullet's V-HACD (2.2) voxelizes the shortest side of a mesh's box with 64 voxels, so its work
#: grows with the square of the box's longest side over its shortest: an open sheet of 20 x 20 x 5 cm
#: took 530,000 voxels and 25 s, a thinner one minutes and gigabytes. Its input is stretched so that
#: no side of the box is shorter than this fraction of the longest, and the parts are stretched
#: back (a stretch keeps convex parts convex): then any mesh takes at most about 10 s and 300 MB.
VHACD_MIN_ASPECT = 0.5
#: A mesh of more triangles goes to V-HACD with its vertices merged on a grid of
#: :data:`VHACD_GRID` cells along the longest side of its (stretched) box, 4 times finer than
#: V-HACD's voxels: the same parts, without writing and parsing millions of triangles.
VHACD_MAX_TRIANGLES = 200_000
VHACD_GRID = 256


def _vhacd(mesh: Mesh, folder: Path) -> list[np.ndarray]:
    """Convex parts of ``mesh`` (FAT frame, metres) by PyBullet's V-HACD, its cost bounded
    (:data:`VHACD_MIN_ASPECT`, :data:`VHACD_MAX_TRIANGLES`). The library prints its progress on the
    process's standard output: that is sent to the log file instead."""
    import os
    import sys

    import pybullet

    src, out, log = folder / "vhacd_in.obj", folder / "vhacd_out.obj", folder / "vhacd.log"
    extent = np.ptp(mesh.vertices, axis=0)
    stretch = np.maximum(VHACD_MIN_ASPECT * extent.max() / np.maximum(extent, 1e-12), 1.0)
    shape = Mesh(mesh.vertices * stretch, mesh.faces)  # about the origin, the cuboid's centre
    if len(shape.faces) > VHACD_MAX_TRIANGLES:
        shape = merge_close_vertices(shape, VHACD_GRID)
    write_obj(src, [shape])
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(log, "ab") as f:
            os.dup2(f.fileno(), 1)
            pybullet.vhacd(str(src), str(out), str(log), resolution=VHACD_RESOLUTION)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    parts = []
    if out.is_file() and out.stat().st_size:
        parts = [convex_hull(p.vertices / stretch).vertices for p in split_closed_parts(load_mesh(out))
                 if len(p.vertices) >= 4]
    for p in (src, out, log):
        p.unlink(missing_ok=True)
    return parts


def collision_parts(visual: Mesh, closed: bool, folder: Path) -> list[np.ndarray]:
    """The convex hull of a convex mesh; V-HACD's parts of a concave or open one (its hull when
    V-HACD finds none)."""
    import trimesh

    hull = convex_hull(visual.vertices)
    if closed:
        tm = trimesh.Trimesh(visual.vertices, visual.faces, process=False)
        h = trimesh.Trimesh(hull.vertices, hull.faces, process=False)
        if h.volume > 0 and abs(tm.volume) >= CONVEX_FRACTION * h.volume:
            return [hull.vertices]
    parts = _vhacd(visual, folder)
    return parts or [hull.vertices]


def _build_file(info: ObjectInfo, folder: Path, texture_size: int) -> None:
    """An asset from the object's own mesh file (:mod:`fat.assets.mesh_reading`), moved into the FAT frame by
    its ``model_transform``; collision from its collision file, else :func:`collision_parts`. A glTF
    file's materials add the material map (and the emission map) beside the texture."""
    from .mesh_reading import read_mesh_file

    mf = read_mesh_file(info.mesh)
    T = np.asarray(info.model_transform, dtype=np.float64)
    visual = mf.mesh.transformed(T).with_vertex_normals(weld=True)
    img = mf.texture
    if mf.maps is not None:
        known = mf.known if mf.known is not None else chart_mask(img.shape[:2], visual.uvs, visual.faces)
        images = [img, mf.maps] + ([mf.emissive] if mf.emissive is not None else [])
        img, maps, *emissive = prepare_maps(images, known, texture_size)
        cv2.imwrite(str(folder / MATERIAL_MAP), np.ascontiguousarray(maps[..., [2, 1, 0, 3]]))  # BGRA
        if emissive:
            cv2.imwrite(str(folder / EMISSION_MAP), np.ascontiguousarray(emissive[0][..., ::-1]))
        (folder / MATERIAL_FILE).write_text(json.dumps({
            "emissive_scale": mf.emissive_scale if emissive else 0.0, "masked": mf.masked,
            "roughness": [int(maps[..., 1].min()) / 255, int(maps[..., 1].max()) / 255],
            "metallic": [int(maps[..., 2].min()) / 255, int(maps[..., 2].max()) / 255]}))
    elif mf.colour_source == "texture":
        img = prepare_atlas(img, visual.uvs, visual.faces, texture_size)
    cv2.imwrite(str(folder / "texture.png"), img)
    write_mtl(folder / "visual.mtl", "texture.png")
    write_obj(folder / "visual.obj", [visual], mtl="visual.mtl")
    if info.collision:
        try:
            raw = load_mesh(Path(info.collision))
        except ConfigError:
            raise
        except Exception as e:
            raise ConfigError(f"{info.collision}: cannot read the collision mesh: {e}") from None
        parts = [convex_hull(m.transformed(T).vertices).vertices for m in split_closed_parts(raw)]
        if not parts:
            raise ConfigError(f"{info.collision}: the collision mesh holds no convex part")
    else:
        parts = collision_parts(visual, mf.closed, folder)
    _save_parts(folder, parts, visual.vertices)


def _made_of(mesh: Path) -> list[Path]:
    """The files a mesh file names that its asset is made of too: an OBJ's texture, a glTF file's
    buffers and images (a changed one makes the asset again)."""
    from ..scene.gltf import companion_files
    from .mesh_reading import obj_material

    if mesh.suffix.lower() == ".obj":
        texture, _ = obj_material(mesh)
        return [texture] if texture is not None else []
    return companion_files(mesh)


def file_assets(objects: list[ObjectInfo], texture_size: int = DEFAULT_TEXTURE_SIZE) -> dict[str, ObjectAsset]:
    """The assets of objects with their own mesh files, converted once and cached (the key holds the
    files' sizes and times, the transform and the texture size)."""
    out = {}
    for o in objects:
        h = hashlib.sha256(f"{ASSET_VERSION}|{texture_size}|file".encode())
        for p in (o.mesh, o.collision, *(_made_of(Path(o.mesh)) if o.mesh else ())):
            if p:
                st = Path(p).stat()
                h.update(f"{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        h.update(np.ascontiguousarray(o.model_transform, dtype=np.float64).tobytes())
        h.update(_source_hash().encode())
        key = "file-" + h.hexdigest()[:16]
        out[o.name] = _cached(key, o, lambda d, o=o: _build_file(o, d, texture_size), o.mesh)
    return out


# ----------------------------------------------------------------------------- cache
def _save_parts(folder: Path, parts: list[np.ndarray], render_vertices: np.ndarray) -> None:
    """parts.npz (all parts, render hull) and collision.obj (the parts merged for the physics)."""
    merged = merge_convex_parts(parts, MAX_COLLISION_PARTS, MAX_ADDED_VOLUME)
    write_obj(folder / "collision.obj", [convex_hull(p) for p in merged])
    np.savez(folder / "parts.npz", hull=convex_hull(render_vertices).vertices,
             **{f"part_{i}": p for i, p in enumerate(parts)})


#: Files of an asset folder besides parts.npz; an asset missing one (or with an empty one) is rebuilt.
ASSET_FILES = ("visual.obj", "visual.mtl", "texture.png", "collision.obj")


class _BrokenAsset(Exception):
    """A cached asset that cannot be read: rebuild it."""


def _load(info: ObjectInfo, folder: Path, source: str) -> ObjectAsset:
    """The cached asset in ``folder``; raises _BrokenAsset when a file of it is missing or unreadable."""
    try:
        with np.load(folder / "parts.npz", allow_pickle=False) as z:
            keys = sorted((k for k in z.files if re.fullmatch(r"part_\d+", k)), key=lambda s: int(s.split("_")[1]))
            parts, hull = tuple(np.asarray(z[k], dtype=np.float64) for k in keys), np.asarray(z["hull"], dtype=np.float64)
    except Exception as e:  # not a zip, a damaged member, a missing key: numpy and zipfile raise many kinds
        raise _BrokenAsset(f"{folder / 'parts.npz'}: {type(e).__name__}") from None
    for a in (hull, *parts):
        if a.ndim != 2 or a.shape[1] != 3 or len(a) < 4 or not np.isfinite(a).all():
            raise _BrokenAsset(f"{folder / 'parts.npz'}: an array of shape {a.shape} is no convex part")
    if not parts:
        raise _BrokenAsset(f"{folder / 'parts.npz'}: no part")
    for name in ASSET_FILES:
        if not (folder / name).is_file() or (folder / name).stat().st_size == 0:
            raise _BrokenAsset(f"{folder / name}: missing or empty")
    return ObjectAsset(info, folder, parts, hull, source)


def _cached(key: str, info: ObjectInfo, build, source: str) -> ObjectAsset:
    """The asset from the cache, built first when absent, rebuilt when a cached file cannot be read
    (the new folder takes the old one's place by renames: readers see one or the other, whole).
    One process builds an asset at a time: the others wait for it and then load its folder (worker
    processes that start together on an empty cache build each asset once)."""
    final = cache_dir() / "assets" / key / info.name
    if (final / "parts.npz").is_file():
        try:
            return _load(info, final, source)
        except _BrokenAsset:
            pass
    final.parent.mkdir(parents=True, exist_ok=True)
    with locked(final.parent / f".{info.name}.lock", final, wait=True):
        try:
            return _load(info, final, source)  # built by another process while this one waited
        except _BrokenAsset:
            pass
        tmp = temp_folder(final)
        try:
            build(tmp)
            _load(info, tmp, source)  # what was just built reads back
            commit_folder(tmp, final)
        finally:
            discard(tmp)
    try:
        return _load(info, final, source)
    except _BrokenAsset as e:
        raise ConfigError(f"asset cache: {e}, even after rebuilding it") from None


def _source_hash() -> str:
    from fat.objects import standins
    from fat.assets import atlas, mesh_reading, meshes
    from fat.scene import gltf, gltf_bake, gltf_materials

    h = hashlib.sha256(ASSET_VERSION.encode())
    for mod in (standins, meshes, atlas, mesh_reading, gltf, gltf_materials, gltf_bake):
        h.update(Path(mod.__file__).read_bytes())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def standin_assets(objects: list[ObjectInfo]) -> dict[str, ObjectAsset]:
    """The procedural stand-ins of ``objects``, built on first use."""
    key = "standin-" + _source_hash()
    return {o.name: _cached(key, o, lambda d, o=o: _build_standin(o, d), "standin") for o in objects}


def check_ycb_folder(root: Path, objects: list[ObjectInfo]) -> dict[str, YcbSource]:
    """Find every object's files in ``root``; one clear error when a folder or mesh is missing."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--objects {root}: not a folder")
    found, missing = {}, []
    for o in objects:
        src = find_ycb(root, o)
        if src is None:
            missing.append(o.name)
        else:
            found[o.name] = src
    if missing:
        raise ConfigError(
            f"--objects {root}: no textured.obj for {', '.join(missing)} "
            f"(expected {root}/<name>/google_16k/textured.obj or {root}/<name>/textured.obj)"
        )
    for src in found.values():  # each file checked without reading it whole (kept by path, size and time)
        probe_mesh(src.mesh)
        if src.collision is not None and src.collision.suffix.lower() in MESH_SUFFIXES:
            probe_mesh(src.collision)
        if src.texture is not None and src.texture.suffix.lower() in (".jpg", ".jpeg", ".png"):
            probe_image(src.texture)
    return found


def ycb_assets(root: Path, objects: list[ObjectInfo], texture_size: int = DEFAULT_TEXTURE_SIZE) -> dict[str, ObjectAsset]:
    """Real YCB models from ``root`` for ``objects``, converted once and cached."""
    sources = check_ycb_folder(root, objects)
    out = {}
    for o in objects:
        src = sources[o.name]
        h = hashlib.sha256(f"{ASSET_VERSION}|{texture_size}".encode())
        for p in (src.mesh, src.texture, src.collision):
            if p is not None:
                st = p.stat()
                h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
        h.update(_source_hash().encode())
        key = "ycb-" + h.hexdigest()[:16]
        out[o.name] = _cached(key, o, lambda d, o=o, s=src: _build_ycb(o, s, d, texture_size), str(src.mesh))
    return out


def load_assets(objects, meshes: Meshes = Standins(), texture_size: int = DEFAULT_TEXTURE_SIZE) -> dict[str, ObjectAsset]:
    """The assets of ``objects`` (ObjectInfos of one set) by their set's ``meshes``: the stand-ins,
    each object's mesh file or a folder of YCB models (:data:`fat.catalog.Meshes`)."""
    objects = list(objects)
    if isinstance(meshes, Standins):
        return standin_assets(objects)
    if isinstance(meshes, MeshFiles):
        return file_assets(objects, texture_size)
    if isinstance(meshes, YcbModels):
        return ycb_assets(Path(meshes.folder), objects, texture_size)
    raise TypeError(f"meshes must be a fat.catalog.Meshes value, got {meshes!r}")
