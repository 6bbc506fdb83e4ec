"""glTF 2.0 materials as this project draws them: metallic-roughness, emission, alpha mask.

Each material of a file becomes a :class:`GltfMaterial`: its base colour factor and texture, its
metallic and roughness factors and ``metallicRoughnessTexture`` (roughness in G, metalness in B),
its emissive factor (times ``KHR_materials_emissive_strength``) and texture, its alpha mode and
cutoff. A texture is a :class:`TextureRef`: the image, the texture coordinate set and the
``KHR_texture_transform`` of the slot it fills (offset, rotation, scale, texCoord, as the
extension's specification composes them), the sampler's wrap modes. A part without a material
takes glTF's default material (:data:`DEFAULT_MATERIAL`).

Colours: base colour and emissive textures are sRGB, factors and vertex colours linear; what is
made of them here is linear until it is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

REPEAT, MIRRORED_REPEAT, CLAMP_TO_EDGE = 10497, 33648, 33071
#: Material extensions drawn (the others change nothing; the file's warning names them).
DRAWN_EXTENSIONS = frozenset({"KHR_materials_emissive_strength", "KHR_texture_transform"})
#: A JPEG image of a glTF file at least twice this wide or high is decoded at 1/2, 1/4 or 1/8 scale
#: (the baked texture keeps at most 1024 texels a side per part).
MAX_DECODED_SIDE = 4096


@dataclass(frozen=True)
class TextureRef:
    image: int  # index into the file's images
    tex_coord: int  # TEXCOORD_<n>
    matrix: np.ndarray  # (3, 3): texture coordinates (u, v, 1) -> where the image is read (KHR_texture_transform)
    wrap: tuple[int, int]  # (wrapS, wrapT)

    def transform(self, uv: np.ndarray) -> np.ndarray:
        return uv @ self.matrix[:2, :2].T + self.matrix[:2, 2]


@dataclass(frozen=True)
class GltfMaterial:
    name: str
    base: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)  # linear RGBA
    base_texture: TextureRef | None = None
    metallic: float = 1.0
    roughness: float = 1.0
    metallic_roughness_texture: TextureRef | None = None  # G: roughness, B: metalness
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)  # linear, times the emissive strength
    emissive_texture: TextureRef | None = None
    alpha_mode: str = "OPAQUE"  # OPAQUE, MASK or BLEND
    alpha_cutoff: float = 0.5
    normal_texture: TextureRef | None = None  # tangent-space normals (OpenGL's convention)
    normal_scale: float = 1.0
    occlusion_texture: TextureRef | None = None  # R: ambient occlusion
    occlusion_strength: float = 1.0
    double_sided: bool = False

    def textures(self) -> tuple[TextureRef | None, TextureRef | None, TextureRef | None]:
        return self.base_texture, self.metallic_roughness_texture, self.emissive_texture


#: glTF's default material (the specification's, for a primitive without one): white, metallic 1,
#: roughness 1, opaque.
DEFAULT_MATERIAL = GltfMaterial("glTF default material")


def srgb_decode(c: np.ndarray) -> np.ndarray:
    """sRGB-encoded values 0..1 -> linear."""
    c = np.asarray(c)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def srgb_encode(c: np.ndarray) -> np.ndarray:
    """Linear values 0..1 -> sRGB-encoded."""
    c = np.clip(np.asarray(c), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def texture_transform(ext: dict | None) -> np.ndarray:
    """KHR_texture_transform's matrix: translation x rotation x scale, rotation counter-clockwise
    in radians as the specification writes it (``[[cos, sin], [-sin, cos]]`` on (u, v))."""
    ext = ext or {}
    ox, oy = (float(x) for x in ext.get("offset", (0.0, 0.0)))
    r = float(ext.get("rotation", 0.0))
    sx, sy = (float(x) for x in ext.get("scale", (1.0, 1.0)))
    c, s = math.cos(r), math.sin(r)
    T = np.array([[1.0, 0.0, ox], [0.0, 1.0, oy], [0.0, 0.0, 1.0]])
    R = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
    S = np.diag([sx, sy, 1.0])
    return T @ R @ S


def _number(value, default: float, where: str) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _factors(value, n: int, default, where: str) -> tuple:
    if value is None:
        return tuple(default)
    if not isinstance(value, list) or len(value) != n:
        raise ConfigError(f"{where}: expected {n} numbers, got {value!r}")
    return tuple(min(max(_number(v, 0.0, where), 0.0), 1.0) for v in value)


def _texture(doc: dict, info, where: str) -> TextureRef | None:
    if info is None:
        return None
    if not isinstance(info, dict) or not isinstance(info.get("index"), int):
        raise ConfigError(f"{where}: expected a texture reference ({{\"index\": ...}}), got {info!r}")
    textures = doc.get("textures", [])
    if not 0 <= info["index"] < len(textures):
        raise ConfigError(f"{where}: names texture {info['index']}, the file has {len(textures)}")
    tex = textures[info["index"]]
    source = tex.get("source")
    for ext in (tex.get("extensions") or {}).values():  # EXT_texture_webp and the like name their own source
        if isinstance(ext, dict) and isinstance(ext.get("source"), int):
            source = ext["source"] if source is None else source
    if not isinstance(source, int) or not 0 <= source < len(doc.get("images", [])):
        raise ConfigError(f"{where}: texture {info['index']} has no image the file holds")
    sampler = {}
    if isinstance(tex.get("sampler"), int) and 0 <= tex["sampler"] < len(doc.get("samplers", [])):
        sampler = doc["samplers"][tex["sampler"]]
    wrap = tuple(int(sampler.get(k, REPEAT)) for k in ("wrapS", "wrapT"))
    transform = (info.get("extensions") or {}).get("KHR_texture_transform")
    tex_coord = int(info.get("texCoord", 0))
    if isinstance(transform, dict) and "texCoord" in transform:
        tex_coord = int(transform["texCoord"])
    return TextureRef(source, tex_coord, texture_transform(transform if isinstance(transform, dict) else None), wrap)


def materials(doc: dict, where: str) -> list[GltfMaterial]:
    """The file's materials, in order. ``where``: what an error names (the file)."""
    out = []
    for i, m in enumerate(doc.get("materials", [])):
        at = f"{where}: materials[{i}]"
        if not isinstance(m, dict):
            raise ConfigError(f"{at}: not an object")
        pbr = m.get("pbrMetallicRoughness") or {}
        ext = m.get("extensions") or {}
        strength = _number((ext.get("KHR_materials_emissive_strength") or {}).get("emissiveStrength"), 1.0, at)
        emissive = _factors(m.get("emissiveFactor"), 3, (0.0, 0.0, 0.0), f"{at}.emissiveFactor")
        mode = m.get("alphaMode", "OPAQUE")
        out.append(GltfMaterial(
            str(m.get("name", f"material {i}")),
            _factors(pbr.get("baseColorFactor"), 4, (1.0, 1.0, 1.0, 1.0), f"{at}.baseColorFactor"),
            _texture(doc, pbr.get("baseColorTexture"), f"{at}.baseColorTexture"),
            min(max(_number(pbr.get("metallicFactor"), 1.0, at), 0.0), 1.0),
            min(max(_number(pbr.get("roughnessFactor"), 1.0, at), 0.0), 1.0),
            _texture(doc, pbr.get("metallicRoughnessTexture"), f"{at}.metallicRoughnessTexture"),
            tuple(e * max(strength, 0.0) for e in emissive),
            _texture(doc, m.get("emissiveTexture"), f"{at}.emissiveTexture"),
            mode if mode in ("OPAQUE", "MASK", "BLEND") else "OPAQUE",
            _number(m.get("alphaCutoff"), 0.5, at),
            _texture(doc, m.get("normalTexture"), f"{at}.normalTexture"),
            _number((m.get("normalTexture") or {}).get("scale"), 1.0, at),
            _texture(doc, m.get("occlusionTexture"), f"{at}.occlusionTexture"),
            min(max(_number((m.get("occlusionTexture") or {}).get("strength"), 1.0, at), 0.0), 1.0),
            bool(m.get("doubleSided", False))))
    return out


