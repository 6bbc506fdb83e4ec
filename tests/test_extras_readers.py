"""What reads the extra files of ``fat generate --extras`` (:mod:`fat.formats.extras`): ``fat.Dataset``
on a folder and on its HDF5 export, the BOP export's ``mask/``, ``fat show``'s panels and ``fat
validate``. The datasets are generated without extras and given made-up, consistent extra files
(tests/extras_files.py), so these tests do not depend on the generator's side."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fat
from fat.errors import ConfigError, FormatError
from fat.formats.extras import AMODAL_KEY, EXTRAS, encode_amodal, encode_coordinates, encode_normals, extra_file

from extras_files import add_extras
from fat_cli import error_line, run_fat

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
W, H = 128, 96
FOLDER = "mixed/kitchen_0"
BASE_FIELDS = ("rgb", "depth", "seg", "instance", "annotations")
EXTRA_ITEM_KEYS = {"normals", "normals_valid", "flow", "flow_valid", "flow_back", "flow_back_valid", "coordinates",
                   "coordinates_valid", "amodal_masks"}


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Path:
    """A small dataset without extras: one kitchen folder, two drops of two frames, at 128 x 96."""
    from fat.run.driver import generate
    from fat.settings import Settings

    out = tmp_path_factory.mktemp("plain") / "ds"
    generate(Settings(kinds=("mixed",), scenes=("kitchen",), locations=(0,), objects=("banana", "mug", "mustard_bottle"),
                      mixed_frames=4, frames_per_drop=2, seed=7, width=W, height=H, renderer="tiny"), out)
    return out


@pytest.fixture(scope="module")
def extras(plain, tmp_path_factory) -> tuple[Path, dict]:
    """``plain`` with every extra file (tests/extras_files.py), and what was written."""
    root = tmp_path_factory.mktemp("extras") / "ds"
    shutil.copytree(plain, root)
    return root, add_extras(root)


def _copy(src: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(src, root)
    (root / ".fat_index.json").unlink(missing_ok=True)
    return root


# ------------------------------------------------------------------ fat.Dataset
def test_items_carry_the_extras_as_written(extras):
    """Catches: OpenCV's BGR order kept (x and z of a normal swapped), flow and flow_back swapped or
    u and v swapped, KITTI's offset or scale misread, amodal bits read in the wrong order or masks
    counted from the visible objects instead of the listed ones, the eyes' files mixed up. Every
    view's extras come back as written, within the 16-bit quantisation: normals and object
    coordinates (H, W, 3) float32 with zeros where invalid, flow and flow_back (H, W, 2) float32
    pixels with their ``*_valid`` masks, one amodal mask per listed object in the JSON's order."""
    root, written = extras
    ds = fat.Dataset(root, eyes="both", fields=BASE_FIELDS + EXTRAS)
    assert len(ds) == 8
    for item in ds:
        want = written[(item["folder"], item["index"], item["eye"])]
        assert EXTRA_ITEM_KEYS <= item.keys()
        for kind, tol in (("normals", 1e-4), ("coordinates", 1e-4), ("flow", 1 / 128 + 1e-6), ("flow_back", 1 / 128 + 1e-6)):
            values, valid = want[kind]
            got, got_valid = item[kind], item[f"{kind}_valid"]
            assert got.dtype == np.float32 and got.shape == (H, W, values.shape[2]) and got_valid.dtype == bool
            assert np.array_equal(got_valid, valid), kind
            assert np.abs(got[valid] - values[valid]).max() <= tol, kind
            assert not got[~valid].any(), kind  # zeros where invalid
            assert valid.any() and not valid.all(), kind  # the test data has both
        masks = item["amodal_masks"]
        assert masks.dtype == bool and masks.shape == (len(item["raw"]["objects"]), H, W)
        assert np.array_equal(masks, want["amodal"])
        for k, o in enumerate(item["raw"]["objects"]):
            assert o[AMODAL_KEY] == masks[k].sum() and not ((item["instance"] == k + 1) & ~masks[k]).any()


