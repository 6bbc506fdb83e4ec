"""A single-pass OpenGL 3.3 renderer (moderngl on headless EGL): Mesa on any CPU, or a GPU's EGL driver.

One pass draws the scene into three targets at once: the shaded colour, the z-depth in metres (the
camera-frame z of each pixel's surface, written as a float, so no depth-buffer precision is lost)
and the instance id. A shadow map from the sun comes first; it depends only on the scene state, so
the second eye of a stereo pair reuses the first eye's. Meshes and textures are uploaded once per
renderer and kept; only the targets the writers need are read back.

Closed surfaces (a scan, a box) are drawn with back faces culled, which spares a CPU rasteriser the
setup of the half of the triangles that face away; open ones (the ground, a flipped fragment of a
scan) are drawn from both sides (see :func:`fat.meshes.split_for_culling`).

Device: ``FAT_EGL_DEVICE`` (or the ``device`` argument) picks an EGL device by index, for example a
GPU on a machine with several; without it EGL's default device is used.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ConfigError
from ..geometry import Intrinsics, invert_pose, look_at
from ..meshes import Mesh, load_mesh, split_for_culling
from ..scene import Location
from ..textures import texture_file
from ..cache import cache_dir
from ..frame import Frame
from . import CV_TO_GL, RenderOutput, opengl_projection
from .base import Capabilities, OptionError, Renderer, option
from .scenery import location_meshes

NEAR, FAR = 0.01, 50.0
SHADOW_SIZE = 1024
SHADOW_HALF_EXTENT = 2.5  # metres around the fixation point covered by the shadow map
SKY = np.array([185, 205, 230], np.uint8)

VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 view;        // world -> camera, OpenCV axes
uniform mat4 proj;        // OpenCV camera -> clip
uniform mat4 light_vp;    // world -> light clip
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_normal;
out vec2 v_uv;
out float v_z;
out vec4 v_light;
void main() {
    vec4 w = model * vec4(in_pos, 1.0);
    vec4 c = view * w;
    v_z = c.z;
    v_normal = mat3(model) * in_normal;
    v_uv = in_uv;
    v_light = light_vp * w;
    gl_Position = proj * c;
}
"""

FRAGMENT = """
#version 330
uniform sampler2D tex;
uniform sampler2DShadow shadow_map;
uniform vec3 light_dir;
uniform vec3 light_color;
uniform vec3 cam_pos;
uniform float ambient;
uniform float diffuse;
uniform float specular;
uniform int shadows;
uniform int instance;
in vec3 v_normal;
in vec2 v_uv;
in float v_z;
in vec4 v_light;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out int f_instance;
float lit_fraction(float ndl) {
    if (shadows == 0) return 1.0;
    vec3 p = v_light.xyz / v_light.w * 0.5 + 0.5;
    if (p.x <= 0.0 || p.x >= 1.0 || p.y <= 0.0 || p.y >= 1.0 || p.z >= 1.0) return 1.0;
    float bias = max(0.003 * (1.0 - ndl), 0.0008);
    return texture(shadow_map, vec3(p.xy, p.z - bias));  // linear filtering: 2x2 percentage-closer
}
void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    float ndl = max(dot(n, light_dir), 0.0);
    float lit = lit_fraction(ndl);
    vec3 base = texture(tex, v_uv).rgb;
    vec3 h = normalize(light_dir + vec3(0.0, 0.0, 1.0));
    float s1 = max(dot(n, h), 0.0);  // s1^32 by squaring: cheaper than pow() on a CPU rasteriser
    float s2 = s1 * s1; float s4 = s2 * s2; float s8 = s4 * s4; float s16 = s8 * s8;
    float spec = s16 * s16;
    vec3 c = base * light_color * (ambient + diffuse * ndl * lit) + specular * spec * lit * light_color;
    f_color = vec4(clamp(c, 0.0, 1.0), 1.0);
    f_depth = v_z;
    f_instance = instance;
}
"""

