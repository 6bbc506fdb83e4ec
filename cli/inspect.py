"""``fat stats``, ``fat validate``, ``fat show``: what users do with a dataset once it exists."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DATASET = click.argument("dataset", type=click.Path(path_type=Path))


def _bar(total: int, desc: str, quiet: bool):
    if quiet:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc=desc, file=sys.stderr, dynamic_ncols=True, leave=False)


@click.command("stats", short_help="A statistics report of a dataset: figures and stats.json.")
@DATASET
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.md, stats.json and the PNG figures.")
@click.option("--images", is_flag=True, help="Also read the depth images (depth range statistics).")
@click.option("--split", type=click.Choice(["train", "test", "all"]), default="all", show_default=True)
@click.option("--kind", type=click.Choice(["single", "mixed", "dr", "both", "all"]), default="all", show_default=True,
              help="Folders of one kind; both: single and mixed (as in fat generate); all: every kind.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def stats_cmd(dataset: Path, out: Path, images: bool, split: str, kind: str, quiet: bool) -> None:
    """Statistics of DATASET (ours or NVIDIA's FAT): a Markdown report with figures and stats.json."""
    from fat.dataset import Dataset
    from fat.study.stats import write_report

    total = len(Dataset(dataset, split=split, kind=kind, fields=()))
    bar = _bar(total, "stats", quiet)
    try:
        s = write_report(dataset, out, images, bar.update if bar else None, split=split, kind=kind)
    finally:
        if bar:
            bar.close()
    click.echo(f"{s['frames']['total']} frames, {s['objects']['appearances']} object appearances: "
               f"report in {out / 'report.md'}")


@click.command("validate", short_help="Check every file and annotation of a dataset.")
@DATASET
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--max-problems", type=int, default=0, help="Stop after this many problems (0: report all).")
def validate_cmd(dataset: Path, quiet: bool, max_problems: int) -> None:
    """Check every frame of DATASET; print each problem with its file; exit 1 if there is any."""
    from fat.dataset import Dataset
    from fat.study.validate import validate

    total = len(Dataset(dataset, fields=()))
    bar = _bar(total, "validate", quiet)
    n = 0
    try:
        for p in validate(dataset, bar.update if bar else None):
            n += 1
            if bar:
                bar.clear()
            click.echo(str(p))
            if max_problems and n >= max_problems:
                break
    finally:
        if bar:
            bar.close()
    if n:
        click.echo(f"fat validate: {n} problem{'s' if n > 1 else ''} in {dataset} ({total} frames)", err=True)
        sys.exit(1)
    click.echo(f"{total} frames checked, no problem")


@click.command("show", short_help="Draw frames with masks, cuboids, boxes and depth.")
@DATASET
@click.argument("frames", nargs=-1)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="PNG file to write.")
@click.option("--random", "random_", type=int, default=0, help="Show N random frames (a contact sheet).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random choice.")
@click.option("--width", type=int, default=1440, show_default=True, help="Width of the picture in pixels.")
@click.option("--panels", default="left,right,depth", show_default=True, metavar="NAME,...",
              help="Panels of each frame, in order: left, right (images), depth, seg, masks (left eye), "
                   "right-depth, right-seg, right-masks; with --extras files: normals, flow, flow_back, "
                   "coordinates, amodal and their right- panels.")
@click.option("--no-overlay", is_flag=True, help="The left and right images alone: no masks, boxes, cuboids or labels.")
@click.option("--depth-range", default="0,3", show_default=True, metavar="MIN,MAX",
              help="Metres at the two ends of the depth colour scale, the same for every frame.")
def show_cmd(dataset: Path, frames: tuple[str, ...], out: Path, random_: int, seed: int, width: int, panels: str,
             no_overlay: bool, depth_range: str) -> None:
    """Draw frames of DATASET (FOLDER/INDEX such as mixed/kitchen_0/12, or numbers): left and right
    images with masks, cuboids (FAT vertex numbers, front face thick), 2D boxes and labels, and depth
    in metres with a colour bar."""
    from fat.study.show import show

    if frames and random_:
        raise click.UsageError("give FRAMES or --random, not both")
    n = show(dataset, list(frames), out, random_, seed, width, panels, not no_overlay, depth_range)
    click.echo(f"drew {n} frame{'s' if n > 1 else ''} in {out}")
