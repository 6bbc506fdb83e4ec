"""Datasets damaged after ``fat generate``: frames an interrupted run left out, files of finished
drops deleted or changed. ``fat validate`` names them; a rerun (files missing) or ``fat generate
--repair`` (files changed: sha256 against manifest.jsonl) makes them again, byte for byte."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fat.run import manifest
from fat.run.driver import generate
from fat.settings import Settings

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


def run(*args):
    return subprocess.run([FAT, *map(str, args)], capture_output=True, text=True, timeout=900)


def settings_of(root: Path) -> Settings:
    doc = json.loads((root / "fat_dataset.json").read_text())["settings"]
    return Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()})


@pytest.fixture
def copy(tmp_path, small_dataset):
    root = tmp_path / "ds"
    shutil.copytree(small_dataset, root)
    (root / ".fat_index.json").unlink(missing_ok=True)
    return root


def _drop_manifest_line(root: Path, drop: str) -> None:
    path = root / manifest.MANIFEST
    lines = [line for line in path.read_text().splitlines() if json.loads(line)["drop"] != drop]
    path.write_text("\n".join(lines) + "\n")


def test_validate_reports_frames_an_interrupted_run_left_out(copy):
    """A run killed before a drop finished leaves the folder without its frames; validate checked
    only the frames present and said "no problem"."""
    _drop_manifest_line(copy, "mixed/temple_0#1")  # the run stopped before this drop
    for f in (copy / "mixed/temple_0").glob("00000[23].*"):
        f.unlink()
    _drop_manifest_line(copy, "single/025_mug_16k/kitchen_4#0")  # files written, the line not yet
    r = run("validate", copy, "--quiet")
    assert r.returncode == 1
    assert (f"{copy}/mixed/temple_0: frames 000002-000003 are missing (drop mixed/temple_0#1, not finished: "
            "the run was interrupted)") in r.stdout, r.stdout
    assert (f"{copy}/single/025_mug_16k/kitchen_4: frames 000000-000001 are not recorded as finished in "
            "manifest.jsonl") in r.stdout, r.stdout
    assert len(r.stdout.strip().splitlines()) == 2, r.stdout


def test_validate_reports_deleted_and_changed_files_of_finished_drops(copy):
    """Files of a finished drop deleted or edited after the run went unnoticed as long as the rest
    of the frame was readable (a whole frame deleted was not even seen)."""
    gone = copy / "mixed/kitchen_4/000003.right.seg.png"
    gone.unlink()
    for f in (copy / "single/011_banana_16k/temple_0").glob("000001.*"):
        f.unlink()
    changed = copy / "mixed/kitchen_0/000001.left.depth.png"
    changed.write_bytes(changed.read_bytes() + b"\0")  # still a readable PNG
    r = run("validate", copy, "--quiet")
    assert r.returncode == 1
    out = r.stdout
    assert f"{gone}: missing: listed in manifest.jsonl (drop mixed/kitchen_4#1)" in out, out
    assert (f"{copy}/single/011_banana_16k/temple_0: frames 000001 are missing (drop single/011_banana_16k/temple_0#0, "
            "listed as finished in manifest.jsonl)") in out, out
    assert (f"{changed}: changed since it was written: its sha256 differs from manifest.jsonl "
            "(drop mixed/kitchen_0#0); `fat generate --repair`") in out, out


@pytest.mark.slow
def test_rerun_remakes_deleted_files_and_repair_remakes_changed_ones(copy, small_dataset):
    """A rerun trusted the manifest and left deleted files of finished drops missing for good. Now
    a plain rerun remakes drops with files missing (a directory listing per folder) and --repair
    also those whose files' sha256 changed; the bytes are those of the first run."""
    gone = copy / "mixed/kitchen_0/000002.left.jpg"
    gone.unlink()
    changed = copy / "single/025_mug_16k/temple_4/000000.right.json"
    changed.write_text(changed.read_text().replace("\t", "  "))
    notes = []
    summary = generate(settings_of(copy), copy, notify=notes.append)
    assert summary["drops"] == 1 and gone.read_bytes() == (small_dataset / gone.relative_to(copy)).read_bytes()
    assert notes == ["1 finished drop with missing files, made again: mixed/kitchen_0#1"]
    assert changed.read_text() != (small_dataset / changed.relative_to(copy)).read_text()  # a rerun does not hash
    s = settings_of(copy)
    r = run("generate", copy, "--kind", "both", *sum((("--scene", x) for x in s.scenes), ()),
            *sum((("--location", str(x)) for x in s.locations), ()), *sum((("--object", x) for x in s.objects), ()),
            "--mixed-frames", s.mixed_frames, "--single-frames", s.single_frames, "--frames-per-drop", s.frames_per_drop,
            "--seed", s.seed, "--width", s.width, "--height", s.height, "--renderer", "tiny", "--repair", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "1 finished drop with missing or changed files, made again: single/025_mug_16k/temple_4#0" in r.stderr
    assert changed.read_bytes() == (small_dataset / changed.relative_to(copy)).read_bytes()
    r = run("validate", copy, "--quiet")
    assert r.returncode == 0 and r.stdout.strip() == "48 frames checked, no problem", r.stdout
