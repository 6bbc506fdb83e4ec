"""A single-pass OpenGL 3.3 renderer (moderngl on headless EGL): Mesa on any CPU, or a GPU's EGL driver.

One pass draws the scene into three targets at once: the shaded colour, the z-depth in metres (the
camera-frame z of each pixel's surface, written as a float, so no depth-buffer precision is lost)
and the instance id. Shading is physically based (docs/looks.md): metallic-roughness materials,
image-based light from the location's environment map (irradiance harmonics per vertex, a
GGX-prefiltered mip chain and the split-sum table per pixel), the sun with soft shadows, exposure
and a filmic tone curve to sRGB; the environment map is drawn last where no surface is. A shadow map from the sun comes first; it depends only on the scene state, so
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
from ..environment import brdf_lut
from ..frame import Frame
from . import CV_TO_GL, RenderOutput, opengl_projection, tonemap
from .base import Capabilities, OptionError, Renderer, option
from .lighting import environment_files, location_environment, location_lighting
from .materials import Material, object_material, surface_material
from ..texture_sets import surface_set, texture_sets
from .scenery import location_meshes

NEAR, FAR = 0.01, 50.0
#: Surfaces at least this rough take irradiance / pi for their reflections (the GGX lobe is then
#: almost the cosine's): no lookup in the prefiltered map.
ROUGH = 0.75
GL_SRGB8 = 0x8C41
SHADOW_SIZE = 1024
SHADOW_HALF_EXTENT = 2.5  # metres around the fixation point covered by the shadow map
#: Light-space penumbra growth per unit of occluder distance (the sun's apparent size, softened).
SHADOW_SOFTNESS = 0.02

VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 view;        // world -> camera, OpenCV axes
uniform mat4 proj;        // OpenCV camera -> clip
uniform mat4 light_vp;    // world -> light clip
uniform mat3 env_rot;     // world -> the environment map's frame
uniform vec3 sh[9];       // irradiance E(n) = sum sh[i] Y_i(n), the map's frame
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_irradiance;    // per vertex: the irradiance varies slowly with the normal (order-2 harmonics)
out vec3 v_normal;
out vec3 v_world;
out vec2 v_uv;
out float v_z;
out vec4 v_light;
void main() {
    vec4 w = model * vec4(in_pos, 1.0);
    vec4 c = view * w;
    v_z = c.z;
    v_world = w.xyz;
    v_normal = mat3(model) * in_normal;
    vec3 n = env_rot * normalize(v_normal);
    v_irradiance = max(sh[0] * 0.282095 + sh[1] * 0.488603 * n.y + sh[2] * 0.488603 * n.z + sh[3] * 0.488603 * n.x
         + sh[4] * 1.092548 * n.x * n.y + sh[5] * 1.092548 * n.y * n.z + sh[6] * 0.315392 * (3.0 * n.z * n.z - 1.0)
         + sh[7] * 1.092548 * n.x * n.z + sh[8] * 0.546274 * (n.x * n.x - n.y * n.y), 0.0);
    v_uv = in_uv;
    v_light = light_vp * w;
    gl_Position = proj * c;
}
"""

#: Shared by the surface and the background shaders: the environment map and the tone curve.
COMMON = """
const float PI = 3.14159265358979;
uniform sampler2D env;        // equirectangular radiance, mip level k prefiltered for roughness k / env_levels
uniform float env_levels;     // number of prefiltered levels - 1
uniform mat3 env_rot;         // world -> the map's frame
uniform float exposure;
vec2 env_uv(vec3 d) {
    d = env_rot * d;
    return vec2(0.5 + atan(d.y, d.x) / (2.0 * PI), acos(clamp(d.z, -1.0, 1.0)) / PI);
}
""" + tonemap.GLSL

