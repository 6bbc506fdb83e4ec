"""Writing a glTF 2.0 file from numpy arrays: ``.glb``, or ``.gltf`` with one ``.bin`` file beside it.

A :class:`GltfWriter` collects the file: accessors (vertex data and triangle indices), images
(PNG or JPEG, held in the binary buffer), textures and their samplers, metallic-roughness
materials, meshes of triangle primitives, nodes with their transforms, punctual lights
(``KHR_lights_punctual``) and the root nodes of the file's one scene. Each method returns the
index of what it adds, for the calls that name it. Nothing is converted: glTF's axes are Y up,
its units metres, its texture coordinates have v = 0 at the image's top row, and what is given is
written as it is. The same calls write the same bytes.
"""

from __future__ import annotations

import copy
import json
import math
import struct
from pathlib import Path

import numpy as np

FLOAT, UINT16, UINT32 = 5126, 5123, 5125
REPEAT, MIRRORED_REPEAT, CLAMP_TO_EDGE = 10497, 33648, 33071
NEAREST, LINEAR, LINEAR_MIPMAP_LINEAR = 9728, 9729, 9987
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
_DTYPES = {FLOAT: "<f4", UINT16: "<u2", UINT32: "<u4"}
_TYPES = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}
LIGHTS = "KHR_lights_punctual"


def _texture_info(texture, **extra) -> dict:
    """A material's texture slot: a texture index (texture coordinate set 0), or a dict written as it is."""
    info = dict(texture) if isinstance(texture, dict) else {"index": int(texture)}
    info.update({k: float(v) for k, v in extra.items() if v is not None})
    return info


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, np.float64).ravel()]


