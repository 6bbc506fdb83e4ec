"""Click options made from the one option schema (:mod:`fat.options`): the settings' flags, the
renderers' flags and the exports' flags all come from :func:`click_option`."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click

from fat import options as schema


def click_type(spec: schema.Field):
    """The click type of a field's command-line ``type``."""
    if spec.type == "int":
        return int
    if spec.type == "float":
        return float
    if spec.type == "path":
        return click.Path(path_type=Path)
    if spec.type == "file":
        return click.Path(dir_okay=False, path_type=Path)
    if spec.type == "choice":
        return click.Choice(list(spec.offered()))
    if spec.type == "range":
        return click.IntRange(*spec.bounds())
    return None


def click_option(spec: schema.Field, *, default: Any = None, help: str | None = None) -> click.Option:
    """The click option of one field with a flag, storing its value under the field's key. ``default``:
    None (not given: a config file's value or the field's default stands) or the field's default;
    ``help``: the field's own unless given. Type flag: ``--x/--no-x``."""
    text = spec.help if help is None else help
    if spec.type == "flag":
        return click.Option([f"{spec.flag}/--no-{spec.flag[2:]}", spec.key], default=default, help=text,
                            show_default=spec.show_default)
    return click.Option([spec.flag, spec.key], type=click_type(spec), multiple=spec.multiple, metavar=spec.metavar,
                        default=default, show_default=spec.show_default, help=text)


def click_options(options_type, with_defaults: bool = False) -> list[click.Option]:
    """The click options of every field with a flag of the options dataclass ``options_type``; with
    ``with_defaults``, each takes the field's default (an export's options), else None (settings)."""
    defaults = schema.defaults(options_type)
    out = []
    for name, spec in schema.fields(options_type):
        if spec.flag is None:
            continue
        default = defaults[name] if with_defaults and defaults[name] is not dataclasses.MISSING else None
        out.append(click_option(spec, default=default))
    return out


def attach(command, params: list[click.Parameter]):
    """Add ``params`` to a function that ``click.command`` will make a command of, in this order
    after the options of the decorators below (as stacked ``@click.option`` decorators do)."""
    if isinstance(command, click.Command):
        command.params.extend(params)
        return command
    if not hasattr(command, "__click_params__"):
        command.__click_params__ = []
    command.__click_params__.extend(reversed(params))  # click.command reverses them
    return command
