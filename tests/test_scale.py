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

import numpy as np
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


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie (one read of /proc: it may end meanwhile)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


# The fat command, with the run held still at a point it reports: right after it records its n-th
# finished drop in the manifest ("record"), or halfway through writing the first file after that
# ("write", which leaves a half-written temporary file). It says so on the file descriptor it is
# given, then waits to be killed, so the kill lands there whatever the load on the machine.
HELD_RUN = r"""
import os, sys, threading
import fat.fileio, fat.manifest
from fat.cli.main import main

fd, after, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
recorded = 0
real_add, real_write = fat.manifest.Writer.add, fat.fileio._write

def hold(what):
    os.write(fd, (what + "\n").encode())
    threading.Event().wait()

def add(self, *args, **kw):
    global recorded
    real_add(self, *args, **kw)
    recorded += 1
    if recorded == after and mode == "record":
        hold("recorded")

def write(path, data):
    if recorded >= after and mode == "write":
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
        hold(f"writing {path}")
    real_write(path, data)

fat.manifest.Writer.add, fat.fileio._write = add, write
main(sys.argv[4:])
"""


def _run_held(cwd: Path, args: list[str], after: int, mode: str) -> tuple[subprocess.Popen, str]:
    """Start the fat command held at ``after`` recorded drops (see HELD_RUN); returns the process and
    what it reported, once it has reported it."""
    r, w = os.pipe()
    err = cwd / "held.stderr"
    try:
        with open(err, "wb") as e:
            p = subprocess.Popen([sys.executable, "-c", HELD_RUN, str(w), str(after), mode, *args], cwd=cwd,
                                 pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=e)
    finally:
        os.close(w)
    import select

    with os.fdopen(r, "rb") as f:
        if not select.select([f], [], [], 900)[0]:  # a bound for a hung run only
            p.kill()
            p.wait()
            pytest.fail(f"the run neither reported nor ended: {err.read_text()[-2000:]}")
        said = f.readline().decode()  # returns at the report, or at end of file if the run ended without one
    if not said:
        p.kill()
        p.wait()
        pytest.fail(f"the run ended before it was held: {err.read_text()[-2000:]}")
    return p, said


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_then_resume_gives_the_uninterrupted_bytes(tmp_path, workers):
    """The coordinator is killed (SIGKILL) right after its third drop is recorded (2 workers: the
    others are still making drops) or halfway through a file of the fourth (1 worker); the resumed run
    redoes exactly the drops not recorded and gives the bytes of an uninterrupted run. Catches a
    resume that trusts files over the manifest, that keeps a half-written file, or workers that
    outlive the coordinator."""
    args = ["generate", "out", "--scene", "kitchen", "--frames", "16", "--frames-per-drop", "2", "--width", "320",
            "--height", "180", "--renderer", "tiny", "--seed", "8", "--quiet", "--workers", str(workers)]
    p, said = _run_held(tmp_path, args, 3, "write" if workers == 1 else "record")
    kids = children(p.pid)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert workers == 1 or len(kids) >= workers
    deadline = time.monotonic() + 300  # worker processes end with the coordinator (a bound for failure only)
    while [k for k in kids if alive(k)] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [k for k in kids if alive(k)]
    assert len(manifest.load(tmp_path / "out")) == 3  # exactly what was recorded before the kill
    if workers == 1:
        assert said.startswith("writing ") and (tmp_path / said.split(" ", 1)[1].strip()).is_file()  # half-written
    r = subprocess.run([FAT, *args], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert f"{2 * 3} done before" in r.stdout
    r = subprocess.run([FAT, args[0], "ref", *args[2:]], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0
    assert digest(tmp_path / "out") == digest(tmp_path / "ref")
    assert not list((tmp_path / "out").rglob(".*.part"))


def test_memory_does_not_grow_with_the_frames_made(tmp_path):
    """A worker making 300 frames: after the first drops, its resident memory does not grow with the
    number of frames. Free heap is handed back to the system before each reading (glibc malloc_trim),
    so what is measured is memory in use, not what the allocator keeps; the growth per frame is the
    slope of a line fitted through the readings after each of the 13 later drops (60 to 300 frames).
    Catches a leak of half an RGB image per frame or more (e.g. each frame's image kept in a list)."""
    import ctypes
    import gc

    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        pytest.skip("needs glibc's malloc_trim to measure memory in use")
    s = validate(replace(S, scenes=("kitedemo",), mixed_frames=300, frames_per_drop=20, width=160, height=90))
    _, drops = plan(s)
    worker = Worker(s)

    def rss_kb():
        gc.collect()
        malloc_trim(0)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        pytest.skip("no VmRSS in /proc/self/status")

    out = tmp_path / "o"
    (out / drops[0].folder).mkdir(parents=True)
    frames, samples = [], []
    made = 0
    try:
        for d in drops:
            made += worker.run(d, out)[0]
            frames.append(made)
            samples.append(rss_kb())
    finally:
        worker.close()
    assert made == 300
    x, y = np.array(frames[2:], float), np.array(samples[2:], float)  # after the first drops have loaded everything
    per_frame = np.polyfit(x, y, 1)[0] * 1024  # bytes per frame
    image = 160 * 90 * 3
    assert per_frame < image / 2, f"memory grows by {per_frame / 1024:.1f} KB a frame: {samples} KB"


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
