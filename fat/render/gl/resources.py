"""The renderer's GPU resources, each made once and kept: objects' meshes (as
:class:`~fat.render.gl.surfaces.Geometry`) and textures, their own material maps, texture sets'
maps, patterns, environment maps, the surface programs; and :class:`Cache`, the bounded
least-recently-used store of what randomized frames bring (its size has no bound otherwise)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from ...errors import ConfigError
from ...assets.meshes import Mesh, load_mesh, split_for_culling
from ...scene.texture_sets import read_image, read_set
from ...scene.patterns import pattern
from .. import tonemap
from ..materials import Material, object_material, surface_material
from .looks import Environment, designed, reflective
from .shaders import ROUGH, fragment_shader, vertex_shader
from .surfaces import Geometry, Surface

GL_SRGB8 = 0x8C41

#: Faces meeting at a sharper angle than this (degrees) keep a hard edge between them.
CREASE_DEG = 60.0

#: Bytes of GPU (or, on a CPU, main) memory that randomized frames' textures and meshes may keep.
RANDOM_CACHE_BYTES = 768 * 2**20


def _textures_of(surface: "Surface") -> list:
    """The distinct textures a surface holds."""
    out = []
    for t in (surface.tex, *(surface.maps or ())[:2], surface.pbr, surface.mask, surface.emission, surface.normal):
        if t is not None and not any(t is u for u in out):
            out.append(t)
    return out


def _nbytes(obj) -> int:
    """Memory an OpenGL object holds (a texture with its mipmaps, a buffer), or a cache entry's parts."""
    if isinstance(obj, Surface):
        return sum(_nbytes(t) for t in _textures_of(obj)) + \
            (_nbytes(obj.geometry.vbo) + _nbytes(obj.geometry.ibo) if obj.geometry is not None else 0)
    if isinstance(obj, Environment):
        return _nbytes(obj.texture)
    if hasattr(obj, "size") and isinstance(getattr(obj, "size"), int):  # a buffer
        return obj.size
    w, h = getattr(obj, "width", 0), getattr(obj, "height", 0)
    return int(w * h * getattr(obj, "components", 4) * {"f1": 1, "u1": 1, "f2": 2, "f4": 4}.get(getattr(obj, "dtype", "f1"), 4) * 4 / 3)


def _release(obj) -> None:
    if isinstance(obj, Surface):
        for t in _textures_of(obj):
            if hasattr(t, "release"):
                t.release()
        if obj.geometry is not None:
            obj.geometry.release()
    elif isinstance(obj, Environment):
        obj.texture.release()
    elif hasattr(obj, "release"):
        obj.release()


class Cache:
    """OpenGL objects made on demand, least recently used first out when their bytes pass
    ``budget`` (:meth:`trim`, called before a frame's objects are looked up: a frame keeps all it uses)."""

    def __init__(self, budget: int):
        from collections import OrderedDict

        self.budget, self.items, self.sizes = budget, OrderedDict(), {}

    def get(self, key: str, make):
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        value = make()
        self.items[key], self.sizes[key] = value, _nbytes(value)
        return value

    def trim(self) -> None:
        while self.items and sum(self.sizes.values()) > self.budget:
            key, value = self.items.popitem(last=False)
            del self.sizes[key]
            _release(value)

    def clear(self) -> None:
        self.budget = 0
        self.trim()


