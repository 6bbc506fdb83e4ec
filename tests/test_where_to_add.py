"""docs/architecture.md's "Where to add X", done: a renderer, an export, a randomizer and an object
source, each one file, registered by one ``entry_points.txt`` (what a package's ``pyproject.toml``
records; in this project a line of ``fat/plugins.ini``), used together by one run. Nothing else is
touched: the command line's flags and choices, the config keys, the checks and the registries follow.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from plugin_examples import install


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    """The four plugins in one distribution: docs/renderers.md's renderer, docs/randomization.md's
    randomizer, an export and an object source (tests/plugin_examples.py)."""
    return install(tmp_path_factory.mktemp("where_to_add"), "fat_demo",
                   ["fat_dim_renderer", "fat_overhead", "fat_listing", "fat_boxes"])


def _fat(plugins, *args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _boxes(folder: Path) -> Path:
    folder.mkdir()
    listing = folder / "two.boxes"
    listing.write_text("crate 0.12 0.08 0.06\nbrick 0.1 0.05 0.03\n")
    return listing


@pytest.mark.slow
def test_a_renderer_an_export_a_randomizer_and_an_object_source_from_one_file_each(plugins, tmp_path):
    """Catches: a plugin kind that needs more than its module and its entry point (a list to edit,
    a flag to add by hand, a check in the core), or a registry that does not offer what is registered."""
    from fat.formats.fat import read_json, read_rgb
    from fat.geometry import ue4_point_to_world
    from fat.scene.scenes import get_location

    r = _fat(plugins, "generate", "--help", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "--dim-gain X" in r.stdout and "dim" in r.stdout
    listing = _boxes(tmp_path / "boxes")
    args = ["generate", "out", "--objects", listing, "--renderer", "dim", "--dim-gain", "0.5", "--kind", "mixed",
            "--kind", "dr", "--randomizer", "overhead.height=1.3", "--scene", "kitchen", "--location", "0",
            "--frames", "2", "--frames-per-drop", "2", "--width", "96", "--height", "64", "--quiet"]
    r = _fat(plugins, *args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    record = json.loads((out / "fat_dataset.json").read_text())
    assert record["renderer"] == "dim" and record["settings"]["renderer_options"] == {"dim_gain": 0.5}
    # the object source: the set's classes and names are the list's
    classes = {o["class"] for o in read_json(out / "mixed" / "kitchen_0" / "_object_settings.json")["exported_objects"]}
    assert classes == {"crate", "brick"}
    # the renderer: its images, at half brightness
    rgb = np.stack([read_rgb(p) for p in sorted(out.rglob("*.left.jpg"))])
    assert np.percentile(rgb, 99.9) <= 0.5 * 255 + 8
    # the randomizer: every randomized frame's camera 1.3 m above the drop point, looking down
    fixation = np.asarray(get_location("kitchen_0").fixation, float)
    frames = sorted((out / "dr" / "kitchen_0").glob("*.left.json"))
    assert frames
    for p in frames:
        cam = np.asarray(ue4_point_to_world(read_json(p)["camera_data"]["location_worldframe"]), float)
        assert np.linalg.norm(cam - fixation) == pytest.approx(1.3, abs=0.01)
        assert cam[2] - fixation[2] == pytest.approx(1.3 * np.sin(np.radians(89.0)), abs=0.01)
    plain = [np.asarray(ue4_point_to_world(read_json(p)["camera_data"]["location_worldframe"]), float)
             for p in sorted((out / "mixed" / "kitchen_0").glob("*.left.json"))]
    assert plain and not all(abs(np.linalg.norm(c - fixation) - 1.3) < 0.01 for c in plain)  # only dr/ is randomized
    r = _fat(plugins, "validate", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # the export: a subcommand with its own flag
    r = _fat(plugins, "export", "--help", cwd=tmp_path)
    assert r.returncode == 0 and "listing" in r.stdout, r.stderr
    r = _fat(plugins, "export", "listing", "out", "n.txt", "--sep", ";", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    views = 2 * len(list(out.rglob("*.left.json")))
    lines = (tmp_path / "n.txt").read_text().splitlines()
    assert len(lines) == views and {line.split(";")[0] for line in lines} == {"mixed/kitchen_0", "dr/kitchen_0"}


def test_each_plugin_checks_its_own_options_in_one_line(plugins, tmp_path):
    """Catches: a plugin's options not reaching its own check, or a refusal that is not one line
    naming the option and the value, or written output before it."""
    listing = _boxes(tmp_path / "boxes")
    small = ["--scene", "kitchen", "--location", "0", "--frames", "1", "--width", "64", "--height", "48", "--quiet"]
    r = _fat(plugins, "generate", "out", "--renderer", "dim", "--dim-gain", "3", *small, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "fat: error: dim gain must be in (0, 1], got 3.0"
    r = _fat(plugins, "generate", "out", "--renderer", "dim", "--kind", "dr", "--randomizer", "overhead.height=9",
             *small, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip().startswith("fat: error: randomize.overhead.height: must be within")
    (listing.parent / "bad.boxes").write_text("crate\n")
    r = _fat(plugins, "generate", "out", "--objects", listing.parent / "bad.boxes", "--renderer", "dim", *small,
             cwd=tmp_path)
    assert r.returncode == 1 and "bad.boxes:1: expected a name and three sizes in metres" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
