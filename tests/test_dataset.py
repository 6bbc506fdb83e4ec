"""fat.Dataset on a generated dataset and on a real-FAT-shaped tree."""

import json
import shutil

import cv2
import numpy as np
import pytest

import fat
from fat import catalog
from fat.errors import ConfigError, FormatError
from fat.formats.fat import FatFolder


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
        assert item["depth"].dtype == np.float32 and np.allclose(item["depth"], raw / 10000.0)
        assert np.array_equal(item["seg"], cv2.imread(str(stem) + ".seg.png", cv2.IMREAD_UNCHANGED))
        assert item["instance"].dtype == np.uint16
        assert item["K"].shape == (3, 3) and item["K"][0, 2] == 160 and (item["width"], item["height"]) == (320, 180)
        assert item["split"] == ("test" if item["folder"] in split["test"] else "train")
        for o, r in zip(item["objects"], item["raw"]["objects"]):
            assert o["pose"].shape == (4, 4) and np.allclose(o["location"] * 100, r["location"])
            assert np.allclose(o["pose"][:3, 3], o["location"]) and np.allclose(o["cuboid"] * 100, r["cuboid"])
            (y0, x0), (y1, x1) = r["bounding_box"]["top_left"], r["bounding_box"]["bottom_right"]
            assert np.allclose(o["bbox"], [x0, y0, x1, y1])
            assert o["segmentation_id"] in (255, catalog.get(o["class"]).segmentation_id)
            assert np.allclose(o["dimensions"], catalog.get(o["class"]).dimensions, atol=1e-6)


def test_agrees_with_what_was_written(small_dataset):
    ds = fat.Dataset(small_dataset, kind="mixed", fields=("depth", "annotations"))
    for i in range(len(ds)):
        item = ds[i]
        v = FatFolder(small_dataset / item["folder"]).read(item["index"], "left", ("depth",))
        assert np.array_equal(item["depth"], v.depth)
        assert np.allclose(item["camera_pose"], v.annotation.camera_pose)
        assert [o["class"] for o in item["objects"]] == [o.class_name for o in v.annotation.objects]


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
        fat.Dataset(small_dataset, fields=("normals",))


def test_eyes_and_disparity(small_dataset):
    left = fat.Dataset(small_dataset, kind="mixed", fields=("depth", "annotations"))
    both = fat.Dataset(small_dataset, kind="mixed", eyes="both", fields=("depth",))
    stereo = fat.Dataset(small_dataset, kind="mixed", eyes="stereo", fields=("depth", "annotations"))
    assert len(both) == 2 * len(left) == 2 * len(stereo)
    assert [both[k]["eye"] for k in range(4)] == ["left", "right"] * 2
    item = stereo[3]
    assert item["left"]["eye"] == "left" and item["right"]["eye"] == "right"
    d, z = item["disparity"], item["left"]["depth"]
    fx = item["left"]["K"][0, 0]
    assert np.allclose(d[z > 0], fx * 0.06 / z[z > 0]) and np.all(d[z == 0] == 0)
    rel = np.linalg.inv(item["left"]["camera_pose"]) @ item["right"]["camera_pose"]
    assert np.allclose(rel[:3, 3], [0.06, 0, 0], atol=1e-5)


def test_only_asked_fields_are_decoded(small_dataset, monkeypatch):
    import fat.formats.fat as F

    monkeypatch.setattr(F, "_decode", lambda *a: (_ for _ in ()).throw(AssertionError("decoded an image")))
    item = fat.Dataset(small_dataset, fields=("annotations",))[0]
    assert "rgb" not in item and "objects" in item


def test_index_is_cached_and_follows_changes(tmp_path, small_dataset, monkeypatch):
    root = tmp_path / "copy"
    shutil.copytree(small_dataset, root)
    (root / ".fat_index.json").unlink(missing_ok=True)
    n = len(fat.Dataset(root, fields=()))
    assert (root / ".fat_index.json").is_file()
    import fat.dataset as D

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
