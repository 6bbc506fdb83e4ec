"""Readers against broken and hostile input: numbers beyond a float, JSON nested 100,000 deep,
booleans where numbers belong, impossible camera intrinsics, truncated JPEGs, instance ids beyond the
objects, a folder without ``_camera_settings.json``, HDF5 exports handed to every command, and a
frame listing 18,000 objects. Each corruption is made on a copy of the small generated dataset."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fat
from fat.errors import FormatError
from fat.formats import fat as F

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))


def run(*args):
    return subprocess.run([FAT, *map(str, args)], capture_output=True, text=True, timeout=900)


def one_line_error(r) -> str:
    """The single stderr line of a failed command (no traceback)."""
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.fixture
def kitchen(tmp_path, small_dataset):
    """A copy of the small dataset holding only mixed/kitchen_0 (4 frames, 8 views): quick to export."""
    root = tmp_path / "kitchen"
    shutil.copytree(small_dataset / "mixed/kitchen_0", root / "mixed/kitchen_0")
    return root


def _edit(path: Path, text_of_doc) -> None:
    path.write_text(text_of_doc(json.loads(path.read_text())))


def _first_object(doc, key: str, raw: str) -> str:
    """The document's text with objects[0][key] written as the JSON text ``raw``."""
    first = {**doc["objects"][0], key: "@@"}
    return json.dumps({**doc, "objects": [first] + doc["objects"][1:]}).replace('"@@"', raw)


# the three ways a JSON number or a JSON document escapes Python's float and parser
def _too_deep(doc) -> str:
    return json.dumps(doc)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}"


def _inf(doc) -> str:
    return _first_object(doc, "location", "[1e999, 0, 100]")


def _long_int(doc) -> str:
    return _first_object(doc, "visibility", "1" * 400)


CORRUPTIONS = {1: (_too_deep, "nested too deep"), 2: (_inf, "objects[0].location[0]"), 3: (_long_int, "objects[0].visibility")}


def _corrupt_three_frames(root: Path) -> dict[Path, str]:
    """Frames 1, 2, 3 of mixed/kitchen_0 (left eye) get the three corruptions; returns file -> expected text."""
    out = {}
    for i, (how, text) in CORRUPTIONS.items():
        p = root / f"mixed/kitchen_0/{i:06d}.left.json"
        _edit(p, how)
        out[p] = text
    return out


@pytest.mark.slow
def test_numbers_beyond_a_float_and_deep_json_are_named_problems_in_every_reader(kitchen, tmp_path):
    """A frame JSON nested 100,000 deep raised RecursionError, a 400-digit integer OverflowError, and
    1e999 (inf) slipped through number arrays: each must be a FormatError naming the file and field in
    fat.Dataset, fat validate and the three exports, which skip the frame with --skip-bad."""
    bad = _corrupt_three_frames(kitchen)
    ds = fat.Dataset(kitchen, fields=("annotations",))
    for i, (p, text) in enumerate(bad.items(), start=1):
        with pytest.raises(FormatError) as err:
            ds[i]
        assert str(p) in str(err.value) and text in str(err.value), err.value
    r = run("validate", kitchen, "--quiet")
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    for p, text in bad.items():
        assert any(line.startswith(f"{p}: ") and text in line for line in r.stdout.splitlines()), (p, r.stdout)
    first = next(iter(bad))
    for fmt, out in (("coco", tmp_path / "c.json"), ("hdf5", tmp_path / "c.h5"), ("bop", tmp_path / "bop")):
        line = one_line_error(run("export", fmt, kitchen, out, "--quiet", "--renderer", "tiny") if fmt == "bop"
                              else run("export", fmt, kitchen, out, "--quiet"))
        assert str(first) in line and "nested too deep" in line, line
        assert not out.exists()
        r = run("export", fmt, kitchen, out, "--quiet", "--skip-bad", *(("--renderer", "tiny") if fmt == "bop" else ()))
        assert r.returncode == 0, r.stderr
        skipped = [line for line in r.stderr.splitlines() if line.startswith("skipped: ")]
        assert len(skipped) == 3 and all(any(str(p) in s and t in s for s in skipped) for p, t in bad.items()), r.stderr
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == 5
    assert len(fat.Dataset(tmp_path / "c.h5", eyes="both", fields=())) == 5


