"""The FAT writer and reader: reference bytes, derivation from poses, round trips and bad input."""

import json
import shutil

import cv2
import numpy as np
import pytest

from fat import catalog
from fat.annotate.annotations import PERMUTATION, ViewAnnotation, annotate_object
from fat.errors import FormatError
from fat.formats import fat as F
from fat.geometry import (
    FAT_INTRINSICS,
    Intrinsics,
    camera_pose_to_ue4,
    invert_pose,
    look_at,
    make_pose,
    matrix_to_quat,
    right_eye_pose,
)

BANANA = "fat_banana_000000.left.json"


def test_camera_settings_byte_for_byte(reference):
    text = F.camera_settings_json(Intrinsics.from_fov(960, 540, 64))
    assert text.encode() == reference("fat_camera_settings.json").read_bytes()
    assert "resX" not in text
    cams = F.parse_camera_settings(json.loads(text))
    assert list(cams) == ["left", "right"] and cams["left"] == cams["right"]


def test_banana_frame_reads_and_writes_back_byte_for_byte(reference):
    path = reference(BANANA)
    view = F.read_view_annotation(path)
    assert F.view_json(view).encode() == path.read_bytes()
    (o,) = view.objects
    assert o.class_name == "011_banana_16k" and o.visibility == 0.75
    # bounding_box is (y, x) in the file: columns 482.79..636.22, rows 327.93..396.20
    assert np.allclose(o.bbox, [482.7919921875, 327.92730712890625, 636.2205810546875, 396.19769287109375])
    assert np.allclose(o.location, [0.10002, 0.118639, 0.979361], atol=1e-7)  # metres


def test_banana_frame_derivation_from_pose_alone(reference):
    """From the object pose, K and the banana's cuboid, recompute every pose-derived field."""
    view = F.read_view_annotation(reference(BANANA))
    (rec,) = view.objects
    banana = catalog.fat_objects().get("banana")
    T = make_pose(rec.rotation, rec.location)
    ann = annotate_object(rec.class_name, T, banana.dimensions, FAT_INTRINSICS, rec.bbox, rec.visibility)
    cm = 100
    assert np.abs(ann.cuboid - rec.cuboid).max() * cm < 0.002
    assert np.abs(ann.projected_cuboid - rec.projected_cuboid).max() < 0.02
    assert np.array_equal(ann.cuboid_centroid, rec.location) and np.array_equal(rec.cuboid_centroid, rec.location)
    assert np.abs(ann.projected_cuboid_centroid - rec.projected_cuboid_centroid).max() < 0.002
    assert np.abs(ann.permuted_rotation - rec.permuted_rotation).max() < 0.0002
    assert np.allclose(ann.quaternion_xyzw, rec.quaternion_xyzw, atol=1e-4)  # same sign as FAT's (w < 0)
    # the file's projections are K times the file's cuboid
    assert np.abs(FAT_INTRINSICS.project(rec.cuboid) - rec.projected_cuboid).max() < 0.002
    # README: the rotation is A^T P
    assert np.abs(rec.permuted_rotation.T @ PERMUTATION - rec.rotation).max() < 0.0002


def test_banana_right_view_through_the_baseline(reference):
    """The left camera pose moved 6 cm along its x gives the published right view (FAT_FORMAT.md 5.3, 7.8)."""
    left = F.read_view_annotation(reference(BANANA))
    (rec,) = left.objects
    T_world_obj = left.camera_pose @ rec.pose
    T_right = right_eye_pose(left.camera_pose)
    ann = annotate_object(rec.class_name, invert_pose(T_right) @ T_world_obj, catalog.fat_objects().get("banana").dimensions,
                          FAT_INTRINSICS, rec.bbox, rec.visibility)
    assert np.allclose(ann.location * 100, [4.002, 11.864, 97.936], atol=0.002)
    assert np.allclose(ann.projected_cuboid_centroid, [511.389404296875, 363.05450439453125], atol=0.02)
    assert np.allclose(ann.cuboid[1] * 100, [-4.7501001358032227, 15.023900032043457, 92.638999938964844], atol=0.002)
    loc_ue4, q_ue4 = camera_pose_to_ue4(T_right)
    assert np.allclose(loc_ue4, [-481.39999389648438, -428.82489013671875, 208.91009521484375], atol=0.002)
    assert np.allclose(q_ue4, [0.3338, 0.3984, -0.5487, 0.6548], atol=1e-4)


