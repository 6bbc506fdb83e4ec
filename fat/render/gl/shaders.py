"""The ``gl`` renderer's shaders (GLSL 3.30): the surface shader and its variants, the background,
the shadow map. See :mod:`fat.render.gl` and docs/looks.md."""

from __future__ import annotations

from .. import tonemap

#: Surfaces at least this rough take irradiance / pi for their reflections (the GGX lobe is then
#: almost the cosine's): no lookup in the prefiltered map.
ROUGH = 0.75

VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 view;        // world -> camera, OpenCV axes
uniform mat4 proj;        // OpenCV camera -> clip
uniform mat4 light_vp;    // world -> light clip
uniform mat3 env_rot;     // world -> the environment map's frame
uniform vec3 sh[9];       // irradiance E(n) = sum sh[i] Y_i(n), the map's frame
#ifdef BOX
uniform float uv_scale;   // BOX: texture coordinates from the model-space position (a randomized look on an
#endif                    // object), this many repeats per metre
in vec3 in_pos;
in vec3 in_normal;
in vec2 in_uv;
out vec3 v_irradiance;    // per vertex: the irradiance varies slowly with the normal (order-2 harmonics)
out vec3 v_normal;
out vec3 v_world;
out vec2 v_uv;
out float v_z;
out vec4 v_light;
out vec3 v_obj;           // the model-space position: an object's own frame (--extras coordinates)
#ifdef MASK
out vec2 v_mask_uv;       // the surface's own texture coordinates: a box-mapped look keeps the object's mask
#endif
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
#ifdef BOX
    vec3 a = abs(in_normal);  // the box projection along the normal's largest axis
    v_uv = (a.x >= max(a.y, a.z) ? in_pos.yz : (a.y >= a.z ? in_pos.xz : in_pos.xy)) * uv_scale;
#else
    v_uv = in_uv;
#endif
#ifdef MASK
    v_mask_uv = in_uv;
