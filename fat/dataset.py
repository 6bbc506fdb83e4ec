"""``fat.Dataset``: a FAT dataset (ours or NVIDIA's), or an HDF5 export of one, as indexable, lazily
decoded frames.

Items are plain dicts of numpy arrays and floats, so a PyTorch ``DataLoader`` can wrap a Dataset
without this project importing torch. Units: metres, OpenCV camera frame, pixels (boxes as
``x_min, y_min, x_max, y_max``); the file's own values are kept under ``raw``.

Where the frames come from is the Dataset's :mod:`storage <fat.storage>`, chosen from ``root``: a
dataset folder (with its cached frame index) or a file made by ``fat export hdf5``.

The extra images of ``fat generate --extras`` (:mod:`fat.formats.extras`) are fields too: asked for,
each is read where the view has its file and left out of the item where it has none.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from .objectsets.recorded import dataset_objects
from .errors import ConfigError, FatError, FormatError
from .formats.extras import EXTRAS, FILES
from .formats.fat import FatFolder
from .geometry import BASELINE_M
from .storage import FolderInfo, class_key, decode_rgb, is_hdf5, object_item, open_storage
from .storage.base import read_extra_file

__all__ = ["Dataset", "EXTRA_KEYS", "FolderInfo", "check_arguments", "decode_rgb", "disparity", "is_hdf5",
           "object_item", "read_extra_file", "require_folder", "stereo_item"]

FIELDS = ("rgb", "depth", "seg", "instance", "annotations") + EXTRAS  # extras: normals, flow, coordinates, amodal
#: The item keys of each extra file kind (:data:`fat.formats.extras.SUFFIXES`): its values and where
#: they are valid, or (amodal) one full-silhouette mask per listed object.
EXTRA_KEYS = {"normals": ("normals", "normals_valid"), "flow": ("flow", "flow_valid"),
              "flow_back": ("flow_back", "flow_back_valid"), "coordinates": ("coordinates", "coordinates_valid"),
              "amodal": ("amodal_masks",)}
EYE_CHOICES = ("left", "right", "both", "stereo")  # the eyes argument
KINDS = ("single", "mixed", "dr", "both", "all")  # both: single and mixed (as fat generate --kind); all: every kind
#: The folder kinds each ``kind`` argument reads.
KIND_FOLDERS = {"single": {"single"}, "mixed": {"mixed"}, "dr": {"dr"}, "both": {"single", "mixed"},
                "all": {"single", "mixed", "dr"}}
SPLITS = ("train", "test", "all")


def check_arguments(split: str, kind: str, eyes: str, fields: Iterable[str], on_error: str) -> tuple[str, ...]:
    """Refuse unknown values of the Dataset arguments; returns the fields as a tuple."""
    for name, value, allowed in (("split", split, SPLITS), ("kind", kind, KINDS), ("eyes", eyes, EYE_CHOICES),
                                 ("on_error", on_error, ("raise", "skip"))):
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    fields = tuple(fields)
    bad = set(fields) - set(FIELDS)
    if bad:
        raise ConfigError(f"unknown fields {sorted(bad)}; known: {', '.join(FIELDS)}")
    return fields


def require_folder(root: str | Path, why: str) -> None:
    """Refuse an HDF5 export where only a dataset folder will do; ``why`` says what needs the folder."""
    if is_hdf5(root):
        raise FormatError(root, f"is an HDF5 export; {why}: give the dataset folder it was made from")


class Dataset:
    """Frames of a FAT dataset: a dataset folder or an HDF5 export of one (``fat export hdf5``).

    ``split``: train, test or all. ``kind``: single, mixed, dr (domain-randomized), both (single and mixed, FAT's
    photoreal kinds, as ``fat generate --kind both``) or all (every kind). ``scenes``: scene names
    (kitchen, kitedemo, temple) or None for all. ``classes``: keep frames showing at least one of
    these objects (any name form: ``banana``, ``011_banana_16k``). ``eyes``: left, right, both (each
    eye an item) or stereo (one item with ``left``, ``right`` and ``disparity``). ``fields``: any of
    rgb, depth, seg, instance, annotations and the extras normals, flow (``flow`` and ``flow_back``),
    coordinates, amodal (:data:`EXTRA_KEYS`; an extra is read where the view has its file, its keys
    are absent where it has none). ``on_error``: raise (a FormatError naming the file) or
    skip (iteration passes over bad frames and lists them in ``skipped``).

    ``base`` is the folder holding ``mixed/`` and ``single/`` (or the HDF5 file), ``folders`` the
    leaf folders' :class:`FolderInfo`, ``storage`` where the frames are read from, ``objects`` the
    dataset's :class:`~fat.catalog.ObjectSet`.
    """

    def __init__(self, root: str | Path, split: str = "all", kind: str = "all", scenes: Sequence[str] | None = None,
                 classes: Sequence[str] | None = None, eyes: str = "left",
                 fields: Iterable[str] = ("rgb", "depth", "seg", "annotations"), on_error: str = "raise"):
        self.fields = check_arguments(split, kind, eyes, fields, on_error)
        self.root = Path(root)
        self.storage = open_storage(root)
        self.base = self.storage.base
        self.eyes, self.on_error = eyes, on_error
        self.skipped: list[tuple[str, int, str]] = []
        self.baseline = self.storage.baseline
        self.folders: dict[str, FolderInfo] = self.storage.folders
        keep = [f for f in self.folders.values()
                if (split == "all" or f.split == split) and f.kind in KIND_FOLDERS[kind]
                and (scenes is None or f.scene in scenes)]
        self.objects = dataset_objects(self.storage)
        found = self.storage.frames(keep, None if classes is None else {self._class_key(c) for c in classes})
        if eyes == "stereo":
            self._refs = [(f, i) for f, i, have in found if "left" in have and "right" in have]
            self._views = [(r, "stereo") for r in self._refs]
        elif eyes in ("left", "right"):
            self._refs = [(f, i) for f, i, have in found if eyes in have]
            self._views = [(r, eyes) for r in self._refs]
        else:
            self._refs = [(f, i) for f, i, _ in found]
            self._views = [((f, i), e) for f, i, have in found for e in have]
        self.index_file = self.storage.index_file  # the folder's cached frame index (None for an HDF5 export)
        if set(self.fields) - {"annotations"}:  # images
            keep_freed_memory()

    def _class_key(self, name: str) -> str:
        """``name`` in any form the object set knows (``banana``, ``011``...) as the files' class, compared as :func:`class_key`."""
        o = self.objects.find(name)
        return class_key(o.class_name if o else name)

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._views)

    def __repr__(self) -> str:
        folders = {f for f, _ in self._refs}
        made = ", ".join(f"{k} {n}" for k, n in sorted(Counter(str(f).split("/", 1)[0] for f in folders).items()))
        return (f"Dataset({str(self.root)!r}: {len(self)} items ({self.eyes}) from {len(self._refs)} frames in "
                f"{len(folders)} folders ({made}); {len(self.objects.objects)} objects; fields {', '.join(self.fields)})")

    def __getitem__(self, i: int) -> dict:
        if not -len(self) <= i < len(self):
            raise IndexError(f"frame {i} out of range (dataset has {len(self)})")
        (folder, index), eye = self._views[i]
        if eye == "stereo":
            return self._stereo(folder, index)
        return self._view(folder, index, eye)

    def __iter__(self) -> Iterator[dict]:
        for i in range(len(self)):
            try:
                yield self[i]
            except FatError as e:
                if self.on_error == "raise":
                    raise
                (folder, index), _ = self._views[i]
                self.skipped.append((folder, index, str(e)))

    def frames(self) -> list[tuple[str, int]]:
        """(folder, frame index) of every frame, in order."""
        return list(self._refs)

    def folder(self, rel: str) -> FatFolder:
        """The leaf folder ``rel`` (``mixed/kitchen_0``) of a dataset folder, read."""
        return self.storage.folder(rel)

    def close(self) -> None:
        """Close the storage's open files (an HDF5 export's)."""
        self.storage.close()

    # ------------------------------------------------------------------ decoding
    def _view(self, rel: str, index: int, eye: str) -> dict:
        K = self.storage.intrinsics(rel, eye)
        info = self.folders[rel]
        item = {"folder": rel, "index": index, "eye": eye, "kind": info.kind, "scene": info.scene,
                "location": info.location, "split": info.split, "K": K.K, "width": K.width, "height": K.height,
                "baseline": self.baseline}
        size = (K.width, K.height)
        if "annotations" in self.fields:
            item.update(self.storage.annotations(rel, index, eye))
        for name in ("rgb", "depth", "seg", "instance"):
            if name in self.fields:
                item[name] = self.storage.image(name, rel, index, eye, size)
        if "depth" in item:
            item["depth_valid"] = item["depth"] > 0  # False where the file says no value (0 or 65535)
        for kind in (k for e in EXTRAS if e in self.fields for k in FILES[e]):
            got = self.storage.extra(kind, rel, index, eye, size, lambda: self._listed(item))
            if got is not None:
                item.update(zip(EXTRA_KEYS[kind], got if kind != "amodal" else (got,)))
        return item

    def _listed(self, item: dict) -> int:
        """The number of objects the view's JSON lists (one amodal mask each)."""
        raw = item["raw"] if "raw" in item else self.storage.annotations(item["folder"], item["index"], item["eye"])["raw"]
        return len(raw.get("objects", []))

    def _stereo(self, rel: str, index: int) -> dict:
        return stereo_item(self._view(rel, index, "left"), self._view(rel, index, "right"), "depth" in self.fields)


