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
import textwrap
from pathlib import Path

import numpy as np
import pytest

RENDERER = '''
from dataclasses import dataclass

import numpy as np

from fat.options import OptionError
from fat.render.base import Capabilities, Renderer, option
from fat.render.pybullet import TinyRenderer


def _tint(key, v):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
        raise OptionError(key, f"flat tint must be in (0, 1], got {v!r}")
    return float(v)


@dataclass(frozen=True)
class FlatOptions:
    tint: float = option("flat_tint", "--flat-tint", metavar="X", default=1.0, type="float", check=_tint,
                         help="Brightness factor.")


class FlatRenderer(Renderer):
    """TinyRenderer's images, scaled by a factor."""

    name = "flat"
    capabilities = Capabilities(instance_ids=True, shadows=True, randomization=True)
    Options = FlatOptions

    @classmethod
    def create(cls, options, intrinsics, objects):
        return cls(options.tint)

    def __init__(self, tint=1.0):
        self.tint, self.inner = tint, TinyRenderer()

    def render(self, frame, eye="left"):
        out = self.inner.render(frame, eye)
        out.rgb = (out.rgb * self.tint).astype(np.uint8)
        return out

    def close(self):
        self.inner.close()
'''

EXPORT = '''
from dataclasses import dataclass
from pathlib import Path

from fat.exports import Export, Result
from fat.exports.common import file_output, open_dataset, skipped, views_with_masks
from fat.fileio import write_text_atomic
from fat.options import option


@dataclass(frozen=True)
class CountOptions:
    label: str = option("views", flag="--label", help="What the line calls the views.")


class Count(Export):
    help = "One line: how many views the dataset holds."
    options = CountOptions

    def run(self, dataset, out, *, overwrite=False, skip_bad=False, progress=None, label="views"):
        out = Path(out)
        ds = open_dataset(dataset, "count reads a dataset folder", skip_bad, fields=("annotations",))
        with file_output([out], dataset, overwrite):
            n = sum(1 for _ in views_with_masks(ds, masks=False, progress=progress))
            write_text_atomic(out, f"{n} {label}\\n")
        return Result([f"{out}: {n} {label}"], skipped(ds))
'''

RANDOMIZER = '''
from dataclasses import dataclass

from fat.drop.sampling import CameraSample
from fat.geometry import look_at, orbit_position
from fat.randomize import Options, Randomizer, param


@dataclass(frozen=True)
class OverheadOptions(Options):
    height: float = param(1.0, "number", "Metres above the fixation point.", low=0.2, high=5.0)


class Overhead(Randomizer):
    """Every camera straight above the drop."""

    name = "overhead"
    Options = OverheadOptions

    def apply(self, rng, draft):
        loc = draft.location
        for i in range(len(draft.cameras)):
            eye = orbit_position(loc.fixation, loc.heading, 89.0, self.options.height)
            draft.cameras[i] = CameraSample(0.0, 89.0, self.options.height, look_at(eye, loc.fixation))
'''

SOURCE = '''
from pathlib import Path

from fat.errors import ConfigError
from fat.objectsets.build import Entry, make_set, units_scale


class BoxList:
    """A text file ``*.boxes``: one object per line, its name and its mesh file (beside the list)."""

    name = "boxes"
    help = "a .boxes list: name and mesh file per line"

    def claims(self, path):
        return path.is_file() and path.suffix == ".boxes"

    def load(self, path, options):
        scale = units_scale(options.units, "--units")
        entries = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if line.strip():
                try:
                    name, mesh = line.split()
                except ValueError:
                    raise ConfigError(f"{path}:{n}: expected a name and a mesh file, got {line!r}") from None
                entries.append(Entry(name, path.parent / mesh, f"{path}:{n}", scale, options.align))
        return make_set(path.stem, entries, "boxes", f"boxes of {path}", str(path))
'''

ENTRY_POINTS = """[fat.renderers]
flat = fat_demo_renderer:FlatRenderer

[fat.exports]
count = fat_demo_export:Count

[fat.randomizers]
overhead = fat_demo_randomizer:Overhead

[fat.object_sources]
boxes = fat_demo_source:BoxList
"""


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    root = tmp_path_factory.mktemp("where_to_add")
    for name, text in (("renderer", RENDERER), ("export", EXPORT), ("randomizer", RANDOMIZER), ("source", SOURCE)):
        (root / f"fat_demo_{name}.py").write_text(textwrap.dedent(text))
    info = root / "fat_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fat-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root


def _fat(plugins, *args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugins), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "fat.cli.main", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def _boxes(folder: Path) -> Path:
    import trimesh

    folder.mkdir()
    for name, size in (("crate", (0.12, 0.08, 0.06)), ("brick", (0.1, 0.05, 0.03))):
        trimesh.creation.box(extents=size).export(folder / f"{name}.obj")
    listing = folder / "two.boxes"
    listing.write_text("crate crate.obj\nbrick brick.obj\n")
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
    assert "--flat-tint X" in r.stdout and "flat" in r.stdout
    listing = _boxes(tmp_path / "boxes")
    args = ["generate", "out", "--objects", listing, "--renderer", "flat", "--flat-tint", "0.5", "--kind", "mixed",
            "--kind", "dr", "--randomizer", "overhead.height=1.3", "--scene", "kitchen", "--location", "0",
            "--frames", "2", "--frames-per-drop", "2", "--width", "96", "--height", "64", "--quiet"]
    r = _fat(plugins, *args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    record = json.loads((out / "fat_dataset.json").read_text())
    assert record["renderer"] == "flat" and record["settings"]["renderer_options"] == {"flat_tint": 0.5}
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
    assert r.returncode == 0 and "count" in r.stdout, r.stderr
    r = _fat(plugins, "export", "count", "out", "n.txt", "--label", "eyes", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    views = 2 * len(list(out.rglob("*.left.json")))
    assert (tmp_path / "n.txt").read_text() == f"{views} eyes\n"


def test_each_plugin_checks_its_own_options_in_one_line(plugins, tmp_path):
    """Catches: a plugin's options not reaching its own check, or a refusal that is not one line
    naming the option and the value, or written output before it."""
    listing = _boxes(tmp_path / "boxes")
    small = ["--scene", "kitchen", "--location", "0", "--frames", "1", "--width", "64", "--height", "48", "--quiet"]
    r = _fat(plugins, "generate", "out", "--renderer", "flat", "--flat-tint", "3", *small, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip() == "fat: error: flat tint must be in (0, 1], got 3.0"
    r = _fat(plugins, "generate", "out", "--renderer", "flat", "--kind", "dr", "--randomizer", "overhead.height=9",
             *small, cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.strip().startswith("fat: error: randomize.overhead.height: must be within")
    (listing.parent / "bad.boxes").write_text("crate\n")
    r = _fat(plugins, "generate", "out", "--objects", listing.parent / "bad.boxes", "--renderer", "flat", *small,
             cwd=tmp_path)
    assert r.returncode == 1 and "bad.boxes:1: expected a name and a mesh file" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
