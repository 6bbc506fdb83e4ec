"""Generated datasets, checked by their geometric properties (stand-in objects, TinyRenderer)."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from fat import catalog
from fat.formats.fat import FatFolder
from fat.run.plan import plan
from fat.run.driver import generate
from fat.settings import Settings
from fat.run.resolve import plan_of, resolve
from fat.scene.scenes import get_location

import geometry_checks as gc

SMALL = Settings(kinds=("mixed", "single"), scenes=("kitchen", "temple"), locations=(0, 4),
                 objects=("banana", "mug", "power_drill", "master_chef_can", "bowl", "scissors"),
                 mixed_frames=4, single_frames=2, frames_per_drop=2, seed=7, renderer="tiny")


@pytest.fixture(scope="module", params=["tiny", "gl"])
def dataset(request, tmp_path_factory):
    from dataclasses import replace

    from conftest import gl_available

    if request.param == "gl" and gl_available():
        pytest.skip(f"renderer gl is not available here: {gl_available()}")
    out = tmp_path_factory.mktemp("gen") / "out"
    summary = generate(replace(SMALL, renderer=request.param), out)
    assert summary["renderer"] == request.param
    return out, summary


def _views(out: Path):
    for path in sorted(p.parent for p in out.rglob("_camera_settings.json")):
        folder = FatFolder(path)
        for i in folder.frame_indices():
            yield folder, folder.read(i, "left", ("depth", "seg", "instance")), folder.read(i, "right", ("depth", "seg", "instance"))


@pytest.mark.slow
def test_layout_and_settings_files(dataset):
    out, summary = dataset
    folders, drops = plan_of((SMALL))
    assert summary["frames"] == 2 * 4 * 2 + 6 * 4 * 2 == sum(d.n_frames for d in drops)
    expect = {f"mixed/{loc}" for loc in ("kitchen_0", "kitchen_4", "temple_0", "temple_4")} | {
        f"single/{catalog.fat_objects().get(o).class_name}/{loc}" for o in SMALL.objects for loc in ("kitchen_0", "kitchen_4", "temple_0", "temple_4")}
    assert {str(p.parent.relative_to(out)) for p in out.rglob("_object_settings.json")} == expect
    mixed = FatFolder(out / "mixed/kitchen_0")
    assert mixed.frame_indices() == [0, 1, 2, 3]
    assert [o.segmentation_id for o in mixed.objects] == [catalog.fat_objects().get(n).segmentation_id for n in resolve(SMALL).objects]
    single = FatFolder(out / "single/025_mug_16k/temple_4")
    assert [(o.class_name, o.segmentation_id) for o in single.objects] == [("025_mug_16k", 255)]
    names = sorted(p.name for p in (out / "single/025_mug_16k/temple_4").iterdir())
    assert names == sorted(["_camera_settings.json", "_object_settings.json"] + [
        f"{i:06d}.{eye}.{suffix}" for i in range(2) for eye in ("left", "right")
        for suffix in ("jpg", "depth.png", "seg.png", "json", "instance.png")])
    assert not list(out.rglob(".*"))  # no temporary files left


@pytest.mark.slow
def test_split_file(dataset):
    out, _ = dataset
    split = json.loads((out / "split.json").read_text())
    assert split["test_locations"] == ["kitchen_4", "kitedemo_4", "temple_4"]
    assert all(p.endswith("_4") for p in split["test"]) and not any(p.endswith("_4") for p in split["train"])
    assert len(split["train"]) + len(split["test"]) == 4 + 6 * 4
    assert json.loads((out / "fat_dataset.json").read_text())["settings"]["seed"] == 7


@pytest.mark.slow
def test_frames_by_their_geometry(dataset):
    out, _ = dataset
    n_views = n_pixels = n_objects = matched = listed = 0
    for folder, left, right in _views(out):
        loc = get_location(folder.path.name)
        for v in (left, right):
            gc.mask_inside_projected_cuboid(v)
            gc.mask_inside_bbox(v)
            n_pixels += gc.depth_inside_cuboid(v)
            gc.seg_matches_instances(v, folder)
            for o in v.annotation.objects:
                assert 0 <= o.visibility <= 1
                # K times the cuboid, to the precision the file holds (1e-6 m, amplified at small z)
                z = o.cuboid[:, 2:]
                tol = 0.002 + v.intrinsics.fx * 2e-6 * (1 + np.abs(o.cuboid[:, :2] / z)) / z
                assert np.all(np.abs(o.projected_cuboid - v.intrinsics.project(o.cuboid)) <= tol)
            n_objects += len(v.annotation.objects)
            n_views += 1
        gc.camera_in_ranges(left, loc.fixation, loc.heading)
        m, k = gc.stereo_consistent(left, right)
        matched, listed = matched + m, listed + k
    assert n_views == 2 * (4 * 4 + 24 * 2) and n_pixels > 100_000 and n_objects > n_views
    assert matched >= 0.8 * listed, f"only {matched} of {listed} objects are in both views"


@pytest.mark.slow
def test_seg_values_are_class_ids(dataset):
    out, _ = dataset
    for path in (out / "mixed").iterdir():
        folder = FatFolder(path)
        ids = {o.segmentation_id for o in folder.objects}
        for i in folder.frame_indices():
            seg = folder.read(i, "left", ("seg",)).seg
            assert set(np.unique(seg)) - {0} <= ids and all(v % 12 == 0 for v in np.unique(seg))
    for path in (out / "single").glob("*/*"):
        folder = FatFolder(path)
        for i in folder.frame_indices():
            assert set(np.unique(folder.read(i, "left", ("seg",)).seg)) <= {0, 255}


@pytest.mark.slow
def test_objects_land_in_view(dataset):
    """After the drop the objects rest near the fixation point, seen by the camera."""
    out, _ = dataset
    for path in (out / "mixed").iterdir():
        folder = FatFolder(path)
        last = folder.read(folder.frame_indices()[-1], "left", ())
        assert last.annotation.objects
        loc = get_location(path.name)
        for o in last.annotation.objects:
            world = last.annotation.camera_pose @ np.r_[o.location, 1]
            assert np.linalg.norm(world[:2] - loc.fixation[:2]) < 0.6


def _digest(out: Path) -> dict:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_scenes(tmp_path):
    s = Settings(kinds=("mixed",), scenes=("kitedemo",), locations=(1,), mixed_frames=3, frames_per_drop=3, seed=11,
                 width=320, height=180, renderer="tiny")
    generate(s, tmp_path / "a")
    generate(s, tmp_path / "b")
    a, b = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert a == b and len(a) == 3 + 2 + 3 * 10  # fat_dataset, split, manifest; two settings files; 3 frames
    from dataclasses import replace

    generate(replace(s, seed=12), tmp_path / "c")
    c = _digest(tmp_path / "c")
    frames = [k for k in a if k.endswith(".json") and "/0000" in k]
    assert all(a[k] != c[k] for k in frames)
    assert a["mixed/kitedemo_1/_object_settings.json"] == c["mixed/kitedemo_1/_object_settings.json"]


def test_overwrite_rules(tmp_path):
    """Runs once, on the tiny renderer only. Catches: a second run redoing finished drops, a run with
    other settings replacing a dataset without --overwrite, --overwrite deleting a folder fat did not make."""
    from dataclasses import replace

    from fat.errors import OutputError

    out = tmp_path / "o"
    s = Settings(scenes=("kitchen",), mixed_frames=1, frames_per_drop=1, width=160, height=90, renderer="tiny")
    generate(s, out)
    assert generate(s, out)["frames"] == 0  # the same settings again: nothing left to do
    with pytest.raises(OutputError, match=r"holds a dataset made with other settings \(seed 0 -> 1\)"):
        generate(replace(s, seed=1), out)
    assert generate(replace(s, seed=1), out, overwrite=True)["frames"] == 1
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a dataset made by fat"):
        generate(s, other, overwrite=True)
    with pytest.raises(OutputError, match="holds no dataset made by fat"):
        generate(s, other)
    assert (other / "notes.txt").read_text() == "keep me"