#endif
    v_light = light_vp * w;
    v_obj = in_pos;
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
uniform mat3 cam_rot;  // world -> camera (OpenCV axes)
uniform vec3 nocs_scale;  // an annotated object's 1 / cuboid extents; 0 for the rest (--extras coordinates)
#ifdef LOOK
uniform vec3 albedo_scale;    // a randomized look's albedo = texture * albedo_scale + albedo_offset: a flat
uniform vec3 albedo_offset;   // colour on white; a pattern's two colours on its grey image; a texture set's as is
#endif
uniform float env_scale;      // the image-based light's strength (its irradiance is scaled in sh)
uniform vec3 light_dirs[3];   // more distant lights, without shadows (domain randomization)
uniform vec3 light_colors[3]; // irradiance on a surface facing each
#ifdef MAPS
uniform sampler2D normal_map;     // rgb: tangent-space normal, OpenGL convention; a: roughness
#ifdef METAL
uniform sampler2D metalness_map;  // x metallic
#endif
uniform vec3 palette;             // the surface's designed mean colour (linear)
uniform vec3 set_mean;            // the texture set's mean colour (linear)
#endif
#ifdef PBR
uniform sampler2D material_map;   // an object's own material (a glTF file's): g roughness, b metalness
uniform vec2 map_weight;          // the share of roughness and metallic the map gives (0: the uniforms')
#endif
#ifdef NORMAL
uniform sampler2D normal_map;     // a glTF scene material's normal map (rgb, OpenGL convention)
uniform float normal_scale;       // glTF's normalTexture.scale
#endif
#ifdef OCCLUSION
uniform float occlusion_strength; // glTF's occlusionTexture.strength; the map is material_map's r
#endif
#ifdef MASK
uniform sampler2D mask_map;       // a: coverage; under one half the surface is cut out (glTF's alpha mask)
in vec2 v_mask_uv;
#endif
#ifdef EMISSIVE
uniform sampler2D emission_map;   // sRGB, decoded by the sampler
uniform float emission;           // radiance of the map's 1 (the exposure undone: 1 is a white surface in full light)
#endif
in vec3 v_irradiance;
in vec3 v_normal;
in vec3 v_world;
in vec2 v_uv;
in float v_z;
in vec4 v_light;
in vec3 v_obj;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out int f_instance;
layout(location = NORMAL_TARGET) out vec4 f_normal;  // --extras normals: a 16-bit target (else none)
layout(location = COORD_TARGET) out vec4 f_coord;    // --extras coordinates: likewise
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
// a distant light: Lambert + GGX (Smith-Schlick G, Schlick F), times its irradiance and the cosine
vec3 direct(vec3 n, vec3 v, float ndv, vec3 l, vec3 irradiance, vec3 albedo, vec3 f0, float roughness, float metallic,
            float spec_w) {
    float ndl = dot(n, l);
    if (ndl <= 0.0) return vec3(0.0);
    vec3 h = normalize(l + v);
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
    return brdf * irradiance * ndl;
}
#if defined(MAPS) || defined(NORMAL)
vec3 mapped_normal(vec3 n, vec3 m) {
    // the tangent frame from screen-space derivatives of the position and the texture coordinates;
    // m: the tangent-space normal read from the map
    vec3 dp1 = dFdx(v_world), dp2 = dFdy(v_world);
    vec2 duv1 = dFdx(v_uv), duv2 = dFdy(v_uv);
    vec3 dp2perp = cross(dp2, n), dp1perp = cross(n, dp1);
    vec3 t = dp2perp * duv1.x + dp1perp * duv2.x;
    vec3 b = dp2perp * duv1.y + dp1perp * duv2.y;
    float s = inversesqrt(max(max(dot(t, t), dot(b, b)), 1e-20));
    return normalize(mat3(t * s, b * s, n) * m);
}
#endif
void main() {
#ifdef MASK
    if (texture(mask_map, v_mask_uv).a < 0.5) discard;  // no colour, depth or instance id
#endif
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;
    // the mesh's normal (no normal map) in the camera frame, as fat.formats.extras stores it in 16 bits:
    // round((n + 1) / 2 * 65534) + 1, 0 left for no surface
    f_normal = vec4((cam_rot * n + 1.0) * (0.5 * 65534.0 / 65535.0) + 1.0 / 65535.0, 1.0);
    // the object's point over its cuboid, plus one half (NOCS), stored as the normals are; 0: no object
    f_coord = nocs_scale.x > 0.0 ? vec4(clamp(v_obj * nocs_scale + 0.5, 0.0, 1.0) * (65534.0 / 65535.0) + 1.0 / 65535.0, 1.0)
                                 : vec4(0.0);
#ifdef PBR
    vec4 mr = texture(material_map, v_uv);
    float roughness = mix(roughness, mr.g, map_weight.x);
    float metallic = mix(metallic, mr.b, map_weight.y);
#endif
#ifdef NORMAL  // glTF's normal map: x and y scaled
    n = mapped_normal(n, (texture(normal_map, v_uv).xyz * 2.0 - 1.0) * vec3(normal_scale, normal_scale, 1.0));
#endif
#ifdef MAPS
    vec4 nr = texture(normal_map, v_uv);
    n = mapped_normal(n, nr.xyz * 2.0 - 1.0);
    float roughness = max(roughness, nr.a);  // the kind's roughness is the least
#ifdef METAL
    float metallic = metallic * texture(metalness_map, v_uv).r;
#endif
#endif
    vec3 v = normalize(cam_pos - v_world);
    float ndv = max(dot(n, v), 1e-4);
    vec3 albedo = texture(tex, v_uv).rgb;  // sRGB textures: decoded to linear by the sampler
#ifdef LOOK
    albedo = albedo * albedo_scale + albedo_offset;
#endif
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
        vec3 pre = roughness >= ROUGH ? v_irradiance / PI : env_scale * textureLod(env, env_uv(reflect(-v, n)), roughness * env_levels).rgb;
#else
        vec3 pre = v_irradiance / PI;
#endif
        color += pre * (f0 * ab.x + ab.y * spec_w);
    }
#ifdef OCCLUSION
    color *= 1.0 + occlusion_strength * (mr.r - 1.0);  // the image-based light only
#endif
    // the sun, with its shadow; then the other lights
    float ndl = dot(n, light_dir);
    if (ndl > 0.0) {
        float lit = lit_fraction(ndl);
        if (lit > 0.0) color += direct(n, v, ndv, light_dir, sun, albedo, f0, roughness, metallic, spec_w) * lit;
    }
    // EXTRA_LIGHTS
#ifdef EMISSIVE
    color += texture(emission_map, v_uv).rgb * emission;
#endif
    f_color = vec4(srgb_encode(aces(color * exposure)), 1.0);
    f_depth = v_z;
    f_instance = instance;
}
"""

def defines(**flags) -> str:
    return "".join(f"#define {name.upper()}\n" for name, on in flags.items() if on)


def vertex_shader(box: bool = False, mask: bool = False) -> str:
    """The surface vertex shader; ``box``: texture coordinates from the model-space position;
    ``mask``: the object's own coordinates passed on for its alpha mask."""
    return VERTEX.replace("#version 330\n", "#version 330\n" + defines(box=box, mask=mask), 1)


#: The extras drawn into render targets of the one pass, in the order of their targets (from 3).
TARGET_EXTRAS = ("normals", "coordinates")


def extra_targets(extras) -> str:
    """The output locations of the normals and coordinates targets for the extras drawn (in
    TARGET_EXTRAS order from 3; 6 and 7, locations without a target, for those not drawn)."""
    drawn = [e for e in TARGET_EXTRAS if e in extras]
    at = {e: 3 + drawn.index(e) if e in drawn else 6 + k for k, e in enumerate(TARGET_EXTRAS)}
    return f"#define NORMAL_TARGET {at['normals']}\n#define COORD_TARGET {at['coordinates']}\n"


