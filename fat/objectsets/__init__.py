"""Object sets from the user's files: ``--objects PATH``.

A source reads one kind of path into an :class:`~fat.catalog.ObjectSet`. The first source that
claims the path reads it, in this order: an object-set file (:mod:`.setfile`, TOML or JSON), a BOP
``models/`` folder (:mod:`.bop`), a folder of YCB models (:mod:`.ycb`, FAT's 21 objects with real
scans), sources of other packages (entry-point group :data:`GROUP`), and last a folder of meshes or
one mesh file (:mod:`.folder`). Without ``--objects`` the set is FAT's 21 objects as procedural
stand-ins.

A few sets ship with fat (:data:`SHIPPED`), each a folder of meshes under ``fat.objects``:
``--objects sample`` reads the sample set. A name is only looked up when no file or folder of that
name exists: ``--objects sample`` with a folder ``sample`` in the working folder reads that folder.

A source is an object with ``name``, ``help``, ``claims(path) -> bool`` and
``load(path, options: Options) -> ObjectSet``; a package registers one in its ``pyproject.toml``:

```toml
[project.entry-points."fat.object_sources"]
mysource = "mypackage.objects:MySource"
```
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..catalog import ALIGNMENTS, ObjectSet, fat_objects, parse_units, units_scale
from ..errors import ConfigError
from ..options import option
from ..plugins import Registry

#: The entry-point group of object sources.
GROUP = "fat.object_sources"
#: The sources found: ours (fat/plugins.ini's: setfile, bop, ycb), other packages', then ours of
#: ``last``: meshes, which claims any mesh file or folder of meshes.
REGISTRY = Registry(GROUP, "object source", needs=("claims", "load"), calls=("claims", "load"), last=("meshes",),
                    cannot_load="{what} {name} ({value}) cannot be loaded ({error})",
                    not_plugin="{what} {name} ({value}) is not an object source: it lacks {lacks}")
#: The object sets that ship with fat, by name: each a folder of meshes in the ``fat.objects`` package
#: (``objects/`` of the source tree). ``sample``: six pybullet_data meshes of about 10 cm, one per
#: file format (see its SOURCE.md).
SHIPPED = {"sample": "sample"}


def _check_units(key, v):
    v = parse_units(v)
    units_scale(v, "--units")
    return v


def _check_align(key, v):
    if v not in ALIGNMENTS:
        raise ConfigError(f"--align must be one of {', '.join(ALIGNMENTS)}, got {v!r}")
    return v


@dataclass(frozen=True)
class Options:
    """How a source reads meshes that do not say: ``units`` (mm, cm, m or metres per unit, a number
    or its text: ``0.1``) of files without a unit,
    ``align`` (aabb, obb) for the FAT-aligned frame, ``class_names`` a JSON file mapping BOP
    object ids to class names. The same keys as the settings' (``fat generate --units``...)."""

    units: str | float = option("m", key="units", flag="--units", metavar="mm|cm|m|NUMBER", check=_check_units,
                                help="Units of mesh files that do not say (OBJ, PLY, STL): mm, cm, m or metres "
                                     "per unit (0.1: a unit of 10 cm). [m]")
    align: str = option("aabb", key="align", flag="--align", type="choice", choices=ALIGNMENTS, check=_check_align,
                        help="The objects' cuboids: aabb, each mesh's own axis-aligned box (NDDS), or obb, "
                             "its smallest oriented box. [aabb]")
    class_names: str | None = option(None, key="class_names", flag="--class-names", type="file",
                                     help="JSON file naming a BOP models folder's objects by id (1: ape, ...).")


def sources() -> list[tuple[str, object]]:
    """(name, source) in the order they are asked to claim a path: ours, other packages' (one that
    cannot be loaded is left out with a warning), meshes last."""
    return REGISTRY.load_all()


def shipped_set(name: str) -> Path | None:
    """The folder of the shipped object set ``name`` (:data:`SHIPPED`), else None."""
    if not isinstance(name, str) or name not in SHIPPED:
        return None
    from importlib import resources

    return Path(str(resources.files("fat.objects").joinpath(SHIPPED[name])))


def resolve(source: str | Path) -> Path:
    """The path ``--objects source`` reads: the file or folder of that name where one exists, else
    the shipped set of that name (:data:`SHIPPED`), else the path as given (``~`` expanded)."""
    path = Path(source).expanduser()
    if not path.exists():
        shipped = shipped_set(str(source))
        if shipped is not None:
            return shipped
    return path


def load(source: str | Path | None, options: Options = Options()) -> ObjectSet:
    """The object set of ``source`` (None: FAT's 21 objects as stand-ins; a name of :data:`SHIPPED`
    where no such path exists: that set). A path no source reads, a file that cannot be read or bad
    ``options.units`` is a one-line ConfigError naming it."""
    units = parse_units(options.units)
    units_scale(units, "--units")
    if units != options.units:
        options = replace(options, units=units)
    if source is None:
        return fat_objects()
    path = resolve(source)
    if not path.exists():
        raise ConfigError(f"--objects {path}: no such file or folder (nor the name of a set that ships with fat: "
                          f"{', '.join(SHIPPED)})")
    for _, src in sources():
        if src.claims(path):
            return src.load(path, options)
    raise ConfigError(f"--objects {path}: neither an object-set file, a BOP models folder, a YCB folder, "
                      "a mesh file nor a folder of meshes")