class Resources:
    """The renderer's part that uploads meshes, textures and maps and compiles the surface programs,
    each once (the renderer's caches). A mixin of :class:`~fat.render.gl.renderer.GLRenderer`."""

    def _texture(self, key: str, image_rgb: np.ndarray):
        if key not in self._textures:
            self._textures[key] = self._make_texture(image_rgb)
        return self._textures[key]

    def _make_texture(self, image_rgb: np.ndarray):
        img = np.ascontiguousarray(np.flipud(image_rgb))  # OBJ uv (0, 0) is the image's bottom left
        t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes(), internal_format=GL_SRGB8)
        t.build_mipmaps()  # of the linear colours: the sampler decodes sRGB; trilinear (anisotropic would cost more than the rest on a CPU)
        return t

    def _program(self, maps: bool, glossy: bool, metal: bool = False, lights: int = 0, look: bool = False,
                 box: bool = False, pbr: bool = False, mask: bool = False, emissive: bool = False,
                 normal: bool = False, occlusion: bool = False):
        """The surface shader specialised (see :func:`fat.render.gl.shaders.fragment_shader`), compiled once."""
        key = (maps, glossy, metal, lights, look, box, pbr, mask, emissive, normal, occlusion, self.extras)
        if key not in self.programs:
            self.programs[key] = self.ctx.program(
                vertex_shader=vertex_shader(box, mask),
                fragment_shader=fragment_shader(maps, glossy, metal, lights, look, pbr, mask, emissive, normal, occlusion,
                                                self.extras))
        return self.programs[key]

    def _upload(self, mesh: Mesh, two_sided: bool | None = None) -> "Geometry":
        """``mesh`` on the GPU; its faces culled or drawn from both sides as :func:`split_for_culling`
        finds, or all from both sides (``two_sided``) or none (False: a glTF material's own say)."""
        m = mesh if mesh.normals is not None else mesh.with_vertex_normals()
        uv = m.uvs if m.uvs is not None else np.zeros((len(m.vertices), 2))
        data = np.hstack([m.vertices, m.normals, uv]).astype("f4")
        vbo = self.ctx.buffer(data.tobytes())
        if two_sided is None:
            culled, two_sided = split_for_culling(m) if self._cull else (m.faces[:0], m.faces)
        else:
            culled, two_sided = (m.faces[:0], m.faces) if two_sided or not self._cull else (m.faces, m.faces[:0])
        ibo = self.ctx.buffer(np.concatenate([culled, two_sided]).astype("i4").tobytes())
        svao = self.ctx.vertex_array(self.shadow_prog, [(vbo, "3f 12x 8x", "in_pos")], ibo)
        return Geometry(self.ctx, vbo, ibo, svao, 3 * len(culled), 3 * len(two_sided))

    def _asset(self, asset, distractor: bool = False) -> "Surface":
        """An object's mesh and texture, uploaded once: kept for good (the object set's are bounded by
        it), or, for a distractor, in the bounded cache (a folder of meshes has no bound)."""
        # one mesh file may be two objects of a set with materials of their own
        key = f"{asset.folder.as_posix()}|{object_material(asset.info)}|{asset.info.material_keys}"
        if distractor:
            return self._random.get(f"asset:{key}", lambda: self._make_asset(asset, own=True))
        if key not in self._meshes:
            self._meshes[key] = self._make_asset(asset)
        return self._meshes[key]

    def _make_asset(self, asset, own: bool = False) -> "Surface":
        key = asset.folder.as_posix()
        # scans and files smooth across their texture seams, not across their edges
        mesh = load_mesh(asset.visual).with_vertex_normals(weld=asset.source != "standin", crease=CREASE_DEG)
        img = cv2.cvtColor(cv2.imread(str(asset.folder / "texture.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        tex = self._make_texture(img) if own else self._texture(key, img)
        material = object_material(asset.info)
        surface = Surface(self._upload(mesh), tex, material, is_object=True, reflective=reflective(material))
        return self._own_maps(surface, asset)

    def _own_maps(self, surface: "Surface", asset) -> "Surface":
        """An object's own material maps (a glTF file's, :mod:`fat.scene.gltf_bake`): roughness and
        metalness where the object set gives no value for them, the alpha mask, the emission."""
        from ...assets.objects import EMISSION_MAP, MATERIAL_FILE, MATERIAL_MAP

        try:
            about = json.loads((asset.folder / MATERIAL_FILE).read_text())
        except FileNotFoundError:
            return surface
        except (OSError, ValueError) as e:
            raise ConfigError(f"{asset.folder / MATERIAL_FILE}: cannot read the object's material: {e}") from None
        info = asset.info
        given = set(info.material_keys or ("roughness", "metallic", "specular")) if info.material is not None else set()
        weight = (0.0 if "roughness" in given else 1.0, 0.0 if "metallic" in given else 1.0)
        rgba = cv2.imread(str(asset.folder / MATERIAL_MAP), cv2.IMREAD_UNCHANGED)
        if rgba is None or rgba.ndim != 3 or rgba.shape[2] != 4:
            raise ConfigError(f"{asset.folder / MATERIAL_MAP}: cannot read the object's material map")
        maps = self._linear_texture(cv2.cvtColor(rgba, cv2.COLOR_BGRA2RGBA))
        m = surface.material
        rough = min(about["roughness"]) if weight[0] else m.roughness
        metal = max(about["metallic"]) if weight[1] else m.metallic
        emission, scale = None, float(about.get("emissive_scale", 0.0))
        if scale > 0:
            img = cv2.imread(str(asset.folder / EMISSION_MAP), cv2.IMREAD_COLOR)
            if img is None:
                raise ConfigError(f"{asset.folder / EMISSION_MAP}: cannot read the object's emission map")
            emission = self._make_texture(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        return replace(surface, pbr=maps if any(weight) else None, map_weight=weight,
                       mask=maps if about.get("masked") else None, emission=emission, emission_scale=scale,
                       reflective=rough < ROUGH or metal > 0)

    def _linear_texture(self, image: np.ndarray):
        """A map of values (not colours), mipmapped; OBJ's uv (0, 0) at the image's bottom left."""
        img = np.ascontiguousarray(np.flipud(image))
        t = self.ctx.texture((img.shape[1], img.shape[0]), img.shape[2], img.tobytes())
        t.build_mipmaps()
        return t

    def _pattern(self, name: str):
        """A pattern's grey image (fat.scene.patterns), linear, uploaded once."""
        key = f"pattern:{name}"
        if key not in self._textures:
            grey = np.ascontiguousarray(np.repeat(np.round(pattern(name) * 255).astype(np.uint8)[..., None], 3, axis=2))
            t = self.ctx.texture(grey.shape[1::-1], 3, grey.tobytes())
            t.build_mipmaps()
            self._textures[key] = t
        return self._textures[key]

    def _set_surface(self, folder: str, kind: str = "", colors=None) -> "Surface":
        """A texture set's maps as a surface (no geometry): its colour map in ``colors``' palette
        (the set's own colours without), its normal, roughness and metalness maps. Kept for good:
        the scenery's sets (a randomized look's are in the bounded cache: :meth:`_look_set`)."""
        key = f"set:{folder}|{kind}|{colors}"
        if key not in self._sets:
            self._sets[key] = self._make_set_surface(folder, kind, colors, self._map, self._normal_roughness)
        return self._sets[key]

    def _make_set_surface(self, folder: str, kind: str, colors, colour_map, normal_roughness) -> "Surface":
        pbr = read_set(Path(folder))
        if pbr is None:
            raise ConfigError(f"{folder}: no texture set (<Name>_<res>_Color.jpg) in the folder")
        maps = (normal_roughness(pbr.normal, pbr.roughness), colour_map(pbr.metalness, self.white))
        colour = colour_map(pbr.color, None, srgb=True)
        mean = tuple(float(x) for x in np.maximum(self._means[str(pbr.color)], 1e-3))
        palette = (designed(colors) if colors is not None else mean, mean)
        material = Material(surface_material(kind).roughness if kind else 0.0, 1.0 if pbr.metalness else 0.0)
        return Surface(None, colour, material, (*maps, palette), metal=pbr.metalness is not None)

    def _look_set(self, folder: str) -> "Surface":
        """A randomized look's texture set, with textures of its own, in the bounded cache."""
        def make():
            def colour_map(path, default, srgb=False):
                return default if path is None else self._make_map(path, srgb)
            return self._make_set_surface(folder, "", None, colour_map, self._make_normal_roughness)

        return self._random.get(f"set:{folder}", make)

    def _environment(self, env):
        """The environment's prefiltered levels as one mipmapped float texture, uploaded once (a
        randomized background's is in the bounded cache: :meth:`frame_lighting`)."""
        key = id(env)
        if key not in self._environments:
            self._environments[key] = (*self._upload_environment(env), env)  # the environment kept: its id stays its own
        return self._environments[key][:2]

    def _upload_environment(self, env):
        import moderngl

        levels = env.specular
        h, w = levels[0].shape[:2]
        half = [np.ascontiguousarray(np.minimum(img, 65000.0), dtype="f2") for img in levels]  # half floats: half the memory traffic
        t = self.ctx.texture((w, h), 3, half[0].tobytes(), dtype="f2")
        t.build_mipmaps(0, len(levels) - 1)  # allocates the levels, then each is replaced by its prefiltered map
        for k, img in enumerate(half[1:], start=1):
            t.write(img.tobytes(), level=k)
        t.filter = (moderngl.LINEAR_MIPMAP_NEAREST, moderngl.LINEAR)  # the nearest roughness level: half the reads
        t.repeat_x, t.repeat_y = True, False
        return t, len(levels) - 1

    def _map(self, path, default, srgb: bool = False):
        """A texture set's map (colour: sRGB; normals, roughness, metalness: linear), uploaded once."""
        if path is None:
            return default
        if str(path) not in self._textures:
            self._textures[str(path)] = self._make_map(path, srgb)
        return self._textures[str(path)]

    def _make_map(self, path, srgb: bool = False):
        img = np.ascontiguousarray(np.flipud(cv2.cvtColor(read_image(path), cv2.COLOR_BGR2RGB)))
        if srgb:
            self._means[str(path)] = tonemap.srgb_decode(img.reshape(-1, 3) / 255.0).mean(axis=0)
        t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes(), **({"internal_format": GL_SRGB8} if srgb else {}))
        t.build_mipmaps()
        return t

    def _normal_roughness(self, normal, roughness):
        """A texture set's normal map (rgb) and roughness map (alpha) in one texture: one lookup for both."""
        key = f"{normal}|{roughness}"
        if key not in self._textures:
            self._textures[key] = self._make_normal_roughness(normal, roughness)
        return self._textures[key]

    def _make_normal_roughness(self, normal, roughness):
        maps = []
        for path in (normal, roughness):
            maps.append(None if path is None else read_image(path))
        shape = next((m.shape[:2] for m in maps if m is not None), (1, 1))
        rgba = np.empty((*shape, 4), np.uint8)
        rgba[..., :3] = (128, 128, 255) if maps[0] is None else cv2.cvtColor(cv2.resize(maps[0], shape[::-1]), cv2.COLOR_BGR2RGB)
        rgba[..., 3] = 255 if maps[1] is None else cv2.resize(maps[1], shape[::-1])[..., 1]
        rgba = np.ascontiguousarray(np.flipud(rgba))
        t = self.ctx.texture(shape[::-1], 4, rgba.tobytes())
        t.build_mipmaps()
        return t