def test_a_dataset_without_extras_reads_exactly_as_before(plain):
    """Catches: keys set to None or to empty arrays for absent files, a missing extra file raising,
    amodal masks made up from the JSON's object count alone. On a dataset without extra files the
    items have exactly the keys and arrays they had before the extras existed, whatever fields are
    asked for (the extras too)."""
    before = {"folder", "index", "eye", "kind", "scene", "location", "split", "K", "width", "height", "baseline",
              "camera_pose", "objects", "raw", "rgb", "depth", "depth_valid", "seg"}
    default = fat.Dataset(plain)
    asked = fat.Dataset(plain, fields=("rgb", "depth", "seg", "annotations") + EXTRAS)
    for a, b in zip(default, asked, strict=True):
        assert a.keys() == b.keys() == before
        for k in ("rgb", "depth", "depth_valid", "seg", "K", "camera_pose"):
            assert np.array_equal(a[k], b[k])
        assert a["raw"] == b["raw"] and AMODAL_KEY not in json.dumps(a["raw"])
    only = fat.Dataset(plain, fields=EXTRAS)[0]
    assert not only.keys() & EXTRA_ITEM_KEYS and "rgb" not in only


def test_fields_choose_the_extras_and_a_missing_file_leaves_its_keys_out(extras, tmp_path):
    """Catches: extras read whatever the fields, amodal needing ``annotations`` for its object count,
    one missing file dropping the other extras or failing the view. ``fields`` selects extras like
    the other fields (``flow`` gives both directions), and a view without one file lacks only that
    file's keys."""
    root, written = extras
    item = fat.Dataset(root, fields=("normals",))[0]
    assert {k for k in item if k in EXTRA_ITEM_KEYS} == {"normals", "normals_valid"} and "rgb" not in item
    item = fat.Dataset(root, fields=("flow",))[0]
    assert {k for k in item if k in EXTRA_ITEM_KEYS} == {"flow", "flow_valid", "flow_back", "flow_back_valid"}
    item = fat.Dataset(root, fields=("amodal",))[0]
    assert "raw" not in item and np.array_equal(item["amodal_masks"], written[(FOLDER, 0, "left")]["amodal"])
    copy = _copy(root, tmp_path)
    extra_file(copy / FOLDER, 1, "left", "flow_back").unlink()
    ds = fat.Dataset(copy, eyes="stereo", fields=EXTRAS)
    assert {k for k in ds[1]["left"] if k in EXTRA_ITEM_KEYS} == EXTRA_ITEM_KEYS - {"flow_back", "flow_back_valid"}
    assert EXTRA_ITEM_KEYS <= ds[1]["right"].keys() and EXTRA_ITEM_KEYS <= ds[0]["left"].keys()
    with pytest.raises(ConfigError, match="unknown fields"):
        fat.Dataset(root, fields=("normal",))


