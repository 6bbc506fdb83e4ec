"""Start-up bounded by the work: the camera clearance check (fast, and done once per process for
unchanged inputs), the plan line every run starts with, and ``fat generate --dry-run``."""

from __future__ import annotations

import json

import numpy as np
import pytest

import fat.run.resolve
from fat.errors import ConfigError
from fat.run.plan import plan
from fat.scene.scenes import CAMERA_MARGIN, CameraRanges, all_locations, camera_region_samples, check_camera_clearance
from fat.settings import Settings
from fat.run.resolve import object_set, resolve
from fat_cli import run_fat


def _every_point(loc, ranges):
    """The clearance check by its definition: every point of the 1 degree / 2 cm grid tested."""
    pts = camera_region_samples(loc, ranges)
    if np.any(pts[:, 2] <= loc.ground_z + CAMERA_MARGIN):
        return "the ground"
    return next((p.name for p in loc.props if np.any(p.contains(pts, CAMERA_MARGIN))), None)


@pytest.mark.slow
def test_the_clearance_check_gives_the_answer_of_every_grid_point():
    """The check tests cells of the grid before their points; it must refuse exactly the ranges that
    testing every point refuses, naming the same prop. Catches a cell test that misses a prop's
    corner (too small a cell radius) or refuses a clear range."""
    rng = np.random.default_rng(1)
    refused = passed = 0
    for loc in [l for l in all_locations() if not l.asset][::2]:  # a glTF scene is checked by rays (test_gltf_scenes)
        for trial in range(4):
            lo = 0.5 if trial == 0 else rng.uniform(0.2, 1.6)
            e0 = 5.0 if trial == 0 else rng.uniform(-10, 40)
            a0 = -120.0 if trial == 0 else rng.uniform(-180, 0)
            ranges = CameraRanges((a0, a0 + (240 if trial == 0 else rng.uniform(10, 300))),
                                  (e0, min(89.0, e0 + (80 if trial == 0 else rng.uniform(5, 60)))),
                                  (lo, lo + (1.0 if trial == 0 else rng.uniform(0.1, 0.8))))
            if ranges.distance[1] > loc.room - 0.1:
                continue
            truth = _every_point(loc, ranges)
            try:
                check_camera_clearance(loc, ranges)
                assert truth is None, f"{loc.name} {ranges}: {truth} is where the camera is sampled"
                passed += 1
            except ConfigError as e:
                assert truth is not None and truth in str(e), f"{loc.name} {ranges}: refused ({e}), but nothing is there"
                refused += 1
    assert refused >= 3 and passed >= 8


def test_the_settings_check_does_no_clearance_work_the_second_time(monkeypatch):
    """Catches a clearance check repeated for every validation of unchanged settings (the command
    and the run each validate)."""
    calls = []
    real = fat.run.resolve.check_camera_clearance
    monkeypatch.setattr(fat.run.resolve, "check_camera_clearance", lambda loc, r: calls.append(loc.name) or real(loc, r))
    fat.run.resolve._check_clearance.cache_clear()
    s = resolve(Settings(scenes=("kitchen", "temple"), locations=(0, 1)))
    assert sorted(calls) == ["kitchen_0", "kitchen_1", "temple_0", "temple_1"]
    resolve(s)
    resolve(Settings(scenes=("kitchen", "temple"), locations=(0, 1)))
    assert len(calls) == 4


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capfd):
    """The plan's numbers per kind, disk and time, the plan line first on standard output, and no
    output folder. Catches a dry run that writes or miscounts."""
    out = tmp_path / "out"
    rc, stdout, stderr = run_fat(capfd, "generate", out, "--kind", "both", "--kind", "dr", "--scene", "kitchen",
                                 "--location", "0", "--location", "4", "--frames", "30", "--frames-per-drop", "20",
                                 "--dry-run", "--renderer", "tiny")
    assert rc == 0 and not out.exists()
    s = resolve(Settings(kinds=("single", "mixed", "dr"), scenes=("kitchen",), locations=(0, 4), mixed_frames=30,
                          single_frames=30, dr_frames=30, frames_per_drop=20, renderer="tiny"))
    folders, drops = plan(s, object_set(s))
    rows = {line.split()[0]: [int(x.replace(",", "")) for x in line.split()[1:4]] for line in stdout.splitlines()
            if line.split() and line.split()[0] in ("single", "mixed", "dr", "total")}
    for kind in ("single", "mixed", "dr"):
        assert rows[kind] == [sum(f.kind == kind for f in folders), sum(d.kind == kind for d in drops),
                              sum(d.n_frames for d in drops if d.kind == kind)]
    assert rows["total"] == [len(folders), len(drops), 30 * 2 * (21 + 2)]
    assert "disk: about" in stdout and "time: about" in stdout and "nothing written" in stdout
    first = stdout.splitlines()[0]
    assert first.startswith("plan: 46 folders (single 42, mixed 2, dr 2), ") and "renderer tiny" in first


def test_dry_run_of_a_started_dataset_says_what_is_left(tmp_path, capfd):
    """Catches a dry run that ignores the frames a folder already holds."""
    args = ("--scene", "kitchen", "--frames", "4", "--frames-per-drop", "2", "--width", "96", "--height", "64",
            "--renderer", "tiny", "--quiet")
    rc, _, _ = run_fat(capfd, "generate", tmp_path / "ds", *args)
    assert rc == 0
    lines = (tmp_path / "ds" / "manifest.jsonl").read_text().splitlines()
    (tmp_path / "ds" / "manifest.jsonl").write_text(lines[0] + "\n")
    before = sorted(p.name for p in (tmp_path / "ds").rglob("*"))
    rc, stdout, _ = run_fat(capfd, "generate", tmp_path / "ds", *args, "--frames", "4", "--dry-run")
    assert rc == 0 and "holds 2 of these frames already: a run makes the other 2" in stdout
    assert sorted(p.name for p in (tmp_path / "ds").rglob("*")) == before
    assert json.loads(lines[0])["frames"] == 2
