"""The glTF writer (fat.scene.gltf_write) read back by the project's own reader (fat.scene.gltf, fat.scene.gltf_materials).

The file written: a root node (translated, turned 90 degrees about y, scaled 2) whose child holds a
mesh of two primitives: a textured square with normals and texture coordinates (uint16 indices,
the material with every texture and factor) and a triangle with neither (uint32 indices, forced,
no material); a second root node holds the same mesh again, untransformed, and a third a point
light (KHR_lights_punctual).
"""

from __future__ import annotations

import json
import math
import struct

import numpy as np
import pytest

from fat.scene.gltf import read_gltf
from fat.scene.gltf_materials import CLAMP_TO_EDGE, REPEAT, Images, materials
from fat.scene.gltf_write import UINT16, UINT32, GltfWriter

SQUARE = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
SQUARE_FACES = np.array([[0, 1, 2], [0, 2, 3]])
SQUARE_UV = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], float)
TRIANGLE = np.array([[0, 0, 1], [0.5, 0, 1], [0, 0.5, 1]], float)
#: The child's world transform: translate (1, 2, 3) x rotate 90 degrees about y x scale 2.
TURN = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], float)


def _placed(v: np.ndarray) -> np.ndarray:
    return (2 * v) @ TURN.T + [1, 2, 3]


def _write(path):
    w = GltfWriter()
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 255
    rgba[:2, :2, 3] = 0
    png = w.texture(w.image_array(rgba), wrap=(CLAMP_TO_EDGE, REPEAT))
    jpeg = w.texture(w.image_array(np.full((8, 8, 3), 128, np.uint8), "jpeg"))
    full = w.material("full", base_color=(0.5, 0.6, 0.7, 0.8), base_color_texture=png, metallic=0.25,
                      roughness=0.75, metallic_roughness_texture=jpeg, normal_texture=jpeg, normal_scale=0.5,
                      occlusion_texture={"index": jpeg, "texCoord": 0}, occlusion_strength=0.4,
                      emissive_texture=png, emissive=(1.0, 0.5, 0.0), alpha_mode="MASK", alpha_cutoff=0.3,
                      double_sided=True)
    mesh = w.mesh([w.primitive(SQUARE, SQUARE_FACES, full, normals=np.tile([0, 0, 1.0], (4, 1)), texcoords=SQUARE_UV),
                   w.primitive(TRIANGLE, [[0, 1, 2]], index_type=UINT32)], name="parts")
    s = math.sqrt(0.5)
    child = w.node("child", mesh=mesh)
    w.root(w.node("parent", translation=(1, 2, 3), rotation=(0, s, 0, s), scale=(2, 2, 2), children=[child]))
    w.root(w.node("plain", mesh=mesh))
    lamp = w.light("point", color=(1.0, 0.8, 0.6), intensity=20.0, range=10.0, name="lamp")
    w.root(w.node("lamp", translation=(0, 3, 0), light=lamp))
    return w.write(path)


@pytest.fixture(params=[".glb", ".gltf"])
def written(request, tmp_path):
    return _write(tmp_path / f"two{request.param}")


