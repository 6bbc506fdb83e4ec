"""glTF materials of the user's own objects: every part with its own material, as the file gives it.

The files are written here, with numpy and json: three rectangles facing +x side by side along +y,
one part each (a primitive of one mesh):

* part 0, at x = 0: no material (glTF's default: white, metallic 1, roughness 1);
* part 1, at x = 5 mm: a texture of four coloured quadrants, turned by KHR_texture_transform
  (rotation pi/2, offset (0, 1), texCoord 1: its TEXCOORD_0 points at one texel, so a reader that
  ignores the extension draws it in one colour, and one that ignores the rotation draws the
  quadrants elsewhere), metallic 0, roughness 0.8;
* part 2, at x = 10 mm: a purple base colour factor times its vertex colours (COLOR_0), metallic
  0, roughness 0.15 (glossy).

Seen from +x, image right is +y and image up is +z; each part's pixels are found by projecting its
rectangle.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import warnings
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import renderer_or_skip
from fat import objectsets
from fat.assets.objects import load_assets
from fat.scene.environment import uniform_environment
from fat.errors import ConfigError
from fat.frame import Frame
from fat.geometry import Intrinsics, look_at, make_pose
from fat.scene.gltf_materials import srgb_encode, texture_transform
from fat.assets.mesh_reading import read_mesh_file
from fat.assets.meshes import MeshWarning
from fat.render.lighting import Lighting
from fat.scene.scenes import get_location

K = Intrinsics.from_fov(320, 240, 40.0)
#: The texture's quadrants (RGB): top left, top right, bottom left, bottom right.
RED, GREEN, BLUE, YELLOW = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
#: Where each quadrant of part 1 shows (by the transform: u' = v, v' = 1 - u), and without it.
TURNED = {"top left": BLUE, "top right": RED, "bottom left": YELLOW, "bottom right": GREEN}
UNTURNED = {"top left": RED, "top right": GREEN, "bottom left": BLUE, "bottom right": YELLOW}
#: Part 2's base colour: factor x COLOR_0, linear.
PURPLE = np.array([0.9, 0.2, 0.6]) * np.array([0.5, 1.0, 1.0])
#: The three parts: x, and the y range (metres, the file's frame); z spans -3..3 cm.
PARTS = [(0.0, -0.095, -0.035), (0.005, -0.03, 0.03), (0.01, 0.035, 0.095)]


class GltfWriter:
    """A glTF 2.0 file from numpy arrays: one buffer, PNG images inside it; .glb or .gltf (a data URI)."""

    def __init__(self):
        self.bin = bytearray()
        self.doc = {"asset": {"version": "2.0"}, "buffers": [], "bufferViews": [], "accessors": [], "meshes": [],
                    "nodes": [], "scenes": [{"nodes": []}], "scene": 0}

    def _view(self, data: bytes) -> int:
        self.bin += b"\0" * (-len(self.bin) % 4)
        self.doc["bufferViews"].append({"buffer": 0, "byteOffset": len(self.bin), "byteLength": len(data)})
        self.bin += data
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, a, component: int = 5126) -> int:
        a = np.asarray(a, {5126: "<f4", 5125: "<u4"}[component])
        width = 1 if a.ndim == 1 else a.shape[1]
        acc = {"bufferView": self._view(a.tobytes()), "componentType": component, "count": len(a),
               "type": {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}[width]}
        if component == 5126 and width == 3:
            acc["min"], acc["max"] = a.min(0).tolist(), a.max(0).tolist()
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def texture(self, rgba: np.ndarray) -> int:
        ok, png = cv2.imencode(".png", np.ascontiguousarray(rgba[..., [2, 1, 0, 3]]))
        assert ok
        self.doc.setdefault("images", []).append({"bufferView": self._view(png.tobytes()), "mimeType": "image/png"})
        self.doc.setdefault("textures", []).append({"source": len(self.doc["images"]) - 1})
        return len(self.doc["textures"]) - 1

    def material(self, m: dict) -> int:
        self.doc.setdefault("materials", []).append(m)
        return len(self.doc["materials"]) - 1

    def primitive(self, positions, faces, material=None, texcoords=None, colors=None) -> dict:
        p = {"attributes": {"POSITION": self.accessor(positions)}, "indices": self.accessor(np.ravel(faces), 5125)}
        for n, uv in (texcoords or {}).items():
            p["attributes"][f"TEXCOORD_{n}"] = self.accessor(uv)
        if colors is not None:
            p["attributes"]["COLOR_0"] = self.accessor(colors)
        if material is not None:
            p["material"] = material
        return p

    def mesh(self, primitives: list) -> None:
        self.doc["meshes"].append({"primitives": primitives})
        self.doc["nodes"].append({"mesh": len(self.doc["meshes"]) - 1})
        self.doc["scenes"][0]["nodes"].append(len(self.doc["nodes"]) - 1)

    def write(self, path: Path) -> Path:
        self.bin += b"\0" * (-len(self.bin) % 4)
        if path.suffix == ".glb":
            self.doc["buffers"] = [{"byteLength": len(self.bin)}]
            js = json.dumps(self.doc).encode()
            js += b" " * (-len(js) % 4)
            body = (struct.pack("<II", len(js), 0x4E4F534A) + js
                    + struct.pack("<II", len(self.bin), 0x004E4942) + bytes(self.bin))
            path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
        else:
            uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(self.bin)).decode()
            self.doc["buffers"] = [{"byteLength": len(self.bin), "uri": uri}]
            path.write_text(json.dumps(self.doc))
        return path


def quad(x: float, y0: float, y1: float, z0: float = -0.03, z1: float = 0.03):
    """A rectangle facing +x: corners, triangles, texture coordinates (glTF: v = 0 at the image's top)
    with u along +y and v = 0 at +z."""
    v = np.array([[x, y0, z0], [x, y1, z0], [x, y1, z1], [x, y0, z1]], float)
    return v, np.array([[0, 1, 2], [0, 2, 3]]), np.array([[0, 1], [1, 1], [1, 0], [0, 0]], float)


def quadrants() -> np.ndarray:
    img = np.full((8, 8, 4), 255, np.uint8)
    img[:4, :4, :3], img[:4, 4:, :3], img[4:, :4, :3], img[4:, 4:, :3] = RED, GREEN, BLUE, YELLOW
    return img


def three_parts(path: Path) -> Path:
    w = GltfWriter()
    turned = {"index": w.texture(quadrants()),
              "extensions": {"KHR_texture_transform": {"rotation": math.pi / 2, "offset": [0, 1], "texCoord": 1}}}
    textured = w.material({"pbrMetallicRoughness": {"baseColorTexture": turned, "metallicFactor": 0.0,
                                                    "roughnessFactor": 0.8}})
    glossy = w.material({"pbrMetallicRoughness": {"baseColorFactor": [0.9, 0.2, 0.6, 1.0], "metallicFactor": 0.0,
                                                  "roughnessFactor": 0.15}})
    (v0, f0, _), (v1, f1, uv1), (v2, f2, _) = (quad(*p) for p in PARTS)
    w.mesh([w.primitive(v0, f0),
            w.primitive(v1, f1, textured, {0: np.full((4, 2), 0.1), 1: uv1}),
            w.primitive(v2, f2, glossy, colors=np.tile([0.5, 1.0, 1.0, 1.0], (4, 1)))])
    w.doc["extensionsUsed"] = ["KHR_texture_transform"]
    return w.write(path)


# ----------------------------------------------------------------------------- what is read
def _lookup(mf, point, image: np.ndarray) -> np.ndarray:
    """``image`` (in the layout of the baked texture) where the mesh has ``point`` (on a rectangle)."""
    v, f, uv = mf.mesh.vertices, mf.mesh.faces, mf.mesh.uvs
    for tri in f:
        a, b, c = v[tri]
        if abs(a[0] - point[0]) > 1e-6 or np.ptp(v[tri][:, 0]) > 1e-6:
            continue
        s, t = np.linalg.solve(np.column_stack([b[1:] - a[1:], c[1:] - a[1:]]), np.asarray(point[1:]) - a[1:])
        if s >= -1e-9 and t >= -1e-9 and s + t <= 1 + 1e-9:
            u, vv = uv[tri[0]] * (1 - s - t) + uv[tri[1]] * s + uv[tri[2]] * t
            h, w = image.shape[:2]
            return image[min(int((1 - vv) * h), h - 1), min(int(u * w), w - 1)].astype(int)
    raise AssertionError(f"no triangle at {point}")


def _texel(mf, point) -> np.ndarray:
    """The base colour texture's RGB where the mesh has ``point``."""
    return _lookup(mf, point, mf.texture)[::-1]


def _maps_at(mf, point) -> np.ndarray:
    """The material map's (R unused, G roughness, B metalness) where the mesh has ``point``."""
    return _lookup(mf, point, mf.maps)[:3]


def _centre(k: int, dy: float = 0.0, dz: float = 0.0):
    x, y0, y1 = PARTS[k]
    return (x, (y0 + y1) / 2 + dy * (y1 - y0), dz * 0.06)


CORNERS = {"top left": (-0.25, 0.25), "top right": (0.25, 0.25), "bottom left": (-0.25, -0.25),
           "bottom right": (0.25, -0.25)}


def test_each_part_has_its_own_material_and_a_part_without_one_takes_gltfs_default(tmp_path):
    """Catches: a file whose parts have colours, except one without a material, drawn all grey with
    a warning that the file has no colours; a base colour factor not multiplied by the vertex colours;
    one material (or the class's) for every part instead of each part's metallic and roughness."""
    path = three_parts(tmp_path / "three.gltf")
    with pytest.warns(MeshWarning) as caught:
        objectsets.load(path)
    text = [str(w.message) for w in caught]
    assert f"{path.resolve()}: 1 of 3 parts has no material; drawn with glTF's default material (white, metallic 1, " \
           "roughness 1)" in text, text
    assert not any("no colours" in t or "plain grey" in t for t in text), text
    mf = read_mesh_file(path)
    assert mf.colour_source == "materials"
    assert (_texel(mf, _centre(0)) == 255).all()  # glTF's default base colour: white
    expected = np.rint(srgb_encode(PURPLE) * 255)
    assert np.abs(_texel(mf, _centre(2)) - expected).max() <= 1, (_texel(mf, _centre(2)), expected)
    # the material map: (unused, roughness, metalness), per part
    assert np.abs(_maps_at(mf, _centre(0)) - [255, 255, 255]).max() <= 1  # default: roughness 1, metallic 1
    assert np.abs(_maps_at(mf, _centre(1)) - [255, 204, 0]).max() <= 1  # 0.8, 0
    assert np.abs(_maps_at(mf, _centre(2)) - [255, 38, 0]).max() <= 1  # 0.15, 0


def test_texture_transform_turns_the_texture_as_the_extension_says(tmp_path):
    """Catches: KHR_texture_transform ignored (a card's back drawn mirrored), its rotation turned the
    wrong way, its texCoord ignored (TEXCOORD_0 here points at one red texel)."""
    # the extension's own composition: translation x rotation x scale, rotation [[cos, sin], [-sin, cos]]
    M = texture_transform({"offset": [0.5, 0.25], "rotation": 0.3, "scale": [2.0, 3.0]})
    c, s = math.cos(0.3), math.sin(0.3)
    uv = np.array([0.2, 0.7])
    expected = np.array([[c, s], [-s, c]]) @ (uv * [2.0, 3.0]) + [0.5, 0.25]
    assert np.allclose(M[:2, :2] @ uv + M[:2, 2], expected)
    mf = read_mesh_file(three_parts(tmp_path / "three.glb"))
    for where, (dy, dz) in CORNERS.items():
        assert tuple(_texel(mf, _centre(1, dy, dz))) == TURNED[where], (where, _texel(mf, _centre(1, dy, dz)))
        assert TURNED[where] != UNTURNED[where]


# ----------------------------------------------------------------------------- what is drawn
def _scene():
    loc = replace(get_location("kitedemo_0"), props=())
    loc = replace(loc, ground_z=loc.fixation[2] - 50.0)  # the ground far below: out of every view
    eye = loc.fixation + 0.3 * np.array([1.0, 0.0, 0.15]) / np.linalg.norm([1.0, 0.0, 0.15])
    return loc, look_at(eye, loc.fixation), make_pose(np.eye(3), loc.fixation)


def _asset(path: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MeshWarning)
        objects = objectsets.load(path)
    return load_assets(objects, objects.meshes)[objects.objects[0].name]


def _pixels(asset, cam, pose, points) -> np.ndarray:
    """Boolean image of the polygon ``points`` (file coordinates) projected."""
    T = pose @ asset.info.model_transform
    world = np.asarray(points) @ T[:3, :3].T + T[:3, 3]
    c = (world - cam[:3, 3]) @ cam[:3, :3]
    px = c[:, :2] / c[:, 2:] * [K.fx, K.fy] + [K.cx, K.cy]
    mask = np.zeros((K.height, K.width), np.uint8)
    cv2.fillConvexPoly(mask, np.round(px * 16).astype(np.int32), 1, shift=4)
    return mask.astype(bool)


def _part_pixels(asset, cam, pose, k: int, dy: float = 0.0, dz: float = 0.0, half: float = 0.15) -> np.ndarray:
    """Pixels around a point of part ``k`` (a square of ``half`` of the part's size each way)."""
    x, y, z = _centre(k, dy, dz)
    h = half * 0.06
    return _pixels(asset, cam, pose, [(x, y - h, z - h), (x, y + h, z - h), (x, y + h, z + h), (x, y - h, z + h)])


def _render(renderer, asset, lighting: Lighting | None = None):
    loc, cam, pose = _scene()
    if lighting is not None:
        renderer._lighting[loc.name] = lighting
    return renderer.render(Frame.view(loc, [(asset, pose)], cam, K)), cam, pose


def _colours_hold(out, asset, cam, pose) -> None:
    """Each part's pixels have its colour: part 0 neutral, part 1 the turned quadrants, part 2 purple."""
    def mean(k, dy=0.0, dz=0.0, half=0.15):
        seen = _part_pixels(asset, cam, pose, k, dy, dz, half) & (out.instance == 1)
        assert seen.sum() > 20
        return out.rgb[seen].astype(float).mean(axis=0)

    r, g, b = mean(0, half=0.3)
    assert max(r, g, b) - min(r, g, b) < 0.08 * max(r, g, b) and min(r, g, b) > 60, (r, g, b)  # white, shaded
    r, g, b = mean(2, half=0.3)
    assert b > r > g + 20, (r, g, b)  # purple
    for where, (dy, dz) in CORNERS.items():
        rgb = mean(1, dy, dz, half=0.08)
        want = np.array(TURNED[where]) > 0
        assert rgb[want].min() > rgb[~want].max() + 40, (where, rgb)


def test_the_tiny_renderer_draws_each_parts_colour(tmp_path):
    """Catches: parts drawn in one colour (grey) by the renderer without shaders, the texture drawn
    without its transform."""
    asset = _asset(three_parts(tmp_path / "three.gltf"))
    tiny = renderer_or_skip("tiny")
    try:
        out, cam, pose = _render(tiny, asset)
    finally:
        tiny.close()
    _colours_hold(out, asset, cam, pose)


@pytest.fixture(scope="module")
def gl():
    r = renderer_or_skip("gl")  # skips, saying why, where no OpenGL 3.3 context can be made on EGL
    yield r
    r.close()


def _sun_on(asset, k: int, strength: float = 0.2) -> Lighting:
    """A dim uniform sky and a sun where part ``k``'s centre mirrors the camera: its highlight, if glossy."""
    loc, cam, pose = _scene()
    T = pose @ asset.info.model_transform
    c = T[:3, :3] @ np.asarray(_centre(k)) + T[:3, 3]
    v = (cam[:3, 3] - c) / np.linalg.norm(cam[:3, 3] - c)
    n = T[:3, :3] @ np.array([1.0, 0.0, 0.0])
    sun = 2 * (n @ v) * n - v
    return Lighting(uniform_environment((0.3, 0.3, 0.3)), np.eye(3), sun, np.full(3, strength), 1.0, False)


def _highlight(out, asset, cam, pose, k: int) -> float:
    """Brightest over darkest (10th percentile) luminance of part ``k``'s pixels."""
    seen = _part_pixels(asset, cam, pose, k, half=0.45) & (out.instance == 1)
    lum = out.rgb[seen].astype(float) @ [0.2126, 0.7152, 0.0722]
    return float(lum.max() / np.percentile(lum, 10))


def test_the_gl_renderer_draws_each_parts_colour_and_gloss(gl, tmp_path):
    """Catches: the file's metallic and roughness replaced by the class's defaults (a glossy part
    without its highlight, a rough one with one), parts in one colour, the transform ignored."""
    asset = _asset(three_parts(tmp_path / "three.gltf"))
    surface = gl._asset(asset)
    assert surface.pbr is not None and surface.map_weight == (1.0, 1.0)  # both from the file's map
    out, cam, pose = _render(gl, asset, Lighting(uniform_environment((0.5, 0.5, 0.5)), np.eye(3),
                                                 np.array([0.0, 0.0, 1.0]), np.zeros(3), 1.0, False))
    _colours_hold(out, asset, cam, pose)
    out, cam, pose = _render(gl, asset, _sun_on(asset, 2))
    assert _highlight(out, asset, cam, pose, 2) > 1.5  # roughness 0.15: the sun's highlight
    out, cam, pose = _render(gl, asset, _sun_on(asset, 0))
    assert _highlight(out, asset, cam, pose, 0) < 1.1  # the default material, roughness 1: none


def test_the_set_files_material_values_override_the_files(gl, tmp_path):
    """Catches: a set file's roughness ignored for a glTF object, or overriding values it does not give
    (its metallic stays the file's)."""
    three_parts(tmp_path / "three.gltf")
    (tmp_path / "set.toml").write_text('[[objects]]\nname = "three"\nmesh = "three.gltf"\nroughness = 1.0\n')
    asset = _asset(tmp_path / "set.toml")
    surface = gl._asset(asset)
    assert surface.map_weight == (0.0, 1.0) and surface.material.roughness == 1.0
    out, cam, pose = _render(gl, asset, _sun_on(asset, 2))
    assert _highlight(out, asset, cam, pose, 2) < 1.1  # no highlight at roughness 1


def _masked_and_emissive(path: Path) -> Path:
    """Part 0: an orange texture with a square hole (alpha 0) in its middle, alphaMode MASK; part 1:
    black with an orange emission of strength 2 (KHR_materials_emissive_strength); part 2: black."""
    w = GltfWriter()
    img = np.full((16, 16, 4), 255, np.uint8)
    img[..., :3] = (200, 120, 40)
    img[4:12, 4:12, 3] = 0
    masked = w.material({"pbrMetallicRoughness": {"baseColorTexture": {"index": w.texture(img)}, "metallicFactor": 0.0},
                         "alphaMode": "MASK", "alphaCutoff": 0.5})
    emits = w.material({"pbrMetallicRoughness": {"baseColorFactor": [0, 0, 0, 1], "metallicFactor": 0.0},
                        "emissiveFactor": [1.0, 0.5, 0.1],
                        "extensions": {"KHR_materials_emissive_strength": {"emissiveStrength": 2.0}}})
    black = w.material({"pbrMetallicRoughness": {"baseColorFactor": [0, 0, 0, 1], "metallicFactor": 0.0}})
    (v0, f0, uv0), (v1, f1, _), (v2, f2, _) = (quad(*p) for p in PARTS)
    w.mesh([w.primitive(v0, f0, masked, {0: uv0}), w.primitive(v1, f1, emits), w.primitive(v2, f2, black)])
    w.doc["extensionsUsed"] = ["KHR_materials_emissive_strength"]
    return w.write(path)


def test_alpha_masked_texels_are_not_drawn_nor_in_the_instance_map(gl, tmp_path):
    """Catches: alphaMode MASK ignored (the hole drawn), or cut out of the colour but still counted as
    the object in the instance map and the depth."""
    asset = _asset(_masked_and_emissive(tmp_path / "masked.glb"))
    out, cam, pose = _render(gl, asset, Lighting(uniform_environment((0.5, 0.5, 0.5)), np.eye(3),
                                                 np.array([0.0, 0.0, 1.0]), np.zeros(3), 1.0, False))
    hole = _part_pixels(asset, cam, pose, 0, half=0.2)  # the middle of the hole (a quarter of the texture each way)
    ring = _part_pixels(asset, cam, pose, 0, half=0.45) & ~_part_pixels(asset, cam, pose, 0, half=0.3)
    assert hole.sum() > 50 and ring.sum() > 50
    assert (out.instance[hole] == 0).all() and (out.depth[hole] == 0).all()
    assert (out.instance[ring] == 1).all() and (out.depth[ring] > 0).all()


def test_what_the_mask_cuts_out_casts_no_shadow(gl, tmp_path):
    """Catches: the shadow map drawn from the whole mesh, so that the hole of a masked part shades the
    ground below it as if it were there."""
    asset = _asset(_masked_and_emissive(tmp_path / "masked.glb"))
    loc = replace(get_location("kitedemo_0"), props=())
    target = loc.fixation + [0.0, 0.0, loc.ground_z + 0.05 - loc.fixation[2]]
    cam = look_at(target + [0.25, 0.0, 0.25], target)
    pose = make_pose(np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), target)  # the rectangles face up
    sun = np.array([0.0, 0.2, 1.0]) / np.linalg.norm([0.0, 0.2, 1.0])
    gl._lighting[loc.name] = Lighting(uniform_environment((0.2, 0.2, 0.2)), np.eye(3), sun, np.full(3, 3.0), 1.0, True)
    out = gl.render(Frame.view(loc, [(asset, pose)], cam, K))
    T = pose @ asset.info.model_transform

    def ground_below(point) -> float:
        """Mean brightness of the ground around where the sun casts ``point``'s shadow."""
        p = T[:3, :3] @ np.asarray(point) + T[:3, 3]
        g = p - (p[2] - loc.ground_z) / sun[2] * sun
        c = (g - cam[:3, 3]) @ cam[:3, :3]
        x, y = (c[:2] / c[2] * [K.fx, K.fy] + [K.cx, K.cy]).astype(int)
        window = (slice(y - 2, y + 3), slice(x - 2, x + 3))
        assert (out.instance[window] == 0).all()  # the ground, not the object
        return float(out.rgb[window].mean())

    hole, ring = ground_below(_centre(0)), ground_below(_centre(0, dy=0.4))
    assert hole > 2 * ring, (hole, ring)


