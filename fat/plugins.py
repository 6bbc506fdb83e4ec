"""Plugin registries: the project's own plugins, then the entry points other packages register.

Renderers (group ``fat.renderers``) and exports (group ``fat.exports``) are found through entry
points, ours among them (pyproject.toml registers them). Ours are also known by name here, so that
a source checkout that was never installed (``python -m pytest`` or a notebook at the repository
root, where no entry points are recorded) has them too. A package cannot take one of our names: its
entry point is ignored, with a warning on standard error.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import EntryPoint, entry_points


def load_class(what: str, value: str, base: type) -> type:
    """The class ``value`` (``module:Class``) names, which must subclass ``base``; a ConfigError
    naming ``what`` (``renderer gl``) when it cannot be loaded or is something else."""
    from .errors import ConfigError

    module, _, attr = value.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as e:
        raise ConfigError(f"{what}: cannot load {value} ({type(e).__name__}: {e})") from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise ConfigError(f"{what}: {value} is not a {base.__module__}.{base.__name__}")
    return obj


_warned: set[str] = set()


def warn_unloadable(message: str) -> None:
    """Say once per process, in one line on standard error, that a plugin cannot be loaded and is
    left out: a broken plugin stops only the work that needs it."""
    if message not in _warned:
        _warned.add(message)
        print(f"fat: warning: {message}; left out", file=sys.stderr)


def registered(group: str, builtin: dict[str, str], reserved: tuple[str, ...] = ()) -> dict[str, EntryPoint]:
    """Name -> entry point of ``group``: ``builtin`` (name -> ``module:attribute``), then the
    installed entry points under other names (sorted by name; the first distribution on the path
    wins a name, as for imports). ``reserved`` names are taken by the registry itself."""
    found = {name: EntryPoint(name, value, group) for name, value in builtin.items()}
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        if ep.name in reserved or (ep.name in builtin and ep.value != builtin[ep.name]):
            print(f"fat: warning: {group} entry point {ep.name} = {ep.value} ignored: the name is fat's own",
                  file=sys.stderr)
            continue
        found.setdefault(ep.name, ep)
    return found
