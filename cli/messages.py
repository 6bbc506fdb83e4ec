"""What the commands print besides their results: standard output that may fail, one-line warnings."""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

import click

from fat.errors import OutputError
from fat.fileio import why
from fat.assets.meshes import MeshWarning


def emit(text: str) -> None:
    """Write ``text`` to standard output; a full disk or a closed pipe is one error line, and what
    could not be written is dropped rather than retried at exit."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        try:  # the unwritten rest stays in the buffer: send it nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise OutputError(f"standard output: cannot write: {why(e)}") from None


@contextlib.contextmanager
def mesh_warnings():
    """Show a mesh's warnings (:class:`MeshWarning`: not watertight, wrong-looking units...) as one
    line on standard error each, as errors are shown."""
    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, MeshWarning):
                click.echo(f"fat: warning: {message}", err=True)
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        yield
