"""A single-pass OpenGL 3.3 renderer (moderngl on headless EGL): Mesa on any CPU, or a GPU's EGL driver.

One pass draws the scene into three targets at once: the shaded colour, the z-depth in metres (the
camera-frame z of each pixel's surface, written as a float, so no depth-buffer precision is lost)
and the instance id. Shading is physically based (docs/looks.md): metallic-roughness materials,
image-based light from the location's environment map (irradiance harmonics per vertex, a
GGX-prefiltered mip chain and the split-sum table per pixel), the sun with soft shadows, exposure
and a filmic tone curve to sRGB; an object's own maps where its asset has them (a glTF file's
roughness and metalness per texel, its alpha mask, its emission: :mod:`fat.scene.gltf_bake`); the environment map is drawn last where no surface is. A shadow map from the sun comes first; it depends only on the scene state, so
the second eye of a stereo pair reuses the first eye's. Meshes and textures are uploaded once per
renderer and kept; only the targets the writers need are read back.

Closed surfaces (a scan, a box) are drawn with back faces culled, which spares a CPU rasteriser the
setup of the half of the triangles that face away; open ones (the ground, a flipped fragment of a
scan) are drawn from both sides (see :func:`fat.assets.meshes.split_for_culling`).

Device: ``FAT_EGL_DEVICE`` (or the ``device`` argument) picks an EGL device by index, for example a
GPU on a machine with several; without it EGL's default device is used.
"""

from __future__ import annotations

import json
import numbers
import os
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ...errors import ConfigError
from ...geometry import Intrinsics, invert_pose, look_at, transform_points
from ...assets.meshes import Mesh, load_mesh, split_for_culling
from ...scene.scenes import Location
from ...scene.textures import texture_file
from ...assets.cache import cache_dir
from ...scene.environment import LUMINANCE, brdf_lut
from ...frame import Frame
from .. import CV_TO_GL, RenderOutput, opengl_projection, tonemap
from ..base import Capabilities, OptionError, Renderer, option
from ..lighting import WHITE_TARGET, Lighting, check_environments, location_environment, location_lighting
from ..materials import Material, object_material, surface_material
from ...scene.texture_sets import check_texture_sets, read_image, read_set, surface_set
from ...scene.patterns import pattern
from ..scenery import location_meshes
from .shaders import (AMODAL_FRAGMENT, AMODAL_VERTEX, BACKGROUND_VERTEX, ROUGH, SHADOW_FRAGMENT,
                         SHADOW_MASK_FRAGMENT, SHADOW_MASK_VERTEX, SHADOW_VERTEX, TARGET_EXTRAS, background_shader,
                         fragment_shader, vertex_shader)

NEAR, FAR = 0.01, 50.0
GL_SRGB8 = 0x8C41
SHADOW_SIZE = 1024
SHADOW_HALF_EXTENT = 2.5  # metres around the fixation point covered by the shadow map
#: Light-space penumbra growth per unit of occluder distance (the sun's apparent size, softened).
SHADOW_SOFTNESS = 0.02

def projection(K: Intrinsics, near: float = NEAR, far: float = FAR) -> np.ndarray:
    """OpenCV camera -> clip space; pixel (col, row) samples the point (col + 0.5, row + 0.5)."""
    return opengl_projection(K, near, far) @ CV_TO_GL


def _ortho(half: float, near: float, far: float) -> np.ndarray:
    return np.array([[1 / half, 0, 0, 0], [0, 1 / half, 0, 0],
                     [0, 0, -2 / (far - near), -(far + near) / (far - near)], [0, 0, 0, 1]])


def _designed(colors) -> tuple[float, float, float]:
    """The surface's designed mean colour, linear. A texture set's colour map is drawn as this colour
    times the map's own variation about its mean (at most 1.6 times): the set's detail in the scene's
    palette (a light marble floor from a dark marble set)."""
    return tuple(float(x) for x in tonemap.srgb_decode(np.asarray(colors, dtype=np.float64).reshape(-1, 3).mean(axis=0) / 255.0))


def _nearest_first(items: list, boxes: list, eye: np.ndarray, direction: np.ndarray | None = None) -> list:
    """``items`` ordered by the distance from ``eye`` to the nearest point of each one's box (``boxes``:
    (low corner, high corner)); with ``direction`` (a parallel light towards ``eye``), by the boxes'
    nearest point along it instead."""
    if not items:
        return []
    lo, hi = np.array([b[0] for b in boxes]), np.array([b[1] for b in boxes])
    if direction is None:
        key = np.linalg.norm(np.clip(eye, lo, hi) - eye, axis=1)
    else:  # the corner furthest along the direction towards the light
        key = -np.where(direction > 0, hi, lo) @ direction
    return [items[i] for i in np.argsort(key, kind="stable")]


def _set(prog, name: str, value) -> None:
    """Set a uniform the program has (the compiler drops those a shader does not use)."""
    member = prog.get(name, None)
    if member is not None:
        member.value = value


def _write(prog, name: str, data: bytes) -> None:
    member = prog.get(name, None)
    if member is not None:
        member.write(data)


def _objects_box(frame: Frame, eye: str) -> tuple[int, int, int, int] | None:
    """(x, y from the top, width, height) of the image's pixels the objects can cover (their convex
    hulls' box), or None when they cover none; the whole image when one reaches behind the camera."""
    K = frame.rig.intrinsics
    cam = invert_pose(frame.rig.pose(eye))
    pts = np.concatenate([transform_points(cam @ o.pose, o.hull) for o in frame.objects])
    if (pts[:, 2] <= 1e-3).any():
        return 0, 0, K.width, K.height
    uv = K.project(pts)
    x0, y0 = np.floor(uv.min(0)).astype(int) - 1
    x1, y1 = np.ceil(uv.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, K.width), min(y1, K.height)
    if x1 <= x0 or y1 <= y0:
        return None
    return int(x0), int(y0), int(x1 - x0), int(y1 - y0)


def _mat(m: np.ndarray) -> bytes:
    return np.asarray(m, dtype="f4").T.tobytes()  # column-major for GLSL


