"""Sharded, resumable, deterministic generation: kill and resume, workers and Dask, memory, full disks."""

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from fat import manifest
from fat.errors import ConfigError, OutputError
from fat.pipeline import Settings, Worker, generate, plan, validate

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
S = Settings(scenes=("kitchen", "temple"), locations=(0,), mixed_frames=4, frames_per_drop=2, width=320, height=180,
             renderer="tiny", seed=3)


def digest(root: Path) -> dict:
    """sha256 of every dataset file (not the manifest, whose lines come in finishing order, nor the index)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in (manifest.MANIFEST, ".fat_index.json")}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "out"
    generate(S, out)
    return out


def test_manifest_lists_every_drop_with_its_files(reference):
    done = manifest.load(reference)
    _, drops = plan(validate(S))
    assert set(done) == {manifest.drop_id(d.folder, d.index) for d in drops}
    files = {f: h for e in done.values() for f, h in e["files"].items()}
    d = digest(reference)
    assert files == {k: v for k, v in d.items() if not k.endswith("_settings.json") and "/" in k}


def test_one_worker_two_workers_and_dask_give_the_same_bytes(tmp_path, reference):
    generate(S, tmp_path / "two", workers=2)
    assert digest(tmp_path / "two") == digest(reference)
    distributed = pytest.importorskip("distributed", reason="the distributed package is not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        generate(S, tmp_path / "dask", dask=c.scheduler_address)
    assert digest(tmp_path / "dask") == digest(reference)
    assert manifest.load(tmp_path / "dask").keys() == manifest.load(reference).keys()


def test_a_worker_that_cannot_start_stops_the_run_with_its_error(tmp_path):
    """The workers make their own renderers: the first one's failure reaches the caller, nothing is written."""
    bad = replace(S, renderer="gl", gl_device="99")
    with pytest.raises(ConfigError, match="EGL device 99"):
        generate(bad, tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()


def children(pid: int) -> list[int]:
    out = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{pid}\n" in status.read_text():
                out.append(int(status.parent.name))
        except OSError:
            pass
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_resume_gives_the_uninterrupted_bytes(tmp_path, workers):
    args = [FAT, "generate", "out", "--scene", "kitchen", "--frames", "16", "--frames-per-drop", "2", "--width", "320",
            "--height", "180", "--renderer", "tiny", "--seed", "8", "--quiet", "--workers", str(workers)]
    p = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    man = tmp_path / "out" / manifest.MANIFEST
    deadline = time.time() + 300
    while time.time() < deadline and (not man.exists() or len(man.read_text().splitlines()) < 3):
        time.sleep(0.05)
    kids = children(p.pid)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.time() + 10  # worker processes end with the coordinator
    while time.time() < deadline and any(Path(f"/proc/{k}").exists() for k in kids):
        time.sleep(0.05)
    assert not [k for k in kids if Path(f"/proc/{k}").exists() and "zombie" not in Path(f"/proc/{k}/status").read_text()]
    done_before = len(manifest.load(tmp_path / "out"))
    assert 3 <= done_before < 8  # killed part-way
    r = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{2 * done_before} done before" in r.stdout
    r = subprocess.run([*args[:2], "ref", *args[3:]], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0
    assert digest(tmp_path / "out") == digest(tmp_path / "ref")
    assert not list((tmp_path / "out").rglob(".*.part"))


def test_memory_stays_flat_over_hundreds_of_frames(tmp_path):
    s = validate(replace(S, scenes=("kitedemo",), mixed_frames=300, frames_per_drop=20, width=160, height=90))
    _, drops = plan(s)
    worker = Worker(s)

    def rss_mb():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    out = tmp_path / "o"
    (out / drops[0].folder).mkdir(parents=True)
    samples = []
    try:
        for d in drops:
            worker.run(d, out)
            samples.append(rss_mb())
    finally:
        worker.close()
    assert sum(d.n_frames for d in drops) == 300
    warm = samples[2]  # after the first drops have loaded everything
    assert samples[-1] - warm < 25, samples  # MB over the next 240 frames


def test_a_full_disk_stops_cleanly_and_the_run_resumes(tmp_path, reference, monkeypatch):
    import fat.fileio

    real = fat.fileio._write
    calls = {"n": 0}

    def fill_up(path, data):
        calls["n"] += 1
        if calls["n"] > 45:  # a few drops in
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(fat.fileio, "_write", fill_up)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match=r"cannot write: the disk is full"):
        generate(S, out)
    done = manifest.load(out)
    assert done
    for entry in done.values():  # the finished drops are intact
        for f, h in entry["files"].items():
            assert hashlib.sha256((out / f).read_bytes()).hexdigest() == h
    assert not list(out.rglob(".*.part"))
    monkeypatch.setattr(fat.fileio, "_write", real)
    generate(S, out)
    assert digest(out) == digest(reference)


def test_an_unwritable_output_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        generate(S, blocker / "out")
    r = subprocess.run([FAT, "generate", str(blocker / "out"), "--renderer", "tiny", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "cannot create the output folder" in r.stderr


def test_settings_record_and_renderer_guard(tmp_path, reference):
    rec = json.loads((reference / "fat_dataset.json").read_text())
    assert rec["renderer"] == "tiny" and rec["settings"]["seed"] == 3
    with pytest.raises(OutputError, match="other settings"):
        generate(replace(S, jpeg_quality=80), reference)
