"""fat.Dataset on a generated dataset and on a real-FAT-shaped tree."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

import fat
from fat import catalog
from fat.errors import ConfigError, FormatError


def test_items_fields_and_units(small_dataset):
    ds = fat.Dataset(small_dataset, fields=("rgb", "depth", "seg", "instance", "annotations"))
    split = json.loads((small_dataset / "split.json").read_text())
    assert len(ds) == 4 * 4 + 4 * 4 * 2  # 4 mixed folders x 4 frames + 16 single folders x 2
    for i in (0, len(ds) - 1):
        item = ds[i]
        folder = small_dataset / item["folder"]
        stem = folder / f"{item['index']:06d}.left"
        bgr = cv2.imread(str(stem) + ".jpg")
        assert item["rgb"].dtype == np.uint8 and np.array_equal(item["rgb"], bgr[:, :, ::-1])
        raw = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
        no_value = (raw == 0) | (raw == 65535)
        assert item["depth"].dtype == np.float32 and np.allclose(item["depth"], np.where(no_value, 0, raw / 10000.0))
        assert np.array_equal(item["depth_valid"], ~no_value)
        assert np.array_equal(item["seg"], cv2.imread(str(stem) + ".seg.png", cv2.IMREAD_UNCHANGED))
        assert item["instance"].dtype == np.uint16
        assert item["K"].shape == (3, 3) and item["K"][0, 2] == 160 and (item["width"], item["height"]) == (320, 180)
        assert item["split"] == ("test" if item["folder"] in split["test"] else "train")
        frame = json.loads((folder / f"{item['index']:06d}.left.json").read_text())  # read apart from the loader
        assert item["raw"] == frame
        for o, r in zip(item["objects"], frame["objects"], strict=True):
            assert o["pose"].shape == (4, 4) and np.allclose(o["location"] * 100, r["location"])
            assert np.allclose(o["pose"][:3, 3], o["location"]) and np.allclose(o["cuboid"] * 100, r["cuboid"])
            (y0, x0), (y1, x1) = r["bounding_box"]["top_left"], r["bounding_box"]["bottom_right"]
            assert np.allclose(o["bbox"], [x0, y0, x1, y1])
            assert o["segmentation_id"] in (255, catalog.fat_objects().get(o["class"]).segmentation_id)
            assert np.allclose(o["dimensions"], catalog.fat_objects().get(o["class"]).dimensions, atol=1e-6)


def _quat_matrix(x, y, z, w):
    """The rotation matrix of a unit quaternion (x, y, z, w), the textbook formula."""
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def test_agrees_with_an_independent_reading_of_the_files(small_dataset):
    """Every mixed item against its files read with cv2 and json alone: depth in metres with 0 and a
    False ``depth_valid`` where the PNG says no value (0 or 65535), the camera pose from
    ``camera_data`` by FAT_FORMAT.md section 14 item 5 (``p_ue4 = 100 (x, -y, z)``,
    ``R_ue4 = D R_wc Q``), and each object's class and location. Catches a loader that misreads a
    depth count, keeps 65535 as 6.5535 m, mixes up the UE4 world frame, or drops or reorders objects."""
    D = np.diag([1.0, -1.0, 1.0])
    Q = np.array([[0, 1, 0], [0, 0, -1], [1, 0, 0]], dtype=float)
    ds = fat.Dataset(small_dataset, kind="mixed", fields=("depth", "annotations"))
    assert len(ds) == 16
    for item in ds:
        stem = small_dataset / item["folder"] / f"{item['index']:06d}.left"
        raw = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
        no_value = (raw == 0) | (raw == 65535)
        assert np.array_equal(item["depth"], np.where(no_value, 0, raw.astype(np.float32) / np.float32(10000)))
        assert np.array_equal(item["depth_valid"], ~no_value)
        frame = json.loads(Path(str(stem) + ".json").read_text())
        cam = frame["camera_data"]
        q = np.array(cam["quaternion_xyzw_worldframe"])
        R = D @ _quat_matrix(*(q / np.linalg.norm(q))) @ Q.T  # 4 decimals leave |q| a little off 1
        assert np.allclose(item["camera_pose"][:3, :3], R, atol=1e-6)
        assert np.allclose(item["camera_pose"][:3, 3], np.array(cam["location_worldframe"]) * [0.01, -0.01, 0.01], atol=1e-6)
        assert [o["class"] for o in item["objects"]] == [o["class"] for o in frame["objects"]]
        for o, r in zip(item["objects"], frame["objects"]):
            assert np.allclose(o["location"], np.array(r["location"]) / 100, atol=1e-9)


def test_torchvision_disparity_of_a_generated_dataset_is_finite(small_dataset):
    """torchvision's ``FallingThingsStereo._read_disparity``, ``(6 * fx * 100) / depth.astype(np.float32)``
    with ``fx`` from ``camera_settings[0]`` and no mask, on every depth PNG ``fat generate`` wrote
    (read raw with cv2): no inf, no NaN, no divide-by-zero. Catches a writer that leaves 0 anywhere
    (the temple's sky)."""
    pngs = sorted(small_dataset.rglob("*.depth.png"))
    assert len(pngs) == 2 * 48
    for png in pngs:
        raw = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
        settings = json.loads((png.parent / "_camera_settings.json").read_text())
        fx = settings["camera_settings"][0]["intrinsic_settings"]["fx"]
        with np.errstate(divide="raise", invalid="raise"):
            disparity = (6 * fx * 100) / raw.astype(np.float32)
        assert raw.dtype == np.uint16 and np.isfinite(disparity).all(), png


def test_depth_valid_is_false_exactly_where_there_is_no_surface(tmp_path, small_dataset):
    """A frame whose depth has no-surface pixels as the renderers mark them (0, NaN, inf) and pixels
    beyond 6.5535 m, written by the writer, and an older file that says 0: the loader's
    ``depth_valid`` is False exactly there, its depth is 0 there and the written depth elsewhere,
    pixels beyond range are saturated (65535) in the PNG, and the stereo disparity is finite with
    ``disparity_valid`` the same mask. Catches a reader that takes 65535 or 0 for a depth, a writer
    that stores a deep pixel as a depth, and a disparity that is inf where the depth is missing."""
    root = tmp_path / "ds"
    shutil.copytree(small_dataset / "mixed" / "temple_0", root / "mixed" / "temple_0")
    folder = root / "mixed" / "temple_0"
    H, W = 180, 320
    yy, xx = np.mgrid[0:H, 0:W]
    depth = 0.6 + (xx + yy) / (W + H)  # 0.6 .. 1.6 m
    depth[:, 0:10] = 0.0  # no surface: gl and tiny
    depth[:, 10:20] = np.nan
    depth[:, 20:30] = np.inf
    depth[:, 30:40] = 6.6  # beyond 6.5535 m
    depth[:, 40:50] = 1e4
    depth[:, 50:60] = 6.5533  # just within range
    missing = np.zeros((H, W), bool)
    missing[:, :50] = True
    from fat.formats import fat as F

    rgb, seg, inst = np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8), np.zeros((H, W), np.uint16)
    for eye in ("left", "right"):
        F.frame_file(folder, 0, eye, "depth").write_bytes(F.encode_images(rgb, depth, seg, inst)["depth"])
    raw = cv2.imread(str(F.frame_file(folder, 0, "left", "depth")), cv2.IMREAD_UNCHANGED)
    assert (raw[:, 30:50] == 65535).all() and (raw[:, 50:60] == 65533).all() and (raw > 0).all()
    older = raw.copy()
    older[missing] = 0  # the encoding of datasets written before 65535
    cv2.imwrite(str(F.frame_file(folder, 1, "left", "depth")), older)
    ds = fat.Dataset(root, fields=("depth",))
    for i in (0, 1):
        item = ds[i]
        assert item["index"] == i and np.array_equal(item["depth_valid"], ~missing)
        assert (item["depth"][missing] == 0).all()
        assert np.abs(item["depth"][~missing] - depth[~missing]).max() <= 0.00005 + 1e-6
    item = fat.Dataset(root, eyes="stereo", fields=("depth",))[0]
    assert np.isfinite(item["disparity"]).all() and np.array_equal(item["disparity_valid"], ~missing)
    assert (item["disparity"][missing] == 0).all() and (item["disparity"][~missing] > 0).all()


