"""Reading a user's mesh file, whatever its format, into a textured :class:`~fat.assets.meshes.Mesh`.

OBJ (with its MTL and texture), PLY (a texture named by ``comment TextureFile``, or vertex or face
colours), glTF/GLB (every part with its own material: :mod:`fat.scene.gltf_bake`) and STL (no colour).
Colours that are not a texture (vertex or face colours, a material's single colour) are baked into a
small texture: each triangle gets the mean colour of its corners in a 4x4-texel swatch, so that
every renderer draws them the same way as it draws a scan's texture.

Units: glTF is in metres by its specification; the other formats carry no unit and are scaled by
the object set's ``units``.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..fileio import stat_input
from .meshes import Mesh, MeshWarning, check_stl, load_mesh
from ..scene.texture_sets import probe_image, read_image

#: Mesh file suffixes an object set may name.
MESH_SUFFIXES = (".obj", ".ply", ".gltf", ".glb", ".stl")
#: Suffixes whose unit the format fixes (glTF 2.0: metres).
METRE_SUFFIXES = (".gltf", ".glb")
#: Triangles read at most from one mesh file (a 16k YCB scan has 32k; BOP's largest models about 1M).
#: Checked from the file's header (PLY, STL, glTF) or its face lines (OBJ) before it is read:
#: reading, converting and drawing a mesh of 1.5M triangles takes a process about 1.7 GB.
MAX_TRIANGLES = 1_500_000
#: Largest side of an OBJ's texture as read (a JPEG is decoded at reduced scale; the asset keeps 1024).
OBJECT_TEXTURE_SIDE = 4096
#: Colour of a mesh without any colour information (8-bit RGB).
DEFAULT_RGB = (180, 180, 180)
#: Side of the square of texels baked for one colour (mipmap levels 1 and 2 still see one colour).
SWATCH = 4


@dataclass(frozen=True)
class MeshFile:
    """A mesh as read from its file (file units), with its colour as an 8-bit BGR texture."""

    path: Path
    mesh: Mesh  # vertices in the file's units; uvs into ``texture``
    texture: np.ndarray  # (H, W, 3) uint8 BGR
    colour_source: str  # "texture", "vertex colours", "face colours", "material colour", "materials" (glTF) or "none"
    closed: bool  # every edge borders two triangles (vertices welded by position)
    degenerate: int  # triangles of zero area
    # glTF's materials (fat.scene.gltf_bake.Baked): the maps beside the texture, in its layout
    maps: np.ndarray | None = None  # (H, W, 4) uint8 RGBA: G roughness, B metalness, A coverage
    emissive: np.ndarray | None = None  # (H, W, 3) uint8 RGB, sRGB, in units of emissive_scale
    emissive_scale: float = 1.0
    known: np.ndarray | None = None  # (H, W) bool: the texels the triangles use (None: from the UVs)
    masked: bool = False  # alpha masking cuts some of the surface out
    notes: tuple[str, ...] = ()  # what the file lacks or holds that is not drawn


def read_error(path: Path, e: Exception) -> ConfigError:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return ConfigError(f"{path}: cannot read the mesh: {text}")


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, size: int, mtime_ns: int) -> MeshFile:
    return _read(Path(path))


def _stat(path: Path):
    st = stat_input(path, "mesh")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise ConfigError(f"{path}: not a mesh file this version reads ({', '.join(MESH_SUFFIXES)})")
    return st


def read_mesh_file(path: str | Path) -> MeshFile:
    """The mesh in ``path`` (read once per process while the file is unchanged), checked first by
    :func:`probe_mesh`. A file that cannot be read, holds no triangle or more than
    :data:`MAX_TRIANGLES`, or only triangles of zero area is a one-line ConfigError naming it."""
    path = Path(path)
    st = _stat(path)
    probe_mesh(path)
    return _read_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


@dataclass(frozen=True)
class MeshProbe:
    """What :func:`probe_mesh` found without reading the mesh."""

    path: Path
    triangles: int  # as the header says (PLY: faces, STL, glTF) or the face lines counted (OBJ)


def probe_mesh(path: str | Path) -> MeshProbe:
    """Check a mesh file before it is read: its size in triangles from its header (PLY's face
    count, a binary STL's count, a glTF file's accessors) or its face lines (OBJ, text STL: the file
    is scanned in blocks, not held whole), refused above :data:`MAX_TRIANGLES` or at none; a
    binary PLY or STL shorter than its header promises is refused too. One-line ConfigError naming
    the file; kept by path, size and modification time in this process."""
    path = Path(path)
    st = _stat(path)
    return _probe_cached(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _probe_cached(path: str, size: int, mtime_ns: int) -> MeshProbe:
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".obj":
            n = _count(p, (b"\nf ", b"\nf\t"))
            _obj_end(p, size)
        elif suffix == ".ply":
            n = _ply_faces(p, size)
            _ply_texture(p)
        elif suffix == ".stl":
            n = _stl_triangles(p, size)
        else:
            from ..scene.gltf import triangle_count

            n = triangle_count(p)
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the mesh: {e.strerror or e}") from None
    if n is None:  # the reader says what is wrong
        return MeshProbe(p, -1)
    if n == 0:
        raise ConfigError(f"{p}: the mesh has no triangles")
    if n > MAX_TRIANGLES:
        raise ConfigError(f"{p}: {n:,} triangles, more than the {MAX_TRIANGLES:,} a mesh may have; simplify it "
                          "(Blender's Decimate modifier, MeshLab's quadric edge collapse)")
    return MeshProbe(p, n)


def _count(path: Path, needles: tuple[bytes, ...]) -> int:
    """Occurrences of ``needles`` in the file (as if it began with a newline), read in blocks of 8 MB."""
    n, keep, tail = 0, max(map(len, needles)) - 1, b"\n"
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(8 << 20), b""):
            text = tail + block
            n += sum(text.count(x) for x in needles)
            tail = text[-keep:]
            n -= sum(tail.count(x) for x in needles)  # counted again with the next block
        n += sum(tail.count(x) for x in needles)
    return n


_OBJ_REF = re.compile(rb"-?\d+(/-?\d*){0,2}")


def _obj_end(path: Path, size: int) -> None:
    """Refuse an OBJ cut inside its last line: a file that does not end with a newline and whose
    last line is not of the form of the line of its kind before it (a face of at least 3 corners of
    the same ``v/vt/vn`` form, a vertex of as many numbers). Cut at a line's end, it reads (and a
    scan with lost faces is warned about as not closed)."""
    with open(path, "rb") as f:
        f.seek(max(0, size - 65536))
        tail = f.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return
    lines = tail.splitlines()
    last = lines[-1].split()
    if len(lines) < 3 or not last:
        return
    kind = last[0]
    before = next((x.split() for x in reversed(lines[1:-1]) if x.split()[:1] == [kind]), None)
    if kind not in (b"f", b"v", b"vt", b"vn") or before is None:
        return
    if kind == b"f":
        form = [r.count(b"/") for r in last[1:]]
        ok = (len(last) >= 4 and all(_OBJ_REF.fullmatch(r) for r in last[1:]) and len(set(form)) == 1
              and len(before) > 1 and before[1].count(b"/") == form[0])
    else:
        ok = len(last) == len(before)
    if not ok:
        text = lines[-1][:60].decode("latin-1")
        raise ConfigError(f"{path}: the file ends inside a line ({text!r}); is it cut short or damaged?")


#: Bytes of each PLY property type.
_PLY_TYPES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
              "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8}


def _ply_faces(path: Path, size: int) -> int | None:
    """A PLY's face count from its header; for a binary file, refused when shorter than its vertices
    and that many triangles take. None when the header is not one (the reader says why)."""
    with open(path, "rb") as f:
        head = f.read(64 << 10)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        return None
    lines = head[:end].decode("latin-1").splitlines()
    fmt, elements = "", []
    for line in lines:
        words = line.split()
        if words[:1] == ["format"] and len(words) > 1:
            fmt = words[1]
        elif words[:1] == ["element"] and len(words) == 3 and words[2].isdigit():
            elements.append([words[1], int(words[2]), 0, True])
        elif words[:1] == ["property"] and elements:
            if len(words) == 5 and words[1] == "list" and words[2] in _PLY_TYPES and words[3] in _PLY_TYPES:
                elements[-1][2] += _PLY_TYPES[words[2]] + 3 * _PLY_TYPES[words[3]]  # at least a triangle's
                elements[-1][3] = False
            elif len(words) == 3 and words[1] in _PLY_TYPES:
                elements[-1][2] += _PLY_TYPES[words[1]]
    faces = next((count for name, count, _, _ in elements if name == "face"), None)
    if faces is not None and fmt.startswith("binary"):
        body = head.find(b"\n", end) + 1
        least = body + sum(count * each for _, count, each, _ in elements)
        if 0 < body and size < least:
            raise ConfigError(f"{path}: a binary PLY of {faces:,} faces takes at least {least:,} bytes, this file has "
                              f"{size:,}; is it cut short or damaged?")
    return faces


def _ply_texture(path: Path) -> None:
    """Check the JPEG or PNG texture a PLY names (``comment TextureFile``) as texture sets' maps are
    (complete, its size); refuse one larger than the image library that reads it takes (PIL's
    ``MAX_IMAGE_PIXELS``: it would fail with a traceback on the terminal and a blank texture)."""
    with open(path, "rb") as f:
        head = f.read(64 << 10)
    m = re.search(rb"^comment\s+TextureFile\s+(.+?)\s*$", head[:head.find(b"end_header")], re.M)
    if not m:
        return
    texture = path.parent / m.group(1).decode("utf-8", "replace")
    if not texture.is_file() or texture.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        return
    from PIL import Image

    info = probe_image(texture, f"texture of {path.name}")
    limit = Image.MAX_IMAGE_PIXELS
    if limit and info.width * info.height > limit:
        raise ConfigError(f"{texture}: {info.width}x{info.height} pixels is more than the texture of a PLY may have "
                          f"({limit:,} pixels); downsize it (at most {OBJECT_TEXTURE_SIDE} are used a side)")


def _stl_triangles(path: Path, size: int) -> int:
    with open(path, "rb") as f:
        head = f.read(4096)
        if head[:5].lower() == b"solid" and b"facet" in head:  # text STL
            return _count(path, (b"endfacet",))
    if size < 84:
        raise ConfigError(f"{path}: {size} bytes, too short for an STL (a binary STL's header alone is 84)")
    n = int.from_bytes(head[80:84], "little")
    if size < 84 + 50 * n:
        raise ConfigError(f"{path}: a binary STL of {n:,} triangles is {84 + 50 * n:,} bytes, this file has "
                          f"{size:,}; is it cut short or damaged?")
    return n


def _read(path: Path) -> MeshFile:
    suffix = path.suffix.lower()
    try:
        if suffix == ".obj":
            return _read_obj(path)
        if suffix in METRE_SUFFIXES:
            return _read_gltf(path)
        if suffix == ".stl":
            check_stl(path, path.read_bytes())
        return _read_trimesh(path)
    except ConfigError:
        raise
    except Exception as e:  # trimesh and its parsers raise many kinds
        raise read_error(path, e) from None


def _checked(path: Path, mesh: Mesh) -> Mesh:
    if len(mesh.faces) == 0 or len(mesh.vertices) < 3:
        raise ConfigError(f"{path}: the mesh has no triangles")
    if len(mesh.faces) > MAX_TRIANGLES:
        raise ConfigError(f"{path}: {len(mesh.faces):,} triangles, more than {MAX_TRIANGLES:,}; simplify the mesh")
    if not np.isfinite(mesh.vertices).all():
        raise ConfigError(f"{path}: the mesh has vertices that are not finite numbers")
    if mesh.faces.min() < 0 or mesh.faces.max() >= len(mesh.vertices):
        raise ConfigError(f"{path}: a triangle names a vertex the file does not have")
    return mesh


def _quality(path: Path, mesh: Mesh) -> tuple[bool, int]:
    from .meshes import open_edges

    v, f = mesh.vertices, mesh.faces
    area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    scale = float(np.ptp(v, axis=0).max()) or 1.0
    degenerate = int(np.count_nonzero(area2 <= (scale * 1e-9) ** 2))
    if degenerate == len(f):
        raise ConfigError(f"{path}: all {len(f):,} triangles of the mesh have zero area: it has no surface")
    n_open, _ = open_edges(mesh)
    return n_open == 0, degenerate


def _made(path: Path, mesh: Mesh, texture: np.ndarray, source: str) -> MeshFile:
    mesh = _checked(path, mesh)
    closed, degenerate = _quality(path, mesh)
    return MeshFile(path, mesh, texture, source, closed, degenerate)


def _read_obj(path: Path) -> MeshFile:
    import cv2

    mesh = load_mesh(path)
    tex_path, kd = obj_material(path)
    if tex_path is not None and mesh.uvs is not None:
        if tex_path.suffix.lower() in (".jpg", ".jpeg", ".png"):  # checked, and read at reduced scale if huge
            img = read_image(tex_path, OBJECT_TEXTURE_SIDE, f"texture of {path.name}")
        else:
            img = cv2.imread(str(tex_path), cv2.IMREAD_COLOR)
        if img is None:
            raise ConfigError(f"{tex_path}: cannot read the texture of {path.name}")
        return _made(path, mesh, img, "texture")
    rgb = kd if kd is not None else None
    mesh = _checked(path, mesh)
    return _made(path, *_flat(mesh, rgb), "material colour" if rgb is not None else "none")


def obj_material(obj: Path) -> tuple[Path | None, tuple[int, int, int] | None]:
    """The texture (``map_Kd``) and diffuse colour (``Kd``) of an OBJ's first material."""
    text = obj.read_text(errors="replace")
    m = re.search(r"^mtllib\s+(.+?)\s*$", text, re.M)
    if not m or not (obj.parent / m.group(1)).is_file():
        return None, None
    mtl = (obj.parent / m.group(1)).read_text(errors="replace")
    tex = None
    t = re.search(r"^\s*map_Kd\s+(?:-\S+\s+\S+\s+)*(.+?)\s*$", mtl, re.M)
    if t and (obj.parent / t.group(1)).is_file():
        tex = obj.parent / t.group(1)
    kd = None
    k = re.search(r"^\s*Kd\s+([-\d.eE+]+)\s+([-\d.eE+]+)\s+([-\d.eE+]+)", mtl, re.M)
    if k:
        kd = tuple(int(round(min(max(float(x), 0.0), 1.0) * 255)) for x in k.groups())
    return tex, kd