FRAGMENT = """
#version 330
""" + COMMON + """
uniform sampler2D tex;
uniform sampler2D brdf_lut;
uniform sampler2DShadow shadow_map;
uniform sampler2D shadow_depth;
uniform vec3 light_dir;       // towards the sun (world)
uniform vec3 sun;             // the sun's irradiance on a surface facing it
uniform vec3 cam_pos;
uniform float roughness;
uniform float metallic;
uniform float specular;       // 1: dielectric F0 = 0.04; 0: no specular reflection (Lambertian)
uniform float shadow_softness;  // light-space size of the sun's disc per unit of occluder distance
uniform int shadows;
uniform int instance;
#ifdef MAPS
uniform sampler2D normal_map;     // rgb: tangent-space normal, OpenGL convention; a: roughness
#ifdef METAL
uniform sampler2D metalness_map;  // x metallic
#endif
uniform vec3 palette;             // the surface's designed mean colour (linear)
uniform vec3 set_mean;            // the texture set's mean colour (linear)
#endif
in vec3 v_irradiance;
in vec3 v_normal;
in vec3 v_world;
in vec2 v_uv;
in float v_z;
in vec4 v_light;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out int f_instance;
const float ROUGH = """ + repr(ROUGH) + """;
float lit_fraction(float ndl) {
    if (shadows == 0) return 1.0;
    vec3 p = v_light.xyz / v_light.w * 0.5 + 0.5;
    if (p.x <= 0.0 || p.x >= 1.0 || p.y <= 0.0 || p.y >= 1.0 || p.z >= 1.0) return 1.0;
    float bias = max(0.003 * (1.0 - ndl), 0.0008);
    // the penumbra grows with the distance to the occluder (percentage-closer soft shadows, in three
    // lookups): the occluder's depth at the fragment's own texel sets the distance between two
    // bilinear-filtered comparisons, across the sun's direction on the map, whose mean is the light
    float blocker = texture(shadow_depth, p.xy).r;
    float radius = clamp((p.z - min(blocker, p.z)) * shadow_softness, 0.0006, 0.008);
    vec2 off = vec2(radius, radius * 0.5);
    return 0.5 * (texture(shadow_map, vec3(p.xy + off, p.z - bias)) + texture(shadow_map, vec3(p.xy - off, p.z - bias)));
}
#ifdef MAPS
vec3 mapped_normal(vec3 n, vec4 nr) {
    // the tangent frame from screen-space derivatives of the position and the texture coordinates
    vec3 dp1 = dFdx(v_world), dp2 = dFdy(v_world);
    vec2 duv1 = dFdx(v_uv), duv2 = dFdy(v_uv);
    vec3 dp2perp = cross(dp2, n), dp1perp = cross(n, dp1);
    vec3 t = dp2perp * duv1.x + dp1perp * duv2.x;
    vec3 b = dp2perp * duv1.y + dp1perp * duv2.y;
    float s = inversesqrt(max(max(dot(t, t), dot(b, b)), 1e-20));
    vec3 m = nr.xyz * 2.0 - 1.0;
    return normalize(mat3(t * s, b * s, n) * m);
}
#endif
void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
#ifdef MAPS
    vec4 nr = texture(normal_map, v_uv);
    n = mapped_normal(n, nr);
    float roughness = max(roughness, nr.a);  // the kind's roughness is the least
#ifdef METAL
    float metallic = metallic * texture(metalness_map, v_uv).r;
#endif
#endif
    vec3 v = normalize(cam_pos - v_world);
    float ndv = max(dot(n, v), 1e-4);
    vec3 albedo = texture(tex, v_uv).rgb;  // an sRGB texture: decoded to linear by the sampler
#ifdef MAPS
    albedo = min(palette * min(albedo / set_mean, vec3(1.6)), vec3(1.0));  // the set's detail, the scene's colours
#endif
    vec3 f0 = mix(vec3(0.04 * specular), albedo, metallic);
    float spec_w = mix(specular, 1.0, metallic);
    // image-based light: diffuse from the irradiance, specular by the split sum
    float m = 1.0 - ndv, m2 = m * m, m5 = m2 * m2 * m;  // Schlick's (1 - cos)^5 by products: pow() is dear on a CPU
    vec3 fr = f0 + (max(vec3(1.0 - roughness), f0) - f0) * m5 * spec_w;
    vec3 kd = (1.0 - fr) * (1.0 - metallic);
    vec3 color = kd * albedo * v_irradiance / PI;
    if (spec_w > 0.0) {
        vec2 ab = texture(brdf_lut, vec2(ndv, roughness)).rg;  // the split sum's (scale, bias) of F0
        // the prefiltered map; for rough surfaces (>= ROUGH) the lobe is almost the cosine's, and the
        // irradiance / pi stands in for it (no lookup)
#ifdef GLOSSY
        vec3 pre = roughness >= ROUGH ? v_irradiance / PI : textureLod(env, env_uv(reflect(-v, n)), roughness * env_levels).rgb;
#else
        vec3 pre = v_irradiance / PI;
#endif
        color += pre * (f0 * ab.x + ab.y * spec_w);
    }
    // the sun: Lambert + GGX (Smith-Schlick G, Schlick F)
    float ndl = dot(n, light_dir);
    if (ndl > 0.0) {
        float lit = lit_fraction(ndl);
        if (lit > 0.0) {
            vec3 h = normalize(light_dir + v);
            float ndh = max(dot(n, h), 0.0), vdh = max(dot(v, h), 0.0);
            float rd = max(roughness, 0.05);  // the sun is a small disc, not a point: no infinitely sharp highlight
            float a = rd * rd, a2 = a * a;
            float dd = ndh * ndh * (a2 - 1.0) + 1.0;
            float D = a2 / (PI * dd * dd);
            float k = (rd + 1.0) * (rd + 1.0) / 8.0;
            float G = ndv / (ndv * (1.0 - k) + k) * ndl / (ndl * (1.0 - k) + k);
            float q = 1.0 - vdh, q2 = q * q;
            vec3 F = f0 + (1.0 - f0) * (q2 * q2 * q) * spec_w;
            vec3 brdf = (1.0 - F) * (1.0 - metallic) * albedo / PI + D * G * F / (4.0 * ndv * ndl);
            color += brdf * sun * ndl * lit;
        }
    }
    f_color = vec4(srgb_encode(aces(color * exposure)), 1.0);
    f_depth = v_z;
    f_instance = instance;
}
"""

