"""Opening a dataset of FAT's full size: the first open (scan and index) and the next (cached index).

    python benchmarks/index.py

Builds a tree of FAT's exact shape in a temporary folder: 330 leaf folders, 61,500 frames, all ten
file names of each frame (empty files: opening reads names, not content), then times fat.Dataset.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import fat
from fat import catalog
from fat.formats.fat import EYES, SUFFIXES
from fat.scene.scenes import scene_names


def build(base: Path) -> int:
    names = [f"{s}_{i}" for s in scene_names() for i in range(5)]
    folders = [(base / "mixed" / n, 2000) for n in names]
    folders += [(base / "single" / o.class_name / n, 100) for o in catalog.fat_objects() for n in names]
    total = 0
    for path, n in folders:
        path.mkdir(parents=True)
        (path / "_camera_settings.json").touch()
        (path / "_object_settings.json").touch()
        for i in range(n):
            for eye in EYES:
                for kind in ("rgb", "depth", "seg", "annotation"):
                    (path / f"{i:06d}.{eye}.{SUFFIXES[kind]}").touch()
        total += n
    return total


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "fat"
        t = time.perf_counter()
        n = build(base)
        print(f"built a FAT-shaped tree: {n} frames in {time.perf_counter() - t:.0f} s")
        for label in ("first open (scan, write the index)", "second open (cached index)", "third open"):
            t = time.perf_counter()
            ds = fat.Dataset(Path(tmp), fields=())
            print(f"{label:36s}: {time.perf_counter() - t:6.3f} s, {len(ds)} frames")


if __name__ == "__main__":
    main()
