"""``fat.Dataset``: a FAT dataset (ours or NVIDIA's) as indexable, lazily decoded frames.

Items are plain dicts of numpy arrays and floats, so a PyTorch ``DataLoader`` can wrap a Dataset
without this project importing torch. Units: metres, OpenCV camera frame, pixels (boxes as
``x_min, y_min, x_max, y_max``); the file's own values are kept under ``raw``.

The list of frames is built once and cached beside the data (``.fat_index.json``; in the cache
folder when the dataset is read-only), and checked against the folders' modification times.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import cv2
import numpy as np

from . import catalog
from .errors import ConfigError, FatError, FormatError
from .formats import fat as F
from .formats.fat import FRAME_RE, FatFolder, frame_file, parse_view
from .geometry import BASELINE_M

INDEX_FILE = ".fat_index.json"
INDEX_VERSION = 2
FIELDS = ("rgb", "depth", "seg", "instance", "annotations")
EYES = ("left", "right", "both", "stereo")
KINDS = ("single", "mixed", "both")
SPLITS = ("train", "test", "all")
_LOCATION_RE = re.compile(r"^(.+)_(\d+)$")
_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


@dataclass(frozen=True)
class FolderInfo:
    path: str  # relative to the dataset's base, e.g. "mixed/kitchen_0"
    kind: str  # single | mixed
    location: str  # kitchen_0
    scene: str  # kitchen
    object_class: str | None  # single folders: the object's class
    split: str  # train | test


def check_arguments(split: str, kind: str, eyes: str, fields: Iterable[str], on_error: str) -> tuple[str, ...]:
    """Refuse unknown values of the Dataset arguments; returns the fields as a tuple."""
    for name, value, allowed in (("split", split, SPLITS), ("kind", kind, KINDS), ("eyes", eyes, EYES),
                                 ("on_error", on_error, ("raise", "skip"))):
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    fields = tuple(fields)
    bad = set(fields) - set(FIELDS)
    if bad:
        raise ConfigError(f"unknown fields {sorted(bad)}; known: {', '.join(FIELDS)}")
    return fields


def is_hdf5(root: str | Path) -> bool:
    """Whether ``root`` is a file made by ``fat export hdf5`` (by its name), which Dataset reads too."""
    return str(root).endswith((".h5", ".hdf5")) and Path(root).is_file()


def require_folder(root: str | Path, why: str) -> None:
    """Refuse an HDF5 export where only a dataset folder will do; ``why`` says what needs the folder."""
    if is_hdf5(root):
        raise FormatError(root, f"is an HDF5 export; {why}: give the dataset folder it was made from")


def find_base(root: str | Path) -> Path:
    """The folder holding ``mixed/`` and/or ``single/``: ``root`` itself, ``root/fat`` (the real FAT
    zip) or ``root/FallingThings`` (torchvision's layout)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FormatError(root, "dataset folder not found")
    for base in (root, root / "fat", root / "FallingThings"):
        if (base / "mixed").is_dir() or (base / "single").is_dir():
            return base
    raise FormatError(root, "no FAT dataset here (expected mixed/ or single/ inside, or fat/mixed, fat/single)")


def _leaf_folders(base: Path) -> list[tuple[str, str, str | None]]:
    """(relative path, kind, object class) of every leaf folder, sorted."""
    out = []
    if (base / "mixed").is_dir():
        out += [(f"mixed/{p.name}", "mixed", None) for p in sorted((base / "mixed").iterdir())
                if (p / F.CAMERA_SETTINGS).is_file()]
    if (base / "single").is_dir():
        for obj in sorted(p for p in (base / "single").iterdir() if p.is_dir()):
            out += [(f"single/{obj.name}/{p.name}", "single", obj.name) for p in sorted(obj.iterdir())
                    if (p / F.CAMERA_SETTINGS).is_file()]
    return out


def _test_folders(base: Path, folders: list[tuple[str, str, str | None]]) -> set[str]:
    """Test folders from ``split.json`` when the dataset has one, else the ``_4`` locations."""
    split = base / "split.json"
    if split.is_file():
        try:
            return set(F.read_json(split)["test"])
        except (KeyError, TypeError) as e:
            raise FormatError(split, f"not a split file: {e}") from None
    return {rel for rel, _, _ in folders if rel.rsplit("_", 1)[-1] == "4"}


def _class_key(name: str) -> str:
    o = catalog.find(name)
    return o.class_name.lower() if o else name.lower()


class Dataset:
    """Frames of a FAT dataset.

    ``split``: train, test or all. ``kind``: single, mixed or both. ``scenes``: scene names
    (kitchen, kitedemo, temple) or None for all. ``classes``: keep frames showing at least one of
    these objects (any name form: ``banana``, ``011_banana_16k``). ``eyes``: left, right, both (each
    eye an item) or stereo (one item with ``left``, ``right`` and ``disparity``). ``fields``: any of
    rgb, depth, seg, instance, annotations. ``on_error``: raise (a FormatError naming the file) or
    skip (iteration passes over bad frames and lists them in ``skipped``).
    """

    def __new__(cls, root, *args, **kwargs):
        if is_hdf5(root):  # an export of fat export hdf5
            from .formats.hdf5 import H5Dataset

            return H5Dataset(root, *args, **kwargs)
        return super().__new__(cls)

    def __init__(self, root: str | Path, split: str = "all", kind: str = "both", scenes: Sequence[str] | None = None,
                 classes: Sequence[str] | None = None, eyes: str = "left",
                 fields: Iterable[str] = ("rgb", "depth", "seg", "annotations"), on_error: str = "raise"):
        self.fields = check_arguments(split, kind, eyes, fields, on_error)
        self.root = Path(root)
        self.base = find_base(root)
        self.eyes, self.on_error = eyes, on_error
        self.skipped: list[tuple[str, int, str]] = []
        self.baseline = self._baseline()
        leaves = _leaf_folders(self.base)
        test = _test_folders(self.base, leaves)
        self.folders: dict[str, FolderInfo] = {}
        for rel, k, cls in leaves:
            loc = rel.rsplit("/", 1)[-1]
            m = _LOCATION_RE.match(loc)
            self.folders[rel] = FolderInfo(rel, k, loc, m.group(1) if m else loc, cls, "test" if rel in test else "train")
        keep = [f for f in self.folders.values()
                if (split == "all" or f.split == split) and (kind == "both" or f.kind == kind)
                and (scenes is None or f.scene in scenes)]
        index = _Index(self.base, [f.path for f in keep], need_classes=classes is not None and any(f.kind == "mixed" for f in keep))
        wanted = None if classes is None else {_class_key(c) for c in classes}
        refs = []
        for f in keep:
            entry = index.folders[f.path]
            for k, i in enumerate(entry["frames"]):
                if wanted is not None:
                    present = {_class_key(f.object_class)} if f.kind == "single" else set(entry["classes"][k])
                    if not present & wanted:
                        continue
                refs.append((f.path, i))
        self.index_file = index.file
        self._refs = refs
        self._views = [(r, e) for r in refs for e in (("left", "right") if eyes == "both" else (eyes,))]
        self._folders: dict[str, FatFolder] = {}
        if set(self.fields) & {"rgb", "depth", "seg", "instance"}:
            keep_freed_memory()

    # ------------------------------------------------------------------ access
    def __len__(self) -> int:
        return len(self._views)

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
        if rel not in self._folders:
            self._folders[rel] = FatFolder(self.base / rel)
        return self._folders[rel]

    # ------------------------------------------------------------------ decoding
    def _baseline(self) -> float:
        settings = self.base / "fat_dataset.json"
        if settings.is_file():
            try:
                b = float(F.read_json(settings)["settings"].get("baseline", BASELINE_M))
                if math.isfinite(b) and b > 0:
                    return b
            except (FatError, ValueError, KeyError, TypeError, AttributeError, OverflowError):
                pass  # fat validate names an unreadable fat_dataset.json
        return BASELINE_M

    def _view(self, rel: str, index: int, eye: str) -> dict:
        folder = self.folder(rel)
        K = folder.intrinsics(eye)
        info = self.folders[rel]
        item = {"folder": rel, "index": index, "eye": eye, "kind": info.kind, "scene": info.scene,
                "location": info.location, "split": info.split, "K": K.K, "width": K.width, "height": K.height,
                "baseline": self.baseline}
        size = (K.width, K.height)
        if "annotations" in self.fields:
            path = frame_file(folder.path, index, eye, "annotation")
            raw = F.read_json(path)
            view = parse_view(raw, path, folder.class_names)
            item["camera_pose"] = view.camera_pose
            item["objects"] = [object_item(o, folder.object_setting(o.class_name)) for o in view.objects]
            item["raw"] = raw
        for name in ("rgb", "depth", "seg", "instance"):
            if name in self.fields:
                item[name] = _read_image(name, frame_file(folder.path, index, eye, name), size)
        if "depth" in item:
            item["depth_valid"] = item["depth"] > 0  # False where the file says no value (0 or 65535)
        return item

    def _stereo(self, rel: str, index: int) -> dict:
        return stereo_item(self._view(rel, index, "left"), self._view(rel, index, "right"), "depth" in self.fields)


def object_item(o, setting) -> dict:
    """The item of one object: its annotation in metres plus its ``_object_settings.json`` entry."""
    return {"class": o.class_name, "visibility": o.visibility, "pose": o.pose, "location": o.location,
            "quaternion_xyzw": o.quaternion_xyzw, "cuboid": o.cuboid, "projected_cuboid": o.projected_cuboid,
            "projected_cuboid_centroid": o.projected_cuboid_centroid, "bbox": o.bbox,
            "dimensions": setting.dimensions, "segmentation_id": setting.segmentation_id}


def stereo_item(left: dict, right: dict, with_depth: bool) -> dict:
    """A stereo item from the left and right items (with the left disparity when depth is read)."""
    item = {k: left[k] for k in ("folder", "index", "kind", "scene", "location", "split", "baseline")}
    item.update(eye="stereo", left=left, right=right)
    if with_depth:
        item["disparity"] = disparity(left["depth"], left["K"][0, 0], left["baseline"])
        item["disparity_valid"] = left["depth"] > 0
    return item


def decode_rgb(data: np.ndarray, path) -> np.ndarray:
    """(H, W, 3) RGB from encoded image bytes; ``path`` names them in errors."""
    img = cv2.imdecode(data, _IMREAD_RGB if _IMREAD_RGB is not None else cv2.IMREAD_COLOR)
    if img is None:
        raise FormatError(path, "not a readable image (truncated or corrupt)")
    return img if _IMREAD_RGB is not None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


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


def _read_image(name: str, path: Path, size: tuple[int, int]) -> np.ndarray:
    if name == "rgb":
        if _IMREAD_RGB is None:
            return F.read_rgb(path, size)
        img = F._decode(path, _IMREAD_RGB)
        F._check_size(path, img, size)
        return img
    return {"depth": F.read_depth, "seg": F.read_seg, "instance": F.read_instance}[name](path, size)


# ---------------------------------------------------------------------- the cached index
class _Index:
    """Frame indices per folder (and, when asked for, the classes in each mixed frame), cached."""

    def __init__(self, base: Path, folders: list[str], need_classes: bool):
        self.file = self._location(base)
        cached = self._load()
        self.folders: dict[str, dict] = {}
        changed = False
        for rel in folders:
            mtime = os.stat(base / rel).st_mtime_ns
            entry = cached.get(rel)
            if entry is None or entry.get("mtime_ns") != mtime:
                entry = {"mtime_ns": mtime, "frames": _scan(base / rel)}
                changed = True
            if need_classes and rel.startswith("mixed/") and "classes" not in entry:
                entry["classes"] = [_frame_classes(base / rel, i) for i in entry["frames"]]
                changed = True
            self.folders[rel] = entry
        if changed:
            cached.update(self.folders)
            self._save(cached)

    @staticmethod
    def _location(base: Path) -> Path:
        if os.access(base, os.W_OK):
            return base / INDEX_FILE
        from .assets import cache_dir

        key = hashlib.sha256(str(base.resolve()).encode()).hexdigest()[:16]
        return cache_dir() / "index" / f"{key}.json"

    def _load(self) -> dict:
        try:
            doc = json.loads(self.file.read_text())
            return doc["folders"] if doc.get("version") == INDEX_VERSION else {}
        except (OSError, ValueError, KeyError, TypeError):
            return {}

    def _save(self, folders: dict) -> None:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.file.with_name(f".{self.file.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps({"version": INDEX_VERSION, "folders": folders}, separators=(",", ":")))
            os.replace(tmp, self.file)
        except OSError:
            pass  # an index that cannot be saved is rebuilt next time


def _scan(folder: Path) -> list[int]:
    found = set()
    with os.scandir(folder) as it:
        for entry in it:
            m = FRAME_RE.match(entry.name)
            if m:
                found.add(int(m.group(1)))
    return sorted(found)


def _frame_classes(folder: Path, index: int) -> list[str]:
    for eye in ("left", "right"):
        path = frame_file(folder, index, eye, "annotation")
        if path.is_file():
            try:
                doc = F.read_json(path)
                return sorted({_class_key(o["class"]) for o in doc.get("objects", [])
                               if isinstance(o, dict) and isinstance(o.get("class"), str)})
            except (FatError, TypeError):
                return []  # reading the frame names its problem
    return []
