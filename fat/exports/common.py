"""What every export does besides its format: read the dataset folder view by view through
:class:`fat.Dataset` (a view that cannot be read raises, or with ``skip_bad`` is left out and
listed), count progress, and write its output atomically under a lock.

* :func:`open_dataset` and :func:`views_with_masks`: the views, their RGB checked to decode (the
  exports pass the files on), with the visible mask of each object made when asked for.
* :func:`file_output`: one or more files, each written under a temporary name then renamed.
* :func:`folder_output`: a folder built in a hidden temporary folder inside ``out``, whose entries
  replace an earlier export's when complete.

Nothing is written, deleted or read through a symbolic link in the output: a target file that is a
link is refused without ``overwrite`` and, with it, replaced (the link, not the file it leads to); a
link anywhere inside an output folder is refused in one line naming it, before anything is written
or deleted, with ``overwrite`` too (:func:`fat.fileio.refuse_links`).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..dataset import Dataset, require_folder
from ..errors import FatError, OutputError
from ..fileio import (LOCK_FILE, TMP_SUFFIX, check_target, commit, discard, locked, locked_folder,
                      refuse_links, remove_stale_temporaries, temp_folder, why, within)
from ..formats.fat import check_rgb, frame_file, read_instance

Progress = Callable[[int], None]


# ------------------------------------------------------------------ reading
def open_dataset(root: str | os.PathLike, needs: str, skip_bad: bool, **kwargs) -> Dataset:
    """The dataset folder ``root`` with both eyes as items; ``on_error`` is skip with ``skip_bad``
    (the views left out are listed in :func:`skipped`), else raise. An HDF5 export is refused in one
    line: ``needs`` says what needs the folder."""
    require_folder(root, needs)
    return Dataset(root, eyes="both", on_error="skip" if skip_bad else "raise", **kwargs)


def skipped(ds: Dataset) -> list[str]:
    """The problems of the views left out so far, in order."""
    return [problem for _, _, problem in ds.skipped]


def skip_or_raise(ds: Dataset, folder: str, index: int, error: FatError) -> None:
    """Leave a view out (``on_error="skip"``: its problem is listed) or raise ``error``."""
    if ds.on_error == "raise":
        raise error
    ds.skipped.append((folder, index, str(error)))


def views_with_masks(ds: Dataset, masks: bool = True, progress: Progress | None = None):
    """(item, the visible mask of each listed object or None without ``masks``) for every view of
    ``ds``. A view whose files are missing or corrupt (the RGB file included: it is checked to decode
    completely, as the exports pass it on) raises, or with ``ds.on_error == "skip"`` is left out and
    its problem listed in ``ds.skipped``. The masks are made one at a time as they are read;
    ``progress(1)`` is called when the caller is done with a view."""
    for item in ds:  # the Dataset skips or raises on views it cannot read
        try:
            check_rgb(frame_file(ds.base / item["folder"], item["index"], item["eye"], "rgb"), (item["width"], item["height"]))
            visible = Masks(item, ds.base) if masks else None
        except FatError as e:
            skip_or_raise(ds, item["folder"], item["index"], e)
            continue
        yield item, visible
        if progress:
            progress(1)


class Masks:
    """The visible mask of each listed object, made when it is asked for, so that memory holds one
    mask at a time whatever the number of objects (a frame listing 18,000 objects would otherwise
    hold 18,000 full-image masks). From the instance map where the view has one; else the class's
    pixels, cut to the object's 2D box when the class appears more than once in the view."""

    def __init__(self, item: dict, base: Path):
        self.objects = item["objects"]
        path = frame_file(base / item["folder"], item["index"], item["eye"], "instance")
        self.instance = read_instance(path, (item["width"], item["height"])) if path.exists() else None
        self.seg = item["seg"]
        self.counts: dict[int, int] = {}
        for o in self.objects:
            self.counts[o["segmentation_id"]] = self.counts.get(o["segmentation_id"], 0) + 1

    def __len__(self) -> int:
        return len(self.objects)

    def __getitem__(self, k: int) -> np.ndarray:
        if not 0 <= k < len(self):
            raise IndexError(k)
        if self.instance is not None:
            return self.instance == k + 1
        o = self.objects[k]
        m = self.seg == o["segmentation_id"]
        if self.counts[o["segmentation_id"]] > 1:  # pixels whose centre lies in the box
            h, w = m.shape
            x0, y0, x1, y1 = o["bbox"]
            xa, xb = max(0, math.ceil(x0 - 0.5)), min(w - 1, math.floor(x1 - 0.5))
            ya, yb = max(0, math.ceil(y0 - 0.5)), min(h - 1, math.floor(y1 - 0.5))
            box = np.zeros_like(m)
            if xa <= xb and ya <= yb:
                box[ya:yb + 1, xa:xb + 1] = True
            m &= box
        return m

    def __iter__(self):
        for k in range(len(self)):
            yield self[k]