SHADOW_VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 light_vp;
in vec3 in_pos;
void main() { gl_Position = light_vp * model * vec4(in_pos, 1.0); }
"""

SHADOW_FRAGMENT = """
#version 330
void main() {}
"""


def projection(K: Intrinsics, near: float = NEAR, far: float = FAR) -> np.ndarray:
    """OpenCV camera -> clip space; pixel (col, row) samples the point (col + 0.5, row + 0.5)."""
    return opengl_projection(K, near, far) @ CV_TO_GL


def _ortho(half: float, near: float, far: float) -> np.ndarray:
    return np.array([[1 / half, 0, 0, 0], [0, 1 / half, 0, 0],
                     [0, 0, -2 / (far - near), -(far + near) / (far - near)], [0, 0, 0, 1]])


def _mat(m: np.ndarray) -> bytes:
    return np.asarray(m, dtype="f4").T.tobytes()  # column-major for GLSL


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


class GLRenderer(Renderer):
    """The OpenGL renderer (fast): OpenGL 3.3 on EGL, a GPU or Mesa on the CPU."""

    name = "gl"
    capabilities = Capabilities(instance_ids=True, shadows=True)
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
        return GLOptions(device or None)

    @classmethod
    def create(cls, options: GLOptions, intrinsics: Intrinsics | None, objects=None) -> "GLRenderer":
        return cls(options.device, size=None if intrinsics is None else (intrinsics.width, intrinsics.height))

    def __init__(self, device: str | int | None = None, cull: bool = True, size: tuple[int, int] | None = None):
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
        self.prog = self.ctx.program(vertex_shader=VERTEX, fragment_shader=FRAGMENT)
        self.shadow_prog = self.ctx.program(vertex_shader=SHADOW_VERTEX, fragment_shader=SHADOW_FRAGMENT)
        self.shadow_tex = self.ctx.depth_texture((SHADOW_SIZE, SHADOW_SIZE))
        self.shadow_tex.compare_func = "<="
        self.shadow_tex.repeat_x = self.shadow_tex.repeat_y = False
        self.shadow_tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self.shadow_fbo = self.ctx.framebuffer(depth_attachment=self.shadow_tex)
        self._meshes: dict[str, tuple] = {}
        self._textures: dict[str, object] = {}
        self._location: Location | None = None
        self._scenery: list[tuple] = []
        self._fbo = None
        self._size = None
        self._shadow_key = None  # the scene state the shadow map was drawn for
        self._cull = cull  # False: every face from both sides (the same image, more work)

    def close(self) -> None:
        if getattr(self, "ctx", None) is not None:
            self.ctx.release()
            self.ctx = None

    # ------------------------------------------------------------------ uploads
    def _texture(self, key: str, image_rgb: np.ndarray):
        if key not in self._textures:
            img = np.ascontiguousarray(np.flipud(image_rgb))  # OBJ uv (0, 0) is the image's bottom left
            t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes())
            t.build_mipmaps()  # trilinear; anisotropic filtering would cost more than the rest on a CPU
            self._textures[key] = t
        return self._textures[key]

    def _upload(self, mesh: Mesh):
        """(vao, shadow vao, number of indices drawn culled, number drawn from both sides)."""
        m = mesh if mesh.normals is not None else mesh.with_vertex_normals()
        uv = m.uvs if m.uvs is not None else np.zeros((len(m.vertices), 2))
        data = np.hstack([m.vertices, m.normals, uv]).astype("f4")
        vbo = self.ctx.buffer(data.tobytes())
        culled, two_sided = split_for_culling(m) if self._cull else (m.faces[:0], m.faces)
        ibo = self.ctx.buffer(np.concatenate([culled, two_sided]).astype("i4").tobytes())
        vao = self.ctx.vertex_array(self.prog, [(vbo, "3f 3f 2f", "in_pos", "in_normal", "in_uv")], ibo)
        svao = self.ctx.vertex_array(self.shadow_prog, [(vbo, "3f 12x 8x", "in_pos")], ibo)
        return vao, svao, 3 * len(culled), 3 * len(two_sided)

    def _draw(self, vao, n_culled: int, n_two_sided: int) -> None:
        if n_culled:
            self.ctx.enable(self.ctx.CULL_FACE)
            vao.render(vertices=n_culled)
        if n_two_sided:
            self.ctx.disable(self.ctx.CULL_FACE)
            vao.render(vertices=n_two_sided, first=n_culled)

    def _asset(self, asset):
        key = asset.folder.as_posix()
        if key not in self._meshes:
            mesh = load_mesh(asset.visual).with_vertex_normals(weld=asset.source != "standin")  # scans are smooth
            img = cv2.imread(str(asset.folder / "texture.png"), cv2.IMREAD_COLOR)
            tex = self._texture(key, cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            self._meshes[key] = (*self._upload(mesh), tex)
        return self._meshes[key]

    def _set_location(self, loc: Location) -> None:
        if self._location is loc:
            return
        self._scenery, self._casters = [], []
        for mesh, surface in location_meshes(loc):
            path = texture_file(str(cache_dir() / "textures"), surface.texture, surface.colors)
            tex = self._texture(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
            item = (*self._upload(mesh), tex)
            self._scenery.append(item)
            lo, hi = mesh.vertices.min(0)[:2], mesh.vertices.max(0)[:2]
            gap = np.maximum(np.maximum(lo - loc.fixation[:2], loc.fixation[:2] - hi), 0)
            if np.linalg.norm(gap) < SHADOW_HALF_EXTENT * 1.5:  # only what can shade the shadow map's area
                self._casters.append(item)
        self._location = loc

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
        if self._size != size:
            self.check_size(*size)
            if self._fbo is not None:
                for a in self._attachments:
                    a.release()
                self._fbo.release()
            self._attachments = [self.ctx.texture(size, 4), self.ctx.texture(size, 1, dtype="f4"),
                                 self.ctx.texture(size, 1, dtype="i4"), self.ctx.depth_renderbuffer(size)]
            self._fbo = self.ctx.framebuffer(color_attachments=self._attachments[:3], depth_attachment=self._attachments[3])
            self._size = size
        return self._fbo

    # ------------------------------------------------------------------ drawing
    def render(self, frame: Frame, eye: str = "left") -> RenderOutput:
        ctx = self.ctx
        T_world_cam, K = frame.rig.pose(eye), frame.rig.intrinsics
        loc = frame.location
        self._set_location(loc)
        objects = [(self._asset(o.asset), o.pose, k + 1) for k, o in enumerate(frame.objects)]
        scenery = [(m, np.eye(4), 0) for m in self._scenery]
        casters = [(m, np.eye(4), 0) for m in self._casters]
        light = loc.light
        eye = loc.fixation + light.direction * 10.0
        up = (0.0, 1.0, 0.0) if abs(light.direction[2]) > 0.99 else (0.0, 0.0, 1.0)
        light_vp = _ortho(SHADOW_HALF_EXTENT, 0.1, 30.0) @ CV_TO_GL @ invert_pose(look_at(eye, loc.fixation, up))
        ctx.enable(ctx.DEPTH_TEST)
        shadow_key = (loc.name, tuple((o.asset.folder.as_posix(), o.pose.tobytes()) for o in frame.objects))
        if light.shadows and shadow_key != self._shadow_key:  # shadow map from the sun
            self.shadow_fbo.use()
            self.shadow_fbo.clear(depth=1.0)
            self.shadow_prog["light_vp"].write(_mat(light_vp))
            for (vao, svao, n_culled, n_two_sided, tex), T, _ in objects + casters:
                self.shadow_prog["model"].write(_mat(T))
                self._draw(svao, n_culled, n_two_sided)
            self._shadow_key = shadow_key
        fbo = self._targets(K)
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        p = self.prog
        p["view"].write(_mat(invert_pose(T_world_cam)))
        p["proj"].write(_mat(projection(K)))
        p["light_vp"].write(_mat(light_vp))
        p["light_dir"].value = tuple(float(x) for x in light.direction)
        p["light_color"].value = tuple(float(x) for x in light.color)
        p["ambient"].value, p["diffuse"].value, p["specular"].value = light.ambient, light.diffuse, light.specular
        p["shadows"].value = int(light.shadows)
        p["tex"].value, p["shadow_map"].value = 0, 1
        self.shadow_tex.use(1)
        for (vao, svao, n_culled, n_two_sided, tex), T, inst in objects + scenery:  # near things first: hidden fragments skip shading
            tex.use(0)
            p["model"].write(_mat(T))
            p["instance"].value = inst
            self._draw(vao, n_culled, n_two_sided)
        ctx.disable(ctx.CULL_FACE)
        W, H = K.width, K.height
        rgba = np.frombuffer(fbo.read(attachment=0, components=4), np.uint8).reshape(H, W, 4)[::-1]
        depth = np.frombuffer(fbo.read(attachment=1, components=1, dtype="f4"), np.float32).reshape(H, W)[::-1].copy()
        inst = np.frombuffer(fbo.read(attachment=2, components=1, dtype="i4"), np.int32).reshape(H, W)[::-1].copy()
        rgb = rgba[:, :, :3].copy()
        empty = rgba[:, :, 3] == 0  # nothing drawn: the sky
        rgb[empty] = SKY
        depth[empty | (depth <= 0)] = 0.0
        return RenderOutput(rgb, depth, inst)
