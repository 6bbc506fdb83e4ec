"""``fat export hdf5`` and ``fat.Dataset`` on the file: the same items as the folder."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fat
from fat.errors import FormatError

pytest.importorskip("h5py", reason="h5py is not installed")

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
FIELDS = ("rgb", "depth", "seg", "instance", "annotations")


@pytest.fixture(scope="module")
def h5(small_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("h5") / "small.h5"
    r = subprocess.run([FAT, "export", "hdf5", str(small_dataset), str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"{out}: 96 views"
    return out


def _same(a: dict, b: dict) -> None:
    for k in ("folder", "index", "eye", "kind", "scene", "location", "split", "width", "height"):
        assert a[k] == b[k], k
    assert a.keys() == b.keys()
    for k in ("rgb", "depth", "depth_valid", "seg", "instance", "K", "camera_pose"):
        assert np.array_equal(a[k], b[k]), k
    assert a["raw"] == b["raw"]
    for o, p in zip(a["objects"], b["objects"]):
        assert o["class"] == p["class"] and np.array_equal(o["pose"], p["pose"]) and np.array_equal(o["bbox"], p["bbox"])
        assert o["segmentation_id"] == p["segmentation_id"] and np.array_equal(o["dimensions"], p["dimensions"])


@pytest.mark.slow
def test_round_trip_equals_the_folder(small_dataset, h5):
    for eyes in ("left", "both"):
        a = fat.Dataset(small_dataset, eyes=eyes, fields=FIELDS)
        b = fat.Dataset(h5, eyes=eyes, fields=FIELDS)
        assert isinstance(b, fat.Dataset) and type(b) is type(a)  # one reader; the storage differs
        assert len(a) == len(b) and a.frames() == b.frames()
        for i in range(len(a)):
            _same(a[i], b[i])


def test_filters_and_stereo_on_the_file(small_dataset, h5):
    for kw in ({"split": "test"}, {"kind": "single", "scenes": ["temple"]}, {"classes": ["mug"]}):
        assert fat.Dataset(h5, fields=(), **kw).frames() == fat.Dataset(small_dataset, fields=(), **kw).frames(), kw
    a = fat.Dataset(small_dataset, eyes="stereo", kind="mixed", fields=("depth", "annotations"))[2]
    b = fat.Dataset(h5, eyes="stereo", kind="mixed", fields=("depth", "annotations"))[2]
    assert np.array_equal(a["disparity"], b["disparity"]) and a["right"]["eye"] == b["right"]["eye"] == "right"


@pytest.mark.slow
def test_corrupt_frames_fail_or_are_skipped(tmp_path, small_dataset):
    root = tmp_path / "bad"
    shutil.copytree(small_dataset, root)
    p = root / "mixed/temple_4/000002.left.json"
    p.write_text(p.read_text()[:100])
    r = subprocess.run([FAT, "export", "hdf5", str(root), str(tmp_path / "a.h5"), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 1 and "000002.left.json: invalid JSON" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.h5").exists() and not list(tmp_path.glob(".a.h5*"))
    r = subprocess.run([FAT, "export", "hdf5", str(root), str(tmp_path / "b.h5"), "--skip-bad", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "skipped:" in r.stderr and r.stdout.strip().endswith("95 views")
    with pytest.raises(FormatError, match="not a fat HDF5 file"):
        bad = tmp_path / "x.h5"
        bad.write_bytes(b"not hdf5")
        fat.Dataset(bad)


@pytest.fixture(scope="module")
def three_kinds(tmp_path_factory):
    """A small dataset of every kind (``fat generate --kind both --kind dr``) and its HDF5 export."""
    from fat.exports.hdf5 import export
    from fat.run.driver import generate
    from fat.settings import Settings

    root = tmp_path_factory.mktemp("kinds")
    generate(Settings(kinds=("single", "mixed", "dr"), scenes=("kitchen",), locations=(0,), objects=("banana", "mug"),
                      mixed_frames=2, single_frames=2, dr_frames=2, frames_per_drop=2, seed=4, width=160, height=90,
                      renderer="tiny"), root / "ds")
    export(root / "ds", root / "ds.h5")
    return root / "ds", root / "ds.h5"


def test_folder_and_file_give_the_same_items_in_the_same_order_for_every_kind(three_kinds):
    """With single, mixed and dr folders, ``fat.Dataset(folder)`` and ``fat.Dataset(export.h5)`` give
    the same items (names and arrays) in the same order, kind by kind as documented: mixed, dr,
    single, each kind's folders by name, frames by number; filters keep that order. Catches: the
    file's folders sorted by name (dr/ before mixed/) while the folder reads mixed/ first, any other
    order that differs between the two storages, and the folder's ``classes`` filter failing on dr
    folders (their frames' classes left out of the frame index: KeyError)."""
    folder, h5 = three_kinds
    for eyes in ("left", "both", "stereo"):
        a = fat.Dataset(folder, eyes=eyes, fields=FIELDS)
        b = fat.Dataset(h5, eyes=eyes, fields=FIELDS)
        assert list(a.folders) == list(b.folders) == [
            "mixed/kitchen_0", "dr/kitchen_0", "single/011_banana_16k/kitchen_0", "single/025_mug_16k/kitchen_0"]
        assert a.frames() == b.frames() and len(a) == len(b) == {"left": 8, "both": 16, "stereo": 8}[eyes]
        kinds = [a[i]["kind"] for i in range(len(a))]
        assert kinds == sorted(kinds, key=["mixed", "dr", "single"].index)
        for i in range(len(a)):
            x, y = a[i], b[i]
            assert (x["folder"], x["index"], x["eye"]) == (y["folder"], y["index"], y["eye"])
            if eyes == "stereo":
                _same(x["left"], y["left"])
                _same(x["right"], y["right"])
                assert np.array_equal(x["disparity"], y["disparity"])
            else:
                _same(x, y)
    for kw in ({"kind": "dr"}, {"kind": "both", "classes": ["mug"]}, {"split": "train"}):
        assert fat.Dataset(h5, fields=(), **kw).frames() == fat.Dataset(folder, fields=(), **kw).frames(), kw
