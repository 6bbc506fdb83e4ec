"""One schema for every option: settings, renderer options, randomizer options, export options and
object-source options.

An option is a field of a (frozen) dataclass made with :func:`option`; its metadata is a
:class:`Field`: the config-file key, the command-line flag (or none), the help, how the command
line reads it (``type``, ``choices``, ``bounds``, ``metavar``, ``multiple``), how a given value
becomes the field's value (``parse``) and how it is checked (``kind``, ``low``/``high``/``names``,
``check``). The command line (``fat.cli.options``) makes its click options from these fields, the
config file takes their keys, and :func:`build` checks given values into an instance:

```python
from dataclasses import dataclass
from fat.options import build, option

@dataclass(frozen=True)
class Mine:
    gain: float = option(1.0, key="my_gain", flag="--my-gain", type="float", kind="number", low=0.0, high=1.0,
                         help="Brightness factor.")

assert build(Mine, {"my_gain": 0.5}).gain == 0.5
```

A bad value is a :class:`OptionError` (a :class:`fat.errors.ConfigError`) whose one-line message
names the key and the value. A plugin checks its own options: a ``check`` on a field, or a
``check(self, ...)`` method on the Options dataclass (called by :func:`build` after the fields'
checks; it returns the checked instance, or None for the same one).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError

#: The dataclass-field metadata key under which a :class:`Field` is stored.
META = "fat"
#: Command-line types (``Field.type``): text, int, float, path (file or folder), file (not a folder),
#: choice (``choices``), range (integers within ``bounds``), flag (``--x/--no-x``).
TYPES = ("text", "int", "float", "path", "file", "choice", "range", "flag")
#: Value kinds checked by :func:`check_value` (``Field.kind``): flag (true or false), probability,
#: number, count (integer >= 0), range (two numbers, min <= max), count_range, angle_range (degrees),
#: path (an existing file or folder), weights (name -> number >= 0, ``names`` the names allowed).
KINDS = ("flag", "probability", "number", "count", "range", "count_range", "angle_range", "path", "weights")


@dataclass(frozen=True)
class Field:
    """One option's schema: where its value comes from and how it is checked."""

    key: str | None = None  # config-file key (None: the field's name)
    flag: str | None = None  # command-line option (``--gl-device``); None: config file only
    help: str = ""
    type: str = "text"  # command-line type, one of TYPES
    choices: Callable[[], tuple] | tuple | None = None  # type choice: the values offered
    bounds: Callable[[], tuple[int, int]] | None = None  # type range: inclusive integer bounds
    multiple: bool = False  # the flag may be repeated
    metavar: str | None = None
    show_default: bool = False  # the command line's help shows the default
    parse: Callable[[Any], Any] | None = None  # given value -> field value (then checked)
    check: Callable[[str, Any], Any] | None = None  # (key, value) -> checked value, or raises ConfigError
    kind: str | None = None  # a value kind of KINDS, checked before ``check``
    low: float | None = None  # bounds of numbers and ranges (kind)
    high: float | None = None
    names: tuple[str, ...] = ()  # kind weights: the names it may hold
    #: left out of a record at its default (``fat_dataset.json``: a setting added later leaves the
    #: record of a dataset made without it as it was)
    omit_default: bool = False

    @property
    def file(self) -> bool:
        """Whether the command line takes a file (not a folder)."""
        return self.type == "file"

    def offered(self) -> tuple:
        """The values of a choice."""
        return tuple(self.choices() if callable(self.choices) else self.choices or ())


