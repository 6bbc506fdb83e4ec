"""Domain randomization: small named randomizers, each with its own options and its own random stream.

A randomized drop is planned like a mixed drop (targets, start poses, FAT's camera from the drop's
own stream); then each enabled randomizer, in registry order, fills its part of the drop's
:class:`Draft`: the background, the ground and prop materials, the lights, the distractors that
fall with the targets, the camera, the targets' own materials. Randomizer ``name`` draws from
``SeedSequence(seed, drop key + sha256(name))``, so switching one off, or changing its options,
leaves every other randomizer's draws as they were.

Randomizers are plugins (entry point group ``fat.randomizers``, ``name = "module:Class"``, the
class a :class:`Randomizer`; :data:`REGISTRY`, ours those of fat/plugins.ini in the order they run);
their options are :mod:`fat.options` fields (:func:`param`). docs/randomization.md says how to write one.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import ConfigError, did_you_mean
from ..geometry import Intrinsics
from ..looks import Looks
from .. import options as schema
from ..plugins import Registry, warn_unloadable

GROUP = "fat.randomizers"
#: The ``randomize`` table's own key (``--randomize``): randomize the frames of every kind, not only ``dr/``.
ALL = "all"


class RandomizeError(ConfigError):
    """A bad ``randomize`` setting; ``key`` names it (``randomize.lights.count``)."""

    def __init__(self, key: str, message: str):
        self.key = key
        super().__init__(f"{key}: {message}")


# ----------------------------------------------------------------------------- options
#: How one option of a randomizer is checked (:class:`fat.options.Field`): ``kind`` is one of
#: probability, number, count (integer >= 0), range (two numbers, min <= max), count_range,
#: angle_range (degrees), path (a file or folder), weights (name -> number >= 0), flag; ``low`` and
#: ``high`` bound numbers and ranges, ``names`` the names of weights.
Param = schema.Field


def param(default, kind: str, help: str = "", low=None, high=None, names=(), **more):
    """A field of a randomizer's Options dataclass (:func:`fat.options.option`; its key is the
    field's name, ``randomize.<randomizer>.<name>`` in errors; ``more``: a ``check`` of its own...)."""
    return schema.option(default, kind=kind, help=help, low=low, high=high, names=tuple(names), **more)


@dataclass(frozen=True)
class Options:
    """Every randomizer's options start with these two."""

    enabled: bool = param(True, "flag", "Whether the randomizer runs.")
    probability: float = param(1.0, "probability", "Chance that it applies to a frame (distractors: to a drop; "
                               "targets: to each target of a frame).")


def params(options_type) -> list[tuple[str, Param]]:
    """(option, :class:`Param`) of each option of a randomizer's Options dataclass."""
    return schema.fields(options_type, implicit=False)


# ----------------------------------------------------------------------------- the draft of a drop
@dataclass
class Draft:
    """What the randomizers fill for one drop. ``targets``, ``starts`` and ``cameras`` come from
    the drop's own stream; ``looks`` has one dict per frame (keys: :class:`fat.looks.Looks`'s fields);
    ``distractors`` holds (asset, start pose) pairs."""

    location: Any  # fat.scene.scenes.Location
    targets: list  # ObjectInfo of each target
    starts: list  # 4x4 start pose of each target
    cameras: list  # fat.drop.sampling.CameraSample per frame
    n_surfaces: int  # ground and prop surfaces of the location, in the scenery's order
    textures: str | None  # the user's --textures folder (gl), the default texture sets otherwise
    distractors: list = field(default_factory=list)
    looks: list = field(default_factory=list)

    def __post_init__(self):
        if not self.looks:
            self.looks = [{} for _ in self.cameras]

    def frame_looks(self, f: int) -> Looks | None:
        return Looks(**self.looks[f]) if self.looks[f] else None


class Randomizer(ABC):
    """One named randomizer. Subclasses set ``name``, an ``Options`` dataclass (subclassing
    :class:`Options`; fields made with :func:`param`) and write :meth:`apply`. ``check`` may refuse
    option values beyond their kinds (naming ``randomize.<name>.<option>``)."""

    name: ClassVar[str]
    Options: ClassVar[type] = Options
    #: off unless the user switches it on (``randomize.<name>.enabled = true``)
    enabled_by_default: ClassVar[bool] = True

    def __init__(self, options):
        self.options = options

    @classmethod
    def check(cls, options) -> None:
        """Further checks of the options; raise :class:`RandomizeError`."""

    @abstractmethod
    def apply(self, rng: np.random.Generator, draft: Draft) -> None:
        """Fill this randomizer's part of ``draft``, drawing only from ``rng``."""

    def folder_intrinsics(self, rng: np.random.Generator, K: Intrinsics) -> Intrinsics:
        """The intrinsics of a randomized folder (drawn once per folder); ``K`` by default."""
        return K