def test_splits_and_filters(small_dataset):
    assert len(fat.Dataset(small_dataset, split="test", fields=())) == len(fat.Dataset(small_dataset, split="train", fields=())) == 24
    assert {f for f, _ in fat.Dataset(small_dataset, split="test", fields=()).frames()} == set(
        json.loads((small_dataset / "split.json").read_text())["test"])
    assert len(fat.Dataset(small_dataset, kind="mixed", fields=())) == 16
    assert len(fat.Dataset(small_dataset, kind="single", scenes=["temple"], fields=())) == 16
    mugs = fat.Dataset(small_dataset, classes=["mug"], fields=("annotations",))
    for item in mugs:
        assert "025_mug_16k" in [o["class"] for o in item["objects"]] or item["folder"].startswith("single/025_mug_16k")
    expect = 8  # the single mug folders
    for path in (small_dataset / "mixed").iterdir():
        for j in path.glob("*.left.json"):
            expect += any(o["class"] == "025_mug_16k" for o in json.loads(j.read_text())["objects"])
    assert len(mugs) == expect
    with pytest.raises(ConfigError, match="split must be one of"):
        fat.Dataset(small_dataset, split="val")
    with pytest.raises(ConfigError, match="unknown fields"):
        fat.Dataset(small_dataset, fields=("normal",))


