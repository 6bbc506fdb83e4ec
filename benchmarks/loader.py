"""Loader speed against the floor of decoding the same files with plain OpenCV.

    python benchmarks/loader.py [DATASET] [--frames N]

Reads left views (RGB + depth + segmentation + annotations) through ``fat.Dataset`` and, for the
floor, the same four files with ``cv2.imread`` and ``json.load`` alone. Files are read once before
timing, so both run from the page cache. Without DATASET a small dataset is generated first.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2

import fat
from fat.formats.fat import frame_file


def floor(base: Path, refs) -> None:
    for rel, i in refs:
        d = base / rel
        cv2.imread(str(frame_file(d, i, "left", "rgb")), cv2.IMREAD_COLOR)
        cv2.imread(str(frame_file(d, i, "left", "depth")), cv2.IMREAD_UNCHANGED)
        cv2.imread(str(frame_file(d, i, "left", "seg")), cv2.IMREAD_UNCHANGED)
        with open(frame_file(d, i, "left", "annotation")) as f:
            json.load(f)


def loader(ds, n: int) -> None:
    for i in range(n):
        ds[i]


def best_of(fns, repeats: int) -> list[float]:
    """Best time of each function, running them in turn so that drift in the machine hits all alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dataset", nargs="?")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--hdf5", help="also time this export of the dataset (fat export hdf5)")
    a = ap.parse_args()
    tmp = None
    root = a.dataset
    if root is None:
        from fat.run.driver import generate
        from fat.settings import Settings

        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name) / "ds"
        print("generating a dataset of 60 frames (960x540) ...")
        generate(Settings(locations=(0,), mixed_frames=20), root)
    ds = fat.Dataset(root, fields=("rgb", "depth", "seg", "annotations"))
    n = min(a.frames, len(ds))
    refs = ds.frames()[:n]
    floor(ds.base, refs)  # warm the page cache
    loader(ds, n)
    t_floor, t_loader = best_of([lambda: floor(ds.base, refs), lambda: loader(ds, n)], a.repeats)
    t0 = time.perf_counter()
    fat.Dataset(root, fields=())
    t_open = time.perf_counter() - t0
    print(f"dataset            : {ds.base} ({len(ds)} frames, {ds[0]['width']}x{ds[0]['height']})")
    print(f"open (cached index): {1000 * t_open:.1f} ms")
    print(f"plain OpenCV floor : {n / t_floor:7.1f} frames/s (rgb + depth + seg + json)")
    print(f"fat.Dataset        : {n / t_loader:7.1f} frames/s ({100 * t_floor / t_loader:.0f} % of the floor)")
    if a.hdf5:
        h5 = fat.Dataset(a.hdf5, fields=("rgb", "depth", "seg", "annotations"))
        loader(h5, n)
        (t_h5,) = best_of([lambda: loader(h5, n)], a.repeats)
        print(f"fat.Dataset (HDF5) : {n / t_h5:7.1f} frames/s ({100 * t_floor / t_h5:.0f} % of the floor)")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
