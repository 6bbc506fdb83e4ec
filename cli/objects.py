"""``fat objects``: the 21 FAT objects."""

from __future__ import annotations

import os
import sys

import click

from fat import catalog
from fat.errors import OutputError
from fat.fileio import why
from fat.formats.fat import object_settings_json


@click.command("objects")
@click.option("--fat-settings", is_flag=True,
              help="Print the mixed-folder _object_settings.json for all 21 objects (NVDU's _ycb_original.json).")
@click.option("--fat-spelling", is_flag=True,
              help="With --fat-settings: spell the mustard class 006_mustard_bottle_16K, as real FAT mixed folders do.")
def objects_cmd(fat_settings: bool, fat_spelling: bool) -> None:
    """List the 21 FAT objects: class, mixed segmentation id, cuboid (cm) and mass."""
    if fat_spelling and not fat_settings:
        raise click.UsageError("--fat-spelling only applies with --fat-settings")
    if fat_settings:
        emit(object_settings_json(catalog.fat_objects(), single=False, fat_spelling=fat_spelling))
        return
    lines = []
    rows = [("#", "class", "seg id", "x cm", "y cm", "z cm", "mass kg")]
    for o in catalog.fat_objects():
        x, y, z = o.dimensions * 100
        rows.append((str(o.index + 1), o.class_name, str(o.segmentation_id), f"{x:.2f}", f"{y:.2f}", f"{z:.2f}", f"{o.mass:.3f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.append("single-object folders use segmentation id 255 for every object")
    emit("\n".join(lines) + "\n")


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
