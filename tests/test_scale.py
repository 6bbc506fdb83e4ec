"""Sharded, deterministic generation: the manifest, workers and Dask, memory, the settings record. The
faults (kill -9, Ctrl-C, full disks) are in test_faults.py."""

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from fat.run import manifest
from fat.errors import ConfigError, OutputError
from fat.run.plan import plan
from fat.run.driver import generate
from fat.settings import Settings
from fat.run.resolve import object_set, plan_of, resolve
from fat.run.worker import Worker

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


@pytest.mark.slow
def test_manifest_lists_every_drop_with_its_files(reference):
    done = manifest.load(reference)
    _, drops = plan_of((S))
    assert set(done) == {manifest.drop_id(d.folder, d.index) for d in drops}
    files = {f: h for e in done.values() for f, h in e["files"].items()}
    d = digest(reference)
    assert files == {k: v for k, v in d.items() if not k.endswith("_settings.json") and "/" in k}


@pytest.mark.slow
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
    bad = replace(S, renderer="gl", renderer_options={"gl_device": "99"})
    with pytest.raises(ConfigError, match="EGL device 99"):
        generate(bad, tmp_path / "out", workers=2)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
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
    s = resolve(replace(S, scenes=("kitedemo",), mixed_frames=300, frames_per_drop=20, width=160, height=90))
    _, drops = plan(s, object_set(s))
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


def test_settings_record_and_renderer_guard(tmp_path, reference):
    rec = json.loads((reference / "fat_dataset.json").read_text())
    assert rec["renderer"] == "tiny" and rec["settings"]["seed"] == 3
    with pytest.raises(OutputError, match="other settings"):
        generate(replace(S, jpeg_quality=80), reference)