def background_shader(extras=()) -> str:
    return BACKGROUND_FRAGMENT.replace("#version 330\n", "#version 330\n" + extra_targets(extras), 1)


def fragment_shader(maps: bool, glossy: bool, metal: bool = False, lights: int = 0, look: bool = False,
                    pbr: bool = False, mask: bool = False, emissive: bool = False, normal: bool = False,
                    occlusion: bool = False, extras=()) -> str:
    """The surface shader, specialised: ``maps`` (normal, roughness, metalness maps: textured scenery),
    ``glossy`` (reflections looked up in the prefiltered map; without, a surface of roughness >=
    ROUGH everywhere takes irradiance / pi), ``metal`` (a metalness map), ``lights``: distant lights
    besides the sun (0-3), ``look``: a randomized look's colours; an object's own maps (a glTF
    file's): ``pbr`` (roughness and metalness), ``mask`` (alpha mask), ``emissive``; a glTF scene
    material's ``normal`` map and ``occlusion`` (with ``pbr``). A CPU rasteriser runs both sides
    of a branch and pays for a loop even when it runs no turn, so what a surface cannot need is
    compiled out rather than skipped, and the lights are written out one by one."""
    extra = "".join(f"    color += direct(n, v, ndv, light_dirs[{i}], light_colors[{i}], albedo, f0, roughness, metallic, spec_w);\n"
                    for i in range(lights))
    head = "#version 330\n" + extra_targets(extras) + defines(maps=maps, glossy=glossy, metal=metal, look=look, pbr=pbr, mask=mask,
                                       emissive=emissive, normal=normal, occlusion=occlusion)
    return FRAGMENT.replace("#version 330\n", head, 1).replace("    // EXTRA_LIGHTS\n", extra)


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
uniform int mode;            // 0: the environment map; 1: an image stretched over the view; 2: a flat colour
uniform sampler2D image;     // mode 1 (sRGB values, written as they are)
uniform vec3 color;          // mode 2 (linear)
in vec2 v_ndc;
layout(location = 0) out vec4 f_color;
layout(location = 1) out float f_depth;
layout(location = 2) out int f_instance;
layout(location = NORMAL_TARGET) out vec4 f_normal;  // --extras normals: a 16-bit target (else none)
layout(location = COORD_TARGET) out vec4 f_coord;    // --extras coordinates: likewise
void main() {
    vec4 w = inv_view_proj * vec4(v_ndc, 1.0, 1.0);
    vec3 d = normalize(w.xyz / w.w - cam_pos);
    vec3 c = mode == 0 ? srgb_encode(aces(textureLod(env, env_uv(d), 0.0).rgb * exposure))
           : mode == 1 ? texture(image, v_ndc * 0.5 + 0.5).rgb : srgb_encode(color);
    f_color = vec4(c, 0.0);  // alpha 0: no surface
    f_depth = 0.0;  // no value
    f_instance = 0;
    f_normal = vec4(0.0);
    f_coord = vec4(0.0);
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

#: The shadow map of a surface with an alpha mask: what the mask cuts out casts no shadow.
SHADOW_MASK_VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 light_vp;
in vec3 in_pos;
in vec2 in_uv;
out vec2 v_uv;
void main() { v_uv = in_uv; gl_Position = light_vp * model * vec4(in_pos, 1.0); }
"""

SHADOW_MASK_FRAGMENT = """
#version 330
uniform sampler2D mask_map;
in vec2 v_uv;
void main() { if (texture(mask_map, v_uv).a < 0.5) discard; }
"""


#: ``--extras amodal``: every object's full silhouette, occluders ignored, in one pass. Object
#: ``slot`` writes 1 into channel ``slot % 4`` of target ``slot / 4``; with MAX blending and no depth
#: test, each pixel ends with a 1 for every object covering it (up to 32 objects in 8 targets).
AMODAL_VERTEX = """
#version 330
uniform mat4 model;
uniform mat4 view;
uniform mat4 proj;
in vec3 in_pos;
in vec2 in_uv;
out vec2 v_uv;
void main() {
    v_uv = in_uv;
    vec4 w = model * vec4(in_pos, 1.0);  // as the surface shader: the same positions, bit for bit
    vec4 c = view * w;
    gl_Position = proj * c;
}
"""

AMODAL_FRAGMENT = """
#version 330
uniform sampler2D mask_map;
uniform int masked;
uniform int slot;
in vec2 v_uv;
""" + "".join(f"layout(location = {i}) out vec4 o{i};\n" for i in range(8)) + """
void main() {
    if (masked == 1 && texture(mask_map, v_uv).a < 0.5) discard;
    vec4 one = vec4(equal(ivec4(slot % 4), ivec4(0, 1, 2, 3)));
    int t = slot / 4;
""" + "".join(f"    o{i} = t == {i} ? one : vec4(0.0);\n" for i in range(8)) + """}
"""