class GltfWriter:
    """One glTF 2.0 file being put together: one buffer, one scene."""

    def __init__(self, generator: str = "fat.scene.gltf_write"):
        self.bin = bytearray()
        self.doc: dict = {"asset": {"version": "2.0", "generator": generator}, "scene": 0, "scenes": [{"nodes": []}]}
        self._samplers: dict[tuple, int] = {}

    def _add(self, key: str, item: dict) -> int:
        items = self.doc.setdefault(key, [])
        items.append(item)
        return len(items) - 1

    def _view(self, data: bytes, target: int | None = None) -> int:
        self.bin += b"\0" * (-len(self.bin) % 4)
        view = {"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.bin += data
        return self._add("bufferViews", view)

    def accessor(self, array, component: int = FLOAT, bounds: bool = False, target: int | None = None) -> int:
        """An accessor of ``array``: (N,) scalars or (N, 2..4) vectors, stored as ``component``
        (:data:`FLOAT`, :data:`UINT16` or :data:`UINT32`). ``bounds``: write its min and max (glTF
        requires them of POSITION). Values that do not fit the component type are a ValueError."""
        a = np.asarray(array)
        if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[1] not in _TYPES) or len(a) == 0:
            raise ValueError(f"an accessor takes (N,) or (N, 1..4) values, got shape {a.shape}")
        if component in (UINT16, UINT32):
            top = 0xFFFF if component == UINT16 else 0xFFFFFFFF
            if a.size and (a.min() < 0 or a.max() > top):
                raise ValueError(f"values {a.min()}..{a.max()} do not fit component type {component}")
        elif component != FLOAT:
            raise ValueError(f"component type {component} is not written here")
        elif not np.isfinite(a).all():
            raise ValueError("an accessor's values must be finite")
        a = np.ascontiguousarray(a, _DTYPES[component])
        acc = {"bufferView": self._view(a.tobytes(), target), "componentType": component, "count": len(a),
               "type": _TYPES[1 if a.ndim == 1 else a.shape[1]]}
        if bounds:
            acc["min"], acc["max"] = (np.atleast_1d(a.min(0)).tolist(), np.atleast_1d(a.max(0)).tolist())
        return self._add("accessors", acc)

    def image(self, data: bytes, mime: str = "image/png") -> int:
        """An image file's bytes (``image/png`` or ``image/jpeg``), held in the buffer."""
        return self._add("images", {"bufferView": self._view(bytes(data)), "mimeType": mime})

    def image_array(self, pixels: np.ndarray, format: str = "png", quality: int = 90) -> int:
        """An (H, W, 3) RGB or (H, W, 4) RGBA uint8 image, encoded as PNG or JPEG (``quality``; no alpha)."""
        import cv2

        px = np.asarray(pixels, np.uint8)
        if px.ndim != 3 or px.shape[2] not in (3, 4) or (format == "jpeg" and px.shape[2] != 3):
            raise ValueError(f"expected RGB (or RGBA for PNG) pixels, got shape {px.shape} for {format}")
        bgr = np.ascontiguousarray(px[..., [2, 1, 0, 3][:px.shape[2]]])
        params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if format == "jpeg" else [cv2.IMWRITE_PNG_COMPRESSION, 9]
        ok, data = cv2.imencode(".jpg" if format == "jpeg" else ".png", bgr, params)
        if not ok:
            raise ValueError(f"cannot encode the image as {format}")
        return self.image(data.tobytes(), "image/jpeg" if format == "jpeg" else "image/png")

    def texture(self, image: int, wrap=REPEAT, mag_filter: int = LINEAR, min_filter: int = LINEAR_MIPMAP_LINEAR) -> int:
        """A texture of ``image``; ``wrap``: one mode for both axes or (wrapS, wrapT). Textures of
        the same sampler settings share one sampler."""
        s, t = (wrap, wrap) if isinstance(wrap, int) else wrap
        key = (int(s), int(t), int(mag_filter), int(min_filter))
        if key not in self._samplers:
            self._samplers[key] = self._add("samplers", {"magFilter": key[2], "minFilter": key[3],
                                                         "wrapS": key[0], "wrapT": key[1]})
        return self._add("textures", {"sampler": self._samplers[key], "source": int(image)})

    def material(self, name: str | None = None, base_color=(1.0, 1.0, 1.0, 1.0), base_color_texture=None,
                 metallic: float = 1.0, roughness: float = 1.0, metallic_roughness_texture=None,
                 normal_texture=None, normal_scale: float = 1.0, occlusion_texture=None,
                 occlusion_strength: float = 1.0, emissive_texture=None, emissive=(0.0, 0.0, 0.0),
                 alpha_mode: str = "OPAQUE", alpha_cutoff: float = 0.5, double_sided: bool = False) -> int:
        """A metallic-roughness material. The arguments are glTF's fields of the same meaning
        (``base_color``: baseColorFactor, linear RGBA; ``emissive``: emissiveFactor, linear RGB;
        ``metallic_roughness_texture``: roughness in G, metalness in B; ``occlusion_texture``:
        occlusion in R), their defaults glTF's; a texture is a texture index or a texture info dict.
        Fields equal to glTF's defaults are left out; ``alpha_cutoff`` is written in MASK mode only."""
        if alpha_mode not in ("OPAQUE", "MASK", "BLEND"):
            raise ValueError(f"alpha mode {alpha_mode!r}: expected OPAQUE, MASK or BLEND")
        pbr: dict = {}
        if _floats(base_color) != [1.0] * 4:
            pbr["baseColorFactor"] = _floats(base_color)
        if base_color_texture is not None:
            pbr["baseColorTexture"] = _texture_info(base_color_texture)
        if metallic != 1.0:
            pbr["metallicFactor"] = float(metallic)
        if roughness != 1.0:
            pbr["roughnessFactor"] = float(roughness)
        if metallic_roughness_texture is not None:
            pbr["metallicRoughnessTexture"] = _texture_info(metallic_roughness_texture)
        m: dict = {"name": name} if name is not None else {}
        if pbr:
            m["pbrMetallicRoughness"] = pbr
        if normal_texture is not None:
            m["normalTexture"] = _texture_info(normal_texture, scale=None if normal_scale == 1.0 else normal_scale)
        if occlusion_texture is not None:
            strength = None if occlusion_strength == 1.0 else occlusion_strength
            m["occlusionTexture"] = _texture_info(occlusion_texture, strength=strength)
        if emissive_texture is not None:
            m["emissiveTexture"] = _texture_info(emissive_texture)
        if _floats(emissive) != [0.0] * 3:
            m["emissiveFactor"] = _floats(emissive)
        if alpha_mode != "OPAQUE":
            m["alphaMode"] = alpha_mode
        if alpha_mode == "MASK" and alpha_cutoff != 0.5:
            m["alphaCutoff"] = float(alpha_cutoff)
        if double_sided:
            m["doubleSided"] = True
        return self._add("materials", m)

    def primitive(self, positions, faces, material: int | None = None, normals=None, texcoords=None,
                  colors=None, index_type: int | None = None) -> dict:
        """A triangle primitive (for :meth:`mesh`): (N, 3) positions, (M, 3) vertex indices,
        optional (N, 3) unit normals, texture coordinates ((N, 2) for TEXCOORD_0, or a dict set ->
        array) and (N, 3 or 4) linear vertex colours (COLOR_0). ``index_type``: :data:`UINT16` or
        :data:`UINT32`; None takes UINT16 below 65536 vertices, UINT32 from there."""
        pos = np.asarray(positions, np.float64)
        tri = np.asarray(faces, np.int64)
        if pos.ndim != 2 or pos.shape[1] != 3 or tri.ndim != 2 or tri.shape[1] != 3 or not len(tri):
            raise ValueError(f"expected (N, 3) positions and (M, 3) faces, got {pos.shape} and {tri.shape}")
        if tri.min() < 0 or tri.max() >= len(pos):
            raise ValueError(f"faces name vertices outside 0..{len(pos) - 1}")
        if index_type is None:
            index_type = UINT16 if len(pos) < 65536 else UINT32
        p: dict = {"attributes": {"POSITION": self.accessor(pos, FLOAT, bounds=True, target=ARRAY_BUFFER)}}
        extra = {"NORMAL": normals, "COLOR_0": colors}
        if texcoords is not None:
            sets = texcoords if isinstance(texcoords, dict) else {0: texcoords}
            extra.update({f"TEXCOORD_{n}": uv for n, uv in sorted(sets.items())})
        for name, values in extra.items():
            if values is not None:
                if len(values) != len(pos):
                    raise ValueError(f"{name}: {len(values)} values for {len(pos)} vertices")
                p["attributes"][name] = self.accessor(values, FLOAT, target=ARRAY_BUFFER)
        p["indices"] = self.accessor(tri.ravel(), index_type, target=ELEMENT_ARRAY_BUFFER)
        if material is not None:
            p["material"] = int(material)
        return p

    def mesh(self, primitives: list[dict], name: str | None = None) -> int:
        """A mesh of ``primitives`` (from :meth:`primitive`)."""
        return self._add("meshes", {**({"name": name} if name is not None else {}), "primitives": list(primitives)})

    def light(self, type: str = "directional", color=(1.0, 1.0, 1.0), intensity: float = 1.0,
              range: float | None = None, inner_cone_angle: float = 0.0, outer_cone_angle: float = math.pi / 4,
              name: str | None = None) -> int:
        """A KHR_lights_punctual light (for :meth:`node`): ``directional`` (lux), ``point`` or
        ``spot`` (candela); linear ``color``; ``range`` in metres (None: unlimited); a spot's cone
        angles in radians. It shines along its node's -z axis."""
        if type not in ("directional", "point", "spot"):
            raise ValueError(f"light type {type!r}: expected directional, point or spot")
        light: dict = {"name": name} if name is not None else {}
        light.update(type=type, color=_floats(color), intensity=float(intensity))
        if range is not None and type != "directional":
            light["range"] = float(range)
        if type == "spot":
            light["spot"] = {"innerConeAngle": float(inner_cone_angle), "outerConeAngle": float(outer_cone_angle)}
        lights = self.doc.setdefault("extensions", {}).setdefault(LIGHTS, {}).setdefault("lights", [])
        lights.append(light)
        if LIGHTS not in self.doc.setdefault("extensionsUsed", []):
            self.doc["extensionsUsed"].append(LIGHTS)
        return len(lights) - 1

    def node(self, name: str | None = None, mesh: int | None = None, translation=None, rotation=None,
             scale=None, matrix=None, children=None, light: int | None = None) -> int:
        """A node: its ``mesh``, its transform (``translation``; ``rotation``, a unit quaternion
        (x, y, z, w); ``scale``; or a 4x4 ``matrix`` acting on column vectors, written column by
        column as glTF stores it), its ``children`` (node indices) and its ``light``."""
        n: dict = {"name": name} if name is not None else {}
        if matrix is not None:
            if any(v is not None for v in (translation, rotation, scale)):
                raise ValueError("a node has a matrix or translation, rotation and scale, not both")
            n["matrix"] = _floats(np.asarray(matrix, np.float64).reshape(4, 4).T)
        for key, value in (("translation", translation), ("rotation", rotation), ("scale", scale)):
            if value is not None:
                n[key] = _floats(value)
        if mesh is not None:
            n["mesh"] = int(mesh)
        if children:
            n["children"] = [int(c) for c in children]
        if light is not None:
            n["extensions"] = {LIGHTS: {"light": int(light)}}
        return self._add("nodes", n)

    def root(self, node: int) -> None:
        """Adds ``node`` to the roots of the file's scene."""
        self.doc["scenes"][0]["nodes"].append(int(node))

    def write(self, path) -> Path:
        """Writes the file: GLB for a ``.glb`` path, else glTF JSON with its buffer in ``<stem>.bin``."""
        path = Path(path)
        data = bytes(self.bin) + b"\0" * (-len(self.bin) % 4)
        doc = copy.deepcopy(self.doc)
        if not doc["scenes"][0]["nodes"]:
            del doc["scenes"][0]["nodes"]
        if data:
            doc["buffers"] = [{"byteLength": len(data)}]
        if path.suffix.lower() == ".glb":
            js = json.dumps(doc, separators=(",", ":")).encode()
            js += b" " * (-len(js) % 4)
            body = struct.pack("<II", len(js), 0x4E4F534A) + js
            if data:
                body += struct.pack("<II", len(data), 0x004E4942) + data
            path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
        else:
            if data:
                doc["buffers"][0]["uri"] = path.stem + ".bin"
                path.with_name(path.stem + ".bin").write_bytes(data)
            path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        return path
