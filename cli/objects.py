"""``fat objects``: the objects of a set (FAT's 21 by default)."""

from __future__ import annotations

from pathlib import Path

import click

from fat import objectsets
from fat.formats.fat import object_settings_json
from fat.catalog import YcbModels

from .messages import emit
from .options import click_options


@click.command("objects", short_help="List the objects of a set: class, ids, cuboid, mass.")
@click.option("--objects", "source", type=click.Path(path_type=Path),
              help="An object set: a folder of meshes, a BOP models/ folder, an object-set file, a YCB folder or "
                   "sample, the shipped sample set (as fat generate --objects). [FAT's 21 objects]")
@click.option("--fat-settings", is_flag=True,
              help="Print the mixed-folder _object_settings.json of the set (FAT's 21: NVDU's _ycb_original.json).")
@click.option("--fat-spelling", is_flag=True,
              help="With --fat-settings: spell the mustard class 006_mustard_bottle_16K, as real FAT mixed folders do.")
def objects_cmd(source, units, align, class_names, fat_settings: bool, fat_spelling: bool) -> None:
    """List the objects of a set: class, mixed segmentation id, cuboid (cm), mass and mesh."""
    if fat_spelling and not fat_settings:
        raise click.UsageError("--fat-spelling only applies with --fat-settings")
    objects = objectsets.load(source, objectsets.Options(units, align, None if class_names is None else str(class_names)))
    if fat_settings:
        emit(object_settings_json(objects, single=False, fat_spelling=fat_spelling))
        return
    lines = []
    rows = [("#", "class", "seg id", "x cm", "y cm", "z cm", "mass kg", "mesh")]
    for o in objects:
        x, y, z = o.dimensions * 100
        mesh = o.mesh or (str(objects.meshes.folder) if isinstance(objects.meshes, YcbModels) else "stand-in")
        rows.append((str(o.index + 1), o.class_name, str(o.segmentation_id), f"{x:.2f}", f"{y:.2f}", f"{z:.2f}",
                     f"{o.mass:.4g}", mesh))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [c.ljust(w) if i in (1, 7) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    lines.append(f"{objects.name}: {len(objects)} objects; single-object folders use segmentation id 255 for every object")
    emit("\n".join(lines) + "\n")


# --units, --align, --class-names: the object sources' own options (fat.objectsets.Options), after --objects
objects_cmd.params[1:1] = click_options(objectsets.Options, with_defaults=True)