def _synthetic_view(rng, n_objects=3):
    K = FAT_INTRINSICS
    cam = look_at([0.8, -0.5, 0.6], [0, 0, 0.05])
    objs = []
    for i in range(n_objects):
        o = catalog.fat_objects().objects[int(rng.integers(21))]
        R = np.linalg.qr(rng.normal(size=(3, 3)))[0]
        R *= np.linalg.det(R)
        T_world = make_pose(R, rng.uniform(-0.1, 0.1, 3))
        T_cam = invert_pose(cam) @ T_world
        pc = K.project((T_cam[:3, :3] @ (o.dimensions / 2 * np.array([[1, 1, 1], [-1, -1, -1]])).T).T + T_cam[:3, 3])
        box = np.r_[pc.min(0), pc.max(0)]
        objs.append(annotate_object(o.mixed_class_name(), T_cam, o.dimensions, K, box, rng.uniform()))
    q = matrix_to_quat(cam[:3, :3])
    return ViewAnnotation(cam[:3, 3], q, objs)


def _images(rng, h=540, w=960):
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 256)], -1).astype(np.uint8)
    depth = 0.5 + (xx + yy) / (w + h) * 2.0
    depth[:10] = 0.0  # no surface
    depth[10:20] = np.nan
    depth[20:30] = 7.0  # beyond 6.5535 m
    seg = np.where(xx < w // 2, 120, 0).astype(np.uint8)
    inst = np.where(xx < w // 2, 1, 0).astype(np.uint16)
    return rgb, depth, seg, inst


def test_write_then_read_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    F.write_camera_settings(tmp_path, FAT_INTRINSICS)
    F.write_object_settings(tmp_path, catalog.fat_objects().objects, single=False)
    view = _synthetic_view(rng)
    rgb, depth, seg, inst = _images(rng)
    F.write_view(tmp_path, 7, "left", view, rgb, depth, seg, inst, jpeg_quality=95)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "000007.left.depth.png", "000007.left.instance.png", "000007.left.jpg", "000007.left.json",
        "000007.left.seg.png", "_camera_settings.json", "_object_settings.json"]
    folder = F.FatFolder(tmp_path)
    assert folder.frame_indices() == [7]
    got = folder.read(7, "left", fields=("rgb", "depth", "seg", "instance"))
    assert got.intrinsics == FAT_INTRINSICS
    assert np.abs(got.rgb.astype(int) - rgb).mean() < 2.0  # JPEG loss only
    valid = np.isfinite(depth) & (depth > 0) & (depth <= 6.5535)
    assert np.all(got.depth[~valid] == 0)
    assert np.abs(got.depth[valid] - depth[valid]).max() <= 0.00005 + 1e-7  # 0.1 mm counts, nearest
    assert np.array_equal(got.seg, seg) and np.array_equal(got.instance, inst)
    a = got.annotation
    assert np.allclose(a.camera_pose, view.camera_pose, atol=1e-4)
    for o, r in zip(view.objects, a.objects):
        assert o.class_name == r.class_name
        assert np.allclose(o.pose, r.pose, atol=2e-4)
        assert np.allclose(o.bbox, r.bbox, atol=1e-4) and np.allclose(o.cuboid, r.cuboid, atol=1e-6)
        assert np.allclose(o.projected_cuboid, r.projected_cuboid, atol=1e-4)
    # a second write of what was read gives the same text (the quantisation is idempotent)
    text = F.frame_file(tmp_path, 7, "left", "annotation").read_text()
    assert F.view_json(a) == text


def test_depth_encoding():
    """Counts of 0.1 mm rounded to nearest; 65535 (saturated) for no surface (0, NaN, inf, negative:
    the renderers' marks) and for 6.5535 m and beyond; never 0. Catches a writer that puts 0 (an
    infinite disparity for torchvision and RAFT-Stereo), wraps or clips deep pixels to a depth, or
    a reader that turns 65535 into 6.5535 m instead of "no value"."""
    d = np.array([[0.0, np.nan, np.inf, -np.inf, -1.0, 0.00004, 0.00005, 1.23456, 6.55344, 6.5535, 6.55356, 10.0, 1e300]])
    assert F.encode_depth(d).tolist() == [[65535, 65535, 65535, 65535, 65535, 1, 1, 12346, 65534, 65535, 65535, 65535, 65535]]
    assert F.encode_depth(d).dtype == np.uint16
    raw = np.array([[0, 1, 65534, 65535]], dtype=np.uint16)
    assert np.allclose(F.decode_depth(raw), [[0, 0.0001, 6.5534, 0]])
    assert F.decode_depth(raw).dtype == np.float32
    assert F.depth_valid(raw).tolist() == [[False, True, True, False]]


def test_torchvision_disparity_of_a_written_depth_png_is_finite(tmp_path):
    """torchvision's ``FallingThingsStereo._read_disparity`` (and RAFT-Stereo's ``readDispFallingThings``)
    compute ``(6 * fx * 100) / depth.astype(np.float32)`` with ``fx`` from ``camera_settings[0]``,
    without a mask. Applied to a depth PNG written with no-surface and too-deep pixels (read raw with
    cv2), it gives no inf and no NaN and raises no divide-by-zero. Catches a writer that encodes
    "no surface" as 0."""
    rgb, depth, seg, inst = _images(np.random.default_rng(2))
    depth[30:40] = np.inf
    F.write_camera_settings(tmp_path, FAT_INTRINSICS)
    (tmp_path / "000000.left.depth.png").write_bytes(F.encode_images(rgb, depth, seg, inst)["depth"])
    raw = cv2.imread(str(tmp_path / "000000.left.depth.png"), cv2.IMREAD_UNCHANGED)
    assert raw.dtype == np.uint16 and raw.shape == depth.shape
    fx = json.loads((tmp_path / "_camera_settings.json").read_text())["camera_settings"][0]["intrinsic_settings"]["fx"]
    with np.errstate(divide="raise", invalid="raise"):
        disparity = (6 * fx * 100) / raw.astype(np.float32)
    assert np.isfinite(disparity).all()
    no_surface = ~np.isfinite(depth) | (depth <= 0) | (depth >= 6.5535)
    assert no_surface[:40].all() and not no_surface[40:].any()
    assert (raw[no_surface] == 65535).all() and (raw[~no_surface] < 65535).all()
    assert disparity[no_surface].max() < 7.1  # the sky reads as far away: 6 * 768.16 * 100 / 65535 = 7.03 px


def test_written_images_have_fats_encodings(tmp_path):
    rgb, depth, seg, inst = _images(np.random.default_rng(1))
    files = F.encode_images(rgb, depth, seg, inst, 95)
    d = cv2.imdecode(np.frombuffer(files["depth"], np.uint8), cv2.IMREAD_UNCHANGED)
    s = cv2.imdecode(np.frombuffer(files["seg"], np.uint8), cv2.IMREAD_UNCHANGED)
    c = cv2.imdecode(np.frombuffer(files["rgb"], np.uint8), cv2.IMREAD_UNCHANGED)
    assert d.dtype == np.uint16 and d.ndim == 2
    assert s.dtype == np.uint8 and s.ndim == 2
    assert c.dtype == np.uint8 and c.shape == (540, 960, 3)
    assert files["rgb"][:2] == b"\xff\xd8"
    assert len(F.encode_images(rgb, depth, seg, inst, 50)["rgb"]) < len(files["rgb"])


# ---------------------------------------------------------------------------- real-FAT-shaped folders
@pytest.fixture
def banana_folder(tmp_path, reference):
    folder = tmp_path / "fat" / "single" / "011_banana_16k" / "kitchen_0"
    folder.mkdir(parents=True)
    shutil.copy(reference("fat_camera_settings.json"), folder / "_camera_settings.json")
    (folder / "_object_settings.json").write_text(F.object_settings_json([catalog.fat_objects().get("banana")], single=True))
    shutil.copy(reference(BANANA), folder / "000000.left.json")
    rgb, depth, seg, inst = _images(np.random.default_rng(2))
    files = F.encode_images(rgb, depth, seg, inst)
    for kind in ("rgb", "depth", "seg"):
        F.frame_file(folder, 0, "left", kind).write_bytes(files[kind])
    return folder


def test_reads_a_fat_folder(banana_folder):
    folder = F.FatFolder(banana_folder)
    assert folder.frame_indices() == [0]
    v = folder.read(0, "left")
    assert v.rgb.shape == (540, 960, 3) and v.depth.dtype == np.float32 and v.seg.dtype == np.uint8
    assert v.instance is None
    assert folder.object_setting("011_BANANA_16K").segmentation_id == 255


def test_reads_ndds_v1_variants_and_crlf(banana_folder):
    doc = json.loads((banana_folder / "000000.left.json").read_text())
    obj = doc["objects"][0]
    obj["pose_transform"] = obj.pop("pose_transform_permuted")
    obj = {"class": "011_banana_16K", "instance_id": 7, **{k: v for k, v in obj.items() if k != "class"}}
    doc["objects"][0] = obj
    (banana_folder / "000000.left.json").write_bytes(json.dumps(doc, indent=2).replace("\n", "\r\n").encode())
    cams = json.loads((banana_folder / "_camera_settings.json").read_text())
    for c in cams["camera_settings"]:
        c["intrinsic_settings"] = {"resX": 960, "resY": 540, **c["intrinsic_settings"]}
    (banana_folder / "_camera_settings.json").write_text(json.dumps(cams))
    v = F.FatFolder(banana_folder).read(0, "left", fields=())
    (o,) = v.annotation.objects
    assert o.instance_id == 7 and o.class_name == "011_banana_16K"
    assert np.allclose(o.permuted_rotation[0], [0.0629, -0.2661, -0.9619])


# ---------------------------------------------------------------------------- bad input
def test_malformed_json_names_file_and_position(banana_folder):
    p = banana_folder / "000000.left.json"
    p.write_text(p.read_text()[:500])
    with pytest.raises(FormatError, match=r"000000\.left\.json: invalid JSON at line \d+ column \d+"):
        F.FatFolder(banana_folder).read(0, "left", fields=())


@pytest.mark.parametrize("field, mutate, message", [
    ("objects[0].location", lambda d: d["objects"][0].pop("location"), "missing field"),
    ("objects[0].cuboid", lambda d: d["objects"][0]["cuboid"].pop(), "expected 8x3 numbers"),
    ("objects[0].visibility", lambda d: d["objects"][0].__setitem__("visibility", "high"), "expected a number"),
    ("camera_data", lambda d: d.pop("camera_data"), "missing field"),
    ("objects[0].class", lambda d: d["objects"][0].__setitem__("class", "999_teapot_16k"), "unknown class '999_teapot_16k'"),
])
def test_bad_frame_fields_are_named(banana_folder, field, mutate, message):
    p = banana_folder / "000000.left.json"
    doc = json.loads(p.read_text())
    mutate(doc)
    p.write_text(json.dumps(doc))
    with pytest.raises(FormatError) as err:
        F.FatFolder(banana_folder).read(0, "left", fields=())
    text = str(err.value)
    assert str(p) in text and field in text and message in text and "\n" not in text


def test_wrong_image_size_and_bit_depth(banana_folder):
    cv2.imwrite(str(banana_folder / "000000.left.jpg"), np.zeros((480, 640, 3), np.uint8))
    with pytest.raises(FormatError, match=r"000000\.left\.jpg: image is 640x480, expected 960x540"):
        F.FatFolder(banana_folder).read(0, "left", fields=("rgb",))
    cv2.imwrite(str(banana_folder / "000000.left.depth.png"), np.zeros((540, 960), np.uint8))
    with pytest.raises(FormatError, match=r"depth\.png: expected a 16-bit single-channel PNG, found 8-bit"):
        F.FatFolder(banana_folder).read(0, "left", fields=("depth",))


def test_missing_and_truncated_images(banana_folder):
    (banana_folder / "000000.left.seg.png").unlink()
    with pytest.raises(FormatError, match=r"000000\.left\.seg\.png: file is missing"):
        F.FatFolder(banana_folder).read(0, "left", fields=("seg",))
    p = banana_folder / "000000.left.depth.png"
    p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(FormatError, match="truncated or corrupt"):
        F.FatFolder(banana_folder).read(0, "left", fields=("depth",))


def test_missing_settings(tmp_path):
    with pytest.raises(FormatError, match="_camera_settings.json: file is missing"):
        F.FatFolder(tmp_path)


def test_writer_refuses_values_fat_cannot_hold(tmp_path):
    view = _synthetic_view(np.random.default_rng(3), 1)
    view.objects[0].bbox[0] = np.nan
    with pytest.raises(ValueError, match="bbox is not finite"):
        F.view_json(view)
    with pytest.raises(ValueError, match="behind the camera"):
        annotate_object("x", make_pose(np.eye(3), [0, 0, -1]), np.ones(3) * 0.1, FAT_INTRINSICS, np.zeros(4), 1)
