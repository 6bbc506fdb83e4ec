"""Exports: a dataset folder written in another format (COCO, BOP, HDF5, or a plugin's).

An export is a plugin: an object with the attributes and the method of :class:`Export`, registered
under the entry-point group :data:`GROUP` (``fat.exports``). ``fat export NAME DATASET OUT`` is
built from the registry: the entry point's name is the subcommand, the plugin's ``help`` its line in
``fat export --help``, its ``options`` (a dataclass of :func:`fat.options.option` fields) its own
flags beside the common ``--overwrite``, ``--skip-bad`` and ``--quiet``. A package adds one in its ``pyproject.toml``:

```toml
[project.entry-points."fat.exports"]
myformat = "mypackage.export:MyFormat"
```

Exports sit above the loader: they read the dataset through :class:`fat.Dataset` and write with the
shared helpers of :mod:`fat.exports.common` (atomic output, the lock, skipped views, progress).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar

from .. import options as schema
from ..errors import ConfigError
from ..options import NoOptions, option
from ..plugins import Registry

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
    dataset's views, both eyes). ``options``: a dataclass of :func:`fat.options.option` fields
    (``flag``, ``type``, ``help``, ``check``...; :class:`fat.options.NoOptions` by default), from
    which ``fat export NAME`` makes its flags; their checked values (:func:`options`) reach ``run``
    as keyword arguments named by the fields.
    """

    name: ClassVar[str] = ""
    help: ClassVar[str] = ""
    description: ClassVar[str] = ""
    output: ClassVar[str] = "file"
    unit: ClassVar[str] = "view"
    options: ClassVar[type] = NoOptions

    def run(self, dataset: Path, out: Path, *, overwrite: bool = False, skip_bad: bool = False,
            progress: Callable[[int], None] | None = None, **options: Any) -> Result:
        """Write the dataset folder ``dataset`` to ``out``. Refuse an existing ``out`` unless
        ``overwrite``; leave out views that cannot be read when ``skip_bad`` (else raise the
        :class:`fat.errors.FatError` that names the file); call ``progress(1)`` after each view.
        Errors are ``fat.errors`` exceptions with one-line messages."""
        raise NotImplementedError


#: the exports found: ours (fat/plugins.ini's), then other packages'
REGISTRY = Registry(GROUP, "export plugin", needs=("help", "run"), calls=("run",),
                    cannot_load="{what} {name} ({value}) cannot be loaded: {error}",
                    not_plugin="{what} {name} ({value}) is not an export: it lacks {lacks}")


def names() -> list[str]:
    """The names of the registered exports, sorted."""
    return sorted(REGISTRY.found())


def load(name: str) -> Export:
    """The export plugin registered as ``name``; a ConfigError in one line when there is none or it
    cannot be loaded."""
    if name not in REGISTRY.found():
        raise ConfigError(f"no export named {name!r}; known: {', '.join(names()) or 'none'}")
    return REGISTRY.load(name)


def options(plugin, given: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of ``plugin.run`` from ``given`` (the options' keys -> values, None: not
    given, the default): each checked by its field, then by the Options dataclass's own ``check()``
    (:func:`fat.options.build`); a bad one is a ConfigError in one line naming the option."""
    opts = schema.build(getattr(plugin, "options", NoOptions), given)
    return schema.values(opts, by="name")


__all__ = ["GROUP", "REGISTRY", "Export", "Result", "NoOptions", "option", "names", "load", "options"]