def _checked_path(key: str, what: str, value, read):
    """An option naming a file or folder: text, and ``read`` (which raises ConfigError) takes it."""
    if value is None:
        return None
    value = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(value, str):
        raise OptionError(key, f"{key} must be {what}, got {value!r}")
    try:
        read(value)
    except ConfigError as e:
        raise OptionError(key, str(e)) from None
    return value


def available(device: str | int | None = None) -> str | None:
    """None when an OpenGL 3.3 context can be made on EGL, else why not (one line)."""
    try:
        GLRenderer(device).close()
        return None
    except ConfigError as e:
        return str(e)


@dataclass(frozen=True)
class GLOptions:
    device: str | None = option("gl_device", "--gl-device", metavar="N",
                                help="EGL device index for --renderer gl (or FAT_EGL_DEVICE), e.g. a GPU.")
    hdri: str | None = option("hdri", "--hdri", metavar="FILE|DIR", file=False,
                              help="Environment map(s) lighting every location (equirectangular .hdr or .exr; a "
                                   "folder: one per location, chosen by its name). [each location's own]")
    textures: str | None = option("textures", "--textures", metavar="DIR",
                                  help="PBR texture sets (ambientCG layout: <Name>/<Name>_2K_Color.jpg, _NormalGL, "
                                       "_Roughness, _Metalness) for every ground and prop. [the shipped sets by kind]")


