"""COCO export: instance masks as RLE, boxes and areas from the visible mask, the 21 categories named
as the dataset spells its classes, one image entry per eye, the projected cuboid (8 corners, then
the centroid) as keypoints.

Masks come from the instance maps (``*.instance.png``) where the dataset has them. Real FAT has only
class segmentation; there an object's mask is its class's pixels, cut to the object's 2D box when
the class appears more than once in the view. Objects with no visible pixel get no annotation (COCO
has no empty masks).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable

import numpy as np

from .. import catalog
from ..dataset import Dataset, require_folder
from ..errors import FatError, FormatError, OutputError
from ..fileio import check_target, locked, remove_stale_temporaries, why, write_text_atomic
from ..geometry import CUBOID_EDGES, CUBOID_VERTEX_NAMES
from .fat import check_rgb, frame_file, read_instance

KEYPOINTS = [*CUBOID_VERTEX_NAMES, "Centroid"]

#: OKS sigmas for COCOeval's keypoint evaluation of the 9 keypoints (``kpt_oks_sigmas``; pycocotools'
#: default has COCO's 17). One value for all: 0.1, about COCO's least precisely placed joints (hips
#: 0.107), since most cuboid corners lie off the object's surface and are hidden behind it.
KEYPOINT_OKS_SIGMAS = [0.1] * len(KEYPOINTS)


def categories(spellings: dict[int, list[str]] | None = None) -> list[dict]:
    """The 21 categories, ``id`` = FAT order + 1. ``spellings``: per catalog index, the class strings
    the dataset uses (:func:`class_spellings`); ``name`` is the first, else the catalog's name."""
    skeleton = [[a + 1, b + 1] for a, b in CUBOID_EDGES]
    out = []
    for o in catalog.objects():
        names = (spellings or {}).get(o.index) or [o.class_name]
        out.append({"id": o.index + 1, "name": names[0], "supercategory": "ycb", "keypoints": KEYPOINTS,
                    "skeleton": skeleton, "class_names": names})
    return out


def class_spellings(ds: Dataset, skip_bad: bool = False) -> dict[int, list[str]]:
    """Per catalog index, the class strings of the dataset's ``_object_settings.json`` files, each
    once: the mixed folders' first (real FAT's mixed folders say ``006_mustard_bottle_16K``, its
    single folders ``006_mustard_bottle_16k``), then other spellings in folder order. All folders
    count, whatever the split, so every split file names its categories alike. With ``skip_bad`` a
    folder whose settings cannot be read is passed over (its frames are reported as they are skipped)."""
    found: dict[int, list[str]] = {}
    for rel in sorted(ds.folders, key=lambda r: not r.startswith("mixed/")):
        try:
            names = ds.folder(rel).class_names
        except FatError:
            if not skip_bad:
                raise
            continue
        for name in names:
            o = catalog.find(name)
            if o is not None and name not in found.setdefault(o.index, []):
                found[o.index].append(name)
    return found


class _Masks:
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


def views_with_masks(ds: Dataset, skip_bad: bool, skipped: list[str], masks: bool = True):
    """(item, visible mask of each listed object, or None without ``masks``) for every view of
    ``ds``; with ``skip_bad`` a view whose files are missing or corrupt (the RGB file included: it is
    checked to decode completely, as the exports pass it on) is left out and its problem appended to
    ``skipped``. The masks are made one at a time as they are read."""
    for i in range(len(ds)):
        try:
            item = ds[i]
            check_rgb(frame_file(ds.base / item["folder"], item["index"], item["eye"], "rgb"), (item["width"], item["height"]))
            visible = _Masks(item, ds.base) if masks else None
        except FatError as e:
            if not skip_bad:
                raise
            skipped.append(str(e))
            continue
        yield item, visible


def build(root: Path, split: str = "all", skip_bad: bool = False,
          progress: Callable[[int], None] | None = None) -> tuple[dict, list[str]]:
    """The COCO dictionary of ``root`` and the problems of frames left out (``skip_bad``)."""
    from pycocotools import mask as rle

    require_folder(root, "COCO's file_name entries name the dataset's JPEG files, which an export does not keep")
    ds = Dataset(root, split=split, eyes="both", fields=("seg", "annotations"))
    images, annotations, skipped = [], [], []
    spellings = class_spellings(ds, skip_bad)
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
                "class": o["class"], "visibility": o["visibility"], "location": [float(x) for x in o["location"]],
                "quaternion_xyzw": [float(x) for x in o["quaternion_xyzw"]],
            })
        if progress:
            progress(1)
    doc = {"info": {"description": f"FAT-style dataset {ds.base}", "version": "1.0"}, "licenses": [],
           "images": images, "annotations": annotations, "categories": categories(spellings)}
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
