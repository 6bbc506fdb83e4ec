"""``fat export coco``: a COCO file that pycocotools reads and that scores AP 1.0 against itself."""

import contextlib
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools is not installed")
from pycocotools import mask as rle  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


def run(*args):
    return subprocess.run([FAT, *map(str, args)], capture_output=True, text=True, timeout=600)


def _self_ap(path: Path, kind: str) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        anns = json.loads(path.read_text())["annotations"]
        dt = gt.loadRes([{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
                          "segmentation": a["segmentation"], "score": 1.0} for a in anns])
        ev = COCOeval(gt, dt, kind)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


def test_coco_export_of_a_generated_dataset(tmp_path, small_dataset):
    out = tmp_path / "coco" / "fat.json"
    r = run("export", "coco", small_dataset, out, "--quiet")
    assert r.returncode == 0, r.stderr
    for name in ("fat.json", "fat.train.json", "fat.test.json"):
        assert (tmp_path / "coco" / name).is_file()
    doc = json.loads(out.read_text())
    assert len(doc["categories"]) == 21 and doc["categories"][9]["name"] == "011_banana_16k"
    assert len(doc["categories"][0]["keypoints"]) == 9
    assert len(doc["images"]) == 2 * 48  # both eyes
    train, test = (json.loads((tmp_path / "coco" / n).read_text()) for n in ("fat.train.json", "fat.test.json"))
    assert len(train["images"]) + len(test["images"]) == len(doc["images"])
    assert {i["split"] for i in test["images"]} == {"test"}
    assert _self_ap(out, "bbox") == pytest.approx(1.0) and _self_ap(out, "segm") == pytest.approx(1.0)
    # masks are the instance maps; boxes and areas come from them; keypoints are the projected cuboid
    by_image = {i["id"]: i for i in doc["images"]}
    checked = 0
    for a in doc["annotations"][:60]:
        img = by_image[a["image_id"]]
        stem = small_dataset / img["folder"] / f"{img['frame']:06d}.{img['eye']}"
        inst = cv2.imread(str(stem) + ".instance.png", cv2.IMREAD_UNCHANGED)
        frame = json.loads((Path(str(stem) + ".json")).read_text())
        m = rle.decode({"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}).astype(bool)
        k = next(j for j in range(1, inst.max() + 1) if np.array_equal(inst == j, m))
        o = frame["objects"][k - 1]
        ys, xs = np.nonzero(m)
        assert a["area"] == m.sum() and a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        kp = np.array(a["keypoints"]).reshape(9, 3)
        assert np.allclose(kp[:8, :2], o["projected_cuboid"], atol=0.001)
        assert np.allclose(kp[8, :2], o["projected_cuboid_centroid"], atol=0.001)
        checked += 1
    assert checked == 60


def test_coco_export_of_a_real_fat_tree(tmp_path, fat_tree):
    out = tmp_path / "fat.json"
    r = run("export", "coco", fat_tree, out, "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["images"]) == 12 and len(doc["annotations"]) == 12  # class masks: one object a view
    assert {a["category_id"] for a in doc["annotations"]} == {10, 5}
    assert _self_ap(out, "segm") == pytest.approx(1.0)


def test_corrupt_frames_fail_with_the_file_or_are_skipped(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    (root / "mixed/kitchen_0/000001.right.seg.png").unlink()
    r = run("export", "coco", root, tmp_path / "a.json", "--quiet")
    assert r.returncode == 1 and "000001.right.seg.png: file is missing" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "a.json").exists()
    r = run("export", "coco", root, tmp_path / "b.json", "--skip-bad", "--quiet")
    assert r.returncode == 0 and "skipped:" in r.stderr and "000001.right.seg.png" in r.stderr
    assert len(json.loads((tmp_path / "b.json").read_text())["images"]) == 2 * 48 - 1