class GLRenderer(Renderer):
    """The OpenGL renderer (fast): OpenGL 3.3 on EGL, a GPU or Mesa on the CPU."""

    name = "gl"
    capabilities = Capabilities(instance_ids=True, shadows=True, materials=True, environment_lighting=True,
                                randomization=True, extras=("normals", "coordinates", "amodal"))
    Options = GLOptions

    @classmethod
    def check_options(cls, options: GLOptions, objects=None) -> GLOptions:
        device = options.device
        if isinstance(device, numbers.Integral) and not isinstance(device, bool):
            device = str(int(device))
        if device is not None and not isinstance(device, str):
            raise OptionError("gl_device", f"gl device must be text, got {device!r}")
        if device and not device.isdigit():
            raise OptionError("gl_device", f"gl device must be an EGL device index (0, 1, ...), got {device!r}")
        hdri = _checked_path("hdri", "a file or folder name", options.hdri, check_environments)
        textures = _checked_path("textures", "a folder name", options.textures, check_texture_sets)
        return GLOptions(device or None, hdri, textures)

    @classmethod
    def create(cls, options: GLOptions, intrinsics: Intrinsics | None, objects=None) -> "GLRenderer":
        return cls(options.device, size=None if intrinsics is None else (intrinsics.width, intrinsics.height),
                   hdri=options.hdri, textures=options.textures)

    def __init__(self, device: str | int | None = None, cull: bool = True, size: tuple[int, int] | None = None,
                 hdri: str | None = None, textures: str | None = None):
        try:
            import moderngl
        except ImportError as e:  # pragma: no cover - moderngl is a dependency
            raise ConfigError(f"--renderer gl: moderngl is not installed ({e})") from None
        device = os.environ.get("FAT_EGL_DEVICE") if device is None else device
        kwargs = {"standalone": True, "backend": "egl"}
        if device not in (None, ""):
            try:
                kwargs["device_index"] = int(device)
            except ValueError:
                raise ConfigError(f"FAT_EGL_DEVICE / --gl-device must be a device index, got {device!r}") from None
        try:
            self.ctx = moderngl.create_context(**kwargs)
        except Exception as e:
            where = f"EGL device {device}" if device not in (None, "") else "EGL"
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"--renderer gl: cannot make an OpenGL context on {where} ({reason}); it needs libEGL "
                              "and a Mesa or GPU EGL driver (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri libgl1)") from None
        if self.ctx.version_code < 330:
            version = self.ctx.version_code
            self.ctx.release()
            raise ConfigError(f"--renderer gl: the EGL context offers OpenGL {version / 100:.1f}, 3.3 is needed")
        self.device = self.ctx.info.get("GL_RENDERER", "?")
        if size is not None:
            try:
                self.check_size(*size)
            except ConfigError:
                self.close()
                raise
        self.programs: dict[tuple, object] = {}
        self.white = self.ctx.texture((1, 1), 3, bytes([255, 255, 255]))
        self.shadow_prog = self.ctx.program(vertex_shader=SHADOW_VERTEX, fragment_shader=SHADOW_FRAGMENT)
        self.shadow_mask_prog = self.ctx.program(vertex_shader=SHADOW_MASK_VERTEX, fragment_shader=SHADOW_MASK_FRAGMENT)
        self._background_program()
        self.amodal_prog = self.ctx.program(vertex_shader=AMODAL_VERTEX, fragment_shader=AMODAL_FRAGMENT)
        self._amodal_fbo, self._amodal_key = None, None
        self.shadow_tex = self.ctx.depth_texture((SHADOW_SIZE, SHADOW_SIZE))
        self.shadow_tex.repeat_x = self.shadow_tex.repeat_y = False
        self.shadow_fbo = self.ctx.framebuffer(depth_attachment=self.shadow_tex)
        # one depth texture read two ways: compared (percentage-closer filtering) and as depths (blocker search)
        self.shadow_compare = self.ctx.sampler(texture=self.shadow_tex, filter=(moderngl.LINEAR, moderngl.LINEAR),
                                               compare_func="<=", repeat_x=False, repeat_y=False)
        self.shadow_depths = self.ctx.sampler(texture=self.shadow_tex, filter=(moderngl.NEAREST, moderngl.NEAREST),
                                              compare_func="", repeat_x=False, repeat_y=False)
        lut = brdf_lut()
        self.lut = self.ctx.texture(lut.shape[1::-1], 2, np.ascontiguousarray(lut, dtype="f4").tobytes(), dtype="f4")
        self.lut.repeat_x = self.lut.repeat_y = False
        self.hdri = hdri
        self.textures = textures
        self._environments: dict[str, tuple] = {}
        self._lighting: dict[str, object] = {}
        self._meshes: dict[str, tuple] = {}
        self._textures: dict[str, object] = {}
        self._sets: dict[str, _Surface] = {}  # texture sets' maps as surfaces
        #: what randomized frames bring (background images and maps, texture sets, distractors): their
        #: number has no bound, so the least recently used go when the cache passes its size
        self._random = _Cache(RANDOM_CACHE_BYTES)
        self._means: dict[str, np.ndarray] = {}  # mean linear colour of each texture set's colour map
        self._location: Location | None = None
        self._scenery: list[tuple] = []
        self._slots: list[int] = []
        self._fbo = None
        self._size = None
        self._pbos: list = []  # pixel buffer objects of the read-back: rgba, depth, instance per eye
        self._pbo_size = None
        self._shadow_key = None  # the scene state the shadow map was drawn for
        # the scenery's part of the shadow map, kept while the location and sun stay (see _shadow_map)
        self._static_shadow = self.ctx.buffer(reserve=SHADOW_SIZE * SHADOW_SIZE * 4)
        self._static_key = None
        self._cull = cull  # False: every face from both sides (the same image, more work)

    def _background_program(self) -> None:
        """The background's program and its one triangle covering the screen, for the extras' targets."""
        if getattr(self, "background_prog", None) is not None:
            self.background_vao.release()
            self.background_prog.release()
        self.background_prog = self.ctx.program(vertex_shader=BACKGROUND_VERTEX, fragment_shader=background_shader(self.extras))
        if getattr(self, "_screen", None) is None:
            self._screen = self.ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())
        self.background_vao = self.ctx.vertex_array(self.background_prog, [(self._screen, "2f", "in_pos")])

    @property
    def _target_extras(self) -> tuple[str, ...]:
        """The extras asked for that the one pass draws into render targets 3, 4, ... in this order."""
        return tuple(e for e in TARGET_EXTRAS if e in self.extras)

    def draw_extras(self, extras) -> None:
        before = self.extras
        super().draw_extras(extras)
        if self.extras != before:  # the shaders' output locations and the targets follow the extras
            self._background_program()  # (the surface programs are compiled by extras: _program)
            self._size = None

    def close(self) -> None:
        self._environments = {}
        if getattr(self, "_random", None) is not None:
            self._random.clear()
        if getattr(self, "ctx", None) is not None:
            self.ctx.release()
            self.ctx = None

    # ------------------------------------------------------------------ uploads
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

    def _upload(self, mesh: Mesh, two_sided: bool | None = None) -> "_Geometry":
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
        return _Geometry(self.ctx, vbo, ibo, svao, 3 * len(culled), 3 * len(two_sided))

    def _draw(self, vao, n_culled: int, n_two_sided: int) -> None:
        if n_culled:
            self.ctx.enable(self.ctx.CULL_FACE)
            vao.render(vertices=n_culled)
        if n_two_sided:
            self.ctx.disable(self.ctx.CULL_FACE)
            vao.render(vertices=n_two_sided, first=n_culled)

    def _asset(self, asset, distractor: bool = False) -> "_Surface":
        """An object's mesh and texture, uploaded once: kept for good (the object set's are bounded by
        it), or, for a distractor, in the bounded cache (a folder of meshes has no bound)."""
        # one mesh file may be two objects of a set with materials of their own
        key = f"{asset.folder.as_posix()}|{object_material(asset.info)}|{asset.info.material_keys}"
        if distractor:
            return self._random.get(f"asset:{key}", lambda: self._make_asset(asset, own=True))
        if key not in self._meshes:
            self._meshes[key] = self._make_asset(asset)
        return self._meshes[key]

    def _make_asset(self, asset, own: bool = False) -> "_Surface":
        key = asset.folder.as_posix()
        # scans and files smooth across their texture seams, not across their edges
        mesh = load_mesh(asset.visual).with_vertex_normals(weld=asset.source != "standin", crease=CREASE_DEG)
        img = cv2.cvtColor(cv2.imread(str(asset.folder / "texture.png"), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        tex = self._make_texture(img) if own else self._texture(key, img)
        material = object_material(asset.info)
        surface = _Surface(self._upload(mesh), tex, material, is_object=True, reflective=_reflective(material))
        return self._own_maps(surface, asset)

    def _own_maps(self, surface: "_Surface", asset) -> "_Surface":
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

    def _set_surface(self, folder: str, kind: str = "", colors=None) -> "_Surface":
        """A texture set's maps as a surface (no geometry): its colour map in ``colors``' palette
        (the set's own colours without), its normal, roughness and metalness maps. Kept for good:
        the scenery's sets (a randomized look's are in the bounded cache: :meth:`_look_set`)."""
        key = f"set:{folder}|{kind}|{colors}"
        if key not in self._sets:
            self._sets[key] = self._make_set_surface(folder, kind, colors, self._map, self._normal_roughness)
        return self._sets[key]

    def _make_set_surface(self, folder: str, kind: str, colors, colour_map, normal_roughness) -> "_Surface":
        pbr = read_set(Path(folder))
        if pbr is None:
            raise ConfigError(f"{folder}: no texture set (<Name>_<res>_Color.jpg) in the folder")
        maps = (normal_roughness(pbr.normal, pbr.roughness), colour_map(pbr.metalness, self.white))
        colour = colour_map(pbr.color, None, srgb=True)
        mean = tuple(float(x) for x in np.maximum(self._means[str(pbr.color)], 1e-3))
        palette = (_designed(colors) if colors is not None else mean, mean)
        material = Material(surface_material(kind).roughness if kind else 0.0, 1.0 if pbr.metalness else 0.0)
        return _Surface(None, colour, material, (*maps, palette), metal=pbr.metalness is not None)

    def _look_set(self, folder: str) -> "_Surface":
        """A randomized look's texture set, with textures of its own, in the bounded cache."""
        def make():
            def colour_map(path, default, srgb=False):
                return default if path is None else self._make_map(path, srgb)
            return self._make_set_surface(folder, "", None, colour_map, self._make_normal_roughness)

        return self._random.get(f"set:{folder}", make)

    def _look(self, surface: "_Surface", look) -> "_Surface":
        """``surface``'s geometry with a randomized look (fat.looks.Look) instead of its own material;
        on an object (``box``), texture coordinates come from its model-space position."""
        material = Material(look.roughness, look.metallic)
        # the look replaces the object's own material maps; its alpha mask (its shape) stays
        if look.kind == "texture":
            s = self._look_set(look.texture)
            return replace(s, geometry=surface.geometry, material=Material(look.roughness, max(s.material.metallic, look.metallic)),
                           box=surface.is_object, mask=surface.mask)
        own = dict(pbr=None, emission=None, emission_scale=0.0, normal=None, occlusion=0.0)
        if look.kind == "pattern":
            a, b = (np.asarray(c, dtype=float) for c in look.colors)
            return replace(surface, tex=self._pattern(look.pattern), material=material, maps=None, metal=False,
                           scale=tuple(float(x) for x in b - a), offset=tuple(float(x) for x in a), box=surface.is_object, look=True,
                           reflective=surface.is_object and _reflective(material), **own)
        return replace(surface, tex=self.white, material=material, maps=None, metal=False, box=surface.is_object, look=True,
                       scale=tuple(float(x) for x in look.colors[0]), reflective=surface.is_object and _reflective(material),
                       **own)

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

    def lighting(self, loc: Location):
        """The location's :class:`~fat.render.lighting.Lighting` (its environment map, sun, exposure)."""
        if loc.name not in self._lighting:
            self._lighting[loc.name] = location_lighting(loc, location_environment(loc, self.hdri))
        return self._lighting[loc.name]

    def _set_location(self, loc: Location) -> None:
        if self._location is loc:
            return
        self._scenery, self._casters, self._boxes, self._caster_boxes = [], [], [], []
        self._slots = []  # each scenery item's surface (what a randomized look is drawn for)
        if loc.asset:
            self._set_gltf_location(loc)
            self._location = loc
            return
        for k, (mesh, surface) in enumerate(location_meshes(loc)):
            pbr = surface_set(loc.name, str(k), surface.texture, self.textures)
            geometry = self._upload(mesh)
            if pbr is None:  # the kind's procedural texture
                path = texture_file(str(cache_dir() / "textures"), surface.texture, surface.colors)
                tex = self._texture(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
                item = _Surface(geometry, tex, surface_material(surface.texture))
            else:
                item = replace(self._set_surface(str(pbr.color.parent), surface.texture, surface.colors), geometry=geometry)
            self._add_scenery(loc, item, mesh, k)
        self._location = loc

    def _add_scenery(self, loc: Location, item: "_Surface", mesh: Mesh, slot: int) -> None:
        self._scenery.append(item)
        self._slots.append(slot)
        box = (mesh.vertices.min(0), mesh.vertices.max(0))
        self._boxes.append(box)
        gap = np.maximum(np.maximum(box[0][:2] - loc.fixation[:2], loc.fixation[:2] - box[1][:2]), 0)
        if np.linalg.norm(gap) < SHADOW_HALF_EXTENT * 1.5:  # only what can shade the shadow map's area
            self._casters.append(item)
            self._caster_boxes.append(box)

    def _set_gltf_location(self, loc: Location) -> None:
        """A glTF scene's materials (:mod:`fat.render.gl.scene`), each material's triangles in chunks."""
        from ...scene.gltf_materials import Images
        from ...scene.gltf_scene import load_gltf_scene
        from .scene import chunks, scene_material

        g = load_gltf_scene(loc.asset)
        images = Images(g.gltf)
        for slot, ((mesh, _), batch) in enumerate(zip(location_meshes(loc), g.batches)):
            key = f"gltf:{g.path}|{slot}"
            if key not in self._meshes:
                self._meshes[key] = self._gltf_surfaces(scene_material(g, batch, images), chunks(mesh))
            for item, part in self._meshes[key]:
                self._add_scenery(loc, item, part, slot)

    def _gltf_surfaces(self, m, parts: list) -> list:
        """One material's surfaces (one per chunk, sharing the textures), with their chunks."""
        if m is None:  # cut out whole by its alpha mask
            return []
        tex = self.white if m.base is None else self._make_texture(m.base)
        orm = None if m.orm is None else self._linear_texture(m.orm)
        surface = _Surface(None, tex, Material(m.roughness, m.metallic), look=True, scale=m.factor,
                           reflective=_reflective(Material(m.roughness, m.metallic)) or m.orm is not None,
                           pbr=orm, map_weight=(1.0, 1.0), mask=orm if m.masked else None,
                           emission=None if m.emission is None else self._make_texture(m.emission),
                           emission_scale=m.emission_scale,
                           normal=None if m.normal is None else self._linear_texture(m.normal),
                           normal_scale=m.normal_scale, occlusion=m.occlusion)
        return [(replace(surface, geometry=self._upload(p, m.double_sided)), p) for p in parts]

    def check_size(self, width: int, height: int) -> None:
        """Refuse an image larger than this OpenGL implementation's render targets can hold."""
        info = self.ctx.info
        limits = [info.get("GL_MAX_RENDERBUFFER_SIZE"), info.get("GL_MAX_TEXTURE_SIZE"), *(info.get("GL_MAX_VIEWPORT_DIMS") or ())]
        limit = min((int(x) for x in limits if x), default=None)
        if limit and max(width, height) > limit:
            raise ConfigError(f"--renderer gl: {width} x {height} pixels is more than {self.device} can render "
                              f"(at most {limit} pixels a side)")

    def _targets(self, K: Intrinsics):
        size = (K.width, K.height)
        key = size, self._target_extras
        if self._size != key:
            self.check_size(*size)
            if self._fbo is not None:
                for a in self._attachments:
                    a.release()
                self._fbo.release()
            colors = [self.ctx.texture(size, 4), self.ctx.texture(size, 1, dtype="f4"), self.ctx.texture(size, 1, dtype="i4")]
            # the camera-frame normals and object coordinates asked for, encoded as their files store them
            colors += [self.ctx.texture(size, 4, dtype="nu2") for _ in self._target_extras]
            self._attachments = colors + [self.ctx.depth_renderbuffer(size)]
            self._fbo = self.ctx.framebuffer(color_attachments=colors, depth_attachment=self._attachments[-1])
            self._size = key
        return self._fbo

    # ------------------------------------------------------------------ drawing
    def frame_lighting(self, frame: Frame) -> tuple[Lighting, tuple, list, float]:
        """The frame's light: the location's (or the randomized background's map's), its sun replaced by
        a randomized frame's first light; its environment texture and number of levels; the other
        lights (direction, irradiance); the scale of the image-based light."""
        loc, looks = frame.location, frame.looks
        lighting = self.lighting(loc)
        if looks is not None and looks.background is not None and looks.background.kind == "environment":
            item = self._random.get(f"environment:{loc.name}|{looks.background.path}", lambda: _Environment(
                location_lighting(loc, location_environment(loc, looks.background.path)), self._upload_environment))
            lighting, texture = item.lighting, (item.texture, item.levels)
        else:
            texture = self._environment(lighting.environment)
        if looks is None:
            return lighting, texture, self._more_lights(loc, lighting), 1.0
        extra = []
        if looks.lights:
            sky = float(np.maximum(lighting.environment.irradiance(np.array([0.0, 0.0, 1.0])), 0) @ LUMINANCE)
            unit = max(float(lighting.sun @ LUMINANCE), sky, 1e-6)  # intensity 1: the location's sun

            def irradiance(light):
                c = np.asarray(light.color, dtype=np.float64)
                return c / max(float(c @ LUMINANCE), 1e-6) * unit * light.intensity

            first = looks.lights[0]
            lighting = replace(lighting, sun_direction=np.asarray(first.direction, dtype=np.float64), sun=irradiance(first),
                               shadows=True)
            extra = [(np.asarray(x.direction, dtype=np.float64), irradiance(x)) for x in looks.lights[1:4]]
        return lighting, texture, extra, float(looks.ambient)

    @staticmethod
    def _more_lights(loc: Location, lighting: Lighting) -> list:
        """A glTF scene's lights besides its sun: (direction, irradiance), relative to the sun's."""
        if not loc.lights:
            return []
        unit = float(lighting.sun @ LUMINANCE) / max(float(np.asarray(loc.light.color, dtype=np.float64) @ LUMINANCE), 1e-6)
        return [(np.asarray(d, dtype=np.float64), np.asarray(c, dtype=np.float64) * unit) for d, c in loc.lights[:3]]

    def _looks_of(self, frame: Frame):
        """The drawn objects' and the scenery's surfaces, with a randomized frame's looks applied."""
        looks = frame.looks
        n = len(frame.objects)
        objects = [self._asset(o.asset, distractor=k >= n) for k, o in enumerate(frame.drawn)]
        scenery = list(self._scenery)
        if looks is not None:
            own = (looks.targets or (None,) * len(frame.objects)) + (looks.distractors or (None,) * len(frame.distractors))
            objects = [s if look is None else self._look(s, look) for s, look in zip(objects, own)]
            if looks.surfaces:
                scenery = [s if k >= len(looks.surfaces) or looks.surfaces[k] is None else self._look(s, looks.surfaces[k])
                           for s, k in zip(scenery, self._slots)]
        return objects, scenery

    def _background(self, frame: Frame) -> tuple[int, object, tuple]:
        """(mode, image texture, colour) of the background shader: 0 the environment map, 1 an image, 2 a colour."""
        bg = frame.looks.background if frame.looks is not None else None
        if bg is None or bg.kind == "environment":
            return 0, self.white, (0.0, 0.0, 0.0)
        if bg.kind == "color":
            return 2, self.white, tuple(float(x) for x in bg.color)

        def make():
            img = read_image(bg.path, 1024, "background image")  # a background needs no more
            img = np.ascontiguousarray(np.flipud(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
            t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes())
            t.repeat_x = t.repeat_y = False
            return t

        return 1, self._random.get(f"image:{bg.path}", make), (0.0, 0.0, 0.0)

    def render(self, frame: Frame, eye: str = "left") -> RenderOutput:
        self._draw_eye(frame, eye)
        out = self._finish(self._read_back(frame.rig.intrinsics, 0))
        if "amodal" in self.extras:
            out.amodal = self._amodal(frame, eye)
        return out

    def render_region(self, frame: Frame, box: tuple[int, int, int, int], eye: str = "left") -> RenderOutput:
        """The pixels of ``box`` (x, y, width, height; x right, y down from the image's top-left
        corner, inside the rig's image) of what :meth:`render` gives for ``frame``, bit for bit:
        the whole image's projection and viewport, so every pixel samples the same ray and the
        rasteriser sees the same vertex positions, with only the box drawn (a scissor rectangle)
        and read back. The cost follows the box, not the image: the BOP export's objects alone on
        a canvas three times the image size."""
        K = frame.rig.intrinsics
        x, y, w, h = (int(v) for v in box)
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > K.width or y + h > K.height:
            raise ValueError(f"box {box} is not inside the {K.width} x {K.height} image")
        rect = (x, K.height - y - h, w, h)  # OpenGL's rows count from the bottom
        self._draw_eye(frame, eye, rect)
        fbo = self._fbo
        out = [fbo.read(viewport=rect, attachment=i, components=c, dtype=d, alignment=1)
               for i, c, d in ((0, 4, "f1"), (1, 1, "f4"), (2, 1, "i4"))]
        return self._output((w, h), *out)

    def render_eyes(self, frame: Frame) -> list[RenderOutput]:
        """Both eyes, each read back asynchronously into its own pixel buffers as soon as it is drawn:
        the right eye is drawn while the left one's pixels travel; both are waited for at the end."""
        pending = []
        for slot, (eye, _) in enumerate(frame.rig.eyes()):
            self._draw_eye(frame, eye)
            pending.append(self._read_back(frame.rig.intrinsics, slot))
        outs = [self._finish(p) for p in pending]
        if "amodal" in self.extras:
            for out, (eye, _) in zip(outs, frame.rig.eyes()):
                out.amodal = self._amodal(frame, eye)
        return outs

    def _read_back(self, K: Intrinsics, slot: int) -> tuple:
        """Start copying the render targets into pixel buffer objects of ``slot`` (no wait)."""
        size = (K.width, K.height)
        wanted = self._target_extras
        per = 3 + len(wanted)  # rgba, depth, instance (and each extra: 4 16-bit values a pixel) per eye
        if self._pbo_size != (size, wanted):
            for b in self._pbos:
                b.release()
            n = size[0] * size[1] * 4
            self._pbos = [self.ctx.buffer(reserve=2 * n if k % per >= 3 else n) for k in range(2 * per)]
            self._pbo_size = size, wanted
        rgba, depth, inst, *extras = self._pbos[per * slot: per * slot + per]
        fbo = self._fbo
        fbo.read_into(rgba, attachment=0, components=4)
        fbo.read_into(depth, attachment=1, components=1, dtype="f4")
        fbo.read_into(inst, attachment=2, components=1, dtype="i4")
        for k, b in enumerate(extras, start=3):
            fbo.read_into(b, attachment=k, components=4, dtype="nu2")
        return size, rgba, depth, inst, dict(zip(wanted, extras))

    @staticmethod
    def _finish(pending: tuple) -> RenderOutput:
        """Wait for one eye's pixel buffers and make its output."""
        size, rgba_b, depth_b, inst_b, extras = pending
        out = GLRenderer._output(size, rgba_b.read(), depth_b.read(), inst_b.read())
        W, H = size
        for e, b in extras.items():
            setattr(out, e, np.frombuffer(b.read(), np.uint16).reshape(H, W, 4)[::-1, :, :3])
        return out

    @staticmethod
    def _output(size: tuple[int, int], rgba_b: bytes, depth_b: bytes, inst_b: bytes) -> RenderOutput:
        """The output of the targets' bytes (rows from the bottom, as OpenGL reads them)."""
        W, H = size
        rgba = np.frombuffer(rgba_b, np.uint8).reshape(H, W, 4)[::-1]
        depth = np.frombuffer(depth_b, np.float32).reshape(H, W)[::-1].copy()
        inst = np.frombuffer(inst_b, np.int32).reshape(H, W)[::-1].copy()
        rgb = rgba[:, :, :3].copy()
        empty = rgba[:, :, 3] == 0  # nothing drawn: the background
        depth[empty | (depth <= 0)] = 0.0
        return RenderOutput(rgb, depth, inst)

    def _amodal(self, frame: Frame, eye: str) -> np.ndarray:
        """(H, W) uint32: bit k where ``frame.objects[k]`` covers the pixel, occluders ignored (see
        :data:`fat.render.gl.shaders.AMODAL_FRAGMENT`); the same vertex positions and pixel centres
        as the image, so an object's visible pixels lie in its silhouette."""
        import moderngl

        K, ctx = frame.rig.intrinsics, self.ctx
        n = len(frame.objects)
        if n > 32:
            raise ConfigError(f"--extras amodal: {n} objects in one frame, 32 at most")
        size, targets = (K.width, K.height), max(1, -(-n // 4))
        if self._amodal_key != (size, targets):
            if self._amodal_fbo is not None:
                for t in self._amodal_fbo.color_attachments:
                    t.release()
                self._amodal_fbo.release()
            self._amodal_fbo = ctx.framebuffer(color_attachments=[ctx.texture(size, 4) for _ in range(targets)])
            self._amodal_key = size, targets
        fbo, prog = self._amodal_fbo, self.amodal_prog
        bits = np.zeros((K.height, K.width), np.uint32)
        box = _objects_box(frame, eye)
        if box is None:
            return bits
        x, y, w, h = box
        rect = (x, K.height - y - h, w, h)  # OpenGL's rows count from the bottom
        fbo.scissor = rect
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, viewport=rect)
        ctx.disable(ctx.DEPTH_TEST)
        ctx.enable(ctx.BLEND)
        ctx.blend_func = moderngl.ONE, moderngl.ONE
        ctx.blend_equation = moderngl.MAX
        _write(prog, "view", _mat(invert_pose(frame.rig.pose(eye))))  # as _draw_eye writes them
        _write(prog, "proj", _mat(projection(K)))
        _set(prog, "mask_map", 0)
        try:
            for k, o in enumerate(frame.objects):
                surface = self._asset(o.asset)
                _write(prog, "model", _mat(o.pose))
                _set(prog, "slot", k)
                _set(prog, "masked", int(surface.mask is not None))
                if surface.mask is not None:
                    surface.mask.use(0)
                g = surface.geometry
                self._draw(g.masked_shadow(prog), g.n_culled, g.n_two_sided)  # culled as in the picture
        finally:
            ctx.blend_equation = moderngl.FUNC_ADD
            ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA
            ctx.disable(ctx.BLEND | ctx.CULL_FACE)
            ctx.enable(ctx.DEPTH_TEST)
        part = bits[y:y + h, x:x + w]
        for t in range(targets):
            rgba = np.frombuffer(fbo.read(viewport=rect, attachment=t, components=4, alignment=1), np.uint8)
            rgba = rgba.reshape(h, w, 4)[::-1]
            for c in range(4):
                if 4 * t + c < n:
                    part |= (rgba[:, :, c] > 127).astype(np.uint32) << np.uint32(4 * t + c)
        return bits

    def _shadow_map(self, static_key: tuple, light_vp: np.ndarray, casters: list, objects: list) -> None:
        """Draw the sun's shadow map: the scenery's depths, drawn once per location and sun and then
        copied back from a buffer (the depth texture's 24-bit values come back unchanged), and the
        objects over them. The depth test keeps the nearest depth whatever the order, so the map is
        the one drawing everything at once gives."""
        self.shadow_fbo.use()
        self.shadow_prog["light_vp"].write(_mat(light_vp))
        _write(self.shadow_mask_prog, "light_vp", _mat(light_vp))
        _set(self.shadow_mask_prog, "mask_map", 0)
        if static_key == self._static_key:
            self.shadow_tex.write(self._static_shadow)
        else:
            self.shadow_fbo.clear(depth=1.0)
            self._shadow_draws(casters)
            self.shadow_tex.read_into(self._static_shadow)
            self._static_key = static_key
        self._shadow_draws(objects)

    def _shadow_draws(self, items: list) -> None:
        for surface, T, _ in items:
            g = surface.geometry
            if surface.mask is not None:  # what the alpha mask cuts out casts no shadow
                surface.mask.use(0)
                _write(self.shadow_mask_prog, "model", _mat(T))
                self._draw(g.masked_shadow(self.shadow_mask_prog), g.n_culled, g.n_two_sided)
            else:
                self.shadow_prog["model"].write(_mat(T))
                self._draw(g.shadow, g.n_culled, g.n_two_sided)

    def _draw_eye(self, frame: Frame, eye: str, scissor: tuple[int, int, int, int] | None = None) -> None:
        """Draw ``eye``'s view into the targets; ``scissor`` (x, y from the bottom, width, height):
        only those pixels are cleared and drawn."""
        ctx = self.ctx
        self._random.trim()  # before this frame's looks are resolved: nothing it draws is released
        T_world_cam, K = frame.rig.pose(eye), frame.rig.intrinsics
        loc = frame.location
        self._set_location(loc)
        lighting, (env_tex, env_levels), extra, ambient = self.frame_lighting(frame)
        surfaces, scenery_surfaces = self._looks_of(frame)
        objects = [(surface, o.pose, k + 1) for k, (surface, o) in enumerate(zip(surfaces, frame.drawn))]
        sun_dir = lighting.sun_direction
        eye = loc.fixation + sun_dir * 10.0
        # nearest first, by the nearest point of each box: a fragment behind one already drawn fails the
        # depth test before it is shaded (a counter drawn before the floor it hides spares the floor's shading)
        casters = [(m, np.eye(4), 0) for m in _nearest_first(self._casters, self._caster_boxes, eye, sun_dir)]
        view, proj = invert_pose(T_world_cam), projection(K)
        seen = scenery_surfaces, self._boxes
        if loc.asset:  # a glTF scene's chunks outside the view are not drawn
            inside = [_in_view(box, proj @ view) for box in self._boxes]
            seen = [x for x, i in zip(scenery_surfaces, inside) if i], [b for b, i in zip(self._boxes, inside) if i]
        scenery = [(m, np.eye(4), 0) for m in _nearest_first(*seen, T_world_cam[:3, 3])]
        up = (0.0, 1.0, 0.0) if abs(sun_dir[2]) > 0.99 else (0.0, 0.0, 1.0)
        light_vp = _ortho(SHADOW_HALF_EXTENT, 0.1, 30.0) @ CV_TO_GL @ invert_pose(look_at(eye, loc.fixation, up))
        ctx.enable(ctx.DEPTH_TEST)
        shadow_key = (loc.name, sun_dir.tobytes(), tuple((o.asset.folder.as_posix(), o.pose.tobytes()) for o in frame.drawn))
        if lighting.shadows and shadow_key != self._shadow_key:  # shadow map from the sun
            self._shadow_map((loc.name, loc.fixation.tobytes(), sun_dir.tobytes()), light_vp, casters, objects)
            self._shadow_key = shadow_key
        fbo = self._targets(K)
        fbo.scissor = scissor  # applied by use(): the clear and every draw below
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0, viewport=scissor)
        env_rot = tuple(float(x) for x in np.asarray(lighting.env_rot, dtype=np.float64).T.reshape(-1))  # column-major
        dirs = np.zeros((3, 3), "f4")
        colours = np.zeros((3, 3), "f4")
        for i, (d, c) in enumerate(extra):
            dirs[i], colours[i] = d, c
        nocs = {k + 1: tuple(1.0 / float(x) for x in o.dimensions) for k, o in enumerate(frame.objects)}
        draws = [(surface, T, inst, self._program(surface.maps is not None, surface.reflective, surface.metal, len(extra),
                                                  surface.look, surface.box, surface.pbr is not None,
                                                  surface.mask is not None, surface.emission is not None,
                                                  surface.normal is not None, surface.occlusion > 0))
                 for surface, T, inst in objects + scenery]  # every program made before the uniforms are set
        for p in self.programs.values():
            _write(p, "view", _mat(view))
            _write(p, "proj", _mat(proj))
            _write(p, "light_vp", _mat(light_vp))
            _set(p, "light_dir", tuple(float(x) for x in sun_dir))
            _set(p, "sun", tuple(float(x) for x in lighting.sun))
            _set(p, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
            _write(p, "cam_rot", _mat(view[:3, :3]))
            _write(p, "sh", np.ascontiguousarray(lighting.environment.sh * ambient, dtype="f4").tobytes())
            _set(p, "env_scale", ambient)
            for name, values in (("light_dirs", dirs), ("light_colors", colours)):
                member = p.get(name, None)
                if member is not None:  # the compiler keeps the lights the program draws
                    member.write(values[:member.array_length].tobytes())
            _set(p, "env_rot", env_rot)
            _set(p, "env_levels", float(env_levels))
            _set(p, "exposure", lighting.exposure)
            _set(p, "shadows", int(lighting.shadows))
            _set(p, "shadow_softness", SHADOW_SOFTNESS)
            for unit, name in enumerate(("tex", "shadow_map", "shadow_depth", "env", "brdf_lut", "normal_map",
                                         "metalness_map", "material_map", "mask_map", "emission_map")):
                _set(p, name, unit)
        self.shadow_compare.use(1)
        self.shadow_depths.use(2)
        env_tex.use(3)
        self.lut.use(4)
        for surface, T, inst, p in draws:  # near things first: hidden fragments skip shading
            surface.tex.use(0)
            if surface.maps is not None:
                for unit, t in enumerate(surface.maps[:2], start=5):
                    t.use(unit)
                _set(p, "palette", surface.maps[2][0])
                _set(p, "set_mean", surface.maps[2][1])
            for unit, t in ((7, surface.pbr), (8, surface.mask), (9, surface.emission), (5, surface.normal)):  # own maps
                if t is not None:
                    t.use(unit)
            _set(p, "normal_scale", surface.normal_scale)
            _set(p, "occlusion_strength", surface.occlusion)
            _set(p, "map_weight", surface.map_weight)
            _set(p, "emission", surface.emission_scale * WHITE_TARGET / lighting.exposure)
            _write(p, "model", _mat(T))
            _set(p, "instance", inst)
            _set(p, "nocs_scale", nocs.get(inst, (0.0, 0.0, 0.0)))
            _set(p, "roughness", surface.material.roughness)
            _set(p, "metallic", surface.material.metallic)
            _set(p, "specular", surface.material.specular)
            _set(p, "albedo_scale", surface.scale)
            _set(p, "albedo_offset", surface.offset)
            _set(p, "uv_scale", BOX_UV_SCALE)
            g = surface.geometry
            self._draw(g.vao(p), g.n_culled, g.n_two_sided)
        ctx.disable(ctx.CULL_FACE)
        # the background where no surface is: drawn last, at the far plane, only on untouched pixels
        b = self.background_prog
        mode, image, colour = self._background(frame)
        _write(b, "inv_view_proj", _mat(np.linalg.inv(proj @ view)))
        _set(b, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
        _set(b, "env_rot", env_rot)
        _set(b, "exposure", lighting.exposure)
        _set(b, "env", 3)
        _set(b, "mode", mode)
        _set(b, "image", 0)
        _set(b, "color", colour)
        image.use(0)
        ctx.depth_func = "<="
        self.background_vao.render(vertices=3)
        ctx.depth_func = "<"


def _in_view(box: tuple, view_proj: np.ndarray) -> bool:
    """Whether a world box (low corner, high corner) may be seen: not all its corners outside one
    plane of the view's frustum (clip space)."""
    lo, hi = box
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    c = corners @ view_proj.T
    w = c[:, 3]
    return not any(np.all(c[:, i] > w) or np.all(c[:, i] < -w) for i in range(3))


def _reflective(material: Material) -> bool:
    """Whether a surface's reflections are looked up in the prefiltered map (see ROUGH)."""
    return material.roughness < ROUGH or material.metallic > 0


#: Faces meeting at a sharper angle than this (degrees) keep a hard edge between them.
CREASE_DEG = 60.0

#: Bytes of GPU (or, on a CPU, main) memory that randomized frames' textures and meshes may keep.
RANDOM_CACHE_BYTES = 768 * 2**20


def _textures_of(surface: "_Surface") -> list:
    """The distinct textures a surface holds."""
    out = []
    for t in (surface.tex, *(surface.maps or ())[:2], surface.pbr, surface.mask, surface.emission, surface.normal):
        if t is not None and not any(t is u for u in out):
            out.append(t)
    return out


def _nbytes(obj) -> int:
    """Memory an OpenGL object holds (a texture with its mipmaps, a buffer), or a cache entry's parts."""
    if isinstance(obj, _Surface):
        return sum(_nbytes(t) for t in _textures_of(obj)) + \
            (_nbytes(obj.geometry.vbo) + _nbytes(obj.geometry.ibo) if obj.geometry is not None else 0)
    if isinstance(obj, _Environment):
        return _nbytes(obj.texture)
    if hasattr(obj, "size") and isinstance(getattr(obj, "size"), int):  # a buffer
        return obj.size
    w, h = getattr(obj, "width", 0), getattr(obj, "height", 0)
    return int(w * h * getattr(obj, "components", 4) * {"f1": 1, "u1": 1, "f2": 2, "f4": 4}.get(getattr(obj, "dtype", "f1"), 4) * 4 / 3)


def _release(obj) -> None:
    if isinstance(obj, _Surface):
        for t in _textures_of(obj):
            if hasattr(t, "release"):
                t.release()
        if obj.geometry is not None:
            obj.geometry.release()
    elif isinstance(obj, _Environment):
        obj.texture.release()
    elif hasattr(obj, "release"):
        obj.release()


class _Cache:
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


class _Environment:
    """A randomized background's environment: its lighting and its texture, kept and released together."""

    def __init__(self, lighting: Lighting, upload):
        self.lighting = lighting
        self.texture, self.levels = upload(lighting.environment)


#: Texture repeats per metre of a randomized look on an object (a pattern's period about 12 cm).
BOX_UV_SCALE = 8.0


class _Geometry:
    """A mesh on the GPU: its buffers, the shadow pass's vertex array and one per surface program."""

    def __init__(self, ctx, vbo, ibo, shadow, n_culled: int, n_two_sided: int):
        self.ctx, self.vbo, self.ibo, self.shadow = ctx, vbo, ibo, shadow
        self.n_culled, self.n_two_sided = n_culled, n_two_sided
        self._vaos: dict[int, object] = {}

    def release(self) -> None:
        for obj in (*self._vaos.values(), self.shadow, self.vbo, self.ibo):
            obj.release()
        self._vaos = {}

    def masked_shadow(self, prog):
        """The shadow pass's vertex array for a surface with an alpha mask (positions and texture coordinates)."""
        key = ("shadow", id(prog))
        if key not in self._vaos:
            self._vaos[key] = self.ctx.vertex_array(prog, [(self.vbo, "3f 12x 2f", "in_pos", "in_uv")], self.ibo)
        return self._vaos[key]

    def vao(self, prog):
        key = id(prog)
        if key not in self._vaos:
            # the attributes the program reads (a box-mapped look reads no texture coordinates)
            fmt, names = zip(*[("3f", "in_pos"), ("3f", "in_normal"), ("2f", "in_uv")])
            used = [prog.get(n, None) is not None for n in names]
            layout = " ".join(f if u else f"{f[0]}x4" for f, u in zip(fmt, used))
            self._vaos[key] = self.ctx.vertex_array(prog, [(self.vbo, layout, *[n for n, u in zip(names, used) if u])], self.ibo)
        return self._vaos[key]


@dataclass(frozen=True)
class _Surface:
    """What one draw needs: geometry (None: a texture set's maps waiting for one), the colour
    texture, the material, the texture set's maps ((normal + roughness, metalness, (palette, set
    mean)), None for a plain texture), and how the colour is made (texture x scale + offset)."""

    geometry: _Geometry | None
    tex: object
    material: Material
    maps: tuple | None = None
    metal: bool = False  # the maps hold a metalness map
    scale: tuple = (1.0, 1.0, 1.0)
    offset: tuple = (0.0, 0.0, 0.0)
    is_object: bool = False  # an object (a randomized look's texture coordinates come from its shape)
    box: bool = False  # texture coordinates from the model-space position (BOX_UV_SCALE repeats a metre)
    look: bool = False  # a randomized look: the colour is texture x scale + offset
    reflective: bool = False  # reflections from the prefiltered map (else irradiance / pi)
    # an object's own maps (a glTF file's): roughness (g) and metalness (b), their share against the
    # material's values (map_weight), the alpha mask (a), the emission and its scale
    pbr: object = None
    map_weight: tuple = (0.0, 0.0)
    mask: object = None
    emission: object = None
    emission_scale: float = 0.0
    # a glTF scene material's normal map and its scale, its occlusion strength (the map: pbr's r)
    normal: object = None
    normal_scale: float = 1.0
    occlusion: float = 0.0
