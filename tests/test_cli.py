"""The installed ``fat`` command, run as a user runs it: from any directory, as a subprocess."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REFERENCE_SHA256

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


def run(*args, cwd):
    return subprocess.run([FAT, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_objects_table(tmp_path):
    r = run("objects", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert sum(1 for line in lines if "_16k" in line) == 21
    assert "011_banana_16k" in r.stdout and " 120 " in r.stdout and "255" in lines[-1]


def test_objects_fat_settings_is_the_published_file(tmp_path, reference):
    import hashlib

    r = subprocess.run([FAT, "objects", "--fat-settings"], cwd=tmp_path, capture_output=True, timeout=120)
    assert r.returncode == 0
    assert hashlib.sha256(r.stdout).hexdigest() == REFERENCE_SHA256["_ycb_original.json"]
    assert r.stdout == reference("_ycb_original.json").read_bytes()


@pytest.mark.parametrize("args", [("objects", "--bogus"), ("objects", "--fat-spelling"), ("nonsense",)])
@pytest.mark.slow
def test_bad_usage_is_one_line_and_non_zero(tmp_path, args):
    r = run(*args, cwd=tmp_path)
    assert r.returncode != 0
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "error" in r.stderr


def test_version_and_help(tmp_path):
    assert run("--version", cwd=tmp_path).stdout.startswith("fat, version")
    r = run("--help", cwd=tmp_path)
    assert r.returncode == 0 and "objects" in r.stdout
