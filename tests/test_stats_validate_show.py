"""``fat stats``, ``fat validate`` and ``fat show``, run as a user runs them."""

import json
import shutil
import subprocess
import sys
from collections import Counter

import pytest
from pathlib import Path

import cv2
import numpy as np

from fat import catalog
from fat.study.stats import _heading, fixation_point

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


def run(*args, cwd=None):
    return subprocess.run([FAT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_stats_report_matches_a_direct_count(tmp_path, small_dataset):
    r = run("stats", small_dataset, "--out", tmp_path / "rep", "--images", "--quiet")
    assert r.returncode == 0, r.stderr
    s = json.loads((tmp_path / "rep/stats.json").read_text())
    for name in ("classes.png", "objects_per_frame.png", "visibility.png", "camera.png", "boxes.png", "depth.png"):
        assert cv2.imread(str(tmp_path / "rep" / name)) is not None
    assert "classes.png" in (tmp_path / "rep/report.md").read_text()
    # direct count from the JSON files
    split = json.loads((small_dataset / "split.json").read_text())
    frames, kinds, classes, per_frame, vis25 = 0, Counter(), Counter(), Counter(), Counter()
    for j in small_dataset.rglob("*.left.json"):
        rel = str(j.parent.relative_to(small_dataset))
        objs = json.loads(j.read_text())["objects"]
        frames += 1
        kinds[rel.split("/")[0]] += 1
        per_frame[str(len(objs))] += 1
        for o in objs:
            name = catalog.fat_objects().get(o["class"]).class_name
            classes[name] += 1
            vis25[name] += o["visibility"] > 0.25
    assert s["frames"]["total"] == frames == 48
    assert s["frames"]["by_kind"] == dict(kinds)
    assert s["frames"]["by_split"] == {"test": sum(1 for j in small_dataset.rglob("*.left.json") if str(j.parent.relative_to(small_dataset)) in split["test"]), "train": 24}
    assert {k: v["appearances"] for k, v in s["classes"].items()} == dict(classes)
    assert {k: v["visibility_gt_25"] for k, v in s["classes"].items()} == dict(vis25)
    assert s["objects"]["per_frame"] == dict(sorted(per_frame.items(), key=lambda kv: int(kv[0])))
    assert sum(s["visibility"]["counts"]) == sum(classes.values())
    cam = s["camera"]
    assert -120.5 <= cam["azimuth_deg"]["min"] and cam["azimuth_deg"]["max"] <= 120.5
    assert 5 - 0.5 <= cam["elevation_deg"]["min"] and cam["elevation_deg"]["max"] <= 85.5
    assert 0.5 - 0.01 <= cam["distance_m"]["min"] and cam["distance_m"]["max"] <= 1.5 + 0.01
    assert 0 < s["depth_m"]["median"]["min"] < 3


def test_fixation_point_and_heading():
    rng = np.random.default_rng(0)
    p = np.array([1.0, -2.0, 0.5])
    c = p + rng.normal(size=(20, 3))
    d = (p - c) / np.linalg.norm(p - c, axis=1, keepdims=True)
    assert np.allclose(fixation_point(c, d), p)
    assert fixation_point(c[:1], d[:1]) is None
    az = rng.uniform(-120, 120, 500) + 30
    assert abs(_heading(az) - 30) < 2


def test_validate_passes_on_a_generated_dataset(small_dataset):
    """Runs without the reference files. Catches validate reporting problems in a clean dataset, or
    checking fewer frames than there are."""
    r = run("validate", small_dataset, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == "48 frames checked, no problem"


def test_validate_passes_on_a_fat_tree(fat_tree):
    """Needs the published FAT frame (skips without it). Catches validate rejecting FAT's own layout."""
    r = run("validate", fat_tree, "--quiet")
    assert r.returncode == 0, r.stdout + r.stderr


def test_validate_lists_every_problem_with_its_file(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    f = root / "mixed/kitchen_0"
    p = f / "000000.left.json"
    p.write_text(p.read_text()[:300])
    (f / "000001.right.jpg").unlink()
    cv2.imwrite(str(f / "000002.left.depth.png"), np.zeros((180, 320), np.uint8))
    seg = cv2.imread(str(f / "000003.left.seg.png"), cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 13
    cv2.imwrite(str(f / "000003.left.seg.png"), seg)
    doc = json.loads((f / "000003.right.json").read_text())
    o = next(o for o in doc["objects"] if o["visibility"] > 0.5)
    bb = o["bounding_box"]
    bb["top_left"], bb["bottom_right"] = bb["top_left"][::-1], bb["bottom_right"][::-1]  # written as (x, y)
    o["projected_cuboid"][0][0] += 5
    (f / "000003.right.json").write_text(json.dumps(doc))
    (f / "000003.right.instance.png").unlink()  # class masks only, as in FAT
    r = run("validate", root, "--quiet")
    assert r.returncode == 1
    out = r.stdout
    assert f"{f}/000000.left.json: invalid JSON" in out
    assert f"{f}/000001.right.jpg: file is missing" in out
    assert f"{f}/000002.left.depth.png: expected a 16-bit single-channel PNG, found 8-bit" in out
    assert f"{f}/000003.left.seg.png: values [13] are not segmentation ids" in out
    assert f"{f}/000003.right.json: objects[" in out and "projected_cuboid: differs from K * cuboid" in out
    assert "bounding_box must be (y, x)" in out
    assert "problems in" in r.stderr


def test_show_one_frame_and_a_contact_sheet(tmp_path, small_dataset):
    """Runs without the reference files. Catches fat show failing, drawing a blank or wrongly sized
    sheet, or writing a file for a frame that does not exist."""
    r = run("show", small_dataset, "mixed/kitchen_0/3", "--out", tmp_path / "one.png")
    assert r.returncode == 0, r.stderr
    one = cv2.imread(str(tmp_path / "one.png"))
    assert one.shape[1] == 1440 and one.std() > 10
    r = run("show", small_dataset, "--random", "3", "--seed", "1", "--out", tmp_path / "three.png")
    assert r.returncode == 0 and r.stdout.strip() == f"drew 3 frames in {tmp_path / 'three.png'}"
    three = cv2.imread(str(tmp_path / "three.png"))
    assert three.shape[0] == 3 * one.shape[0] and three.shape[1] == 1440
    r = run("show", small_dataset, "mixed/kitchen_9/1", "--out", tmp_path / "x.png")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "no frame 'mixed/kitchen_9/1'" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_show_a_frame_of_a_fat_tree(tmp_path, fat_tree):
    """Needs the published FAT frame (skips without it). Catches fat show failing on FAT's own layout."""
    r = run("show", fat_tree, "single/011_banana_16k/kitchen_0/0", "--out", tmp_path / "fat.png")
    assert r.returncode == 0, r.stderr
    img = cv2.imread(str(tmp_path / "fat.png"))
    assert img is not None and img.shape[1] == 1440 and img.std() > 10