# ----------------------------------------------------------------------------- registry
#: the randomizers found: ours (fat/plugins.ini's, in the order they run), then other packages' by name
REGISTRY = Registry(GROUP, "randomizer", Randomizer, reserved=(ALL,))


def names() -> tuple[str, ...]:
    """Ours in their order, then the others by name: the order they run in."""
    return REGISTRY.names()


def randomizer_class(name: str) -> type[Randomizer]:
    if name not in REGISTRY.found():
        raise RandomizeError(f"randomize.{name}", f"unknown randomizer; {did_you_mean(name, names())}known: "
                             f"{', '.join(names())}")
    return REGISTRY.load(name)


def check_table(table) -> dict:
    """The ``randomize`` table checked and normalised: ``all`` (bool) and, per randomizer, the
    options given (each checked; paths expanded). Unknown randomizers and options are refused."""
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise RandomizeError("randomize", f"must be a table of randomizers, got {table!r}")
    out = {}
    for name, given in table.items():
        if name == ALL:
            if not isinstance(given, bool):
                raise RandomizeError("randomize.all", f"must be true or false, got {given!r}")
            if given:
                out[ALL] = True
            continue
        cls = randomizer_class(name)
        if not isinstance(given, dict):
            raise RandomizeError(f"randomize.{name}", f"must be a table of options, got {given!r}")
        prefix = f"randomize.{name}."

        def unknown(key, known, prefix=prefix):
            return RandomizeError(prefix + key, f"unknown option; {did_you_mean(key, known)}known: {', '.join(known)}")

        checked = schema.check_values(cls.Options, given, error=RandomizeError, prefix=prefix, unknown=unknown,
                                      skip_none=False)
        options = _options(cls, checked)
        own = getattr(options, "check", None)  # the Options' own check, where it has one
        if callable(own):
            own()
        cls.check(options)
        if checked:
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in checked.items()}
    return out


def _options(cls, given: dict):
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    if "enabled" not in values:
        values["enabled"] = cls.enabled_by_default
    return cls.Options(**values)


def assignment(text: str) -> tuple[str, str, Any]:
    """``NAME.OPTION=VALUE`` (the value JSON, else text) or ``NAME=off|on`` -> (name, option, value)."""
    target, sep, value = text.partition("=")
    if not sep or not target:
        raise RandomizeError("--randomizer", f"expected NAME.OPTION=VALUE or NAME=off, got {text!r}")
    name, _, option = target.strip().partition(".")
    value = value.strip()
    if not option:
        if value not in ("off", "on"):
            raise RandomizeError("--randomizer", f"expected {name}=off or {name}=on, got {text!r}")
        return name, "enabled", value == "on"
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    return name, option, parsed


def merged(table, all_frames: bool | None, assignments) -> dict | None:
    """The config file's ``randomize`` table with the command line's ``--randomize`` and
    ``--randomizer NAME.OPTION=VALUE`` on top (None: nothing given anywhere)."""
    if table is None and all_frames is None and not assignments:
        return None
    if table is not None and not isinstance(table, dict):
        return table  # check_table names the wrong type
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in (table or {}).items()}
    if all_frames is not None:
        out[ALL] = all_frames
    for text in assignments or ():
        name, option, value = assignment(text)
        entry = out.setdefault(name, {})
        if isinstance(entry, dict):
            entry[option] = value
    return out


class Randomization:
    """The enabled randomizers of a dataset, made from its checked ``randomize`` table."""

    def __init__(self, table: dict, seed: int):
        self.seed = int(seed)
        self.randomizers: list[Randomizer] = []
        for name in names():
            try:
                cls = randomizer_class(name)
            except ConfigError as e:  # a plugin the table does not name: left out, the others run
                if name in REGISTRY.ours() or name in table:
                    raise
                warn_unloadable(str(e))
                continue
            options = _options(cls, table.get(name, {}))
            if options.enabled:
                self.randomizers.append(cls(options))

    def stream(self, key: tuple[int, ...], name: str) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(*key, *name_key(name))))

    def apply(self, key: tuple[int, ...], draft: Draft) -> Draft:
        for r in self.randomizers:
            r.apply(self.stream(key, r.name), draft)
        return draft

    def folder_intrinsics(self, folder: str, K: Intrinsics) -> Intrinsics:
        key = name_key(f"folder:{folder}")
        for r in self.randomizers:
            K = r.folder_intrinsics(self.stream(key, r.name), K)
        return K


def name_key(name: str) -> tuple[int, ...]:
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4))


def option_help() -> list[tuple[str, str, Param, Any]]:
    """(randomizer, option, param, default) of every option of every randomizer that loads (the guide's table)."""
    out = []
    for name in names():
        try:
            cls = randomizer_class(name)
        except ConfigError:
            continue
        defaults = _options(cls, {})
        for option, p in params(cls.Options):
            out.append((name, option, p, getattr(defaults, option)))
    return out