def test_parts_read_back_with_their_node_transforms_indices_and_attributes(written):
    """Catches: a node's transform (or its parent's) lost or applied in the wrong order; uint16 or
    uint32 indices written so that the reader gets other triangles; normals or texture coordinates
    invented for a primitive that has none, or lost where it has them; .gltf's external buffer not
    found."""
    f = read_gltf(written)
    assert len(f.parts) == 4 and f.skipped == 0
    square, tri, square0, tri0 = f.parts
    np.testing.assert_allclose(square.positions, _placed(SQUARE), atol=1e-6)
    np.testing.assert_allclose(tri.positions, _placed(TRIANGLE), atol=1e-6)
    np.testing.assert_allclose(square0.positions, SQUARE, atol=1e-7)
    np.testing.assert_allclose(tri0.positions, TRIANGLE, atol=1e-7)
    np.testing.assert_array_equal(square.faces, SQUARE_FACES)
    np.testing.assert_array_equal(tri.faces, [[0, 1, 2]])
    np.testing.assert_allclose(square.normals, np.tile([1.0, 0, 0], (4, 1)), atol=1e-6)  # +z turned to +x
    np.testing.assert_allclose(square.texcoords[0], SQUARE_UV)
    assert tri.normals is None and tri.texcoords == {} and tri.material is None and square.material == 0
    doc = f.doc
    kinds = [doc["accessors"][p["indices"]]["componentType"] for p in doc["meshes"][0]["primitives"]]
    assert kinds == [UINT16, UINT32]
    position = doc["accessors"][doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"]]
    assert position["min"] == [0, 0, 0] and position["max"] == [1, 1, 0]


def test_a_material_with_every_field_reads_back_and_defaults_are_left_out(written):
    """Catches: a PBR field written under the wrong name or place (read as glTF's default), a
    texture naming the wrong image or sampler, images that do not decode, default values written
    out."""
    f = read_gltf(written)
    (m,) = materials(f.doc, str(written))
    assert m.name == "full"
    np.testing.assert_allclose(m.base, (0.5, 0.6, 0.7, 0.8))
    assert (m.metallic, m.roughness, m.normal_scale, m.occlusion_strength) == pytest.approx((0.25, 0.75, 0.5, 0.4))
    np.testing.assert_allclose(m.emissive, (1.0, 0.5, 0.0))
    assert (m.alpha_mode, m.alpha_cutoff, m.double_sided) == ("MASK", pytest.approx(0.3), True)
    assert m.base_texture.image == m.emissive_texture.image == 0 and m.base_texture.wrap == (CLAMP_TO_EDGE, REPEAT)
    for ref in (m.metallic_roughness_texture, m.normal_texture, m.occlusion_texture):
        assert ref.image == 1 and ref.wrap == (REPEAT, REPEAT)
    images = Images(f)
    assert images[0].shape == (4, 4, 4) and images[0][0, 0, 3] == 0 and tuple(images[0][3, 3]) == (200, 0, 0, 255)
    assert images[1].shape == (8, 8, 4) and abs(int(images[1][4, 4, 0]) - 128) <= 2
    assert len(f.doc["samplers"]) == 2
    plain = GltfWriter()
    plain.material("plain")
    assert plain.doc["materials"] == [{"name": "plain"}]


def test_lights_and_the_file_layout(written):
    """Catches: KHR_lights_punctual written where readers do not look (or not declared in
    extensionsUsed); GLB chunks not 4-byte aligned or padded with the wrong bytes; the same calls
    giving other bytes."""
    data = written.read_bytes()
    if written.suffix == ".glb":
        magic, version, length = struct.unpack_from("<4sII", data, 0)
        assert (magic, version, length) == (b"glTF", 2, len(data))
        js_len, js_kind = struct.unpack_from("<II", data, 12)
        bin_len, bin_kind = struct.unpack_from("<II", data, 20 + js_len)
        assert js_kind == 0x4E4F534A and bin_kind == 0x004E4942 and js_len % 4 == 0 and bin_len % 4 == 0
        assert 28 + js_len + bin_len == len(data)
        doc = json.loads(data[20:20 + js_len])
    else:
        doc = json.loads(data)
        assert doc["buffers"] == [{"byteLength": written.with_suffix(".bin").stat().st_size, "uri": "two.bin"}]
    assert doc["extensionsUsed"] == ["KHR_lights_punctual"]
    assert doc["extensions"]["KHR_lights_punctual"]["lights"] == [
        {"name": "lamp", "type": "point", "color": [1.0, 0.8, 0.6], "intensity": 20.0, "range": 10.0}]
    assert doc["nodes"][3]["extensions"] == {"KHR_lights_punctual": {"light": 0}}
    assert doc["scenes"] == [{"nodes": [1, 2, 3]}]
    again = _write(written.with_name("again" + written.suffix))
    if written.suffix == ".glb":
        assert again.read_bytes() == data
    else:  # the JSON names its own .bin file
        assert again.with_suffix(".bin").read_bytes() == written.with_suffix(".bin").read_bytes()
        assert again.read_text().replace("again.bin", "two.bin") == data.decode()