@pytest.mark.parametrize("value", ["true", "false", '"1.5"'])
@pytest.mark.slow
def test_booleans_and_strings_in_number_arrays_are_refused(kitchen, value):
    """Python reads JSON true as the integer 1 and numpy turns "1.5" into 1.5: a cuboid corner of
    true was accepted as a number. The reader must name the element."""
    p = kitchen / "mixed/kitchen_0/000000.left.json"
    doc = json.loads(p.read_text())
    doc["objects"][0]["cuboid"][0] = [json.loads(value), *doc["objects"][0]["cuboid"][0][1:]]
    p.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match=r"objects\[0\]\.cuboid\[0\]\[0\]: expected 8x3 numbers"):
        F.read_view_annotation(p)
    r = run("validate", kitchen, "--quiet")
    assert f"{p}: objects[0].cuboid[0][0]: expected 8x3 numbers" in r.stdout, r.stdout + r.stderr
    p2 = kitchen / "mixed/kitchen_0/000001.left.json"
    _edit(p2, lambda d: json.dumps({**d, "objects": [{**d["objects"][0], "visibility": True}] + d["objects"][1:]}))
    with pytest.raises(FormatError, match=r"objects\[0\]\.visibility: expected a number, found true \(a boolean\)"):
        F.read_view_annotation(p2)


@pytest.mark.parametrize("key, value, message", [
    ("fx", 0, "fx = 0 must be positive"),
    ("fy", -768.16, "fy = -768.16 must be positive"),
    ("cx", 400, "cx = 400 must lie in the image, 0..320"),
    ("cy", -1, "cy = -1 must lie in the image, 0..180"),
])
@pytest.mark.slow
def test_impossible_intrinsics_name_camera_settings(kitchen, key, value, message):
    """fx = 0 (or a principal point outside the image) was read as a camera and made projections of
    inf/nan; validate must name _camera_settings.json and the field, and the loader refuse it."""
    p = kitchen / "mixed/kitchen_0/_camera_settings.json"
    doc = json.loads(p.read_text())
    for cam in doc["camera_settings"]:
        cam["intrinsic_settings"][key] = value
    p.write_text(json.dumps(doc))
    r = run("validate", kitchen, "--quiet")
    assert f"{p}: impossible intrinsics: {message}" in r.stdout, r.stdout + r.stderr
    with pytest.raises(FormatError, match=rf"camera_settings\[0\]\.intrinsic_settings\.{key}: impossible intrinsics"):
        fat.Dataset(kitchen, fields=("annotations",))[0]


def test_folder_without_camera_settings_is_named_by_validate(kitchen):
    """A leaf folder without _camera_settings.json was passed over by the loader, and validate said
    "0 frames checked, no problem"."""
    p = kitchen / "mixed/kitchen_0/_camera_settings.json"
    p.unlink()
    r = run("validate", kitchen, "--quiet")
    assert r.returncode == 1
    assert f"{p}: file is missing: the folder's 8 frame JSON files are not checked" in r.stdout, r.stdout


def test_validate_flags_instance_ids_beyond_the_objects(kitchen):
    """An instance map naming object 40 in a frame of 5 objects passed validate (and made the COCO
    export's masks disagree with the objects)."""
    p = kitchen / "mixed/kitchen_0/000002.right.instance.png"
    inst = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
    n = len(json.loads((kitchen / "mixed/kitchen_0/000002.right.json").read_text())["objects"])
    inst[:3, :4] = n + 35
    cv2.imwrite(str(p), inst)
    r = run("validate", kitchen, "--quiet")
    assert f"{p}: instance ids up to {n + 35}, but the frame lists {n} objects (12 pixels name no object)" in r.stdout, r.stdout


@pytest.mark.slow
def test_exports_refuse_a_truncated_jpeg(kitchen, tmp_path):
    """OpenCV decodes a JPEG cut in half without an error (the missing rows grey): the COCO export
    referenced it and the BOP export copied it. Both must name the file; with --skip-bad leave it out;
    the loader and validate refuse it too."""
    p = kitchen / "mixed/kitchen_0/000001.right.jpg"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    for fmt, out, extra in (("coco", tmp_path / "c.json", ()), ("bop", tmp_path / "bop", ("--renderer", "tiny"))):
        line = one_line_error(run("export", fmt, kitchen, out, "--quiet", *extra))
        assert f"{p}: truncated JPEG" in line, line
        r = run("export", fmt, kitchen, out, "--quiet", "--skip-bad", *extra)
        assert r.returncode == 0 and f"skipped: {p}: truncated JPEG" in r.stderr, r.stderr
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == 7
    assert len(list((tmp_path / "bop").glob("*/*/rgb/*.jpg"))) == 7
    with pytest.raises(FormatError, match="truncated JPEG"):
        fat.Dataset(kitchen, eyes="right", fields=("rgb",))[1]
    assert f"{p}: truncated JPEG" in run("validate", kitchen, "--quiet").stdout