def test_a_bad_extra_file_is_a_format_error_naming_it(extras, tmp_path):
    """Catches: OpenCV's ``None`` passed on (a TypeError far away), an 8-bit file read as values, a
    size that does not match the camera, an amodal file with too few planes for the listed objects.
    Each raises the loader's one-line FormatError naming the file, or with ``on_error="skip"``
    leaves the view out and lists it."""
    root, _ = extras
    copy = _copy(root, tmp_path)
    d = copy / FOLDER
    extra_file(d, 0, "left", "normals").write_bytes(extra_file(d, 0, "left", "normals").read_bytes()[:200])
    cv2.imwrite(str(extra_file(d, 1, "left", "coordinates")), np.zeros((H, W, 3), np.uint8))
    cv2.imwrite(str(extra_file(d, 2, "left", "flow")), np.zeros((H // 2, W, 3), np.uint16))
    doc = json.loads((d / "000003.left.json").read_text())
    doc["objects"] = (doc["objects"] * 20)[:17]  # 17 listed objects: a grey amodal PNG holds 16
    (d / "000003.left.json").write_text(json.dumps(doc))
    ds = fat.Dataset(copy, fields=EXTRAS)
    expect = [(0, "000000.left.normals.png: not a 16-bit RGB PNG"), (1, "000001.left.coordinates.png: not a 16-bit RGB PNG"),
              (2, f"000002.left.flow.png: image is {W}x{H // 2}, expected {W}x{H}"),
              (3, "000003.left.amodal.png: the amodal image holds 16 objects, the view lists 17")]
    for i, message in expect:
        with pytest.raises(FormatError) as e:
            ds[i]
        assert message in str(e.value) and str(d) in str(e.value) and "\n" not in str(e.value)
    skipping = fat.Dataset(copy, fields=EXTRAS, on_error="skip")
    assert list(skipping) == [] and [s[1] for s in skipping.skipped] == [0, 1, 2, 3]


# ------------------------------------------------------------------ HDF5
@pytest.fixture(scope="module")
def h5(extras, tmp_path_factory):
    """The extras dataset with view 2 (left) given an RGBA amodal file (4 bit planes), and its HDF5 export."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    root, written = extras
    copy = tmp_path_factory.mktemp("rgba") / "ds"
    shutil.copytree(root, copy)
    masks = written[(FOLDER, 2, "left")]["amodal"]
    padded = np.concatenate([masks, np.zeros((17 - len(masks), H, W), bool)])  # 17 masks: an RGBA file
    extra_file(copy / FOLDER, 2, "left", "amodal").write_bytes(encode_amodal(padded))
    assert cv2.imread(str(extra_file(copy / FOLDER, 2, "left", "amodal")), cv2.IMREAD_UNCHANGED).shape == (H, W, 4)
    out = tmp_path_factory.mktemp("h5") / "x.h5"
    r = subprocess.run([FAT, "export", "hdf5", str(copy), str(out), "--quiet"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return copy, out


def test_hdf5_export_keeps_the_extras_and_reads_them_back_as_the_folder(h5):
    """Catches: extras left out of the export, a reader that decodes the file's values differently
    from the PNG reader, an RGBA amodal file's planes stored in OpenCV's BGRA order (the first 16
    objects read from B), earlier rows broken when the planes grow. The export keeps each kind as
    uint16 values chunked by image and LZF-compressed, amodal as bit planes grown to four when a
    view needs them, and ``fat.Dataset`` on the file gives every extra key equal to the folder's."""
    import h5py

    folder, path = h5
    with h5py.File(path, "r") as f:
        for kind in ("normals", "flow", "flow_back", "coordinates"):
            d = f[f"extras/{kind}"]
            assert d.shape == (8, H, W, 3) and d.dtype == np.uint16 and d.compression == "lzf" and d.chunks == (1, H, W, 3)
        assert f["extras/amodal"].shape == (8, H, W, 4) and f["extras/amodal"].dtype == np.uint16
    a = fat.Dataset(folder, eyes="both", fields=BASE_FIELDS + EXTRAS)
    b = fat.Dataset(path, eyes="both", fields=BASE_FIELDS + EXTRAS)
    assert len(a) == len(b) == 8
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys() and EXTRA_ITEM_KEYS <= x.keys()
        for k in EXTRA_ITEM_KEYS:
            assert x[k].dtype == y[k].dtype and np.array_equal(x[k], y[k]), (x["index"], x["eye"], k)
        assert x["amodal_masks"].any()
    b.close()


def test_hdf5_export_of_a_bad_extra_file_stops_or_skips(extras, tmp_path):
    """Catches: a corrupt extra file exported as zeros or crashing the export. It stops the export
    with the file named (no file left), and ``--skip-bad`` leaves that view out."""
    pytest.importorskip("h5py", reason="h5py is not installed")
    root, _ = extras
    copy = _copy(root, tmp_path)
    extra_file(copy / FOLDER, 1, "right", "flow_back").write_bytes(b"not a png")
    r = subprocess.run([FAT, "export", "hdf5", str(copy), str(tmp_path / "a.h5"), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 1 and "000001.right.flow_back.png: not a 16-bit RGB PNG" in r.stderr
    assert not (tmp_path / "a.h5").exists()
    r = subprocess.run([FAT, "export", "hdf5", str(copy), str(tmp_path / "b.h5"), "--quiet", "--skip-bad"],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip().endswith("7 views")


def test_hdf5_export_of_a_dataset_without_extras_has_none(plain, tmp_path):
    """Catches: empty extras datasets written for a dataset without extra files (a reader would then
    give all-invalid arrays where the folder gives no keys). The file has no ``extras`` group and
    reads as the folder."""
    h5py = pytest.importorskip("h5py", reason="h5py is not installed")
    out = tmp_path / "plain.h5"
    r = subprocess.run([FAT, "export", "hdf5", str(plain), str(out), "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert "extras" not in f and "depth" in f
    ds = fat.Dataset(out, fields=BASE_FIELDS + EXTRAS)
    assert len(ds) == 4 and not any(item.keys() & EXTRA_ITEM_KEYS for item in ds)
    ds.close()


# ------------------------------------------------------------------ BOP
def _bop(root: Path, out: Path) -> Path:
    r = subprocess.run([FAT, "export", "bop", str(root), str(out), "--renderer", "tiny", "--quiet"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return out


def test_bop_masks_are_the_amodal_masks_and_px_count_all_counts_them(plain, extras, tmp_path):
    """Catches: amodal files ignored, masks of the wrong object, px_count_all left as the render's or
    cut to the in-image count (losing the part outside), mask_visib changed. With amodal files,
    ``mask/`` is each object's amodal mask and ``px_count_all`` the rendered silhouette's pixels
    outside the image plus the amodal mask's (bop_toolkit counts the whole silhouette, its part past
    the border included), ``px_count_valid`` the amodal pixels with depth; ``mask_visib``,
    ``px_count_visib`` and the boxes are those of the export without amodal files."""
    root, written = extras
    a, b = _bop(plain, tmp_path / "plain"), _bop(root, tmp_path / "amodal")
    n, differs = 0, 0
    for rel, src in json.loads((b / "scenes.json").read_text()).items():
        info_a = json.loads((a / rel / "scene_gt_info.json").read_text())
        info_b = json.loads((b / rel / "scene_gt_info.json").read_text())
        for im, rows in info_b.items():
            masks = written[(src["folder"], int(im), src["eye"])]["amodal"]
            depth = cv2.imread(str(b / rel / f"depth/{int(im):06d}.png"), cv2.IMREAD_UNCHANGED)
            for k, (ia, ib) in enumerate(zip(info_a[im], rows, strict=True)):
                name = f"{int(im):06d}_{k:06d}.png"
                mask_a, mask_b = (cv2.imread(str(x / rel / "mask" / name), 0) > 0 for x in (a, b))
                assert np.array_equal(mask_b, masks[k])
                assert np.array_equal(cv2.imread(str(a / rel / "mask_visib" / name), 0),
                                      cv2.imread(str(b / rel / "mask_visib" / name), 0))
                assert ib["px_count_all"] - ia["px_count_all"] == masks[k].sum() - mask_a.sum()
                assert ib["px_count_all"] >= masks[k].sum()
                assert ib["px_count_valid"] == (masks[k] & (depth > 0)).sum()
                assert ib["visib_fract"] == (ib["px_count_visib"] / ib["px_count_all"] if ib["px_count_all"] else 0.0)
                for key in ("px_count_visib", "bbox_obj", "bbox_visib"):
                    assert ia[key] == ib[key]
                differs += not np.array_equal(mask_a, mask_b)
                n += 1
    assert n > 10 and differs > 0  # the made-up amodal masks (boxes) are not the rendered silhouettes


# ------------------------------------------------------------------ fat show
def test_show_draws_the_extra_panels(extras):
    """Catches: a panel drawn from the wrong key or eye, invalid pixels coloured, normals drawn
    unshifted (negative components clipped to black). At the image's own size: normals as (n + 1)
    / 2, object coordinates as RGB, flow black where invalid and coloured where valid, amodal masks
    black outside every mask and coloured inside, the right eye's panels from the right view."""
    from fat.study.show import frame_picture

    root, written = extras
    ds = fat.Dataset(root, eyes="stereo", fields=("seg", "instance", "annotations") + EXTRAS)
    panels = ("normals", "coordinates", "flow", "flow_back", "amodal", "right-normals")
    pic, layout = frame_picture(ds, 1, panels, width=W * len(panels))
    got = {name: pic[y0:y1, x0:x1] for name, x0, y0, x1, y1 in layout["panels"]}
    assert all(p.shape == (H, W, 3) for p in got.values())
    want = written[(FOLDER, 1, "left")]
    n, valid = want["normals"]
    assert np.abs(got["normals"][valid].astype(int) - np.rint((n[valid] + 1) / 2 * 255)).max() <= 1
    assert not got["normals"][~valid].any()
    c, valid = want["coordinates"]
    assert np.abs(got["coordinates"][valid].astype(int) - np.rint(c[valid] * 255)).max() <= 1
    for kind in ("flow", "flow_back"):
        _, valid = want[kind]
        assert not got[kind][~valid].any() and got[kind][valid].any(axis=1).all()
    assert not np.array_equal(got["flow"], got["flow_back"])  # opposite flow, other hues
    inside = want["amodal"].any(axis=0)
    assert not got["amodal"][~inside].any() and got["amodal"][inside].any(axis=1).all()
    n, valid = written[(FOLDER, 1, "right")]["normals"]
    assert np.abs(got["right-normals"][valid].astype(int) - np.rint((n[valid] + 1) / 2 * 255)).max() <= 1


def test_flow_colours_follow_the_middlebury_wheel():
    """Catches: a colour wheel turned or mirrored (u and v swapped, v's sign flipped), invalid flow
    coloured. Rightward flow at full length is red, no flow white, lengths past the scale darkened,
    the four directions four different hues, invalid pixels black."""
    from fat.study.show import flow_colours

    f = np.array([[[2, 0], [0, 2], [-2, 0], [0, -2], [0, 0], [4, 0], [2, 0]]], np.float32)
    valid = np.array([[True] * 6 + [False]])
    c = flow_colours(f, valid, scale=2.0)
    assert c[0, 0].tolist() == [255, 0, 0] and c[0, 4].tolist() == [255, 255, 255] and not c[0, 6].any()
    assert len({tuple(x) for x in c[0, :4]}) == 4 and c[0, 5].tolist() == [191, 0, 0]
    assert c[0, 1, 0] > 200 and c[0, 1, 2] < 50  # downward: orange to yellow, the wheel's red-yellow side
    assert c[0, 2, 2] > 200 and c[0, 2, 0] < 50  # leftward: cyan-blue, opposite red


def test_an_extra_panel_without_its_file_is_a_one_line_error(plain, extras, tmp_path, capfd):
    """Catches: a KeyError traceback or a black panel drawn silently for ``--panels normals`` (or any
    extra panel) on a dataset without that file. It stops with one line naming the panel and the
    file; with the files, the panels are drawn."""
    rc, out, err = run_fat(capfd, "show", plain, f"{FOLDER}/1", "--panels", "left,normals", "--out", tmp_path / "a.png")
    line = error_line(err)
    assert rc == 1 and "--panels normals" in line and f"{FOLDER}/000001.left has no normals.png file" in line
    assert "--extras normals" in line and not (tmp_path / "a.png").exists()
    rc, out, err = run_fat(capfd, "show", plain, f"{FOLDER}/1", "--panels", "right-flow_back", "--out", tmp_path / "a.png")
    assert rc == 1 and "000001.right has no flow_back.png file" in error_line(err)
    rc, out, err = run_fat(capfd, "show", extras[0], f"{FOLDER}/1", "--panels", "left,normals,flow,flow_back,coordinates,"
                           "amodal,right-amodal", "--out", tmp_path / "b.png")
    assert rc == 0, err
    assert cv2.imread(str(tmp_path / "b.png")).shape[1] == 1440


# ------------------------------------------------------------------ fat validate
def _problems(root: Path) -> list[str]:
    from fat.study.validate import validate

    return [str(p) for p in validate(root)]


def test_validate_accepts_consistent_extras(extras):
    """Catches: validate reporting problems in consistent extra files (a tolerance too tight for
    16-bit normals, coordinates on object pixels refused, amodal counts misread)."""
    assert _problems(extras[0]) == []


def test_validate_names_each_extra_problem(extras, tmp_path, capfd):
    """Catches: a check of the extras that never fires or names the wrong file. Each broken extra is
    named with its file and field: normals not unit length, coordinates on a pixel the instance map
    gives no object, an amodal mask missing a visible pixel, an ``amodal_pixel_count`` off by one, a
    flow file without its pair, a file of the wrong size, a count without an amodal file."""
    root, written = extras
    copy = _copy(root, tmp_path)
    d = copy / FOLDER
    n, valid = written[(FOLDER, 0, "left")]["normals"]
    extra_file(d, 0, "left", "normals").write_bytes(encode_normals(n * 0.9, valid))
    background = cv2.imread(str(d / "000000.right.instance.png"), cv2.IMREAD_UNCHANGED) == 0
    y, x = np.argwhere(background)[0]
    c, on = written[(FOLDER, 0, "right")]["coordinates"]
    on = on.copy()
    on[y, x] = True  # coordinates on a pixel of no object
    extra_file(d, 0, "right", "coordinates").write_bytes(encode_coordinates(c, on))
    masks = written[(FOLDER, 1, "left")]["amodal"].copy()
    k = int(np.argmax(masks.sum(axis=(1, 2))))
    ys, xs = np.nonzero(cv2.imread(str(d / "000001.left.instance.png"), cv2.IMREAD_UNCHANGED) == k + 1)
    masks[k, ys[0], xs[0]] = False  # a visible pixel left out of the amodal mask
    extra_file(d, 1, "left", "amodal").write_bytes(encode_amodal(masks))
    doc = json.loads((d / "000001.right.json").read_text())
    doc["objects"][0][AMODAL_KEY] += 1
    (d / "000001.right.json").write_text(json.dumps(doc))
    extra_file(d, 2, "left", "flow_back").unlink()
    cv2.imwrite(str(extra_file(d, 2, "right", "normals")), np.zeros((H, W + 1, 3), np.uint16))
    extra_file(d, 3, "left", "amodal").unlink()
    problems = _problems(copy)
    expect = [f"{d}/000000.left.normals.png: normals: ", "pixels are not unit length (length 0.9",
              f"{d}/000000.right.coordinates.png: coordinates: 1 pixels have coordinates where the instance map shows no "
              f"object (the first at x={x}, y={y})",
              f"{d}/000001.left.amodal.png: objects[{k}]: 1 of its visible pixels (instance map) are outside its amodal mask",
              f"{d}/000001.left.json: objects[{k}].{AMODAL_KEY}: {masks[k].sum() + 1}, but its mask in 000001.left.amodal.png "
              f"has {masks[k].sum()} pixels",
              f"{d}/000001.right.json: objects[0].{AMODAL_KEY}: {doc['objects'][0][AMODAL_KEY]}, but its mask in "
              f"000001.right.amodal.png has {doc['objects'][0][AMODAL_KEY] - 1} pixels",
              f"{d}/000002.left.flow_back.png: file is missing: 000002.left.flow.png is there (flow files come in pairs)",
              f"{d}/000002.right.normals.png: image is {W + 1}x{H}, expected {W}x{H}",
              f"{d}/000003.left.json: objects[0].{AMODAL_KEY}: "]
    text = "\n".join(problems)
    for e in expect:
        assert e in text, (e, text)
    assert "000003.left.amodal.png is missing" in text
    rc, out, err = run_fat(capfd, "validate", copy, "--quiet")
    assert rc == 1 and f"{d}/000002.left.flow_back.png: file is missing" in out