# ------------------------------------------------------------------ writing
@contextlib.contextmanager
def file_output(targets: list[Path], reading: str | os.PathLike, overwrite: bool) -> Iterator[None]:
    """Around writing the files ``targets`` (the first is the export's ``out``): refuse any inside
    the dataset ``reading``, or existing without ``overwrite``; create their folder; hold the lock
    of ``out`` (``.OUT.lock`` beside it) and remove the temporaries of killed exports. The caller
    writes each file atomically (:func:`fat.fileio.write_bytes_atomic`, :func:`fat.fileio.writing`)."""
    out = Path(targets[0])
    for path in targets:
        check_target(path, reading, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out.parent}: cannot create the folder: {why(e)}") from None
    with locked(out.parent / f".{out.name}.lock", out):
        for path in targets:
            remove_stale_temporaries(path)
        yield


@contextlib.contextmanager
def folder_output(out: str | os.PathLike, reading: str | os.PathLike, overwrite: bool, kind: str,
                  ours: re.Pattern, marker: str) -> Iterator[Path]:
    """Around building the folder ``out`` (absent or empty; with ``overwrite``, one holding an
    earlier ``kind`` export, recognised by its ``marker`` file, whose entries matching ``ours`` are
    replaced): yields a hidden temporary folder inside ``out`` to write into, whose entries are
    moved in place (``marker`` last) when the block ends, so a failed export leaves nothing behind.
    Holds ``out``'s lock meanwhile and removes the temporary folders of killed exports."""
    out = Path(os.path.abspath(out))  # "." has no name of its own
    if within(out, reading):
        raise OutputError(f"{out}: inside the dataset {reading} being read; choose an output outside it")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    refuse_links(out)  # never followed nor removed, even with overwrite: a link is not an earlier export's
    stem = kind.lower()
    stale = f".{stem}.*{TMP_SUFFIX}"  # the temporary folders of killed exports
    old = [p for p in out.iterdir() if p.name != LOCK_FILE and not p.match(stale)] if out.is_dir() else []
    if old and not overwrite:
        raise OutputError(f"{out}: exists and is not empty; use --overwrite to replace the {kind} export in it")
    if old and not (out / marker).is_file():
        raise OutputError(f"{out}: not a {kind} export made by fat (no {marker}); refusing to delete it")
    with locked_folder(out):
        for p in out.glob(stale):
            discard(p)
        tmp = temp_folder(out / stem)
        try:
            yield tmp
            for p in out.iterdir():  # the earlier export (overwrite): only what an export writes
                if ours.match(p.name):
                    discard(p)
            for p in sorted(tmp.iterdir(), key=lambda p: p.name == marker):  # the marker last
                commit(p, out / p.name)
        except OSError as e:
            raise OutputError(f"{out}: cannot write: {why(e)}") from None
        finally:
            discard(tmp)