def _read_gltf(path: Path) -> MeshFile:
    from ..scene.gltf import read_gltf
    from ..scene.gltf_bake import bake

    f = read_gltf(path)
    if not f.parts:
        raise ConfigError(f"{path}: the mesh has no triangles" + (f" ({f.skipped} primitives of points or lines)"
                                                                 if f.skipped else ""))
    b = bake(f)
    mesh = _checked(path, b.mesh)
    closed, degenerate = _quality(path, mesh)
    return MeshFile(path, mesh, b.texture, "materials", closed, degenerate, b.maps, b.emissive, b.emissive_scale,
                    b.known, b.masked, tuple(b.notes))


def _read_trimesh(path: Path) -> MeshFile:
    import trimesh

    m = trimesh.load(str(path), process=False, force="mesh")
    if not isinstance(m, trimesh.Trimesh) or len(m.faces) == 0:
        raise ConfigError(f"{path}: the mesh has no triangles")
    mesh = Mesh(np.asarray(m.vertices, dtype=np.float64), np.asarray(m.faces, dtype=np.int64).reshape(-1, 3))
    visual = m.visual
    kind = getattr(visual, "kind", None)
    if kind == "texture":
        uv = getattr(visual, "uv", None)
        image, factor = _material_image(visual.material)
        if image is not None and uv is not None and len(uv) == len(mesh.vertices):
            mesh = Mesh(mesh.vertices, mesh.faces, np.asarray(uv, dtype=np.float64))
            return _made(path, mesh, image, "texture")
        return _made(path, *_flat(_checked(path, mesh), factor), "material colour" if factor is not None else "none")
    if kind == "vertex":
        rgb = np.asarray(visual.vertex_colors)[:, :3].astype(np.float64)
        return _made(path, *_bake(_checked(path, mesh), rgb[mesh.faces].mean(axis=1)), "vertex colours")
    if kind == "face":
        rgb = np.asarray(visual.face_colors)[:, :3].astype(np.float64)
        return _made(path, *_bake(_checked(path, mesh), rgb), "face colours")
    return _made(path, *_flat(_checked(path, mesh), None), "none")


