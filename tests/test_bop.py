"""``fat export bop``: BOP's scenewise layout, read back and compared with the source frames."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fat import catalog

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


@pytest.fixture(scope="module")
def bop(small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("bop") / "bop"
    r = subprocess.run([FAT, "export", "bop", str(small_dataset), str(out), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{out}: 96 images in 40 scenes"
    return out


def test_layout_and_models(bop):
    assert sorted(p.name for p in bop.iterdir()) == ["models", "scenes.json", "test_left", "test_right", "train_left",
                                                      "train_right"]
    info = json.loads((bop / "models/models_info.json").read_text())
    used = {catalog.get(n).index + 1 for n in ("banana", "mug", "mustard_bottle", "wood_block")}
    assert set(map(int, info)) == used  # the objects of the dataset
    for o in (o for o in catalog.objects() if o.index + 1 in used):
        i = info[str(o.index + 1)]
        assert np.allclose([i["size_x"], i["size_y"], i["size_z"]], o.dimensions * 1000, atol=0.01)
        assert i["diameter"] >= max(i["size_x"], i["size_y"], i["size_z"])
        assert (bop / f"models/obj_{o.index + 1:06d}.ply").read_text().startswith("ply\nformat ascii 1.0")


def test_scenes_read_back_against_the_source_frames(bop, small_dataset):
    scenes = json.loads((bop / "scenes.json").read_text())
    n = 0
    for rel, src in scenes.items():
        sdir = bop / rel
        cam = {int(k): v for k, v in json.loads((sdir / "scene_camera.json").read_text()).items()}
        gt = {int(k): v for k, v in json.loads((sdir / "scene_gt.json").read_text()).items()}
        info = {int(k): v for k, v in json.loads((sdir / "scene_gt_info.json").read_text()).items()}
        assert cam.keys() == gt.keys() == info.keys()
        folder = small_dataset / src["folder"]
        for im in gt:
            stem = folder / f"{im:06d}.{src['eye']}"
            frame = json.loads(Path(str(stem) + ".json").read_text())
            inst = cv2.imread(str(stem) + ".instance.png", cv2.IMREAD_UNCHANGED)
            fat_depth = cv2.imread(str(stem) + ".depth.png", cv2.IMREAD_UNCHANGED)
            bop_depth = cv2.imread(str(sdir / f"depth/{im:06d}.png"), cv2.IMREAD_UNCHANGED)
            # FAT's counts, and BOP's "no value" 0 where FAT has none (65535, or 0 in older datasets)
            assert bop_depth.dtype == np.uint16
            assert np.array_equal(bop_depth, np.where(fat_depth == 65535, 0, fat_depth))
            assert cam[im]["depth_scale"] == 0.1 and np.array(cam[im]["cam_K"]).reshape(3, 3)[0, 2] == 160
            assert len(gt[im]) == len(frame["objects"])
            for k, (g, o, gi) in enumerate(zip(gt[im], frame["objects"], info[im])):
                assert g["obj_id"] == catalog.get(o["class"]).index + 1
                assert np.allclose(g["cam_t_m2c"], np.array(o["location"]) * 10)  # cm -> mm
                R = np.array(g["cam_R_m2c"]).reshape(3, 3)
                assert np.allclose(R @ R.T, np.eye(3), atol=1e-6)
                corner = R @ (np.array([1, -1, 1]) * catalog.get(o["class"]).dimensions * 500) + g["cam_t_m2c"]
                assert np.allclose(corner / 10, o["cuboid"][0], atol=0.002)  # FrontTopRight, cm
                visib = cv2.imread(str(sdir / f"mask_visib/{im:06d}_{k:06d}.png"), 0) > 0
                full = cv2.imread(str(sdir / f"mask/{im:06d}_{k:06d}.png"), 0) > 0
                assert np.array_equal(visib, inst == k + 1)
                assert not (visib & ~full).any()
                assert gi["px_count_visib"] == visib.sum() and gi["px_count_all"] == full.sum()
                if full.any():
                    assert gi["visib_fract"] == pytest.approx(visib.sum() / full.sum())
                    assert abs(gi["visib_fract"] - o["visibility"]) < 0.35  # two definitions, both 0..1
                n += 1
    assert n > 100


def test_bad_frames_fail_or_are_skipped(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    (root / "mixed/kitchen_4/000000.left.depth.png").write_bytes(b"x")
    r = subprocess.run([FAT, "export", "bop", str(root), str(tmp_path / "a"), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 1 and "000000.left.depth.png: not a readable image" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "a").exists() and not list(tmp_path.glob(".a*"))
    r = subprocess.run([FAT, "export", "bop", str(root), str(tmp_path / "b"), "--renderer", "tiny", "--quiet", "--skip-bad"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0 and "skipped:" in r.stderr and "95 images" in r.stdout
