"""``fat``: the command group. Errors print as one line and exit non-zero (``--debug``: traceback)."""

from __future__ import annotations

import sys

import click

from fat import __version__
from fat.errors import FatError

from .download import download_cmd
from .export import export_cmd
from .generate import generate_cmd
from .inspect import show_cmd, stats_cmd, validate_cmd
from .messages import mesh_warnings
from .objects import objects_cmd


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fat")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Make, load and study Falling Things (FAT) style datasets."""
    ctx.obj = {"debug": debug}


cli.add_command(objects_cmd)
cli.add_command(generate_cmd)
cli.add_command(download_cmd)
for command in (stats_cmd, validate_cmd, show_cmd, export_cmd):
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one line per error, exit 2 for usage errors and 1 for failures."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        with mesh_warnings():
            rc = cli.main(args=args, prog_name="fat", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("fat: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        where = f"fat {e.ctx.command_path.split(' ', 1)[1]}" if getattr(e, "ctx", None) and " " in e.ctx.command_path else "fat"
        click.echo(f"{where}: error: {e.format_message()}", err=True)
        sys.exit(e.exit_code)
    except FatError as e:
        if debug:
            raise
        click.echo(f"fat: error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("fat: interrupted", err=True)
        sys.exit(130)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
