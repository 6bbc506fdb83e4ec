"""COCO export: instance masks as RLE, boxes and areas from the visible mask, the 21 categories, one
image entry per eye, the projected cuboid (8 corners, then the centroid) as keypoints.

Masks come from the instance maps (``*.instance.png``) where the dataset has them. Real FAT has only
class segmentation; there an object's mask is its class's pixels, cut to the object's 2D box when
the class appears more than once in the view. Objects with no visible pixel get no annotation (COCO
has no empty masks).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from .. import catalog
from ..dataset import Dataset
from ..errors import FatError, FormatError, OutputError
from ..fileio import check_target, locked, remove_stale_temporaries, why, write_text_atomic
from ..geometry import CUBOID_EDGES, CUBOID_VERTEX_NAMES
from .fat import frame_file, read_instance

KEYPOINTS = [*CUBOID_VERTEX_NAMES, "Centroid"]


def categories() -> list[dict]:
    skeleton = [[a + 1, b + 1] for a, b in CUBOID_EDGES]
    return [{"id": o.index + 1, "name": o.class_name, "supercategory": "ycb", "keypoints": KEYPOINTS,
             "skeleton": skeleton} for o in catalog.objects()]


def _masks(item: dict, base: Path) -> list[np.ndarray]:
    objs = item["objects"]
    path = frame_file(base / item["folder"], item["index"], item["eye"], "instance")
    if path.exists():
        inst = read_instance(path, (item["width"], item["height"]))
        return [inst == k + 1 for k in range(len(objs))]
    seg = item["seg"]
    counts = {}
    for o in objs:
        counts[o["segmentation_id"]] = counts.get(o["segmentation_id"], 0) + 1
    out = []
    ys, xs = np.mgrid[0:seg.shape[0], 0:seg.shape[1]]
    for o in objs:
        m = seg == o["segmentation_id"]
        if counts[o["segmentation_id"]] > 1:
            x0, y0, x1, y1 = o["bbox"]
            m &= (xs + 0.5 >= x0) & (xs + 0.5 <= x1) & (ys + 0.5 >= y0) & (ys + 0.5 <= y1)
        out.append(m)
    return out


def views_with_masks(ds: Dataset, skip_bad: bool, skipped: list[str]):
    """(item, visible mask of each listed object) for every view of ``ds``; with ``skip_bad`` a view
    whose files are missing or corrupt is left out and its problem appended to ``skipped``."""
    for i in range(len(ds)):
        try:
            item = ds[i]
            masks = _masks(item, ds.base)
        except FatError as e:
            if not skip_bad:
                raise
            skipped.append(str(e))
            continue
        yield item, masks


def build(root: Path, split: str = "all", skip_bad: bool = False,
          progress: Callable[[int], None] | None = None) -> tuple[dict, list[str]]:
    """The COCO dictionary of ``root`` and the problems of frames left out (``skip_bad``)."""
    from pycocotools import mask as rle

    ds = Dataset(root, split=split, eyes="both", fields=("seg", "annotations"))
    images, annotations, skipped = [], [], []
    for item, masks in views_with_masks(ds, skip_bad, skipped):
        image_id = len(images) + 1
        K = item["K"]
        images.append({"id": image_id, "file_name": f"{item['folder']}/{item['index']:06d}.{item['eye']}.jpg",
                       "width": item["width"], "height": item["height"], "folder": item["folder"],
                       "frame": item["index"], "eye": item["eye"], "split": item["split"],
                       "intrinsics": [float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2])]})
        for o, m in zip(item["objects"], masks):
            if not m.any():
                continue
            enc = rle.encode(np.asfortranarray(m.astype(np.uint8)))
            enc["counts"] = enc["counts"].decode("ascii")
            pts = np.vstack([o["projected_cuboid"], o["projected_cuboid_centroid"]])
            inside = (pts[:, 0] >= 0) & (pts[:, 0] < item["width"]) & (pts[:, 1] >= 0) & (pts[:, 1] < item["height"])
            kp = []
            for (u, v), vis in zip(pts, inside):
                kp += [round(float(u), 3), round(float(v), 3), 2 if vis else 1]
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": catalog.get(o["class"]).index + 1,
                "segmentation": enc, "area": float(rle.area(enc)), "bbox": [float(x) for x in rle.toBbox(enc)],
                "iscrowd": 0, "keypoints": kp, "num_keypoints": len(pts),
                "visibility": o["visibility"], "location": [float(x) for x in o["location"]],
                "quaternion_xyzw": [float(x) for x in o["quaternion_xyzw"]],
            })
        if progress:
            progress(1)
    doc = {"info": {"description": f"FAT-style dataset {ds.base}", "version": "1.0"}, "licenses": [],
           "images": images, "annotations": annotations, "categories": categories()}
    return doc, skipped


def export(root: Path, out: Path, skip_bad: bool = False, progress=None,
           overwrite: bool = False) -> dict[str, tuple[int, int]]:
    """Write ``out`` (all frames) and, beside it, ``<out>.train.json`` and ``<out>.test.json`` for the
    splits that hold frames. Returns (images, annotations) per written file. Existing files of that
    name, split files of an earlier export included, are refused unless ``overwrite``; then a split
    file this export does not write is removed."""
    out = Path(out)
    if out.suffix != ".json":
        raise FormatError(out, "the COCO file must end in .json")
    targets = (("all", out), ("train", out.with_suffix(".train.json")), ("test", out.with_suffix(".test.json")))
    for _, path in targets:
        check_target(path, root, overwrite)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out.parent}: cannot create the folder: {why(e)}") from None
    written, problems = {}, []
    with locked(out.parent / f".{out.name}.lock", out):
        for _, path in targets:
            remove_stale_temporaries(path)
        for split, path in targets:
            doc, skipped = build(root, split, skip_bad, progress if split == "all" else None)
            if split == "all":
                problems = skipped
            if split != "all" and not doc["images"]:
                if path.is_symlink() or path.is_file():
                    try:
                        path.unlink()  # a stale split file of an earlier export (overwrite given)
                    except OSError as e:
                        raise OutputError(f"{path}: cannot delete: {why(e)}") from None
                continue
            write_text_atomic(path, json.dumps(doc, separators=(",", ":")))
            written[str(path)] = (len(doc["images"]), len(doc["annotations"]))
    written["skipped"] = problems
    return written
