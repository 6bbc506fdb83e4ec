"""``fat generate`` as a user runs it."""

import json
import subprocess
import sys
from pathlib import Path
import shutil

import pytest

from fat.run.plan import plan, total_frames
from fat.run.resolve import object_set, resolve

FAT = shutil.which("fat") or str(Path(sys.executable).with_name("fat"))
SMALL = ["--frames", "2", "--frames-per-drop", "2", "--width", "320", "--height", "180", "--quiet"]


def run(*args, cwd):
    return subprocess.run([FAT, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_generate_small_dataset(tmp_path):
    r = run("generate", "out", "--scene", "temple", "--location", "2", "--seed", "5", *SMALL, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    plan_line, line = r.stdout.splitlines()
    assert plan_line.startswith("plan: 1 folder (mixed 1), ")
    assert line.startswith("wrote 2 stereo frames in 1 folder to out")
    r = run("generate", "out", "--scene", "temple", "--location", "2", "--seed", "5", *SMALL, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.splitlines()[-1].startswith("wrote 0 stereo frames, 2 done before in 1 folder")
    assert sorted(p.name for p in (tmp_path / "out/mixed/temple_2").glob("*.left.json")) == ["000000.left.json", "000001.left.json"]
    cams = json.loads((tmp_path / "out/mixed/temple_2/_camera_settings.json").read_text())
    assert cams["camera_settings"][0]["captured_image_size"] == {"width": 320, "height": 180}


@pytest.mark.slow
def test_progress_bar_goes_to_stderr(tmp_path):
    r = run("generate", "out", "--scene", "kitchen", "--frames", "2", "--frames-per-drop", "1", "--width", "160",
            "--height", "90", cwd=tmp_path)
    assert r.returncode == 0 and "generate" in r.stderr and "2/2" in r.stderr


@pytest.mark.slow
def test_config_file_and_overrides(tmp_path):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"kind": "single", "scene": ["kitedemo"], "location": [3], "object": ["banana", "mug"],
                               "frames": 1, "seed": 9, "width": 160, "height": 90, "jpeg_quality": 80}))
    r = run("generate", "out", "--config", cfg, "--object", "bowl", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in (tmp_path / "out/single").iterdir()] == ["024_bowl_16k"]
    s = json.loads((tmp_path / "out/fat_dataset.json").read_text())["settings"]
    assert s["seed"] == 9 and s["jpeg_quality"] == 80 and s["kinds"] == ["single"]
    toml = tmp_path / "cfg.toml"
    toml.write_text('kind = "mixed"\nscene = ["temple"]\nframes = 1\nwidth = 160\nheight = 90\nazimuth = [-30, 30]\n')
    if sys.version_info >= (3, 11):
        r = run("generate", "out2", "--config", toml, "--quiet", cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert json.loads((tmp_path / "out2/fat_dataset.json").read_text())["settings"]["azimuth"] == [-30, 30]


def test_fat_preset_plan():
    from fat.settings import from_values

    s = resolve(from_values({"preset": "fat"}))
    folders, drops = plan(s, object_set(s))
    assert total_frames(s) == 61_500 and len(folders) == 330
    assert sum(f.n_frames for f in folders if f.kind == "mixed") == 30_000
    assert {f.n_frames for f in folders if f.kind == "single"} == {100}
    assert len([d for d in drops if d.kind == "single"]) == 21 * 15 * 5  # 100 frames in drops of 20


@pytest.mark.parametrize("args, message, rc", [
    (["--scene", "garden"], "unknown scene 'garden'; known: kitchen, kitedemo, patio, temple, or a scene file", 1),
    (["--object", "teapot"], "unknown object 'teapot'", 1),
    (["--objects", "EMPTY"], "--objects EMPTY: no mesh file (.obj, .ply, .gltf, .glb, .stl) found", 1),
    (["--config", "BADRANGE"], "camera azimuth range [10, -10] is empty", 1),
    (["--config", "BADKEY"], "unknown setting 'colour'", 1),
    (["--config", "BADJSON"], "not valid JSON", 1),
    (["--frames", "0"], "mixed frames must be an integer >= 1, got 0", 1),
    (["--fov", "190"], "field of view must be in (0, 180) degrees", 1),
    (["--location", "7"], "Invalid value for '--location'", 2),
    (["--renderer", "unrealcv"], "--renderer unrealcv needs --unrealcv HOST:PORT", 1),
    (["--unrealcv", "localhost:9000"], "--unrealcv and --unreal-config go with --renderer unrealcv", 1),
    (["--renderer", "unrealcv", "--unrealcv", "nohost"], "expected HOST:PORT", 1),
    (["--renderer", "unrealcv", "--unrealcv", "127.0.0.1:1"], "--unrealcv 127.0.0.1:1: cannot connect after 4 tries", 1),
])
@pytest.mark.slow
def test_bad_settings_fail_before_writing(tmp_path, args, message, rc):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BADRANGE").write_text(json.dumps({"azimuth": [10, -10]}))
    (tmp_path / "BADKEY").write_text(json.dumps({"colour": "red"}))
    (tmp_path / "BADJSON").write_text("{frames: 3")
    r = run("generate", "out", *args, "--quiet", cwd=tmp_path)
    # nothing on standard output but, for a refusal after the settings check (the game cannot be
    # reached), the plan line
    assert r.returncode == rc and all(line.startswith("plan: ") for line in r.stdout.splitlines())
    assert len(r.stderr.strip().splitlines()) == 1 and message in r.stderr, r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_auto_renderer_says_in_one_line_why_it_falls_back(tmp_path):
    import os

    env = {**os.environ, "FAT_EGL_DEVICE": "99"}
    r = subprocess.run([FAT, "generate", "out", "--scene", "kitchen", *SMALL], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=env)
    assert r.returncode == 0
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("fat: renderer auto: using TinyRenderer, since")
    assert "renderer tiny" in r.stdout
    r = subprocess.run([FAT, "generate", "out2", "--renderer", "gl", *SMALL], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=env)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "EGL device 99" in r.stderr
    assert not (tmp_path / "out2").exists()


def test_refuses_a_non_empty_output(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("x")
    r = run("generate", "out", "--overwrite", *SMALL, cwd=tmp_path)
    assert r.returncode == 1 and "not a dataset made by fat" in r.stderr
    assert (tmp_path / "out" / "mine.txt").exists()
