"""Shared fixtures. ``../shared`` (beside the repository) holds the FAT reference files and, on some
machines, real YCB models; set FAT_SHARED to point elsewhere. Tests that need them skip without."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FAT_SHARED", REPO.parent / "shared"))
REFERENCE = SHARED / "reference"
YCB = SHARED / "ycb"

# Published sizes and sha256 of the reference files (shared/reference/README.md).
REFERENCE_SHA256 = {
    "_ycb_original.json": "9ee331fb32d53c097ae7b12c99ecb5790c4a107cf0c12865b49f66722c4baf6a",
    "fat_banana_000000.left.json": "f1d5c1e7553511f859889c8ece0ee06f4e7b74fce8d77d738e3e20cce7db1811",
    "fat_camera_settings.json": "566047604968c79a9f2cc128c0c02e73dfbbc324949af26b009d34889fddd7ac",
}


@pytest.fixture
def reference():
    """Path of a file in shared/reference, skipping the test when the folder is absent."""

    def get(name: str) -> Path:
        p = REFERENCE / name
        if not p.is_file():
            pytest.skip(f"FAT reference file {p} is not present (set FAT_SHARED to the shared folder)")
        return p

    return get


@pytest.fixture
def ycb_dir() -> Path:
    if not (YCB / "011_banana" / "textured.obj").is_file():
        pytest.skip(f"no real YCB models at {YCB} (set FAT_SHARED to the shared folder)")
    return YCB


def pytest_configure(config):
    # Keep built assets and textures out of the user's cache; reuse them within the run.
    if "FAT_CACHE_DIR" not in os.environ:
        import tempfile

        os.environ["FAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="fat-test-cache-")