@pytest.mark.slow
def test_every_cli_reader_reads_or_refuses_an_hdf5_export(small_dataset, tmp_path):
    """Every command that takes a dataset failed on an .h5 with "'H5Dataset' object has no attribute
    'folders'". stats and show read it (the same statistics as the folder); validate and the exports,
    which need the dataset's files, refuse it in one line."""
    h5 = tmp_path / "small.h5"
    assert run("export", "hdf5", small_dataset, h5, "--quiet").returncode == 0
    for src, out in ((small_dataset, tmp_path / "s1"), (h5, tmp_path / "s2")):
        r = run("stats", src, "--out", out, "--images", "--quiet")
        assert r.returncode == 0, r.stderr
    a, b = (json.loads((tmp_path / s / "stats.json").read_text()) for s in ("s1", "s2"))
    a.pop("dataset"), b.pop("dataset")
    assert a == b and a["frames"]["total"] == 48
    r = run("show", h5, "mixed/kitchen_0/3", "--out", tmp_path / "h5.png")
    assert r.returncode == 0, r.stderr
    r2 = run("show", small_dataset, "mixed/kitchen_0/3", "--out", tmp_path / "dir.png")
    assert r2.returncode == 0, r2.stderr
    assert np.array_equal(cv2.imread(str(tmp_path / "h5.png")), cv2.imread(str(tmp_path / "dir.png")))
    for args in (("validate", h5), ("export", "coco", h5, tmp_path / "c.json"), ("export", "bop", h5, tmp_path / "b"),
                 ("export", "hdf5", h5, tmp_path / "again.h5")):
        line = one_line_error(run(*args, "--quiet"))
        assert line.startswith(f"fat: error: {h5}: is an HDF5 export; ") and "give the dataset folder" in line, line
        assert not Path(args[-1]).exists() or args[0] == "validate"


@pytest.mark.parametrize("width", ["0", "-5", "100000"])
def test_show_width_out_of_range_is_one_line(small_dataset, tmp_path, width):
    """--width 0 crashed in OpenCV's resize with a traceback; an enormous width would allocate
    gigabytes. Both are one line and no file."""
    out = tmp_path / "w.png"
    line = one_line_error(run("show", small_dataset, "--out", out, "--width", width))
    assert f"--width must be a number of pixels from 1 to 16384, got {width}" in line
    assert not out.exists()


# Each part runs in a process of its own, which reports how far its resident memory rose above what
# it held before the part began (Linux's high-water mark; the part's own arrays, not a tracer's
# bookkeeping, which made this test take a minute).
_BOUNDED_PART = r"""
import json, resource, sys
from pathlib import Path
import fat
from fat.formats import fat as F
root, part = Path(sys.argv[1]), sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if part == "masks":
    from fat.exports.common import views_with_masks
    shapes = [m.shape for item, masks in views_with_masks(fat.Dataset(root, eyes="both", fields=("seg", "annotations")))
              if item["index"] == 0 for m in masks]
    out = {"seen": len(shapes), "shapes": sorted(set(map(str, shapes)))}
elif part == "validate":
    from fat.study.validate import check_view
    out = {"problems": [str(q) for q in check_view(F.FatFolder(root / "mixed/kitchen_0"), 0, "left")]}
else:
    from fat.study.show import annotate_image
    img = annotate_image(fat.Dataset(root, fields=("rgb", "seg", "instance", "annotations"))[0])
    out = {"shape": list(img.shape)}
out["growth"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_frame_of_18000_objects_is_read_in_bounded_memory(kitchen):
    """A frame listing 18,000 objects made the COCO and BOP exports hold one full-image mask per
    object (9.5 GB at 960x540, then killed). The masks, the box check of validate and the picture of
    fat show must stay within a bounded amount of memory: one view's masks held at once are 1 GB
    here (18,000 x 320 x 180 bytes), which the 800 MB bound refuses; each part rises by 150-340 MB
    (the 36,000 objects' records). Breakage caught: keeping a view's masks in a list (measured
    2.3 GB)."""
    for eye in ("left", "right"):  # the left view with its instance map, the right with class masks only
        p = kitchen / f"mixed/kitchen_0/000000.{eye}.json"
        doc = json.loads(p.read_text())
        doc["objects"] = (doc["objects"] * (18000 // len(doc["objects"]) + 1))[:18000]
        p.write_text(json.dumps(doc))
    (kitchen / "mixed/kitchen_0/000000.right.instance.png").unlink()
    parts = {}
    for part in ("masks", "validate", "show"):
        r = subprocess.run([sys.executable, "-c", _BOUNDED_PART, str(kitchen), part], capture_output=True, text=True,
                           timeout=600)
        assert r.returncode == 0, r.stderr
        parts[part] = json.loads(r.stdout)
    assert parts["masks"]["seen"] == 2 * 18000 and parts["masks"]["shapes"] == ["(180, 320)"]
    assert parts["show"]["shape"] == [180, 320, 3]
    assert all("bounding_box" in q or "projected_cuboid" in q for q in parts["validate"]["problems"])
    for what, out in parts.items():
        assert out["growth"] < 800e6, f"{what}: resident memory rose by {out['growth'] / 1e6:.0f} MB"
