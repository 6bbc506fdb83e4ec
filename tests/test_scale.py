"""Sharded, deterministic generation: the manifest, workers and Dask, memory, the settings record. The
faults (kill -9, Ctrl-C, full disks) are in test_faults.py."""

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from fat import manifest
from fat.errors import ConfigError, OutputError
from fat.pipeline import Settings, Worker, generate, plan, validate

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


def test_settings_record_and_renderer_guard(tmp_path, reference):
    rec = json.loads((reference / "fat_dataset.json").read_text())
    assert rec["renderer"] == "tiny" and rec["settings"]["seed"] == 3
    with pytest.raises(OutputError, match="other settings"):
        generate(replace(S, jpeg_quality=80), reference)
