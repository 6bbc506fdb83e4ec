"""``fat export``: datasets in other formats."""

from __future__ import annotations

import sys
from pathlib import Path

import click


def _run(export, dataset: Path, out: Path, skip_bad: bool, quiet: bool, unit: str, overwrite: bool):
    """Run an export with a progress bar over the dataset's views; list skipped frames on stderr."""
    from fat.dataset import Dataset

    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=len(Dataset(dataset, eyes="both", fields=())), unit=unit, desc="export", file=sys.stderr,
                   leave=False)
    try:
        result = export(dataset, out, skip_bad, bar.update if bar else None, overwrite=overwrite)
    finally:
        if bar:
            bar.close()
    for problem in result.pop("skipped"):
        click.echo(f"skipped: {problem}", err=True)
    return result


skip_bad_option = click.option("--skip-bad", is_flag=True,
                               help="Leave out frames whose files are missing or corrupt (listed on stderr).")
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")
overwrite_option = click.option("--overwrite", is_flag=True,
                                help="Replace an existing output (otherwise an existing one is refused).")


@click.group("export")
def export_cmd() -> None:
    """Export a dataset (ours or NVIDIA's FAT) to another format."""


@export_cmd.command("coco")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@skip_bad_option
@quiet_option
@overwrite_option
def coco_cmd(dataset: Path, out: Path, skip_bad: bool, quiet: bool, overwrite: bool) -> None:
    """COCO instances of DATASET in OUT.json (plus OUT.train.json and OUT.test.json): RLE masks,
    boxes and areas from the visible masks, the 21 categories, the projected cuboid as keypoints."""
    from fat.formats.coco import export

    for path, (n_img, n_ann) in _run(export, dataset, out, skip_bad, quiet, "image", overwrite).items():
        click.echo(f"{path}: {n_img} images, {n_ann} annotations")


@export_cmd.command("hdf5")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@skip_bad_option
@quiet_option
@overwrite_option
def hdf5_cmd(dataset: Path, out: Path, skip_bad: bool, quiet: bool, overwrite: bool) -> None:
    """DATASET in one HDF5 file (chunked, LZF-compressed images and the annotations), which
    fat.Dataset reads like the folder."""
    from fat.formats.hdf5 import export

    click.echo(f"{out}: {_run(export, dataset, out, skip_bad, quiet, 'view', overwrite)['views']} views")


@export_cmd.command("bop")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--objects", "objects_dir", type=click.Path(path_type=Path),
              help="The YCB models the dataset was made with (default: those in its fat_dataset.json, else stand-ins).")
@click.option("--renderer", type=click.Choice(["auto", "gl", "tiny"]), default="auto", show_default=True,
              help="Renders each object alone for BOP's masks and scene_gt_info (bop_toolkit's 3x canvas).")
@skip_bad_option
@quiet_option
@overwrite_option
def bop_cmd(dataset: Path, out: Path, objects_dir, renderer: str, skip_bad: bool, quiet: bool, overwrite: bool) -> None:
    """DATASET in BOP's scenewise layout in OUT: models, scene_camera/scene_gt/scene_gt_info,
    scene_gt_coco, rgb, depth, mask and mask_visib as bop_toolkit computes them, one BOP camera type
    per eye."""
    from fat.formats.bop import export

    def run(ds, o, skip, progress, overwrite):
        return export(ds, o, objects_dir, renderer, skip, progress, overwrite)

    r = _run(run, dataset, out, skip_bad, quiet, "image", overwrite)
    click.echo(f"{out}: {r['images']} images in {r['scenes']} scenes")
