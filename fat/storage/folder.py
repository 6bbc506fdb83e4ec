"""A dataset folder as a :mod:`fat.storage`: ours or NVIDIA's FAT (``mixed/``, ``single/``, or the
real zip's ``fat/`` and torchvision's ``FallingThings/`` around them).

The list of frames is built once and cached beside the data (``.fat_index.json``; in the cache
folder when the dataset is read-only), and checked against the folders' modification times.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import FatError, FormatError, OutputError
from ..fileio import write_text_atomic
from ..formats import fat as F
from ..formats.fat_images import check_size, decode_file
from ..formats.extras import extra_file
from ..formats.fat import FRAME_RE, FatFolder, frame_file, parse_view
from ..geometry import BASELINE_M, EYES
from .base import _IMREAD_RGB, FolderInfo, class_key, folder_order, object_item, read_extra_file

INDEX_FILE = ".fat_index.json"
INDEX_VERSION = 2
_LOCATION_RE = re.compile(r"^(.+)_(\d+)$")


class FolderStorage:
    """The frames of a dataset folder."""

    def __init__(self, root: str | Path):
        self.base = find_base(root)
        self.baseline = self._read_baseline()
        self.index_file: Path | None = None
        leaves = _leaf_folders(self.base)
        test = _test_folders(self.base, leaves)
        self.folders: dict[str, FolderInfo] = {}
        for rel, k, cls in leaves:
            loc = rel.rsplit("/", 1)[-1]
            m = _LOCATION_RE.match(loc)
            self.folders[rel] = FolderInfo(rel, k, loc, m.group(1) if m else loc, cls, "test" if rel in test else "train")
        self._open: dict[str, FatFolder] = {}

    def frames(self, infos: list[FolderInfo], classes: set[str] | None) -> list[tuple[str, int, tuple[str, ...]]]:
        index = _Index(self.base, [f.path for f in infos], need_classes=classes is not None and any(f.kind != "single" for f in infos))
        self.index_file = index.file
        out = []
        for f in infos:
            entry = index.folders[f.path]
            for k, i in enumerate(entry["frames"]):
                if classes is not None:
                    present = {class_key(f.object_class)} if f.kind == "single" else set(entry["classes"][k])
                    if not present & classes:
                        continue
                out.append((f.path, i, EYES))
        return out

    def folder(self, rel: str) -> FatFolder:
        if rel not in self._open:
            self._open[rel] = FatFolder(self.base / rel)
        return self._open[rel]

    def intrinsics(self, rel: str, eye: str):
        return self.folder(rel).intrinsics(eye)

    def annotations(self, rel: str, index: int, eye: str) -> dict:
        folder = self.folder(rel)
        path = frame_file(folder.path, index, eye, "annotation")
        raw = F.read_json(path)
        view = parse_view(raw, path, folder.class_names)
        return {"camera_pose": view.camera_pose,
                "objects": [object_item(o, folder.object_setting(o.class_name)) for o in view.objects], "raw": raw}

    def image(self, name: str, rel: str, index: int, eye: str, size: tuple[int, int]) -> np.ndarray:
        return _read_image(name, frame_file(self.base / rel, index, eye, name), size)

    def extra(self, kind: str, rel: str, index: int, eye: str, size: tuple[int, int], listed: Callable[[], int]):
        """The extra file ``kind`` of a view (:mod:`fat.formats.extras`) decoded, or None where the view
        has none; ``listed()``: the number of objects the view lists (asked for amodal only)."""
        path = extra_file(self.base / rel, index, eye, kind)
        return read_extra_file(path, kind, size, listed() if kind == "amodal" else 0) if path.is_file() else None

    def close(self) -> None:
        pass

    def record(self) -> dict | None:
        """``fat_dataset.json`` (None when absent or unreadable: ``fat validate`` names it)."""
        path = self.base / "fat_dataset.json"
        if path.is_file():
            try:
                doc = F.read_json(path)
                return doc if isinstance(doc, dict) else None
            except FatError:
                return None
        return None

    def object_settings(self) -> Iterator[tuple[FolderInfo, list]]:
        """Each leaf folder's parsed ``_object_settings.json`` (a folder whose file cannot be read is
        passed over: reading its frames names the problem)."""
        for info in self.folders.values():
            path = self.base / info.path / F.OBJECT_SETTINGS
            try:
                yield info, F.parse_object_settings(F.read_json(path), path)
            except FatError:
                continue

    def _read_baseline(self) -> float:
        settings = self.base / "fat_dataset.json"
        if settings.is_file():
            try:
                b = float(F.read_json(settings)["settings"].get("baseline", BASELINE_M))
                if math.isfinite(b) and b > 0:
                    return b
            except (FatError, ValueError, KeyError, TypeError, AttributeError, OverflowError):
                pass  # fat validate names an unreadable fat_dataset.json
        return BASELINE_M


def find_base(root: str | Path) -> Path:
    """The folder holding ``mixed/`` and/or ``single/``: ``root`` itself, ``root/fat`` (the real FAT
    zip) or ``root/FallingThings`` (torchvision's layout)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FormatError(root, "dataset folder not found")
    for base in (root, root / "fat", root / "FallingThings"):
        if any((base / top).is_dir() for top in ("mixed", "single", "dr")):
            return base
    raise FormatError(root, "no FAT dataset here (expected mixed/ or single/ inside, or fat/mixed, fat/single)")


def _leaf_folders(base: Path) -> list[tuple[str, str, str | None]]:
    """(relative path, kind, object class) of every leaf folder, in :func:`~fat.storage.base.folder_order`."""
    out = []
    for top in ("mixed", "dr"):  # dr: domain-randomized mixed drops (fat generate --kind dr)
        if (base / top).is_dir():
            out += [(f"{top}/{p.name}", top, None) for p in sorted((base / top).iterdir())
                    if (p / F.CAMERA_SETTINGS).is_file()]
    if (base / "single").is_dir():
        for obj in sorted(p for p in (base / "single").iterdir() if p.is_dir()):
            out += [(f"single/{obj.name}/{p.name}", "single", obj.name) for p in sorted(obj.iterdir())
                    if (p / F.CAMERA_SETTINGS).is_file()]
    return sorted(out, key=lambda f: folder_order(f[0], f[1]))


#: the location index real FAT holds out for test in every scene (its files have no split.json)
FAT_TEST_LOCATION = "4"


def _test_folders(base: Path, folders: list[tuple[str, str, str | None]]) -> set[str]:
    """Test folders from ``split.json`` when the dataset has one (every dataset of ours), else real
    FAT's: the locations of index :data:`FAT_TEST_LOCATION`."""
    split = base / "split.json"
    if split.is_file():
        try:
            return set(F.read_json(split)["test"])
        except (KeyError, TypeError) as e:
            raise FormatError(split, f"not a split file: {e}") from None
    return {rel for rel, _, _ in folders if rel.rsplit("_", 1)[-1] == FAT_TEST_LOCATION}


def _read_image(name: str, path: Path, size: tuple[int, int]) -> np.ndarray:
    if name == "rgb":
        if _IMREAD_RGB is None:
            return F.read_rgb(path, size)
        img = decode_file(path, _IMREAD_RGB)
        check_size(path, img, size)
        return img
    return {"depth": F.read_depth, "seg": F.read_seg, "instance": F.read_instance}[name](path, size)


# ---------------------------------------------------------------------- the cached index
class _Index:
    """Frame indices per folder (and, when asked for, the classes in each mixed or dr frame), cached."""

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
            if need_classes and not rel.startswith("single/") and "classes" not in entry:  # mixed and dr
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
        from ..assets.cache import cache_dir

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
            write_text_atomic(self.file, json.dumps({"version": INDEX_VERSION, "folders": folders}, separators=(",", ":")))
        except (OSError, OutputError):
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
                return sorted({class_key(o["class"]) for o in doc.get("objects", [])
                               if isinstance(o, dict) and isinstance(o.get("class"), str)})
            except (FatError, TypeError):
                return []  # reading the frame names its problem
    return []