def fragment_shader(maps: bool, glossy: bool, metal: bool = False) -> str:
    """The surface shader, specialised: ``maps`` (normal, roughness, metalness maps: textured scenery),
    ``glossy`` (reflections looked up in the prefiltered map; without, a surface of roughness >=
    ROUGH everywhere takes irradiance / pi). A CPU rasteriser runs both sides of a branch, so what
    a surface cannot need is compiled out rather than skipped."""
    defines = "".join(f"#define {name}\n" for name, on in (("MAPS", maps), ("GLOSSY", glossy), ("METAL", metal)) if on)
    return FRAGMENT.replace("#version 330\n", "#version 330\n" + defines, 1)

BACKGROUND_VERTEX = """
#version 330
in vec2 in_pos;
out vec2 v_ndc;
void main() { v_ndc = in_pos; gl_Position = vec4(in_pos, 1.0, 1.0); }
"""

BACKGROUND_FRAGMENT = """
#version 330
""" + COMMON + """
uniform mat4 inv_view_proj;  // clip -> world
uniform vec3 cam_pos;
in vec2 v_ndc;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out int f_instance;
void main() {
    vec4 w = inv_view_proj * vec4(v_ndc, 1.0, 1.0);
    vec3 d = normalize(w.xyz / w.w - cam_pos);
    f_color = vec4(srgb_encode(aces(textureLod(env, env_uv(d), 0.0).rgb * exposure)), 0.0);  // alpha 0: no surface
    f_depth = 0.0;  // no value
    f_instance = 0;
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


def _designed(colors) -> tuple[float, float, float]:
    """The surface's designed mean colour, linear. A texture set's colour map is drawn as this colour
    times the map's own variation about its mean (at most 1.6 times): the set's detail in the scene's
    palette (a light marble floor from a dark marble set)."""
    return tuple(float(x) for x in tonemap.srgb_decode(np.asarray(colors, dtype=np.float64).reshape(-1, 3).mean(axis=0) / 255.0))


def _set(prog, name: str, value) -> None:
    """Set a uniform the program has (the compiler drops those a shader does not use)."""
    member = prog.get(name, None)
    if member is not None:
        member.value = value


def _write(prog, name: str, data: bytes) -> None:
    member = prog.get(name, None)
    if member is not None:
        member.write(data)


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
    capabilities = Capabilities(instance_ids=True, shadows=True, materials=True, environment_lighting=True)
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
        hdri = _checked_path("hdri", "a file or folder name", options.hdri, environment_files)
        textures = _checked_path("textures", "a folder name", options.textures, texture_sets)
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
        self.prog = self._program(False, True)
        self.white = self.ctx.texture((1, 1), 3, bytes([255, 255, 255]))
        self.shadow_prog = self.ctx.program(vertex_shader=SHADOW_VERTEX, fragment_shader=SHADOW_FRAGMENT)
        self.background_prog = self.ctx.program(vertex_shader=BACKGROUND_VERTEX, fragment_shader=BACKGROUND_FRAGMENT)
        tri = self.ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())  # one triangle covering the screen
        self.background_vao = self.ctx.vertex_array(self.background_prog, [(tri, "2f", "in_pos")])
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
        self._means: dict[str, np.ndarray] = {}  # mean linear colour of each texture set's colour map
        self._location: Location | None = None
        self._scenery: list[tuple] = []
        self._fbo = None
        self._size = None
        self._shadow_key = None  # the scene state the shadow map was drawn for
        self._cull = cull  # False: every face from both sides (the same image, more work)

    def close(self) -> None:
        self._environments = {}
        if getattr(self, "ctx", None) is not None:
            self.ctx.release()
            self.ctx = None

    # ------------------------------------------------------------------ uploads
    def _texture(self, key: str, image_rgb: np.ndarray):
        if key not in self._textures:
            img = np.ascontiguousarray(np.flipud(image_rgb))  # OBJ uv (0, 0) is the image's bottom left
            t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes(), internal_format=GL_SRGB8)
            t.build_mipmaps()  # of the linear colours: the sampler decodes sRGB  # trilinear; anisotropic filtering would cost more than the rest on a CPU
            self._textures[key] = t
        return self._textures[key]

    def _program(self, maps: bool, glossy: bool, metal: bool = False):
        """The surface shader specialised for (maps, glossy, metal), compiled once."""
        key = (maps, glossy, metal)
        if key not in self.programs:
            self.programs[key] = self.ctx.program(vertex_shader=VERTEX, fragment_shader=fragment_shader(*key))
        return self.programs[key]

    def _upload(self, mesh: Mesh, prog=None):
        """(vao, shadow vao, number of indices drawn culled, number drawn from both sides)."""
        m = mesh if mesh.normals is not None else mesh.with_vertex_normals()
        uv = m.uvs if m.uvs is not None else np.zeros((len(m.vertices), 2))
        data = np.hstack([m.vertices, m.normals, uv]).astype("f4")
        vbo = self.ctx.buffer(data.tobytes())
        culled, two_sided = split_for_culling(m) if self._cull else (m.faces[:0], m.faces)
        ibo = self.ctx.buffer(np.concatenate([culled, two_sided]).astype("i4").tobytes())
        vao = self.ctx.vertex_array(prog or self.prog, [(vbo, "3f 3f 2f", "in_pos", "in_normal", "in_uv")], ibo)
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
            material = object_material(asset.info)
            prog = self._program(False, material.roughness < ROUGH or material.metallic > 0)
            self._meshes[key] = (*self._upload(mesh, prog), tex, material, None)
        return self._meshes[key]

    def _environment(self, env):
        """The environment's prefiltered levels as one mipmapped float texture, uploaded once."""
        key = id(env)
        if key not in self._environments:
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
            self._environments[key] = (t, len(levels) - 1, env)  # the environment kept: its id stays its own
        return self._environments[key][:2]

    def _map(self, path, default, srgb: bool = False):
        """A texture set's map (colour: sRGB; normals, roughness, metalness: linear), uploaded once."""
        if path is None:
            return default
        key = str(path)
        if key not in self._textures:
            img = cv2.imread(key, cv2.IMREAD_COLOR)
            if img is None:
                raise ConfigError(f"{path}: cannot read the texture")
            img = np.ascontiguousarray(np.flipud(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)))
            if srgb:
                self._means[key] = tonemap.srgb_decode(img.reshape(-1, 3) / 255.0).mean(axis=0)
            t = self.ctx.texture((img.shape[1], img.shape[0]), 3, img.tobytes(), **({"internal_format": GL_SRGB8} if srgb else {}))
            t.build_mipmaps()
            self._textures[key] = t
        return self._textures[key]

    def _normal_roughness(self, normal, roughness):
        """A texture set's normal map (rgb) and roughness map (alpha) in one texture: one lookup for both."""
        key = f"{normal}|{roughness}"
        if key not in self._textures:
            maps = []
            for path in (normal, roughness):
                img = None if path is None else cv2.imread(str(path), cv2.IMREAD_COLOR)
                if path is not None and img is None:
                    raise ConfigError(f"{path}: cannot read the texture")
                maps.append(img)
            shape = next((m.shape[:2] for m in maps if m is not None), (1, 1))
            rgba = np.empty((*shape, 4), np.uint8)
            rgba[..., :3] = (128, 128, 255) if maps[0] is None else cv2.cvtColor(cv2.resize(maps[0], shape[::-1]), cv2.COLOR_BGR2RGB)
            rgba[..., 3] = 255 if maps[1] is None else cv2.resize(maps[1], shape[::-1])[..., 1]
            rgba = np.ascontiguousarray(np.flipud(rgba))
            t = self.ctx.texture(shape[::-1], 4, rgba.tobytes())
            t.build_mipmaps()
            self._textures[key] = t
        return self._textures[key]

    def lighting(self, loc: Location):
        """The location's :class:`~fat.render.lighting.Lighting` (its environment map, sun, exposure)."""
        if loc.name not in self._lighting:
            self._lighting[loc.name] = location_lighting(loc, location_environment(loc, self.hdri))
        return self._lighting[loc.name]

    def _set_location(self, loc: Location) -> None:
        if self._location is loc:
            return
        self._scenery, self._casters = [], []
        for k, (mesh, surface) in enumerate(location_meshes(loc)):
            pbr = surface_set(loc.name, str(k), surface.texture, self.textures)
            if pbr is None:  # the kind's procedural texture
                path = texture_file(str(cache_dir() / "textures"), surface.texture, surface.colors)
                tex = self._texture(str(path), cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB))
                material = surface_material(surface.texture)
                item = (*self._upload(mesh, self._program(False, False)), tex, material, None)
            else:
                maps = (self._normal_roughness(pbr.normal, pbr.roughness), self._map(pbr.metalness, self.white))
                colour = self._map(pbr.color, None, srgb=True)
                palette = (_designed(surface.colors), tuple(float(x) for x in np.maximum(self._means[str(pbr.color)], 1e-3)))
                item = (*self._upload(mesh, self._program(True, False, pbr.metalness is not None)), colour,
                        Material(surface_material(surface.texture).roughness, 1.0 if pbr.metalness else 0.0), (*maps, palette))
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
        lighting = self.lighting(loc)
        env_tex, env_levels = self._environment(lighting.environment)
        sun_dir = lighting.sun_direction
        eye = loc.fixation + sun_dir * 10.0
        up = (0.0, 1.0, 0.0) if abs(sun_dir[2]) > 0.99 else (0.0, 0.0, 1.0)
        light_vp = _ortho(SHADOW_HALF_EXTENT, 0.1, 30.0) @ CV_TO_GL @ invert_pose(look_at(eye, loc.fixation, up))
        ctx.enable(ctx.DEPTH_TEST)
        shadow_key = (loc.name, tuple((o.asset.folder.as_posix(), o.pose.tobytes()) for o in frame.objects))
        if lighting.shadows and shadow_key != self._shadow_key:  # shadow map from the sun
            self.shadow_fbo.use()
            self.shadow_fbo.clear(depth=1.0)
            self.shadow_prog["light_vp"].write(_mat(light_vp))
            for (vao, svao, n_culled, n_two_sided, *_), T, _ in objects + casters:
                self.shadow_prog["model"].write(_mat(T))
                self._draw(svao, n_culled, n_two_sided)
            self._shadow_key = shadow_key
        fbo = self._targets(K)
        fbo.use()
        fbo.clear(0.0, 0.0, 0.0, 0.0, depth=1.0)
        view, proj = invert_pose(T_world_cam), projection(K)
        env_rot = tuple(float(x) for x in np.asarray(lighting.env_rot, dtype=np.float64).T.reshape(-1))  # column-major
        for p in self.programs.values():
            _write(p, "view", _mat(view))
            _write(p, "proj", _mat(proj))
            _write(p, "light_vp", _mat(light_vp))
            _set(p, "light_dir", tuple(float(x) for x in sun_dir))
            _set(p, "sun", tuple(float(x) for x in lighting.sun))
            _set(p, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
            _write(p, "sh", np.ascontiguousarray(lighting.environment.sh, dtype="f4").tobytes())
            _set(p, "env_rot", env_rot)
            _set(p, "env_levels", float(env_levels))
            _set(p, "exposure", lighting.exposure)
            _set(p, "shadows", int(lighting.shadows))
            _set(p, "shadow_softness", SHADOW_SOFTNESS)
            for unit, name in enumerate(("tex", "shadow_map", "shadow_depth", "env", "brdf_lut", "normal_map",
                                         "metalness_map")):
                _set(p, name, unit)
        self.shadow_compare.use(1)
        self.shadow_depths.use(2)
        env_tex.use(3)
        self.lut.use(4)
        for (vao, svao, n_culled, n_two_sided, tex, material, maps), T, inst in objects + scenery:  # near things first: hidden fragments skip shading
            tex.use(0)
            p = vao.program
            if maps is not None:
                for unit, t in enumerate(maps[:2], start=5):
                    t.use(unit)
                _set(p, "palette", maps[2][0])
                _set(p, "set_mean", maps[2][1])
            _write(p, "model", _mat(T))
            _set(p, "instance", inst)
            _set(p, "roughness", material.roughness)
            _set(p, "metallic", material.metallic)
            _set(p, "specular", material.specular)
            self._draw(vao, n_culled, n_two_sided)
        ctx.disable(ctx.CULL_FACE)
        # the environment where no surface is: drawn last, at the far plane, only on untouched pixels
        b = self.background_prog
        _write(b, "inv_view_proj", _mat(np.linalg.inv(proj @ view)))
        _set(b, "cam_pos", tuple(float(x) for x in T_world_cam[:3, 3]))
        _set(b, "env_rot", env_rot)
        _set(b, "exposure", lighting.exposure)
        _set(b, "env", 3)
        ctx.depth_func = "<="
        self.background_vao.render(vertices=3)
        ctx.depth_func = "<"
        W, H = K.width, K.height
        rgba = np.frombuffer(fbo.read(attachment=0, components=4), np.uint8).reshape(H, W, 4)[::-1]
        depth = np.frombuffer(fbo.read(attachment=1, components=1, dtype="f4"), np.float32).reshape(H, W)[::-1].copy()
        inst = np.frombuffer(fbo.read(attachment=2, components=1, dtype="i4"), np.int32).reshape(H, W)[::-1].copy()
        rgb = rgba[:, :, :3].copy()
        empty = rgba[:, :, 3] == 0  # nothing drawn: the environment
        depth[empty | (depth <= 0)] = 0.0
        return RenderOutput(rgb, depth, inst)
