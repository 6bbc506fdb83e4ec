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

The renderer is :class:`GLRenderer`, its options and their checks; its parts are the modules beside
this one: the context (``context.py``), the GPU resources (``resources.py``, ``surfaces.py``), the
location's scenery (``location.py``), a frame's looks (``looks.py``) and the passes that draw
(``passes.py``).
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import numpy as np

from ...errors import ConfigError
from ...geometry import Intrinsics
from ...scene.scenes import Location
from ...scene.environment import brdf_lut
from ...frame import Frame
from .. import RenderOutput
from ..base import Capabilities, OptionError, Renderer, option
from ..lighting import check_environments
from ...scene.texture_sets import check_texture_sets
from .context import create_context, max_side
from .location import Scenery
from .looks import FrameLooks
from .passes import SHADOW_SIZE, Passes
from .resources import RANDOM_CACHE_BYTES, Cache, Resources
from .shaders import (AMODAL_FRAGMENT, AMODAL_VERTEX, BACKGROUND_VERTEX, SHADOW_FRAGMENT, SHADOW_MASK_FRAGMENT,
                      SHADOW_MASK_VERTEX, SHADOW_VERTEX, TARGET_EXTRAS, background_shader)
from .surfaces import Surface


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


def _check_device(key: str, device):
    """An EGL device index as text (a number is taken); none for an empty one."""
    if isinstance(device, numbers.Integral) and not isinstance(device, bool):
        device = str(int(device))
    if device is not None and not isinstance(device, str):
        raise OptionError(key, f"gl device must be text, got {device!r}")
    if device and not device.isdigit():
        raise OptionError(key, f"gl device must be an EGL device index (0, 1, ...), got {device!r}")
    return device or None


def available(device: str | int | None = None) -> str | None:
    """None when an OpenGL 3.3 context can be made on EGL, else why not (one line)."""
    try:
        GLRenderer(device).close()
        return None
    except ConfigError as e:
        return str(e)


@dataclass(frozen=True)
class GLOptions:
    device: str | None = option("gl_device", "--gl-device", metavar="N", check=_check_device,
                                help="EGL device index for --renderer gl (or FAT_EGL_DEVICE), e.g. a GPU.")
    hdri: str | None = option("hdri", "--hdri", metavar="FILE|DIR", file=False,
                              check=lambda k, v: _checked_path(k, "a file or folder name", v, check_environments),
                              help="Environment map(s) lighting every location (equirectangular .hdr or .exr; a "
                                   "folder: one per location, chosen by its name). [each location's own]")
    textures: str | None = option("textures", "--textures", metavar="DIR",
                                  check=lambda k, v: _checked_path(k, "a folder name", v, check_texture_sets),
                                  help="PBR texture sets (ambientCG layout: <Name>/<Name>_2K_Color.jpg, _NormalGL, "
                                       "_Roughness, _Metalness) for every ground and prop. [the shipped sets by kind]")


class GLRenderer(Passes, FrameLooks, Scenery, Resources, Renderer):
    """The OpenGL renderer (fast): OpenGL 3.3 on EGL, a GPU or Mesa on the CPU."""

    name = "gl"
    capabilities = Capabilities(instance_ids=True, shadows=True, materials=True, environment_lighting=True,
                                randomization=True, extras=("normals", "coordinates", "amodal"))
    Options = GLOptions

    @classmethod
    def create(cls, options: GLOptions, intrinsics: Intrinsics | None, objects=None) -> "GLRenderer":
        return cls(options.device, size=None if intrinsics is None else (intrinsics.width, intrinsics.height),
                   hdri=options.hdri, textures=options.textures)

    def __init__(self, device: str | int | None = None, cull: bool = True, size: tuple[int, int] | None = None,
                 hdri: str | None = None, textures: str | None = None):
        self.ctx = create_context(device)
        import moderngl  # (create_context has found it)

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
        self._sets: dict[str, Surface] = {}  # texture sets' maps as surfaces
        #: what randomized frames bring (background images and maps, texture sets, distractors): their
        #: number has no bound, so the least recently used go when the cache passes its size
        self._random = Cache(RANDOM_CACHE_BYTES)
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

    def check_size(self, width: int, height: int) -> None:
        """Refuse an image larger than this OpenGL implementation's render targets can hold."""
        limit = max_side(self.ctx)
        if limit and max(width, height) > limit:
            raise ConfigError(f"--renderer gl: {width} x {height} pixels is more than {self.device} can render "
                              f"(at most {limit} pixels a side)")

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
