"""One plugin of each kind, as a package installs it: a module, and its distribution's
``entry_points.txt`` on the path. The renderer and the randomizer are the guides' own
(docs/renderers.md, docs/randomization.md), so the guides' code is the code the tests run."""

from __future__ import annotations

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def doc_example(doc: str, start: str) -> str:
    """The ```python block of ``docs/<doc>`` that begins with the line ``start``."""
    text = (DOCS / doc).read_text()
    return start + "\n" + text.split("```python\n" + start + "\n", 1)[1].split("```", 1)[0]


#: docs/renderers.md: ``dim``, TinyRenderer's images dimmed by ``--dim-gain`` (module fat_dim_renderer)
RENDERER = doc_example("renderers.md", "# fat_dim_renderer.py")
#: docs/randomization.md: ``overhead``, every camera above the drop (``overhead.height``)
RANDOMIZER = doc_example("randomization.md", "from dataclasses import dataclass\n\nfrom fat.geometry import look_at, orbit_position")
#: ``listing``: one line per view, its fields joined by ``--sep``
EXPORT = '''
"""A third-party export: one line per view, the folder, frame, eye and number of objects."""
from dataclasses import dataclass
from pathlib import Path

from fat.exports import Export, Result
from fat.exports.common import file_output, open_dataset, skipped, views_with_masks
from fat.fileio import write_text_atomic
from fat.options import OptionError, option


def _separator(key, value):
    if not value or "\\n" in value:
        raise OptionError(key, f"--sep must be one or more characters on one line, got {value!r}")
    return value


@dataclass(frozen=True)
class ListingOptions:
    sep: str = option(",", flag="--sep", show_default=True, check=_separator, help="Field separator.")


class Listing(Export):
    name = "listing"
    help = "One line per view: folder, frame, eye, objects."
    output = "file"
    options = ListingOptions

    def run(self, dataset, out, *, overwrite=False, skip_bad=False, progress=None, sep=","):
        out = Path(out)
        ds = open_dataset(dataset, "the listing reads a dataset folder", skip_bad, fields=("annotations",))
        with file_output([out], dataset, overwrite):
            lines = [sep.join([item["folder"], str(item["index"]), item["eye"], str(len(item["objects"]))])
                     for item, _ in views_with_masks(ds, masks=False, progress=progress)]
            write_text_atomic(out, "\\n".join(lines) + "\\n")
        return Result([f"{out}: {len(lines)} views"], skipped(ds))
'''
#: ``boxes``: a ``.boxes`` file, one box a line, its name and size in metres
SOURCE = '''
from pathlib import Path

import trimesh

from fat.errors import ConfigError
from fat.objectsets.build import Entry, make_set


class Boxes:
    name = "boxes"
    help = "a .boxes file: one box a line, its name and size in metres"

    def claims(self, path):
        return path.suffix == ".boxes"

    def load(self, path, options):
        entries = []
        for n, line in enumerate(path.read_text().splitlines(), 1):
            name, *size = line.split() or [""]
            if len(size) != 3:
                raise ConfigError(f"{path}:{n}: expected a name and three sizes in metres, got {line!r}")
            mesh = path.parent / f"{name}.stl"
            trimesh.creation.box([float(s) for s in size]).export(mesh)
            entries.append(Entry(name, mesh, str(path)))
        return make_set(path.stem, entries, "boxes", "", str(path))
'''

#: module name -> (its text, its entry points)
PLUGINS = {
    "fat_dim_renderer": (RENDERER, "[fat.renderers]\ndim = fat_dim_renderer:DimRenderer\n"),
    "fat_overhead": (RANDOMIZER, "[fat.randomizers]\noverhead = fat_overhead:Overhead\n"),
    "fat_listing": (EXPORT, "[fat.exports]\nlisting = fat_listing:Listing\n"),
    "fat_boxes": (SOURCE, "[fat.object_sources]\nboxes = fat_boxes:Boxes\n"),
}


def install(root: Path, distribution: str, modules: list[str], more_entry_points: str = "") -> Path:
    """``modules`` of :data:`PLUGINS` written into ``root`` with one distribution's ``*.dist-info``
    registering them (and ``more_entry_points``, lines of an entry_points.txt); ``root``, for PYTHONPATH."""
    info = root / f"{distribution}-0.1.dist-info"
    info.mkdir(parents=True)
    for name in modules:
        (root / f"{name}.py").write_text(PLUGINS[name][0])
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {distribution.replace('_', '-')}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("\n".join(PLUGINS[name][1] for name in modules) + more_entry_points)
    return root
