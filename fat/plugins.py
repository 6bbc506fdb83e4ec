"""Plugin registries: one :class:`Registry` per entry-point group finds, names, loads and checks
plugins, the project's own and those other packages register.

Renderers (``fat.renderers``), exports (``fat.exports``), object sources (``fat.object_sources``)
and randomizers (``fat.randomizers``) are found through entry points. The project's own are listed
once, in ``fat/plugins.ini`` (:data:`PLUGINS_FILE`, an entry-points file): setuptools installs them
from it (``pyproject.toml``'s ``[tool.setuptools.dynamic]``) and :data:`OURS` reads it, so a
checkout that was never installed (no entry points recorded) has them too, and ours keep the file's
order (installed entry points are recorded sorted by name): the ``--renderer`` choices, the order
object sources claim a path, the order randomizers run. A package cannot take one of our names: its
entry point is ignored, with a warning on standard error.
"""

from __future__ import annotations

import configparser
import importlib
import sys
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Iterable

from .errors import ConfigError

PLUGINS_FILE = Path(__file__).with_name("plugins.ini")


def read_plugins(path: str | Path = PLUGINS_FILE) -> dict[str, dict[str, str]]:
    """Group -> {name: ``module:attribute``} of an entry-points file (``plugins.ini``), in its order."""
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # names as written
    parser.read_string(Path(path).read_text("utf-8"), str(path))
    return {group: dict(parser[group]) for group in parser.sections()}


#: The project's own plugins, from :data:`PLUGINS_FILE`, by group, in the file's order.
OURS: dict[str, dict[str, str]] = read_plugins()


_warned: set[str] = set()


def warn_unloadable(message: str) -> None:
    """Say once per process, in one line on standard error, that a plugin cannot be loaded and is
    left out: a broken plugin stops only the work that needs it."""
    if message not in _warned:
        _warned.add(message)
        print(f"fat: warning: {message}; left out", file=sys.stderr)


def _import(value: str) -> Any:
    module, _, attr = value.partition(":")
    obj = importlib.import_module(module)
    for part in filter(None, attr.split(".")):
        obj = getattr(obj, part)
    return obj


class Registry:
    """The plugins of one entry-point group.

    * ``group``: the entry-point group; ours are :data:`OURS`'s table of it.
    * ``what``: how errors name a plugin (``renderer``: ``renderer gl: cannot load ...``).
    * ``base``: a class plugin: the entry point names a subclass of ``base``, which :meth:`load`
      returns. Without it, an object plugin: the entry point names an object or a class made with
      no arguments, which must have the attributes ``needs`` (callable where named in ``calls``).
    * ``reserved``: names the registry keeps for itself (``auto``, ``all``).
    * ``last``: ours that come after the others in :meth:`names` (a catch-all source).
    * ``cannot_load``, ``not_plugin``: the one-line messages (``{what} {name} {value} {error}
      {base} {lacks}``).
    """

    def __init__(self, group: str, what: str, base: type | None = None, *, needs: tuple[str, ...] = (),
                 calls: tuple[str, ...] = (), reserved: tuple[str, ...] = (), last: tuple[str, ...] = (),
                 cannot_load: str = "{what} {name}: cannot load {value} ({error})",
                 not_plugin: str = "{what} {name}: {value} is not a {base}"):
        self.group, self.what, self.base = group, what, base
        self.needs, self.calls, self.reserved, self.last = needs, calls, reserved, last
        self.cannot_load, self.not_plugin = cannot_load, not_plugin
        self._found: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, Any] = {}

    def ours(self) -> tuple[str, ...]:
        """Our plugins' names, in ``plugins.ini``'s order."""
        return tuple(OURS.get(self.group, {}))

    def found(self) -> dict[str, EntryPoint]:
        """Name -> entry point: ours, then the installed entry points under other names (sorted by
        name; the first distribution on the path wins a name, as for imports)."""
        if self._found is None:
            builtin = OURS.get(self.group, {})
            found = {name: EntryPoint(name, value, self.group) for name, value in builtin.items()}
            for ep in sorted(entry_points(group=self.group), key=lambda e: e.name):
                if ep.name in self.reserved or (ep.name in builtin and ep.value != builtin[ep.name]):
                    print(f"fat: warning: {self.group} entry point {ep.name} = {ep.value} ignored: the name is "
                          "fat's own", file=sys.stderr)
                    continue
                found.setdefault(ep.name, ep)
            self._found = found
        return self._found

    def names(self) -> tuple[str, ...]:
        """Ours (but ``last``) in their order, the others by name, then ours of ``last``."""
        ours = self.ours()
        first = [n for n in ours if n not in self.last]
        others = sorted(n for n in self.found() if n not in ours)
        return (*first, *others, *(n for n in ours if n in self.last))

    def value(self, name: str) -> str:
        """The ``module:attribute`` registered as ``name``."""
        return self.found()[name].value

    def _message(self, template: str, name: str, **more) -> str:
        base = f"{self.base.__module__}.{self.base.__name__}" if self.base is not None else ""
        return template.format(what=self.what, name=name, value=self.value(name), base=base, **more)

    def load(self, name: str) -> Any:
        """The plugin registered as ``name`` (a class of ``base``, or an object with ``needs``),
        loaded once per process; a ConfigError in one line when it cannot be loaded or is something
        else (a KeyError for a name not registered: callers name their own unknown names)."""
        if name in self._loaded:
            return self._loaded[name]
        value = self.value(name)
        try:
            obj = _import(value)
            if self.base is None and isinstance(obj, type):
                obj = obj()
        except Exception as e:  # a plugin's import may fail in any way
            raise ConfigError(self._message(self.cannot_load, name, error=f"{type(e).__name__}: {e}")) from None
        if self.base is not None:
            if not (isinstance(obj, type) and issubclass(obj, self.base)):
                raise ConfigError(self._message(self.not_plugin, name))
        else:
            lacks = [a for a in self.needs if not hasattr(obj, a)]
            lacks += [f"{a}()" for a in self.calls if hasattr(obj, a) and not callable(getattr(obj, a))]
            if lacks:
                raise ConfigError(self._message(self.not_plugin, name, lacks=", ".join(lacks)))
        self._loaded[name] = obj
        return obj

    def load_all(self, names: Iterable[str] | None = None, strict: Iterable[str] = ()) -> list[tuple[str, Any]]:
        """(name, plugin) of each of ``names`` (default: :meth:`names`) that loads; one that does not
        is left out with a warning (:func:`warn_unloadable`), unless it is ours or in ``strict``
        (its ConfigError is raised)."""
        strict = set(strict) | set(self.ours())
        out = []
        for name in self.names() if names is None else names:
            try:
                out.append((name, self.load(name)))
            except ConfigError as e:
                if name in strict:
                    raise
                warn_unloadable(str(e))
        return out

    def cache_clear(self) -> None:
        """Find and load again (entry points installed since)."""
        self._found, self._loaded = None, {}
