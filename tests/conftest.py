"""Shared fixtures. ``../shared`` (beside the repository) holds the FAT reference files and, on some
machines, real YCB models; set FAT_SHARED to point elsewhere. Tests that need them skip without."""

from __future__ import annotations

import os
import shutil
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


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """A small generated dataset: both kinds, kitchen and temple, locations 0 (train) and 4 (test)."""
    from fat.run.driver import generate
    from fat.settings import Settings

    out = tmp_path_factory.mktemp("small") / "ds"
    generate(Settings(kinds=("mixed", "single"), scenes=("kitchen", "temple"), locations=(0, 4),
                      objects=("banana", "mug", "mustard_bottle", "wood_block"), mixed_frames=4, single_frames=2,
                      frames_per_drop=2, seed=21, width=320, height=180, renderer="tiny"), out)
    return out


@pytest.fixture
def fat_tree(tmp_path, reference):
    """A real-FAT-shaped tree (fat/single/..., fat/mixed/...) around the published banana frame, with
    synthetic images whose masks fill the published 2D box; no instance maps, no split file."""
    import json
    import shutil

    import numpy as np

    from fat import catalog
    from fat.formats import fat as F

    root = tmp_path / "download"
    left = json.loads(reference("fat_banana_000000.left.json").read_text())
    mustard = json.loads(json.dumps(left))
    mustard["objects"][0]["class"] = "006_mustard_bottle_16K"
    for rel, doc, single in (("fat/single/011_banana_16k/kitchen_0", left, True),
                             ("fat/single/011_banana_16k/temple_4", left, True),
                             ("fat/mixed/kitedemo_1", mustard, False)):
        d = root / rel
        d.mkdir(parents=True)
        shutil.copy(reference("fat_camera_settings.json"), d / "_camera_settings.json")
        objs = [catalog.fat_objects().get("banana")] if single else list(catalog.fat_objects().objects)
        (d / "_object_settings.json").write_text(F.object_settings_json(objs, single=single))
        sid = 255 if single else catalog.fat_objects().get("mustard_bottle").segmentation_id
        (y0, x0), (y1, x1) = doc["objects"][0]["bounding_box"]["top_left"], doc["objects"][0]["bounding_box"]["bottom_right"]
        seg = np.zeros((540, 960), np.uint8)
        seg[int(np.ceil(y0)) + 1:int(y1) - 1, int(np.ceil(x0)) + 1:int(x1) - 1] = sid
        depth = np.where(seg > 0, 0.98, 3.0)
        rgb = np.full((540, 960, 3), 90, np.uint8)
        rgb[seg > 0] = (230, 200, 40)
        files = F.encode_images(rgb, depth, seg, np.zeros((540, 960), np.uint16))
        for i in (0, 1):
            for eye in ("left", "right"):
                (d / f"{i:06d}.{eye}.json").write_text(json.dumps(doc, indent="\t").replace("\n", "\r\n"))
                for kind in ("rgb", "depth", "seg"):
                    F.frame_file(d, i, eye, kind).write_bytes(files[kind])
    return root


def renderer_or_skip(kind: str):
    """A renderer of this kind, or a skip saying why it cannot run here."""
    from fat.errors import ConfigError
    from fat.render import make_renderer

    try:
        return make_renderer(kind)
    except ConfigError as e:
        pytest.skip(f"renderer {kind} is not available here: {e}")


def gl_available() -> str | None:
    from fat.render.gl.renderer import available

    return available()


@pytest.fixture
def scenes_dir(tmp_path, monkeypatch):
    """A scenes folder (``fat.scene.scenes.scenes_folder``) of our own: FAT's three scene files and whatever a test adds."""
    folder = tmp_path / "scenes"
    from fat.scene import scenes as scene

    shutil.copytree(scene.scenes_folder(), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(scene, "scenes_folder", lambda: folder)
    for f in (scene.scene_names, scene.load_scene):
        f.cache_clear()
    yield folder
    for f in (scene.scene_names, scene.load_scene):
        f.cache_clear()
