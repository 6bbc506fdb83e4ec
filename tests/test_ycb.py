"""Real YCB models (shared/ycb): both folder layouts, alignment to FAT's frame, generation with them."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fat import catalog, objectsets
from fat.assets.objects import align_to_fat, check_ycb_folder, ycb_assets
from fat.errors import ConfigError
from fat.assets.meshes import load_mesh
from fat.run.driver import generate
from fat.settings import Settings

import geometry_checks as gc

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
NAMES = ("banana", "mug", "wood_block", "power_drill", "bowl")


@pytest.mark.slow
def test_official_google_16k_layout(tmp_path, ycb_dir):
    for name in ("011_banana", "025_mug"):
        d = tmp_path / name / "google_16k"
        d.mkdir(parents=True)
        for f in ("textured.obj", "textured.mtl", "texture_map.jpg"):
            (d / f).symlink_to(ycb_dir / name / f)
    infos = [catalog.fat_objects().get("banana"), catalog.fat_objects().get("mug")]
    assets = ycb_assets(tmp_path, infos, texture_size=256)
    for o in infos:
        a = assets[o.name]
        p = a.hull
        assert np.allclose(p.max(0) - p.min(0), o.dimensions, atol=0.0006)  # hull of the aligned scan
        assert len(a.parts) == 1  # no collision mesh in this layout: the convex hull
        tex = cv2.imread(str(a.folder / "texture.png"))
        assert max(tex.shape[:2]) == 256
        assert re.search(r"^map_Kd texture\.png$", (a.folder / "visual.mtl").read_text(), re.M)


@pytest.mark.slow
def test_flat_layout_uses_the_vhacd_parts(ycb_dir):
    infos = [catalog.fat_objects().get(n) for n in NAMES]
    assets = ycb_assets(ycb_dir, infos)
    for o in infos:
        a = assets[o.name]
        assert len(a.parts) > 20  # V-HACD convex parts, not one hull
        v = load_mesh(a.visual).vertices
        assert np.allclose(v.max(0) - v.min(0), o.dimensions, atol=0.0006), o.name
        assert np.allclose((v.max(0) + v.min(0)) / 2, 0, atol=0.0006), o.name
        tex = cv2.imread(str(a.folder / "texture.png"))
        assert max(tex.shape[:2]) == 1024  # 4096 px downscaled


@pytest.mark.slow
def test_wood_block_needs_the_extra_rotation(ycb_dir):
    o = catalog.fat_objects().get("wood_block")
    v = load_mesh(ycb_dir / o.name / "textured.obj").vertices
    T, note = align_to_fat(o, v)
    angle = float(re.search(r"([-\d.]+) deg", note).group(1))
    assert 12.0 < abs(angle) < 13.1
    p = v @ T[:3, :3].T + T[:3, 3]
    assert np.allclose(p.max(0) - p.min(0), o.dimensions, atol=0.0006)
    assert np.isclose(np.linalg.det(T[:3, :3]), 1)
    T0, note0 = align_to_fat(catalog.fat_objects().get("banana"), load_mesh(ycb_dir / "011_banana" / "textured.obj").vertices)
    assert note0 == "fixed_model_transform" and np.array_equal(T0, catalog.fat_objects().get("banana").model_transform)


def test_a_folder_without_meshes_is_refused(tmp_path):
    (tmp_path / "011_banana").mkdir()
    with pytest.raises(ConfigError, match=r"no textured\.obj for 011_banana"):
        check_ycb_folder(tmp_path, [catalog.fat_objects().get("banana")])
    with pytest.raises(ConfigError, match="not a folder"):
        check_ycb_folder(tmp_path / "missing", [catalog.fat_objects().get("banana")])


def test_a_mesh_that_is_not_the_object_is_refused(tmp_path, ycb_dir):
    d = tmp_path / "011_banana"
    d.mkdir()
    (d / "textured.obj").symlink_to(ycb_dir / "025_mug" / "textured.obj")  # a mug where the banana should be
    with pytest.raises(ConfigError, match="011_banana: mesh does not fit the FAT cuboid"):
        ycb_assets(tmp_path, [catalog.fat_objects().get("banana")])


@pytest.mark.filterwarnings("ignore::fat.assets.meshes.MeshWarning")  # models of scans: a few zero-area triangles
@pytest.mark.slow
def test_generate_with_real_models(tmp_path, ycb_dir):
    """A dataset of five real scans from a folder that holds only those five, then its BOP export.
    Catches a BOP export that needs meshes of the set's objects no frame shows (the other 16)."""
    partial = tmp_path / "five"
    partial.mkdir()
    for name in NAMES:
        o = catalog.fat_objects().get(name)
        (partial / o.name).symlink_to(next(p for p in ycb_dir.iterdir() if p.name == o.name))
    s = Settings(kinds=("mixed", "single"), scenes=("kitedemo",), locations=(0,), objects=NAMES, object_source=str(partial),
                 mixed_frames=3, single_frames=2, frames_per_drop=3, seed=2, renderer="tiny")
    out = tmp_path / "ycb"
    generate(s, out)
    assert gc.check_dataset(out) > 10_000
    # round trip: the BOP export's models, read as an object set, have the YCB set's cuboids within 1 mm
    bop = tmp_path / "bop"
    r = subprocess.run([FAT, "export", "bop", str(out), str(bop), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    assert "16 objects of the set that no view shows left out of models/ (no mesh)" in r.stdout + r.stderr
    models = objectsets.load(bop / "models")
    assert len(models) == len(NAMES)
    for m in models:
        o = catalog.fat_objects().objects[int(m.name.split("_")[1]) - 1]
        assert np.abs(m.dimensions - o.dimensions).max() < 0.001, (o.name, m.dimensions * 1000, o.dimensions * 1000)
