"""--hdri and --textures: the user's environment maps and PBR texture sets change the pictures only."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import gl_available
from fat.errors import ConfigError
from fat.scene.texture_sets import read_set, surface_set, texture_sets

REPO = Path(__file__).resolve().parents[1]
FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
SMALL = ["--kind", "both", "--scene", "temple", "--location", "3", "--object", "banana", "--object", "mug",
         "--frames", "2", "--frames-per-drop", "2", "--width", "160", "--height", "120", "--seed", "9", "--quiet",
         "--renderer", "gl"]


def _run(out: Path, *extra) -> subprocess.CompletedProcess:
    return subprocess.run([FAT, "generate", str(out), *SMALL, *map(str, extra)], capture_output=True, text=True, timeout=600)


def _files(root: Path, pattern: str) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob(pattern))}


@pytest.mark.slow
def test_another_environment_or_texture_set_changes_the_rgb_only(tmp_path):
    """The same seed with the location's own look, another environment map, and the user's texture
    sets: depth, segmentation, instance and JSON files byte-identical; the JPEGs differ."""
    why = gl_available()
    if why:
        pytest.skip(f"the gl renderer is not available here: {why}")
    outs = {"own": tmp_path / "own", "hdri": tmp_path / "hdri", "textures": tmp_path / "textures"}
    assert _run(outs["own"]).returncode == 0
    r = _run(outs["hdri"], "--hdri", REPO / "scenes" / "environments" / "dawn.hdr")
    assert r.returncode == 0, r.stderr
    r = _run(outs["textures"], "--textures", REPO / "scenes" / "textures")  # the shipped sets, as a user's folder
    assert r.returncode == 0, r.stderr
    for pattern in ("*.depth.png", "*.seg.png", "*.instance.png", "0*.json", "_*.json"):
        ref = _files(outs["own"], pattern)
        assert ref, pattern
        for other in ("hdri", "textures"):
            assert _files(outs[other], pattern) == ref, (other, pattern)
    for other in ("hdri", "textures"):
        a, b = _files(outs["own"], "*.jpg"), _files(outs[other], "*.jpg")
        assert a.keys() == b.keys() and all(a[k] != b[k] for k in a), other


@pytest.mark.slow
def test_bad_hdri_and_textures_fail_in_one_line_before_writing(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for flag, value, message in (("--hdri", tmp_path / "nowhere.hdr", "no such file or folder"),
                                 ("--hdri", tmp_path / "notes.txt", "not an environment map (.hdr, .exr)"),
                                 ("--hdri", tmp_path / "empty", "no environment map (.hdr, .exr) in the folder"),
                                 ("--textures", tmp_path / "empty", "no texture set")):
        r = _run(tmp_path / "out", flag, value)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert message in r.stderr and str(value) in r.stderr, r.stderr
        assert not (tmp_path / "out").exists()


def test_texture_sets_read_ambientcg_and_blenderproc_layouts(tmp_path):
    img = np.full((8, 8, 3), 128, np.uint8)
    for name, files in {"Tiles001": ["Tiles001_1K_Color.jpg", "Tiles001_1K_NormalGL.jpg", "Tiles001_1K_Roughness.jpg"],
                        "Metal002": ["Metal002_2K_Color.png", "Metal002_2K_Normal.png", "Metal002_2K_Metalness.png"],
                        "Broken": ["Broken_1K_Roughness.jpg"]}.items():
        (tmp_path / name).mkdir()
        for f in files:
            cv2.imwrite(str(tmp_path / name / f), img)
    sets = texture_sets(str(tmp_path))
    assert [s.name for s in sets] == ["Metal002", "Tiles001"]  # a folder without a colour map is no set
    metal = read_set(tmp_path / "Metal002")
    assert metal.normal.name == "Metal002_2K_Normal.png" and metal.metalness is not None and metal.roughness is None
    tiles = read_set(tmp_path / "Tiles001")
    assert tiles.normal.name == "Tiles001_1K_NormalGL.jpg" and tiles.roughness is not None
    # every surface gets one of the user's sets, by its location and name, the same every time
    picks = {surface_set(f"kitchen_{i}", str(k), "tiles", str(tmp_path)).name for i in range(5) for k in range(6)}
    assert picks == {"Metal002", "Tiles001"}
    assert surface_set("kitchen_0", "0", "tiles", str(tmp_path)) == surface_set("kitchen_0", "0", "tiles", str(tmp_path))
    # without user sets: the shipped set of the kind, or the procedural texture
    assert surface_set("kitchen_0", "0", "tiles").name == "Tiles107"
    assert surface_set("kitchen_0", "0", "plaster") is None
    with pytest.raises(ConfigError, match="no texture set"):
        texture_sets(str(tmp_path / "Broken"))
