"""What a run that fails early leaves, plugins that do not load, and where the object source is
recorded: a failed start leaves nothing in the way of the fixed rerun, a broken plugin stops only
the work that needs it, and a dataset's meshes are found from any folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import pytest
import trimesh

import fat.run.worker
from fat.errors import FatError
from fat.assets.meshes import MeshWarning
from fat.run.driver import generate
from fat.settings import Settings

SMALL = dict(kinds=("mixed",), scenes=("kitchen",), locations=(0,), mixed_frames=4, frames_per_drop=2, width=96,
             height=64, renderer="tiny")


def _fail_on_drop(monkeypatch, n: int):
    """Worker.run raises on its ``n``-th call (0: the first)."""
    real, calls = fat.run.worker.Worker.run, []

    def run(self, drop, root):
        calls.append(drop)
        if len(calls) > n:
            raise FatError("texture.hdr: cannot be read (a damaged file)")
        return real(self, drop, root)

    monkeypatch.setattr(fat.run.worker.Worker, "run", run)


def test_a_run_that_fails_before_its_first_drop_leaves_nothing(tmp_path, monkeypatch):
    """Catches the skeleton (fat_dataset.json, settings files, no frame) a failed start left, which
    then refused the fixed rerun as "other settings"."""
    _fail_on_drop(monkeypatch, 0)
    with pytest.raises(FatError, match="texture.hdr"):
        generate(Settings(**SMALL), tmp_path / "new")
    assert not (tmp_path / "new").exists()
    (tmp_path / "mine").mkdir()  # a folder the user made stays, empty
    with pytest.raises(FatError):
        generate(Settings(**SMALL), tmp_path / "mine")
    assert list((tmp_path / "mine").iterdir()) == []
    monkeypatch.undo()
    summary = generate(Settings(**SMALL, seed=1), tmp_path / "mine")  # the fixed rerun, other settings
    assert summary["frames"] == 4


@pytest.mark.slow
def test_a_skeleton_of_a_failed_start_is_replaced_without_overwrite(tmp_path):
    """A folder an earlier release left after a failed start (settings, no finished drop) is taken
    by a run of other settings; one with a finished drop is still refused. Catches "holds a dataset
    made with other settings" for a folder that holds no frame."""
    out = tmp_path / "ds"
    generate(Settings(**SMALL), out)
    (out / "manifest.jsonl").unlink()
    for p in out.rglob("0000*"):
        p.unlink()
    assert generate(Settings(**SMALL, seed=7), out)["frames"] == 4
    from fat.errors import OutputError

    with pytest.raises(OutputError, match="other settings"):
        generate(Settings(**SMALL, seed=8), out)


@pytest.mark.slow
def test_a_run_that_fails_after_a_drop_keeps_it_for_the_rerun(tmp_path, monkeypatch):
    """Catches a clean-up that deletes finished drops (an interrupted run loses nothing it finished)."""
    _fail_on_drop(monkeypatch, 1)
    with pytest.raises(FatError):
        generate(Settings(**SMALL), tmp_path / "ds")
    assert len((tmp_path / "ds" / "manifest.jsonl").read_text().splitlines()) == 1
    monkeypatch.undo()
    summary = generate(Settings(**SMALL), tmp_path / "ds")
    assert summary["skipped"] == 2 and summary["frames"] == 2


def _broken_plugin(tmp_path, group: str, name: str) -> dict:
    """An environment whose path holds a distribution registering ``name`` in ``group`` to a module
    that fails on import."""
    root = tmp_path / "plugin"
    info = root / "fat_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (root / "fat_broken.py").write_text("raise ImportError('fat_broken needs a library that is not installed')\n")
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fat-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{name} = fat_broken:Thing\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def _fat(env, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_a_broken_object_source_plugin_stops_no_other_source(tmp_path):
    """Catches one broken fat.object_sources entry point stopping every --objects."""
    env = _broken_plugin(tmp_path, "fat.object_sources", "broken")
    (tmp_path / "meshes").mkdir()
    trimesh.creation.box(extents=(0.1, 0.06, 0.04)).export(tmp_path / "meshes" / "block.obj")
    r = _fat(env, "objects", "--objects", tmp_path / "meshes")
    assert r.returncode == 0, r.stderr
    assert "block" in r.stdout
    warned = [x for x in r.stderr.splitlines() if "object source broken" in x]
    assert len(warned) == 1 and "cannot be loaded" in warned[0] and "left out" in warned[0]


@pytest.mark.slow
def test_a_broken_randomizer_plugin_stops_only_the_runs_that_name_it(tmp_path):
    """Catches one broken fat.randomizers entry point stopping every dr run."""
    env = _broken_plugin(tmp_path, "fat.randomizers", "broken")
    args = ("--kind", "dr", "--scene", "kitchen", "--frames", "2", "--frames-per-drop", "2", "--width", "96",
            "--height", "64", "--renderer", "tiny", "--quiet")
    r = _fat(env, "generate", tmp_path / "ds", *args)
    assert r.returncode == 0, r.stderr
    assert len([x for x in r.stderr.splitlines() if "randomizer broken" in x]) == 1
    r = _fat(env, "generate", tmp_path / "other", *args, "--randomizer", "broken.enabled=true")
    assert r.returncode != 0 and "randomizer broken" in r.stderr and not (tmp_path / "other").exists()


@pytest.mark.slow
def test_the_object_source_is_recorded_absolute_and_found_from_any_folder(tmp_path):
    """``--objects meshes`` given relative to the folder generate ran in: the record holds the
    absolute path, and a BOP export run from another folder finds the meshes. Catches a record
    relative to the folder of the run."""
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    (work / "meshes").mkdir(parents=True)
    elsewhere.mkdir()
    trimesh.creation.box(extents=(0.1, 0.06, 0.04)).export(work / "meshes" / "block.obj")
    env = dict(os.environ)
    r = _fat(env, "generate", "ds", "--objects", "meshes", "--scene", "kitchen", "--frames", "2", "--frames-per-drop",
             "2", "--width", "96", "--height", "64", "--renderer", "tiny", "--quiet", cwd=work)
    assert r.returncode == 0, r.stderr
    record = json.loads((work / "ds" / "fat_dataset.json").read_text())
    assert record["settings"]["object_source"] == str(work / "meshes")
    r = _fat(env, "export", "bop", work / "ds", "bop", "--renderer", "tiny", "--quiet", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert (elsewhere / "bop" / "models" / "obj_000001.ply").is_file()
    # the same command in the folder of the first run resumes it (a record of an earlier release,
    # relative, is read relative to the folder of the rerun)
    record["settings"]["object_source"] = "meshes"
    (work / "ds" / "fat_dataset.json").write_text(json.dumps(record))
    r = _fat(env, "generate", "ds", "--objects", "meshes", "--scene", "kitchen", "--frames", "2", "--frames-per-drop",
             "2", "--width", "96", "--height", "64", "--renderer", "tiny", "--quiet", cwd=work)
    assert r.returncode == 0 and "done before" in r.stdout, r.stderr
