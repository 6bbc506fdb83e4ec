"""Reading a glTF 2.0 file (``.gltf`` with its buffers, or ``.glb``) part by part.

A part is one triangle primitive of a mesh placed by a node of the file's scene: its vertices with
the node's transform applied (metres, the file's axes), its triangles, its texture coordinates
(every ``TEXCOORD_n``, glTF's convention: v = 0 at the image's top row), its vertex colours
(``COLOR_0``, linear RGBA) and the index of its material (None: glTF's default material). Points
and lines are counted, not read. Materials and images are :mod:`fat.scene.gltf_materials`' to read.
"""

from __future__ import annotations

import base64
import json
import math
import struct
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError

#: Accessor component types.
COMPONENTS = {5120: "i1", 5121: "u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
#: Components per element of each accessor type read here.
WIDTHS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
#: Extensions a file may require that are read (the others it requires make the file unreadable).
READ_EXTENSIONS = frozenset({"KHR_texture_transform", "KHR_materials_emissive_strength", "KHR_mesh_quantization",
                             "KHR_materials_unlit", "EXT_texture_webp"})
GLB_MAGIC, GLB_JSON, GLB_BIN = b"glTF", 0x4E4F534A, 0x004E4942
#: Nodes deeper than this in the scene's tree are refused (a file whose nodes form a cycle).
MAX_DEPTH = 256


@dataclass
class Part:
    """One triangle primitive as placed in the scene."""

    positions: np.ndarray  # (N, 3) float64, the node's transform applied
    faces: np.ndarray  # (M, 3) int64
    texcoords: dict[int, np.ndarray] = field(default_factory=dict)  # set n -> (N, 2) float64, glTF's convention
    colors: np.ndarray | None = None  # (N, 4) float64, linear, COLOR_0
    material: int | None = None  # index into the file's materials; None: glTF's default material
    normals: np.ndarray | None = None  # (N, 3) float64, unit, the node's transform applied; None: not given
    node: int = -1  # the node that places it


@dataclass
class GltfFile:
    path: Path
    doc: dict  # the JSON
    parts: list[Part]
    skipped: int  # primitives of points or lines
    buffers: list[bytes]
    #: every node of the scene's tree: index -> its world matrix (the file's axes and units)
    matrices: dict[int, np.ndarray] = field(default_factory=dict)

    def view_bytes(self, index: int) -> bytes:
        """The bytes of buffer view ``index``."""
        view = _item(self.doc, "bufferViews", index, self.path)
        return _view(self, view)

    def uri_bytes(self, uri: str) -> bytes:
        """The bytes a ``uri`` of the file names: a ``data:`` URI or a file beside it."""
        return _uri_bytes(self.path, uri)


def _item(doc: dict, key: str, index, path: Path) -> dict:
    items = doc.get(key)
    if not isinstance(index, int) or isinstance(index, bool) or not isinstance(items, list) or not 0 <= index < len(items) \
            or not isinstance(items[index], dict):
        raise ConfigError(f"{path}: {key}[{index}] is named but the file has no such entry")
    return items[index]


def _uri_bytes(path: Path, uri: str) -> bytes:
    if uri.startswith("data:"):
        head, _, data = uri.partition(",")
        if not head.endswith(";base64"):
            return urllib.parse.unquote_to_bytes(data)
        try:
            return base64.b64decode(data, validate=False)
        except ValueError as e:
            raise ConfigError(f"{path}: a data URI is not valid base64 ({e})") from None
    file = path.parent / urllib.parse.unquote(uri)
    try:
        return file.read_bytes()
    except OSError as e:
        raise ConfigError(f"{file.resolve()}: cannot read this file that {path.name} names: {e.strerror}") from None


def _split_glb(path: Path, data: bytes) -> tuple[dict, bytes | None]:
    if len(data) < 20:
        raise ConfigError(f"{path}: {len(data)} bytes, too short for a GLB file")
    _, version, length = struct.unpack_from("<4sII", data, 0)
    if version != 2:
        raise ConfigError(f"{path}: a GLB file of version {version}; glTF 2.0 is read")
    if length > len(data):
        raise ConfigError(f"{path}: the GLB header promises {length:,} bytes, the file has {len(data):,}; is it cut short?")
    doc, binary, offset = None, None, 12
    while offset + 8 <= length:
        size, kind = struct.unpack_from("<II", data, offset)
        chunk = data[offset + 8:offset + 8 + size]
        if len(chunk) < size:
            raise ConfigError(f"{path}: a GLB chunk runs past the file's end; is it cut short?")
        if kind == GLB_JSON and doc is None:
            doc = _json(path, chunk)
        elif kind == GLB_BIN and binary is None:
            binary = chunk
        offset += 8 + size + (-size % 4)
    if doc is None:
        raise ConfigError(f"{path}: the GLB file has no JSON chunk")
    return doc, binary


def _json(path: Path, data: bytes) -> dict:
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ConfigError(f"{path}: not valid glTF JSON ({e})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not valid glTF JSON (no object at the top level)")
    return doc


def _view(f: GltfFile, view: dict) -> bytes:
    b = view.get("buffer")
    if not isinstance(b, int) or not 0 <= b < len(f.buffers):
        raise ConfigError(f"{f.path}: a buffer view names buffer {b!r}, which the file does not have")
    start, size = int(view.get("byteOffset", 0)), int(view.get("byteLength", 0))
    data = f.buffers[b]
    if start < 0 or size < 0 or start + size > len(data):
        raise ConfigError(f"{f.path}: a buffer view reaches past the end of its buffer ({start + size:,} > {len(data):,} bytes)")
    return data[start:start + size]


def _accessor(f: GltfFile, index, cache: dict) -> np.ndarray:
    """Accessor ``index`` as a (count, width) array: floats for normalized integers, the stored type otherwise."""
    if index in cache:
        return cache[index]
    a = _item(f.doc, "accessors", index, f.path)
    kind, width = a.get("componentType"), WIDTHS.get(a.get("type"))
    if kind not in COMPONENTS or width is None:
        raise ConfigError(f"{f.path}: accessors[{index}] has a type this reader does not take "
                          f"({a.get('componentType')}, {a.get('type')})")
    dtype = np.dtype(COMPONENTS[kind])
    count = int(a.get("count", 0))
    element = dtype.itemsize * width
    out = np.zeros((count, width), dtype)
    if "bufferView" in a:
        view = _item(f.doc, "bufferViews", a["bufferView"], f.path)
        data = _view(f, view)
        start = int(a.get("byteOffset", 0))
        stride = int(view.get("byteStride") or element)
        if count and (start < 0 or stride < element or start + stride * (count - 1) + element > len(data)):
            raise ConfigError(f"{f.path}: accessors[{index}] reaches past the end of its buffer view")
        if count:
            out = np.ndarray((count, width), dtype, buffer=data, offset=start, strides=(stride, dtype.itemsize)).copy()
    sparse = a.get("sparse")
    if isinstance(sparse, dict) and int(sparse.get("count", 0)) > 0:
        n = int(sparse["count"])
        ind, val = sparse.get("indices", {}), sparse.get("values", {})
        idt = np.dtype(COMPONENTS.get(ind.get("componentType"), "<u4"))
        idata = _view(f, _item(f.doc, "bufferViews", ind.get("bufferView"), f.path))
        vdata = _view(f, _item(f.doc, "bufferViews", val.get("bufferView"), f.path))
        i0, v0 = int(ind.get("byteOffset", 0)), int(val.get("byteOffset", 0))
        if i0 + n * idt.itemsize > len(idata) or v0 + n * element > len(vdata):
            raise ConfigError(f"{f.path}: accessors[{index}]'s sparse values reach past their buffer view")
        rows = np.frombuffer(idata, idt, n, i0).astype(np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= count):
            raise ConfigError(f"{f.path}: accessors[{index}]'s sparse indices name elements it does not have")
        out = out.copy()
        out[rows] = np.frombuffer(vdata, dtype, n * width, v0).reshape(n, width)
    if a.get("normalized") and dtype.kind in "iu":
        top = float(np.iinfo(dtype).max)
        out = np.maximum(out.astype(np.float64) / top, -1.0)
    cache[index] = out
    return out


def _node_matrix(node: dict) -> np.ndarray:
    if "matrix" in node:
        m = np.asarray(node["matrix"], dtype=np.float64)
        return m.reshape(4, 4).T  # column-major in the file
    T = np.eye(4)
    x, y, z, w = (float(v) for v in node.get("rotation", (0.0, 0.0, 0.0, 1.0)))
    n = math.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / n, y / n, z / n, w / n
    R = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    T[:3, :3] = R * np.asarray(node.get("scale", (1.0, 1.0, 1.0)), dtype=np.float64)
    T[:3, 3] = np.asarray(node.get("translation", (0.0, 0.0, 0.0)), dtype=np.float64)
    return T


def _triangles(mode: int, idx: np.ndarray) -> np.ndarray:
    if mode == 4:
        return idx[: len(idx) // 3 * 3].reshape(-1, 3)
    i = np.arange(max(len(idx) - 2, 0))
    if mode == 5:  # strip: every other triangle turned to keep the winding
        odd = i % 2
        return np.column_stack([idx[i + odd], idx[i + 1 - odd], idx[i + 2]])
    return np.column_stack([idx[i + 1], idx[i + 2], np.full(len(i), idx[0] if len(idx) else 0)])  # 6: fan


def _roots(doc: dict) -> list:
    scenes = doc.get("scenes")
    if isinstance(scenes, list) and scenes:
        s = doc.get("scene", 0)
        scene = scenes[s] if isinstance(s, int) and 0 <= s < len(scenes) and isinstance(scenes[s], dict) else scenes[0]
        return list(scene.get("nodes", [])) if isinstance(scene, dict) else []
    nodes = doc.get("nodes", [])
    children = {c for n in nodes if isinstance(n, dict) for c in n.get("children", [])}
    return [i for i in range(len(nodes)) if i not in children]


def companion_files(path: Path) -> list[Path]:
    """The files beside a ``.gltf`` file that it names (buffers, images): what it is made of too."""
    if path.suffix.lower() != ".gltf":
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    out = []
    for key in ("buffers", "images"):
        for item in doc.get(key, []) if isinstance(doc, dict) else []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                p = path.parent / urllib.parse.unquote(uri)
                if p.is_file():
                    out.append(p)
    return out


def triangle_count(path: Path) -> int | None:
    """The triangles the file's scene holds, from its JSON alone (a GLB's binary chunk and the
    buffers are not read): each node's mesh's triangle primitives by their accessors' counts. None
    when the JSON cannot be read or is not what glTF says (:func:`read_gltf` then says why)."""
    try:
        with open(path, "rb") as f:
            head = f.read(20)
            if head[:4] == GLB_MAGIC:
                size, kind = struct.unpack_from("<II", head, 12)
                if kind != GLB_JSON:
                    return None
                doc = json.loads(f.read(size).decode("utf-8"))
            else:
                doc = json.loads((head + f.read()).decode("utf-8"))
        accessors, meshes, nodes = doc.get("accessors", []), doc.get("meshes", []), doc.get("nodes", [])

        def triangles(mesh: dict) -> int:
            n = 0
            for prim in mesh.get("primitives", []):
                mode = int(prim.get("mode", 4))
                key = prim["indices"] if "indices" in prim else prim["attributes"]["POSITION"]
                count = int(accessors[key]["count"])
                n += count // 3 if mode == 4 else max(count - 2, 0) if mode in (5, 6) else 0
            return n

        per_mesh = [triangles(m) for m in meshes]
        total, stack, seen = 0, [(r, 0) for r in _roots(doc)], 0
        while stack:
            index, depth = stack.pop()
            seen += 1
            if depth > MAX_DEPTH or seen > 1_000_000:
                return None
            node = nodes[index]
            if "mesh" in node:
                total += per_mesh[node["mesh"]]
            stack.extend((c, depth + 1) for c in node.get("children", []))
        return total
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, struct.error, UnicodeDecodeError):
        return None


def read_gltf(path: Path) -> GltfFile:
    """The parts of the glTF file ``path``; a file that cannot be read is a one-line ConfigError."""
    data = path.read_bytes()
    if data[:4] == GLB_MAGIC:
        doc, binary = _split_glb(path, data)
    else:
        doc, binary = _json(path, data), None
    version = str(doc.get("asset", {}).get("version", "2.0")) if isinstance(doc.get("asset"), dict) else "2.0"
    if not version.startswith("2"):
        raise ConfigError(f"{path}: a glTF {version} file; glTF 2.0 is read")
    needed = sorted(set(doc.get("extensionsRequired", [])) - READ_EXTENSIONS)
    if needed:
        raise ConfigError(f"{path}: the file needs the glTF extension {', '.join(needed)}, which this version does not read")
    buffers = []
    for i, b in enumerate(doc.get("buffers", [])):
        if not isinstance(b, dict):
            raise ConfigError(f"{path}: buffers[{i}] is not an object")
        if "uri" in b:
            buffers.append(_uri_bytes(path, str(b["uri"])))
        elif i == 0 and binary is not None:
            buffers.append(binary)
        else:
            raise ConfigError(f"{path}: buffers[{i}] has no data (no uri, and no GLB binary chunk)")
    f = GltfFile(path, doc, [], 0, buffers)
    cache: dict = {}
    stack = [(r, np.eye(4), 0) for r in reversed(_roots(doc))]
    while stack:
        index, parent, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConfigError(f"{path}: the scene's nodes nest deeper than {MAX_DEPTH} (do they form a cycle?)")
        node = _item(doc, "nodes", index, path)
        M = parent @ _node_matrix(node)
        f.matrices[index] = M
        if "mesh" in node:
            _add_mesh(f, _item(doc, "meshes", node["mesh"], path), M, cache, index)
        stack.extend((c, M, depth + 1) for c in reversed(node.get("children", [])))
    return f


def _add_mesh(f: GltfFile, mesh: dict, M: np.ndarray, cache: dict, node: int = -1) -> None:
    flip = np.linalg.det(M[:3, :3]) < 0  # a mirroring transform turns the triangles' winding
    try:
        normal_matrix = np.linalg.inv(M[:3, :3]).T
    except np.linalg.LinAlgError:
        normal_matrix = None
    for p in mesh.get("primitives", []):
        mode = int(p.get("mode", 4))
        attrs = p.get("attributes", {})
        if mode not in (4, 5, 6):
            f.skipped += 1
            continue
        if "POSITION" not in attrs:
            raise ConfigError(f"{f.path}: a primitive has no POSITION")
        pos = _accessor(f, attrs["POSITION"], cache).astype(np.float64)[:, :3]
        idx = (_accessor(f, p["indices"], cache).ravel().astype(np.int64) if "indices" in p
               else np.arange(len(pos), dtype=np.int64))
        faces = _triangles(mode, idx)
        if len(faces) and (faces.min() < 0 or faces.max() >= len(pos)):
            raise ConfigError(f"{f.path}: a triangle names a vertex the file does not have")
        if flip:
            faces = faces[:, ::-1]
        part = Part(pos @ M[:3, :3].T + M[:3, 3], np.ascontiguousarray(faces), material=p.get("material"), node=node)
        if "NORMAL" in attrs and normal_matrix is not None:
            nrm = _accessor(f, attrs["NORMAL"], cache).astype(np.float64)
            if nrm.shape == (len(pos), 3) and np.isfinite(nrm).all():
                nrm = nrm @ normal_matrix.T
                length = np.linalg.norm(nrm, axis=1, keepdims=True)
                if (length > 1e-12).all():
                    part.normals = nrm / length
        for name, key in attrs.items():
            if name.startswith("TEXCOORD_") and name[9:].isdigit():
                uv = _accessor(f, key, cache)
                if uv.shape[1] == 2 and len(uv) == len(pos) and np.isfinite(uv).all():
                    part.texcoords[int(name[9:])] = uv.astype(np.float64)
        if "COLOR_0" in attrs:
            c = _accessor(f, attrs["COLOR_0"], cache).astype(np.float64)
            if len(c) == len(pos) and c.shape[1] in (3, 4) and np.isfinite(c).all():
                part.colors = np.column_stack([c[:, :3], c[:, 3] if c.shape[1] == 4 else np.ones(len(c))])
        if part.material is not None:
            _item(f.doc, "materials", part.material, f.path)
        f.parts.append(part)
