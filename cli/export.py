"""``fat export``: datasets in other formats. The subcommands are the export plugins registered
under the entry-point group ``fat.exports`` (:mod:`fat.exports`), ours and other packages'."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from fat import exports
from fat.errors import ConfigError

from .options import click_options

skip_bad_option = click.Option(["--skip-bad"], is_flag=True,
                               help="Leave out frames whose files are missing or corrupt (listed on stderr).")
quiet_option = click.Option(["--quiet"], is_flag=True, help="No progress bar.")
overwrite_option = click.Option(["--overwrite"], is_flag=True,
                                help="Replace an existing output (otherwise an existing one is refused).")


def _run(plugin, dataset: Path, out: Path, skip_bad: bool, quiet: bool, overwrite: bool, options: dict) -> None:
    """Run an export with a progress bar over the dataset's views; print its summary, and the
    skipped frames on stderr."""
    from fat.dataset import Dataset

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(Dataset(dataset, eyes="both", fields=())), unit=getattr(plugin, "unit", "view"),
                   desc="export", file=sys.stderr, leave=False)
    try:
        result = plugin.run(dataset, out, overwrite=overwrite, skip_bad=skip_bad,
                            progress=bar.update if bar else None, **options)
    finally:
        if bar:
            bar.close()
    for problem in result.skipped:
        click.echo(f"skipped: {problem}", err=True)
    for line in result.summary:
        click.echo(line)


def _plugin_options(plugin) -> tuple[list[click.Parameter], bool]:
    """(click options of the plugin's own options, whether they come from the schema): an Options
    dataclass (:mod:`fat.options`), or, from plugins written before it, a tuple of click options."""
    opts = getattr(plugin, "options", ())
    if isinstance(opts, type) and dataclasses.is_dataclass(opts):
        return click_options(opts, with_defaults=True), True
    return list(opts or ()), False


def _command(name: str, plugin) -> click.Command:
    """``fat export NAME DATASET OUT`` of one plugin."""
    output = getattr(plugin, "output", "file")
    own, schema = _plugin_options(plugin)

    def callback(dataset: Path, out: Path, skip_bad: bool, quiet: bool, overwrite: bool, **options) -> None:
        if schema:  # checked by the plugin's fields and its Options' check(), by field name
            options = exports.options(plugin, options)
        _run(plugin, dataset, out, skip_bad, quiet, overwrite, options)

    params = [click.Argument(["dataset"], type=click.Path(path_type=Path)),
              click.Argument(["out"], type=click.Path(dir_okay=output != "file", file_okay=output != "folder",
                                                      path_type=Path)),
              *own, skip_bad_option, quiet_option, overwrite_option]
    return click.Command(name, params=params, callback=callback, short_help=plugin.help,
                         help=getattr(plugin, "description", "") or plugin.help)


def _broken(name: str, error: ConfigError) -> click.Command:
    """A plugin that cannot be loaded: listed as such; running it fails with the reason, in one line."""

    def callback(args) -> None:
        raise error

    return click.Command(name, params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)], callback=callback,
                         short_help=f"(cannot be loaded: {error})", help=str(error), add_help_option=False,
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


class ExportGroup(click.Group):
    """The registered exports as subcommands."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return exports.names()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in exports.names():
            return None
        try:
            return _command(name, exports.load(name))
        except ConfigError as e:
            return _broken(name, e)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else None
        if name is not None and not name.startswith("-") and name not in exports.names():
            raise click.UsageError(f"no export named {name!r}; known: {', '.join(exports.names()) or 'none'}", ctx)
        return super().resolve_command(ctx, args)


@click.group("export", cls=ExportGroup, short_help="Export a dataset to COCO, BOP, HDF5 or a plugin's format.")
def export_cmd() -> None:
    """Export a dataset (ours or NVIDIA's FAT) to another format."""