class OptionError(ConfigError):
    """A bad value of one option; ``key`` is its config-file key. The message is as given."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(message)


class BadValue(OptionError):
    """A bad value of one option, the message led by its key: ``gain: must be a finite number, got 'x'``."""

    def __init__(self, key: str, message: str):
        super().__init__(key, f"{key}: {message}")
        self.key = key


def option(default=dataclasses.MISSING, *, default_factory=dataclasses.MISSING, **schema):
    """A dataclass field with its :class:`Field` (``schema``: its attributes). A dict or list default
    becomes a factory of copies."""
    if isinstance(default, (dict, list)):
        value, default = default, dataclasses.MISSING
        default_factory = lambda: type(value)(value)  # noqa: E731
    return dataclasses.field(default=default, default_factory=default_factory, metadata={META: Field(**schema)})


@dataclass(frozen=True)
class NoOptions:
    """A plugin without options."""


def fields(cls, implicit: bool = True) -> list[tuple[str, Field]]:
    """(field name, :class:`Field`) of each option of the dataclass ``cls`` (or instance), in field
    order; a key left None is the field's name. A field without a schema is taken with key = its
    name and flag ``--name`` where ``implicit``, else left out."""
    out = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(META)
        if spec is None:
            if not implicit:
                continue
            spec = Field(f.name, "--" + f.name.replace("_", "-"))
        elif spec.key is None:
            spec = dataclasses.replace(spec, key=f.name)
        out.append((f.name, spec))
    return out


def defaults(cls) -> dict[str, Any]:
    """Field name -> default value (MISSING where it has none)."""
    out = {}
    for f in dataclasses.fields(cls):
        out[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    return out


def keys(cls) -> dict[str, str]:
    """Config key -> field name."""
    return {spec.key: name for name, spec in fields(cls)}


# ----------------------------------------------------------------------------- value kinds
def _number(key, v, error):
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise error(key, f"must be a finite number, got {v!r}")
    return float(v)


def _bounded(key, v: float, low, high, error):
    if (low is not None and v < low) or (high is not None and v > high):
        raise error(key, f"must be within [{low:g}, {high:g}], got {v:g}")
    return v


def _check_kind(key: str, spec: Field, v, error):
    kind, low, high = spec.kind, spec.low, spec.high
    if kind == "flag":
        if not isinstance(v, bool):
            raise error(key, f"must be true or false, got {v!r}")
        return v
    if kind == "probability":
        return _bounded(key, _number(key, v, error), 0.0, 1.0, error)
    if kind == "number":
        return _bounded(key, _number(key, v, error), low, high, error)
    if kind == "count":
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise error(key, f"must be an integer, got {v!r}")
        return int(_bounded(key, int(v), low, high, error))
    if kind in ("range", "count_range", "angle_range"):
        if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)) or len(v) != 2:
            raise error(key, f"must be two numbers [min, max], got {v!r}")
        if kind == "count_range" and any(isinstance(x, bool) or not isinstance(x, numbers.Integral) for x in v):
            raise error(key, f"must be two integers [min, max], got {list(v)}")
        lo, hi = (_bounded(key, _number(key, x, error), low, high, error) for x in v)
        if lo > hi:
            raise error(key, f"must be a range with min <= max, got [{lo:g}, {hi:g}]")
        return (int(lo), int(hi)) if kind == "count_range" else (lo, hi)
    if kind == "path":
        if v is None:
            return None
        if isinstance(v, os.PathLike):
            v = os.fspath(v)
        if not isinstance(v, str) or not v:
            raise error(key, f"must be a file or folder name, got {v!r}")
        path = os.path.expanduser(v)
        if not os.path.exists(path):
            raise error(key, f"{v}: no such file or folder")
        return path
    if kind == "weights":
        if not isinstance(v, dict) or not v:
            raise error(key, f"must be a table of names and weights, got {v!r}")
        out = {}
        for name, w in v.items():
            if spec.names and name not in spec.names:
                raise error(key, f"unknown name {name!r}; known: {', '.join(spec.names)}")
            out[name] = _bounded(f"{key}.{name}", _number(f"{key}.{name}", w, error), 0.0, 1e9, error)
        if sum(out.values()) <= 0:
            raise error(key, f"needs a weight above 0, got {v!r}")
        return out
    raise ValueError(f"unknown option kind {kind!r}")  # pragma: no cover - a plugin's own mistake


def check_value(key: str, spec: Field, value, error: Callable[[str, str], Exception] = BadValue):
    """``value`` of the option ``spec`` (named ``key`` in errors) parsed, checked by its kind and by
    its ``check``: the checked value, or ``error(key, message)`` raised (:class:`BadValue` by
    default: one line naming the key and the value)."""
    if spec.parse is not None:
        value = spec.parse(value)
    if spec.kind is not None:
        value = _check_kind(key, spec, value, error)
    if spec.check is not None:
        value = spec.check(key, value)
    return value


def check_values(cls, given: dict, *, error: Callable[[str, str], Exception] = BadValue, prefix: str = "",
                 unknown: Callable[[str, list[str]], Exception] | None = None, skip_none: bool = True) -> dict[str, Any]:
    """Field name -> checked value of each value of ``given`` (config key -> value; None: not given,
    left out where ``skip_none``, else checked too). An unknown key raises ``unknown(key, known
    keys)`` (default: ``error``); errors name ``prefix + key``."""
    specs = {spec.key: (name, spec) for name, spec in fields(cls)}
    out = {}
    for key, v in given.items():
        if key not in specs:
            if unknown is not None:
                raise unknown(key, list(specs))
            raise error(prefix + key, f"unknown option; known: {', '.join(specs) or 'none'}")
        if v is None and skip_none:
            continue
        name, spec = specs[key]
        out[name] = check_value(prefix + key, spec, v, error)
    return out


def build(cls, given: dict | None = None, *, error: Callable[[str, str], Exception] = BadValue, prefix: str = "",
          unknown: Callable[[str, list[str]], Exception] | None = None, context: tuple = ()):
    """An instance of the options dataclass ``cls`` from ``given`` (config key -> value), each value
    checked (:func:`check_values`); then the instance's own ``check(*context)``, where it has one,
    which returns the checked instance (or None: the same)."""
    inst = cls(**check_values(cls, dict(given or {}), error=error, prefix=prefix, unknown=unknown))
    own = getattr(inst, "check", None)
    if callable(own):
        checked = own(*context)
        inst = inst if checked is None else checked
    return inst


def values(inst, by: str = "key", skip_none: bool = False) -> dict[str, Any]:
    """The option values of the instance ``inst`` by config key (``by="key"``) or field name."""
    out = {}
    for name, spec in fields(type(inst)):
        v = getattr(inst, name)
        if v is None and skip_none:
            continue
        out[spec.key if by == "key" else name] = v
    return out


def describe(cls) -> list[dict[str, Any]]:
    """One row per option of ``cls`` for docs: key, flag, type, kind, default, help."""
    default = defaults(cls)
    return [{"key": spec.key, "flag": spec.flag, "type": spec.type, "kind": spec.kind,
             "default": None if default[name] is dataclasses.MISSING else default[name], "help": spec.help}
            for name, spec in fields(cls)]


__all__ = ["META", "TYPES", "KINDS", "Field", "OptionError", "BadValue", "NoOptions", "option", "fields",
           "defaults", "keys", "check_value", "check_values", "build", "values", "describe"]