def ignored_extensions(doc: dict) -> list[str]:
    """The material extensions the file uses that change how it looks and are not drawn here."""
    used = {k for m in doc.get("materials", []) if isinstance(m, dict) for k in (m.get("extensions") or {})}
    return sorted(k for k in used if k.startswith("KHR_materials_") and k not in DRAWN_EXTENSIONS)


def decode_image(data: bytes, where: str) -> np.ndarray:
    """An image file's bytes (PNG, JPEG, WebP ...) as (H, W, 4) uint8 RGBA."""
    import cv2

    from .texture_sets import probe_image_bytes

    info = probe_image_bytes(data, where, "image") if data else None  # its size and ends checked first
    flag = cv2.IMREAD_UNCHANGED
    if info is not None and info.format == "jpeg" and max(info.width, info.height) >= 2 * MAX_DECODED_SIDE:
        # no alpha in a JPEG: decoded at reduced scale by the decoder itself, memory as for the result
        factor = min(8, 1 << int(np.log2(max(info.width, info.height) / MAX_DECODED_SIDE)))
        flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[factor]
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag) if data else None
    if img is None:
        raise ConfigError(f"{where}: cannot decode the image")
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img.astype(np.float64) / np.iinfo(img.dtype).max * 255), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.shape[2] == 1:
        return np.concatenate([np.repeat(img, 3, axis=2), np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
    if img.shape[2] == 2:  # grey + alpha
        return np.concatenate([np.repeat(img[:, :, :1], 3, axis=2), img[:, :, 1:]], axis=2)
    if img.shape[2] == 3:
        return np.concatenate([img[:, :, ::-1], np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
    return np.ascontiguousarray(img[:, :, [2, 1, 0, 3]])


def _wrapped(x: np.ndarray, n: int, mode: int) -> np.ndarray:
    """Texel indices ``x`` (any integers) inside 0..n-1 by the sampler's wrap mode."""
    if mode == CLAMP_TO_EDGE:
        return np.clip(x, 0, n - 1)
    if mode == MIRRORED_REPEAT:
        x = np.mod(x, 2 * n)
        return np.where(x >= n, 2 * n - 1 - x, x)
    return np.mod(x, n)


def sample(image: np.ndarray, uv: np.ndarray, wrap: tuple[int, int]) -> np.ndarray:
    """Bilinear lookups of ``image`` (H, W, C) at glTF texture coordinates ``uv`` (..., 2) (v = 0 at
    the top row) with the sampler's wrap modes: (..., C) float32 in the image's units."""
    h, w = image.shape[:2]
    x = uv[..., 0].astype(np.float64) * w - 0.5
    y = uv[..., 1].astype(np.float64) * h - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[..., None].astype(np.float32), (y - y0)[..., None].astype(np.float32)
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    xa, xb = _wrapped(x0, w, wrap[0]), _wrapped(x0 + 1, w, wrap[0])
    ya, yb = _wrapped(y0, h, wrap[1]), _wrapped(y0 + 1, h, wrap[1])
    img = image.astype(np.float32)
    top = img[ya, xa] * (1 - fx) + img[ya, xb] * fx
    bottom = img[yb, xa] * (1 - fx) + img[yb, xb] * fx
    return top * (1 - fy) + bottom * fy


class Images:
    """The file's images, decoded once each, as RGBA uint8."""

    def __init__(self, gltf):
        self.gltf = gltf
        self._decoded: dict[int, np.ndarray] = {}

    def __getitem__(self, index: int) -> np.ndarray:
        if index not in self._decoded:
            f = self.gltf
            image = f.doc["images"][index]
            if "uri" in image:
                uri = str(image["uri"])
                where = f"{f.path}: images[{index}]" if uri.startswith("data:") else str((f.path.parent / uri).resolve())
                data = f.uri_bytes(uri)
            elif "bufferView" in image:
                where, data = f"{f.path}: images[{index}]", f.view_bytes(image["bufferView"])
            else:
                raise ConfigError(f"{f.path}: images[{index}] has neither a uri nor a buffer view")
            self._decoded[index] = decode_image(data, where)
        return self._decoded[index]


@dataclass
class Channels:
    """A material's values at some points (texels or triangles), linear: base colour RGBA,
    roughness, metallic, emission (the emissive strength included)."""

    base: np.ndarray  # (..., 4)
    roughness: np.ndarray  # (...)
    metallic: np.ndarray  # (...)
    emissive: np.ndarray  # (..., 3)

    def coverage(self, material: GltfMaterial) -> np.ndarray:
        """1 where the surface is drawn, 0 where alpha masking cuts it out (MASK mode only: BLEND is drawn opaque)."""
        if material.alpha_mode != "MASK":
            return np.ones(self.base.shape[:-1], np.float32)
        return (self.base[..., 3] >= material.alpha_cutoff).astype(np.float32)


def evaluate(material: GltfMaterial, images: Images, uvs: dict[int, np.ndarray], colors: np.ndarray | None,
             shape: tuple) -> Channels:
    """The material at points of ``shape`` whose texture coordinates are ``uvs`` (set n -> (*shape, 2),
    untransformed) and whose vertex colours are ``colors`` ((*shape, 4) linear, or None). A texture
    whose coordinate set the points lack is taken at its mean."""

    def texture(ref: TextureRef | None, srgb: bool) -> np.ndarray | None:
        if ref is None:
            return None
        img = images[ref.image]
        uv = uvs.get(ref.tex_coord)
        if uv is None:
            v = img.reshape(-1, 4).astype(np.float32).mean(axis=0)
            v = np.broadcast_to(v, (*shape, 4))
        else:
            v = sample(img, ref.transform(uv), ref.wrap)
        v = v / 255.0
        if srgb:
            v = np.concatenate([srgb_decode(v[..., :3]), v[..., 3:]], axis=-1)
        return v.astype(np.float32)

    base = np.broadcast_to(np.asarray(material.base, np.float32), (*shape, 4)).copy()
    t = texture(material.base_texture, True)
    if t is not None:
        base *= t
    if colors is not None:
        base *= colors.astype(np.float32)
    rough = np.full(shape, material.roughness, np.float32)
    metal = np.full(shape, material.metallic, np.float32)
    t = texture(material.metallic_roughness_texture, False)
    if t is not None:
        rough *= t[..., 1]
        metal *= t[..., 2]
    emissive = np.broadcast_to(np.asarray(material.emissive, np.float32), (*shape, 3)).copy()
    t = texture(material.emissive_texture, True)
    if t is not None:
        emissive *= t[..., :3]
    return Channels(base, rough, metal, emissive)
