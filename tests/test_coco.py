"""``fat export coco``: a COCO file that pycocotools reads, checked against the dataset's files read
independently (cv2 and json): COCOeval of detections made from those files scores AP 1.0."""

import ast
import contextlib
import io
import json
import re
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
REPO = Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([FAT, *map(str, args)], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def coco_export(small_dataset, tmp_path_factory) -> Path:
    """``fat export coco`` of the small generated dataset (with its .train and .test files)."""
    out = tmp_path_factory.mktemp("coco") / "coco" / "fat.json"
    r = run("export", "coco", small_dataset, out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def documented_oks_sigmas() -> np.ndarray:
    """The OKS sigmas as docs/export.md gives them to paste (``E.params.kpt_oks_sigmas = ...``)."""
    text = (REPO / "docs" / "export.md").read_text()
    m = re.search(r"E\.params\.kpt_oks_sigmas = np\.array\((\[[^\]]*\])\)", text)
    assert m, "docs/export.md gives no line E.params.kpt_oks_sigmas = np.array([...])"
    return np.array(ast.literal_eval(m.group(1)), dtype=float)


def _ap(gt_path: Path, detections: list[dict], kind: str, sigmas=None) -> float:
    """COCOeval's AP (IoU or OKS 0.50:0.95) of ``detections`` against the export at ``gt_path``."""
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(gt_path))
        ev = COCOeval(gt, gt.loadRes(detections), kind)
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.stats[0]


def _read_settings_spellings(root: Path) -> dict[str, list[str]]:
    """Class strings of every ``_object_settings.json`` under ``root`` (raw json), per lower-case class."""
    out: dict[str, list[str]] = {}
    for p in sorted(root.rglob("_object_settings.json")):
        for o in json.loads(p.read_text())["exported_objects"]:
            out.setdefault(o["class"].lower(), [])
            if o["class"] not in out[o["class"].lower()]:
                out[o["class"].lower()].append(o["class"])
    return out


def _detections_from_the_files(root: Path, doc: dict) -> tuple[list[dict], int]:
    """Detections made from the dataset's files alone (cv2 instance or class maps, raw frame json):
    one per object with a visible pixel, its category found by its class string in the categories'
    ``class_names``. Returns them and how many came from instance maps."""
    by_name = {n: c["id"] for c in doc["categories"] for n in c["class_names"]}
    dets, from_instances = [], 0
    for img in doc["images"]:
        stem = root / img["folder"] / f"{img['frame']:06d}.{img['eye']}"
        assert img["file_name"] == f"{img['folder']}/{img['frame']:06d}.{img['eye']}.jpg"
        frame = json.loads(Path(str(stem) + ".json").read_text())
        inst = cv2.imread(str(stem) + ".instance.png", cv2.IMREAD_UNCHANGED)
        seg = cv2.imread(str(stem) + ".seg.png", cv2.IMREAD_UNCHANGED)
        settings = json.loads((stem.parent / "_object_settings.json").read_text())["exported_objects"]
        sid = {o["class"].lower(): o["segmentation_class_id"] for o in settings}
        for k, o in enumerate(frame["objects"]):
            if inst is not None:
                m = inst == k + 1
                from_instances += 1
            else:  # real FAT: the class mask (these test frames hold one object per class)
                m = seg == sid[o["class"].lower()]
            if not m.any():
                continue
            enc = rle.encode(np.asfortranarray(m.astype(np.uint8)))
            ys, xs = np.nonzero(m)
            pts = np.vstack([o["projected_cuboid"], o["projected_cuboid_centroid"]])
            dets.append({"image_id": img["id"], "category_id": by_name[o["class"]], "segmentation": enc,
                         "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                         "keypoints": [float(x) for p in pts for x in (p[0], p[1], 2)], "score": 1.0})
    return dets, from_instances


@pytest.mark.slow
def test_coco_export_of_a_generated_dataset(coco_export, small_dataset):
    """Files, splits, and every annotation against the dataset's own files read with cv2 and json:
    COCOeval of detections made from the instance maps and frame JSON scores AP 1.0 for boxes and
    masks, so a wrong mask, box, category, image entry, or a missing or extra annotation fails."""
    out = coco_export
    for name in ("fat.json", "fat.train.json", "fat.test.json"):
        assert (out.parent / name).is_file()
    doc = json.loads(out.read_text())
    assert len(doc["categories"]) == 21 and doc["categories"][9]["name"] == "011_banana_16k"
    assert len(doc["categories"][0]["keypoints"]) == 9
    assert len(doc["images"]) == 2 * 48  # both eyes
    assert sorted(i["file_name"] for i in doc["images"]) == sorted(
        p.relative_to(small_dataset).as_posix() for p in small_dataset.rglob("*.jpg"))
    train, test = (json.loads((out.parent / n).read_text()) for n in ("fat.train.json", "fat.test.json"))
    assert len(train["images"]) + len(test["images"]) == len(doc["images"])
    assert {i["split"] for i in test["images"]} == {"test"}
    dets, n_objects = _detections_from_the_files(small_dataset, doc)
    assert n_objects > len(doc["images"]) and len(dets) == len(doc["annotations"])
    assert _ap(out, dets, "bbox") == pytest.approx(1.0) and _ap(out, dets, "segm") == pytest.approx(1.0)
    # boxes and areas come from the masks, exactly; keypoints are the projected cuboid and centroid
    by_image = {i["id"]: i for i in doc["images"]}
    for a in doc["annotations"]:
        img = by_image[a["image_id"]]
        stem = small_dataset / img["folder"] / f"{img['frame']:06d}.{img['eye']}"
        inst = cv2.imread(str(stem) + ".instance.png", cv2.IMREAD_UNCHANGED)
        frame = json.loads((Path(str(stem) + ".json")).read_text())
        m = rle.decode({"size": a["segmentation"]["size"], "counts": a["segmentation"]["counts"].encode()}).astype(bool)
        k = next(j for j in range(1, inst.max() + 1) if np.array_equal(inst == j, m))
        o = frame["objects"][k - 1]
        assert a["class"] == o["class"]
        ys, xs = np.nonzero(m)
        assert a["area"] == m.sum() and a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        kp = np.array(a["keypoints"]).reshape(9, 3)
        assert np.allclose(kp[:8, :2], o["projected_cuboid"], atol=0.001)
        assert np.allclose(kp[8, :2], o["projected_cuboid_centroid"], atol=0.001)


def test_category_names_are_the_datasets_class_spellings(coco_export, small_dataset):
    """Catches category names that differ from the dataset's own class strings (the export once wrote
    ``006_mustard_bottle_16k`` while the mixed folders say ``006_mustard_bottle_16K``, so matching
    annotations by name missed them), and split files that name categories differently."""
    out = coco_export
    spellings = _read_settings_spellings(small_dataset)
    assert spellings["006_mustard_bottle_16k"] == ["006_mustard_bottle_16K", "006_mustard_bottle_16k"]  # mixed, single
    docs = [json.loads(p.read_text()) for p in (out, out.with_suffix(".train.json"), out.with_suffix(".test.json"))]
    for doc in docs:
        assert doc["categories"] == docs[0]["categories"]
        cats = {c["id"]: c for c in doc["categories"]}
        assert cats[5]["name"] == "006_mustard_bottle_16K" and cats[5]["class_names"] == spellings["006_mustard_bottle_16k"]
        for c in doc["categories"]:  # the mixed folders' spelling first, then the single folders'
            assert c["class_names"] == spellings.get(c["name"].lower(), [c["name"]]) and c["name"] == c["class_names"][0]
        by_name = {c["name"]: c["id"] for c in doc["categories"]}
        images = {i["id"]: i for i in doc["images"]}
        for a in doc["annotations"]:
            img = images[a["image_id"]]
            frame = json.loads((small_dataset / img["folder"] / f"{img['frame']:06d}.{img['eye']}.json").read_text())
            classes = [o["class"] for o in frame["objects"]]
            assert a["class"] in classes and a["class"] in cats[a["category_id"]]["class_names"]
            if img["folder"].startswith("mixed/"):
                assert by_name[a["class"]] == a["category_id"]  # matching by name finds it
    assert any(a["class"] == "006_mustard_bottle_16K" for a in docs[0]["annotations"])


def test_cuboid_keypoints_score_ap_1_with_the_documented_oks_sigmas(coco_export, small_dataset):
    """COCOeval's keypoint evaluation with the sigmas docs/export.md gives (9 values, one per cuboid
    corner and the centroid) runs on the export and scores OKS-based AP 1.0 for keypoints read from
    the frame JSON; catches documented sigmas of the wrong length, sigmas that drift from
    ``fat.exports.coco.KEYPOINT_OKS_SIGMAS``, and keypoints, visibility flags or keypoint counts that
    COCOeval cannot match (a wrong order, an unset flag, ``num_keypoints`` 0)."""
    from fat.exports.coco import KEYPOINT_OKS_SIGMAS, KEYPOINTS

    sigmas = documented_oks_sigmas()
    assert sigmas.shape == (len(KEYPOINTS),) == (9,) and np.array_equal(sigmas, KEYPOINT_OKS_SIGMAS)
    out = coco_export
    doc = json.loads(out.read_text())
    for a in doc["annotations"]:  # v = 2 inside the image, 1 outside; all 9 labelled
        img = next(i for i in doc["images"] if i["id"] == a["image_id"])
        kp = np.array(a["keypoints"]).reshape(9, 3)
        inside = (kp[:, 0] >= 0) & (kp[:, 0] < img["width"]) & (kp[:, 1] >= 0) & (kp[:, 1] < img["height"])
        assert np.array_equal(kp[:, 2], np.where(inside, 2, 1)) and a["num_keypoints"] == 9
    dets, _ = _detections_from_the_files(small_dataset, doc)
    assert _ap(out, dets, "keypoints", sigmas) == pytest.approx(1.0)
    worse = [dict(d, keypoints=[x + 3.0 if i % 3 == 0 else x for i, x in enumerate(d["keypoints"])]) for d in dets]
    assert _ap(out, worse, "keypoints", sigmas) < 0.9  # the evaluation measures something: 3 px off scores lower


def test_pycocotools_default_oks_sigmas_do_not_fit_nine_keypoints(coco_export, small_dataset):
    """Documents why docs/export.md gives sigmas: COCOeval's default ``kpt_oks_sigmas`` has 17 values
    (COCO's person keypoints) and fails on our 9; if pycocotools ever adapts, the docs can say so."""
    dets, _ = _detections_from_the_files(small_dataset, json.loads(coco_export.read_text()))
    with pytest.raises(ValueError):
        _ap(coco_export, dets, "keypoints")


def test_coco_export_of_a_real_fat_tree(tmp_path, fat_tree):
    """A real-FAT-shaped tree (class masks only, mustard spelled ``_16K`` in the mixed folder): the
    categories carry FAT's spelling and the annotations match masks read from the seg PNGs."""
    out = tmp_path / "fat.json"
    r = run("export", "coco", fat_tree, out, "--quiet")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["images"]) == 12 and len(doc["annotations"]) == 12  # class masks: one object a view
    assert {a["category_id"] for a in doc["annotations"]} == {10, 5}
    cats = {c["id"]: c for c in doc["categories"]}
    assert cats[5]["name"] == "006_mustard_bottle_16K" and cats[10]["name"] == "011_banana_16k"
    assert {a["class"] for a in doc["annotations"] if a["category_id"] == 5} == {"006_mustard_bottle_16K"}
    dets, _ = _detections_from_the_files(fat_tree / "fat", doc)
    assert len(dets) == 12 and _ap(out, dets, "segm") == pytest.approx(1.0)


@pytest.mark.slow
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


@pytest.mark.slow
def test_an_output_name_without_json_is_refused_naming_the_rule_the_help_states(small_dataset, tmp_path):
    """``fat export coco DS OUT`` needs OUT to end in .json (the split files are named after it): the
    help says so, and an OUT without it is refused in one line that names the rule and the name
    meant, writing nothing, with or without the progress bar. Catches: a help that only shows
    ``OUT.json`` in passing, an error that does not say what to give instead."""
    r = run("export", "coco", "--help")
    assert r.returncode == 0 and "must end in .json" in " ".join(r.stdout.split())
    for out, meant in ((tmp_path / "coco", tmp_path / "coco.json"), (tmp_path / "fat.JSON", tmp_path / "fat.json"),
                       (tmp_path / "fat.txt", tmp_path / "fat.txt.json")):
        for quiet in (("--quiet",), ()):
            r = run("export", "coco", small_dataset, out, *quiet)
            assert r.returncode == 1 and r.stdout == ""
            lines = r.stderr.strip().splitlines()  # the progress bar's carriage returns read as line ends here
            assert lines[-1] == (f"fat: error: {out}: the COCO file's name must end in .json, as its split files are "
                                 f"named after it (fat.json: fat.train.json, fat.test.json); did you mean {meant}?")
            assert len(lines) == 1 or not quiet
    assert list(tmp_path.iterdir()) == []