def test_emission_is_drawn_with_its_strength(gl, tmp_path):
    """Catches: emissive factor, texture or KHR_materials_emissive_strength dropped (an emissive part
    drawn as black as a plain black one)."""
    asset = _asset(_masked_and_emissive(tmp_path / "emits.glb"))
    out, cam, pose = _render(gl, asset, Lighting(uniform_environment((0.02, 0.02, 0.02)), np.eye(3),
                                                 np.array([0.0, 0.0, 1.0]), np.zeros(3), 1.0, False))

    def mean(k):
        seen = _part_pixels(asset, cam, pose, k, half=0.3) & (out.instance == 1)
        return out.rgb[seen].astype(float).mean(axis=0)

    r, g, b = mean(1)
    assert mean(2).max() < 40 and r > 200 and r > g > b, (mean(1), mean(2))


def test_a_gltf_size_warning_names_the_resolved_file_and_no_units_option(tmp_path, monkeypatch):
    """Catches: the size warning of a glTF file suggesting --units (which glTF ignores: it is in
    metres), and naming a relative path where the other mesh warnings name resolved ones."""
    w = GltfWriter()
    v, f, _ = quad(0.0, -5.0, 5.0, -5.0, 5.0)
    w.mesh([w.primitive(np.vstack([v, v + [0.5, 0, 0]]), np.vstack([f, f + 4]))])
    w.write(tmp_path / "big.glb")
    monkeypatch.chdir(tmp_path)
    with pytest.warns(MeshWarning) as caught:
        objectsets.load(Path("big.glb"), objectsets.Options(units="mm"))
    text = [str(x.message) for x in caught if "across" in str(x.message)]
    assert len(text) == 1 and text[0].startswith(f"{(tmp_path / 'big.glb').resolve()}: 10 m across"), text
    assert "--units" in text[0] and "does not apply" in text[0] and "use --units" not in text[0], text


def test_a_gltf_file_that_cannot_be_read_fails_in_one_line_naming_it(tmp_path):
    """Catches: a GLB cut short, a file that needs an extension this version does not read (Draco) or
    a texture file that is missing read as something else (a mesh with holes, a grey mesh) or failing
    with a traceback instead of one line naming the file."""
    data = three_parts(tmp_path / "three.glb").read_bytes()
    cut = tmp_path / "cut.glb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(cut.resolve()))}: .*is it cut short\?"):
        read_mesh_file(cut)
    draco = tmp_path / "draco.gltf"
    doc = json.loads(three_parts(tmp_path / "three.gltf").read_text())
    doc["extensionsRequired"] = doc["extensionsUsed"] = ["KHR_draco_mesh_compression"]
    draco.write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match="needs the glTF extension KHR_draco_mesh_compression, which this version does not read"):
        read_mesh_file(draco)
    doc = json.loads((tmp_path / "three.gltf").read_text())
    doc["images"][0] = {"uri": "missing.png"}
    (tmp_path / "missing.gltf").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str((tmp_path / 'missing.png').resolve()))}: cannot read"):
        read_mesh_file(tmp_path / "missing.gltf")