def test_eyes_and_disparity(small_dataset):
    left = fat.Dataset(small_dataset, kind="mixed", fields=("depth", "annotations"))
    both = fat.Dataset(small_dataset, kind="mixed", eyes="both", fields=("depth",))
    stereo = fat.Dataset(small_dataset, kind="mixed", eyes="stereo", fields=("depth", "annotations"))
    assert len(both) == 2 * len(left) == 2 * len(stereo)
    assert [both[k]["eye"] for k in range(4)] == ["left", "right"] * 2
    item = stereo[3]
    assert item["left"]["eye"] == "left" and item["right"]["eye"] == "right"
    d, z = item["disparity"], item["left"]["depth"]
    assert np.isfinite(d).all() and np.all(d[z == 0] == 0) and np.array_equal(item["disparity_valid"], z > 0)
    rel = np.linalg.inv(item["left"]["camera_pose"]) @ item["right"]["camera_pose"]
    assert np.allclose(rel[:3, 3], [0.06, 0, 0], atol=1e-5)


def test_disparity_matches_the_right_image(small_dataset):
    """The disparity checked against the images, not against its formula: on textured object pixels
    (strong horizontal gradient) seen by both eyes, the right image sampled at ``x - disparity``
    matches the left image better than at ``x - disparity - 1`` or ``+ 1`` px. Catches a wrong
    baseline, focal length, depth unit or sign in ``fat.dataset.disparity`` (a 5% scale error
    already fails), and a right eye rendered from the wrong place."""
    stereo = fat.Dataset(small_dataset, eyes="stereo", fields=("rgb", "depth", "instance"))
    errors = {-1: [], 0: [], 1: []}
    for item in stereo:
        left, right, d = item["left"], item["right"], item["disparity"]
        gl = cv2.cvtColor(left["rgb"], cv2.COLOR_RGB2GRAY).astype(np.float32)
        gr = cv2.cvtColor(right["rgb"], cv2.COLOR_RGB2GRAY).astype(np.float32)
        H, W = gl.shape
        ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
        xr = xs - d  # pixel centres at i + 0.5 in both eyes: left column x sees right column x - d
        same = right["instance"][ys.astype(int), np.clip(np.rint(xr).astype(int), 0, W - 1)] == left["instance"]
        textured = np.abs(cv2.Sobel(gl, cv2.CV_32F, 1, 0, ksize=3)) > 40
        use = (left["instance"] > 0) & item["disparity_valid"] & same & textured & (xr > 2) & (xr < W - 3)
        for shift in errors:
            warped = cv2.remap(gr, xr + shift, ys, cv2.INTER_LINEAR)
            errors[shift].append(np.abs(warped - gl)[use])
    mean = {k: float(np.concatenate(v).mean()) for k, v in errors.items()}
    assert sum(len(e) for e in errors[0]) > 5000  # enough textured object pixels for the test to mean something
    assert mean[0] < mean[-1] and mean[0] < mean[1], mean