def stereo_item(left: dict, right: dict, with_depth: bool) -> dict:
    """A stereo item from the left and right items (with the left disparity when depth is read)."""
    item = {k: left[k] for k in ("folder", "index", "kind", "scene", "location", "split", "baseline")}
    item.update(eye="stereo", left=left, right=right)
    if with_depth:
        item["disparity"] = disparity(left["depth"], left["K"][0, 0], left["baseline"])
        item["disparity_valid"] = left["depth"] > 0
    return item


_ALLOCATOR_TUNED = False


def keep_freed_memory() -> None:
    """Let glibc reuse freed image buffers instead of returning them to the system at once.

    Each decoded frame makes new arrays of 1 to 2 MB (RGB, depth in metres). glibc serves such
    sizes with fresh memory maps, and every 4 KB page of them then costs a page fault (about 1,000
    per frame, a fifth of the decoding time, measured in benchmarks/loader.py). Serving them from
    the heap and keeping up to 128 MB of freed memory makes the next frame reuse the pages. Set
    FAT_KEEP_MALLOC=1 to leave the allocator alone. Does nothing outside glibc.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED or os.environ.get("FAT_KEEP_MALLOC") == "1":
        return
    _ALLOCATOR_TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):
        pass


def disparity(depth: np.ndarray, fx: float, baseline: float = BASELINE_M) -> np.ndarray:
    """Left-eye disparity in pixels, fx * baseline / z (as torchvision and RAFT-Stereo read FAT);
    0 where there is no depth."""
    out = np.zeros_like(depth, dtype=np.float32)
    valid = depth > 0
    out[valid] = np.float32(fx * baseline) / depth[valid]
    return out
