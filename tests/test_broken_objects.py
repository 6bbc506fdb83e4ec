"""Broken object files: a truncated STL, an OBJ cut short, a garbage file in the asset cache. Real
YCB scans are copied into the test's folder and damaged there, never in place."""

import os
import shutil

import numpy as np
import pytest

from fat_cli import error_line, run_fat

SMALL = ["--scene", "kitchen", "--kind", "single", "--object", "banana", "--frames", "1", "--width", "64",
         "--height", "48", "--renderer", "tiny", "--quiet"]


@pytest.fixture
def banana(tmp_path, ycb_dir):
    """A writable copy of the banana scan: tmp/ycb/011_banana/{textured.obj, textured_vhacd.stl, ...}."""
    dst = tmp_path / "ycb" / "011_banana"
    shutil.copytree(ycb_dir / "011_banana", dst)
    for p in dst.iterdir():
        p.chmod(0o644)
    dst.chmod(0o755)
    return dst


def refused(capfd, tmp_path, *args) -> str:
    rc, out, err = run_fat(capfd, "generate", tmp_path / "out", *args)
    assert rc == 1 and all(line.startswith("plan: ") for line in out.splitlines())  # at most the plan line
    assert not (tmp_path / "out").exists(), "files were written before the refusal"
    return error_line(err)


def test_truncated_collision_stl_is_one_line(capfd, tmp_path, banana):
    """A binary STL cut short used to read as an empty mesh without a word (trimesh), and the empty
    collision shape then failed later with a traceback."""
    stl = banana / "textured_vhacd.stl"
    data = stl.read_bytes()
    stl.write_bytes(data[: len(data) // 2])
    line = refused(capfd, tmp_path, "--objects", tmp_path / "ycb", *SMALL)
    assert line == (f"fat: error: {stl}: a binary STL of 1,164 triangles is {len(data):,} bytes, this file has "
                    f"{len(data) // 2:,}; is it cut short or damaged?")


def test_obj_cut_in_a_face_line_is_refused(capfd, tmp_path, banana):
    """An OBJ cut in the middle of a face line used to be read without its last faces and without
    a word: a scan with a hole, and annotations from it. Its last line is checked with the settings
    (the scan is not read then), so it is refused before the plan is made."""
    obj = banana / "textured.obj"
    data = obj.read_bytes()
    cut = data.rindex(b"\nf ") + 5  # inside the last face line
    obj.write_bytes(data[:cut])
    line = refused(capfd, tmp_path, "--objects", tmp_path / "ycb", *SMALL)
    last = data[data.rindex(b"\nf ") + 1:cut].decode()
    assert line == f"fat: error: {obj}: the file ends inside a line ({last!r}); is it cut short or damaged?"


@pytest.mark.slow
def test_obj_cut_at_a_line_end_warns_that_the_scan_is_not_closed(capfd, tmp_path, banana):
    """An OBJ that lost its last face lines whole reads without error; the scan, a closed surface,
    now has open edges, and the conversion says so in one line (the run goes on)."""
    obj = banana / "textured.obj"
    lines = obj.read_bytes().splitlines(keepends=True)
    obj.write_bytes(b"".join(lines[:-100]))
    rc, out, err = run_fat(capfd, "generate", tmp_path / "out", "--objects", tmp_path / "ycb", *SMALL)
    assert rc == 0, err
    assert error_line(err).startswith(f"fat: warning: {obj}: the mesh is not closed (")
    assert err.strip().endswith("edges border one triangle only); is the file cut short?")


def test_garbage_cache_file_is_rebuilt(capfd, tmp_path, monkeypatch):
    """A parts.npz in the asset cache that is not a numpy archive used to stop every run with a
    BadZipFile/pickle traceback; it is rebuilt, and the dataset is the same as from a sound cache."""
    monkeypatch.setenv("FAT_CACHE_DIR", str(tmp_path / "cache"))
    rc, _, err = run_fat(capfd, "generate", tmp_path / "first", *SMALL)
    assert rc == 0, err
    (parts,) = (tmp_path / "cache" / "assets").glob("*/011_banana/parts.npz")
    parts.write_bytes(b"\x00garbage, not a numpy archive" * 10)
    rc, _, err = run_fat(capfd, "generate", tmp_path / "second", *SMALL)
    assert rc == 0 and err == "", err
    with np.load(parts) as z:  # rebuilt in place
        assert "hull" in z.files
    first = {p.relative_to(tmp_path / "first"): p.read_bytes() for p in (tmp_path / "first").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "second"): p.read_bytes() for p in (tmp_path / "second").rglob("*") if p.is_file()}
    assert first == second
    assert not [p for p in parts.parent.parent.iterdir() if p.name.startswith(".")], "temporary folders left"


_BUILDER = """
import sys, time
import fat.assets.objects as A
from fat.catalog import fat_objects

log = sys.argv[1]
build = A._build_standin

def slow_build(info, folder):  # a build long enough for the other processes to reach the cache meanwhile
    build(info, folder)
    with open(log, "a") as f:
        f.write(info.name + "\\n")
    time.sleep(1.0)

A._build_standin = slow_build
assets = A.standin_assets(fat_objects().subset(["mug", "bowl"]))
assert all(a.folder.is_dir() and len(a.parts) > 0 for a in assets.values())
"""


@pytest.mark.slow
def test_processes_starting_on_an_empty_cache_build_each_asset_once(tmp_path):
    """Worker processes start together on an empty asset cache (``fat generate --workers N`` after an
    update): one builds each asset, the others wait and load its folder. Catches builders that
    replace each other's finished folders (a worker then finds the asset missing and fails)."""
    import subprocess
    import sys

    env = {**os.environ, "FAT_CACHE_DIR": str(tmp_path / "cache")}
    log = tmp_path / "builds.log"
    procs = [subprocess.Popen([sys.executable, "-c", _BUILDER, str(log)], env=env, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert sorted(log.read_text().split()) == ["024_bowl", "025_mug"]  # each built once, by one process