def _material_image(material) -> tuple[np.ndarray | None, tuple[int, int, int] | None]:
    """(BGR texture, RGB colour) of a trimesh material (simple or glTF PBR)."""
    image = getattr(material, "image", None)
    if image is None:
        image = getattr(material, "baseColorTexture", None)
    factor = getattr(material, "baseColorFactor", None)
    if factor is None:
        factor = getattr(material, "diffuse", None)
    rgb = None
    if factor is not None:
        f = np.asarray(factor, dtype=np.float64)[:3]
        rgb = tuple(int(x) for x in (np.clip(f * 255, 0, 255) if f.max() <= 1.0 else np.clip(f, 0, 255)).round())
    if image is None:
        return None, rgb
    arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
    return np.ascontiguousarray(arr[:, :, ::-1]), rgb


def _flat(mesh: Mesh, rgb) -> tuple[Mesh, np.ndarray]:
    """One colour for the whole mesh: a small texture of it, every UV at its centre."""
    rgb = DEFAULT_RGB if rgb is None else rgb
    tex = np.empty((SWATCH, SWATCH, 3), np.uint8)
    tex[:] = rgb[::-1]
    return Mesh(mesh.vertices, mesh.faces, np.full((len(mesh.vertices), 2), 0.5)), tex


def _bake(mesh: Mesh, face_rgb: np.ndarray) -> tuple[Mesh, np.ndarray]:
    """Per-triangle colours as a palette texture: colours rounded to 5 bits a channel (4 when more
    than 4,096 remain), one 4x4 swatch each; every triangle gets its own three vertices, with the UV
    of its swatch's centre."""
    q = np.clip(np.rint(face_rgb), 0, 255).astype(np.int64)
    for bits in (5, 4, 3):
        step = 1 << (8 - bits)
        keys = (q // step) * step + step // 2
        palette, which = np.unique(keys, axis=0, return_inverse=True)
        if len(palette) <= 4096:
            break
    which = which.ravel()
    cols = 64
    rows = (len(palette) + cols - 1) // cols
    tex = np.zeros((rows * SWATCH, cols * SWATCH, 3), np.uint8)
    for i, c in enumerate(palette):
        r, k = divmod(i, cols)
        tex[r * SWATCH:(r + 1) * SWATCH, k * SWATCH:(k + 1) * SWATCH] = np.clip(c, 0, 255)[::-1]
    r, k = np.divmod(which, cols)
    uv_face = np.column_stack([(k * SWATCH + SWATCH / 2) / tex.shape[1], 1.0 - (r * SWATCH + SWATCH / 2) / tex.shape[0]])
    v = mesh.vertices[mesh.faces.reshape(-1)]
    faces = np.arange(len(v)).reshape(-1, 3)
    return Mesh(v, faces, np.repeat(uv_face, 3, axis=0)), tex


def mesh_warning(message: str) -> None:
    """A :class:`MeshWarning`, issued from one place: Python's default filter shows each message
    once (worker processes, which read the set again, ignore them)."""
    warnings.warn(MeshWarning(message), stacklevel=2)


def warn_quality(mf: MeshFile, mass_given: bool = False, collision_given: bool = False) -> None:
    """Warn about what in ``mf`` the objects still work with: an open surface, triangles of zero
    area, no colour at all."""
    if not mf.closed:
        then = [what for what, given in (("its mass comes from its convex hull's volume", mass_given),
                                         ("its collision shape from a convex decomposition", collision_given)) if not given]
        mesh_warning(f"{mf.path}: the mesh is not watertight" + (f"; {' and '.join(then)}" if then else ""))
    if mf.degenerate:
        mesh_warning(f"{mf.path}: {mf.degenerate:,} triangles of zero area")
    if mf.colour_source == "none":
        mesh_warning(f"{mf.path}: no texture coordinates and no colours; drawn in plain grey")
    for note in mf.notes:
        mesh_warning(f"{mf.path}: {note}")
