"""FAT's 21 objects with real YCB scans: a folder in the official ``<name>/google_16k/textured.obj``
layout or the flat ``<name>/textured.obj`` one (see :mod:`fat.assets`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..catalog import ObjectSet, YcbModels, fat_objects


class YcbFolder:
    name = "ycb"
    help = "a folder of YCB models (FAT's 21 objects)"

    def claims(self, path: Path) -> bool:
        from ..assets.objects import find_ycb

        return path.is_dir() and any(find_ycb(path, o) is not None for o in fat_objects())

    def load(self, path: Path, options) -> ObjectSet:
        return replace(fat_objects(), meshes=YcbModels(path))
