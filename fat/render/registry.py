"""Which renderers there are: ours and those other packages register under the entry point group
``fat.renderers`` (``name = "module:Class"``, the class a :class:`fat.render.base.Renderer`).

``auto`` is the registry's own: ``gl`` where it starts, else ``tiny`` with a note saying why. The
``--renderer`` choices and the renderer options of ``fat generate`` and of the config file come
from here (:class:`fat.plugins.Registry`); each renderer checks its own options (:mod:`fat.options`).
"""

from __future__ import annotations

import functools
from typing import Any

from ..catalog import ObjectSet, fat_objects
from ..errors import ConfigError
from .. import options as schema
from ..plugins import Registry
from .base import NoOptions, OptionError, OptionSpec, Renderer, option_specs

GROUP = "fat.renderers"
AUTO = "auto"
#: the renderers found: ours (fat/plugins.ini's, in its order), then other packages' by name
REGISTRY = Registry(GROUP, "renderer", Renderer, reserved=(AUTO,))


def names() -> tuple[str, ...]:
    """``auto``, ours, then the others by name."""
    return (AUTO, *REGISTRY.names())


def _check_name(name: str) -> None:
    if name not in names():
        raise ConfigError(f"unknown renderer {name!r}; choose from {', '.join(names())}")


def renderer_class(name: str) -> type[Renderer]:
    """The class registered as ``name`` (``auto``: gl's)."""
    _check_name(name)
    return REGISTRY.load("gl" if name == AUTO else name)


def options_type(name: str) -> type:
    return renderer_class(name).Options if name != AUTO else renderer_class("gl").Options


@functools.lru_cache(maxsize=1)
def option_table() -> tuple[tuple[str, str, OptionSpec], ...]:
    """(renderer, field, spec) of every option of every renderer that loads; a key two renderers
    declare belongs to the first (ours come first)."""
    out, keys = [], set()
    for name in names():
        if name == AUTO:
            continue
        try:
            specs = option_specs(options_type(name))
        except ConfigError:
            continue  # a plugin that does not load: refused when chosen, not here
        for field, spec in specs:
            if spec.key not in keys:
                keys.add(spec.key)
                out.append((name, field, spec))
    return tuple(out)


def _checked(name: str, given: dict[str, Any], objects: ObjectSet):
    """The Options instance of renderer ``name`` from ``given`` (config key -> value), checked."""
    _check_name(name)
    given = {k: v for k, v in given.items() if v is not None}
    table = option_table()
    owner = {spec.key: (r, field, spec) for r, field, spec in table}
    for key in given:
        if key not in owner:
            raise OptionError(key, f"unknown renderer option {key!r}; known: {', '.join(sorted(owner)) or 'none'}")
    mine = "gl" if name == AUTO else name
    other = [k for k in given if owner[k][0] != mine]
    if other:
        r = owner[other[0]][0]
        flags = [spec.flag for rr, _, spec in table if rr == r]
        raise OptionError(other[0], f"{' and '.join(flags)} {'go' if len(flags) > 1 else 'goes'} with --renderer {r}")
    # the fields' checks and the Options' own check(objects), then the renderer's check_options (auto: gl's)
    opts = schema.build(options_type(name), given, error=schema.BadValue, context=(objects,))
    return renderer_class(name).check_options(opts, objects)


def check_options(name: str, given: dict[str, Any], objects: ObjectSet) -> dict[str, Any]:
    """The options of renderer ``name`` from ``given`` (config key -> value), checked by the
    renderer (for the object set ``objects``) and normalised; None values are left out. Raises
    :class:`OptionError` (with the key) for an unknown option, an option of another renderer or a
    bad value."""
    opts = _checked(name, given, objects)
    return schema.values(opts, skip_none=True)


def make(name: str, intrinsics=None, options: dict[str, Any] | None = None, objects: ObjectSet | None = None) -> Renderer:
    """A started renderer. ``options``: config key -> value (see :func:`check_options`);
    ``objects``: the object set of the frames it will render (None: FAT's 21 objects)."""
    _check_name(name)
    options = dict(options or {})
    objects = fat_objects() if objects is None else objects
    if name == AUTO:
        try:
            return make("gl", intrinsics, options, objects)
        except ConfigError as e:
            r = make("tiny", intrinsics, None, objects)
            r.note = f"renderer auto: using TinyRenderer, since {str(e).replace('--renderer gl: ', '')}"
            return r
    r = renderer_class(name).create(_checked(name, options, objects), intrinsics, objects)
    if r.intrinsics is None:
        r.intrinsics = intrinsics
    return r


__all__ = ["GROUP", "AUTO", "REGISTRY", "names", "renderer_class", "options_type", "option_table", "check_options",
           "make", "NoOptions"]