def test_only_asked_fields_are_decoded(small_dataset, monkeypatch):
    import fat.formats.fat_images as F
    import fat.storage.folder as S

    refuse = lambda *a: (_ for _ in ()).throw(AssertionError("decoded an image"))  # noqa: E731
    monkeypatch.setattr(F, "decode_file", refuse)
    monkeypatch.setattr(S, "decode_file", refuse)
    item = fat.Dataset(small_dataset, fields=("annotations",))[0]
    assert "rgb" not in item and "objects" in item


def test_index_is_cached_and_follows_changes(tmp_path, small_dataset, monkeypatch):
    root = tmp_path / "copy"
    shutil.copytree(small_dataset, root)
    (root / ".fat_index.json").unlink(missing_ok=True)
    n = len(fat.Dataset(root, fields=()))
    assert (root / ".fat_index.json").is_file()
    import fat.storage.folder as D

    calls = []
    real_scan = D._scan
    monkeypatch.setattr(D, "_scan", lambda p: calls.append(p) or real_scan(p))
    assert len(fat.Dataset(root, fields=())) == n and calls == []  # nothing rescanned
    folder = root / "mixed/kitchen_0"
    for f in folder.glob("000003.*"):
        shutil.copy(f, folder / f.name.replace("000003", "000010"))
    ds = fat.Dataset(root, fields=())
    assert len(ds) == n + 1 and calls == [folder] and ("mixed/kitchen_0", 10) in ds.frames()


def test_reads_a_real_fat_tree(fat_tree):
    ds = fat.Dataset(fat_tree, fields=("rgb", "depth", "seg", "annotations"))
    assert ds.base == fat_tree / "fat"
    assert len(ds) == 6
    # no split file: the _4 locations are the test split
    assert {f for f, _ in fat.Dataset(fat_tree, split="test", fields=()).frames()} == {"single/011_banana_16k/temple_4"}
    item = fat.Dataset(fat_tree, kind="single", fields=("depth", "annotations"))[0]
    (o,) = item["objects"]
    assert o["class"] == "011_banana_16k" and o["visibility"] == 0.75 and o["segmentation_id"] == 255
    assert np.allclose(o["bbox"], [482.7919921875, 327.92730712890625, 636.2205810546875, 396.19769287109375])
    assert np.allclose(o["location"], [0.10002, 0.118639, 0.979361], atol=1e-7)
    assert item["raw"]["objects"][0]["pose_transform_permuted"][3][:3] == item["raw"]["objects"][0]["location"]
    mustard = fat.Dataset(fat_tree, classes=["mustard_bottle"], fields=("annotations",))
    assert [i["folder"] for i in mustard] == ["mixed/kitedemo_1"] * 2
    assert mustard[0]["objects"][0]["segmentation_id"] == 60


def test_corrupt_frames_raise_with_the_file_or_are_skipped(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    folder = root / "mixed/temple_0"
    p = folder / "000001.left.json"
    p.write_text(p.read_text()[:200])
    (folder / "000002.left.seg.png").unlink()
    cv2.imwrite(str(folder / "000003.left.depth.png"), np.zeros((180, 320), np.uint8))
    ds = fat.Dataset(root, kind="mixed", scenes=["temple"], split="train")
    refs = ds.frames()
    assert refs == [("mixed/temple_0", i) for i in range(4)]
    for i, msg in ((1, r"000001\.left\.json: invalid JSON"), (2, r"000002\.left\.seg\.png: file is missing"),
                   (3, r"000003\.left\.depth\.png: expected a 16-bit")):
        with pytest.raises(FormatError, match=msg):
            ds[i]
    skipping = fat.Dataset(root, kind="mixed", scenes=["temple"], split="train", on_error="skip")
    items = list(skipping)
    assert [it["index"] for it in items] == [0]
    assert [(f, i) for f, i, _ in skipping.skipped] == refs[1:]
    with pytest.raises(FormatError):
        list(ds)
