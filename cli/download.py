"""``fat download``: YCB models, HDRIs and texture sets into a folder (:mod:`fat.download`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from fat.download.sources import SOURCES

from .messages import emit

#: The sizes --resolution takes: those of every source that comes in several.
RESOLUTIONS = sorted({r for s in SOURCES.values() for r in s.resolutions}, key=lambda r: int(r[:-1]))


@click.command("download", short_help="Download YCB models, Poly Haven HDRIs or ambientCG texture sets.")
@click.argument("kind", type=click.Choice(list(SOURCES)))
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.argument("names", nargs=-1)
@click.option("--resolution", type=click.Choice(RESOLUTIONS, case_sensitive=False),
              help="Size of HDRIs and texture sets.  [default: 2k]")
@click.option("--mirror", metavar="URL", envvar="FAT_DOWNLOAD_URL", show_envvar=True,
              help="A folder URL holding the files under the same paths as the official location, used instead "
                   "of it (see docs/download.md).")
@click.option("--checksums", type=click.Path(dir_okay=False, path_type=Path),
              help="A file of sha256sum lines ('<sha256>  <file name>'): the files it lists must have those sha256.")
@click.option("--overwrite", is_flag=True,
              help="Download again and replace what DEST already has under an item's name.")
@click.option("--dry-run", is_flag=True, help="List what would be downloaded, and from where; download nothing.")
@click.option("--quiet", is_flag=True, help="No progress bar (there is none when standard error is not a terminal).")
def download_cmd(kind: str, dest: Path, names: tuple[str, ...], resolution: str | None, mirror: str | None,
                 checksums: Path | None, overwrite: bool, dry_run: bool, quiet: bool) -> None:
    """Download into the folder DEST, in the layout fat reads, the NAMES given or a small default list:

    \b
    ycb       YCB google_16k models, for --objects DEST:
              DEST/011_banana/google_16k/textured.obj ...; default: FAT's 21 objects
    hdri      Poly Haven HDRIs, for --hdri DEST:
              DEST/venice_sunset.hdr; default: six CC0 maps
    textures  ambientCG texture sets, for --textures DEST:
              DEST/Tiles107/Tiles107_2K_Color.jpg ...; default: eleven CC0 sets

    A download cut short resumes when the command is run again; a damaged file is refused and
    deleted; what DEST already has is left alone (--overwrite replaces it).
    """
    from fat.download.fetch import base_url, download, human, items, read_checksums
    from fat.download.sources import is_present

    src, todo = items(kind, names, resolution)
    base = base_url(mirror)
    sums = read_checksums(checksums) if checksums is not None else None
    if dry_run:
        lines = []
        for item in todo:
            there = is_present(dest.expanduser(), item)
            note = "  (there before: kept)" if there and not overwrite else ""
            lines.append(f"{src.url(base, item)} -> {dest / item.target}{note}")
        emit("\n".join(lines) + "\n")
        return

    def bar(name: str, total: int | None, done: int):
        from tqdm import tqdm

        # drawn on a terminal only: in a log, an error stays the one line after the command's output
        return tqdm(total=total, initial=done, desc=name, unit="B", unit_scale=True, unit_divisor=1000,
                    file=sys.stderr, dynamic_ncols=True, leave=False, disable=None)

    result = download(kind, dest, names, resolution, mirror=base, overwrite=overwrite, checksums=sums,
                      progress=None if quiet else bar, notify=lambda line: emit(line + "\n"))
    what = f"{src.what}s" if len(todo) != 1 else src.what
    if not result.downloaded:
        emit(f"nothing to download: the {len(todo)} {what} are in {dest} already (--overwrite downloads them again)\n"
             if len(todo) != 1 else f"nothing to download: {todo[0].name} is in {dest} already "
             "(--overwrite downloads it again)\n")
        return
    n = len(result.downloaded)
    before = f"; {len(result.present)} there before" if result.present else ""
    emit(f"downloaded {n} {src.what}{'s' if n != 1 else ''} ({human(result.transferred)}) to {dest} in "
         f"{result.seconds:.1f} s{before}\n")
