"""Exports: a dataset folder written in another format (COCO, BOP, HDF5, or a plugin's).

An export is a plugin: an object with the attributes and the method of :class:`Export`, registered
under the entry-point group :data:`GROUP` (``fat.exports``). ``fat export NAME DATASET OUT`` is
built from the registry: the entry point's name is the subcommand, the plugin's ``help`` its line in
``fat export --help``, its ``options`` (click options) its own flags beside the common
``--overwrite``, ``--skip-bad`` and ``--quiet``. A package adds one in its ``pyproject.toml``:

```toml
[project.entry-points."fat.exports"]
myformat = "mypackage.export:MyFormat"
```

Exports sit above the loader: they read the dataset through :class:`fat.Dataset` and write with the
shared helpers of :mod:`fat.exports.common` (atomic output, the lock, skipped views, progress).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Callable, ClassVar

from ..errors import ConfigError
from ..plugins import registered

#: The entry-point group of export plugins.
GROUP = "fat.exports"


@dataclass
class Result:
    """What an export did: ``summary``, the lines ``fat export`` prints; ``skipped``, the problem of
    each view left out (with ``skip_bad``), which it prints on stderr."""

    summary: list[str]
    skipped: list[str] = field(default_factory=list)


class Export:
    """The interface of an export plugin (subclassing is optional; the attributes and ``run`` are
    what counts).

    ``name``: the subcommand (the entry point's name is used on the command line). ``help``: one
    line. ``description``: the longer text of ``fat export NAME --help`` (default: ``help``).
    ``output``: ``"file"`` or ``"folder"``, what OUT is. ``unit``: what the progress bar counts (the
    dataset's views, both eyes). ``options``: ``click.Option`` objects; their values reach ``run`` as
    keyword arguments named by the options.
    """

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    description: ClassVar[str] = ""
    output: ClassVar[str] = "file"
    unit: ClassVar[str] = "view"
    options: ClassVar[tuple] = ()

    def run(self, dataset: Path, out: Path, *, overwrite: bool = False, skip_bad: bool = False,
            progress: Callable[[int], None] | None = None, **options: Any) -> Result:
        """Write the dataset folder ``dataset`` to ``out``. Refuse an existing ``out`` unless
        ``overwrite``; leave out views that cannot be read when ``skip_bad`` (else raise the
        :class:`fat.errors.FatError` that names the file); call ``progress(1)`` after each view.
        Errors are ``fat.errors`` exceptions with one-line messages."""
        raise NotImplementedError


#: the project's own exports (also registered as entry points in pyproject.toml)
BUILTIN = {"coco": "fat.exports.coco:Coco", "bop": "fat.exports.bop:Bop", "hdf5": "fat.exports.hdf5:Hdf5"}


def _entry_points() -> dict[str, EntryPoint]:
    return registered(GROUP, BUILTIN)


def names() -> list[str]:
    """The names of the registered exports, sorted."""
    return sorted(_entry_points())


def load(name: str) -> Export:
    """The export plugin registered as ``name``; a ConfigError in one line when there is none or it
    cannot be loaded."""
    eps = _entry_points()
    if name not in eps:
        raise ConfigError(f"no export named {name!r}; known: {', '.join(sorted(eps)) or 'none'}")
    ep = eps[name]
    try:
        obj = ep.load()
        plugin = obj() if isinstance(obj, type) else obj
    except Exception as e:  # a plugin's import may fail in any way
        raise ConfigError(f"export plugin {name} ({ep.value}) cannot be loaded: {type(e).__name__}: {e}") from None
    missing = [a for a in ("help", "run") if not hasattr(plugin, a)]
    if missing or not callable(plugin.run):
        raise ConfigError(f"export plugin {name} ({ep.value}) is not an export: it lacks {', '.join(missing) or 'run()'}")
    return plugin
