"""COCO export: instance masks as RLE, boxes and areas from the visible mask, the set's categories named
as the dataset spells its classes, one image entry per eye, the projected cuboid (8 corners, then
the centroid) as keypoints.

Masks come from the instance maps (``*.instance.png``) where the dataset has them. Real FAT has only
class segmentation; there an object's mask is its class's pixels, cut to the object's 2D box when
the class appears more than once in the view. Objects with no visible pixel get no annotation (COCO
has no empty masks).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..catalog import ObjectSet
from ..dataset import Dataset
from ..errors import FatError, OutputError
from ..fileio import why, write_text_atomic
from ..geometry import CUBOID_EDGES, CUBOID_VERTEX_NAMES
from . import Export, Result
from .common import Progress, file_output, open_dataset, skipped, views_with_masks

KEYPOINTS = [*CUBOID_VERTEX_NAMES, "Centroid"]

#: OKS sigmas for COCOeval's keypoint evaluation of the 9 keypoints (``kpt_oks_sigmas``; pycocotools'
#: default has COCO's 17). One value for all: 0.1, about COCO's least precisely placed joints (hips
#: 0.107), since most cuboid corners lie off the object's surface and are hidden behind it.
KEYPOINT_OKS_SIGMAS = [0.1] * len(KEYPOINTS)


def categories(objects: ObjectSet, spellings: dict[int, list[str]] | None = None) -> list[dict]:
    """One category per object of the set, ``id`` = its place in the set + 1 (FAT's objects: FAT order
    + 1), ``supercategory`` the set's. ``spellings``: per object index, the class strings the dataset
    uses (:func:`class_spellings`); ``name`` is the first, else the set's class name."""
    skeleton = [[a + 1, b + 1] for a, b in CUBOID_EDGES]
    out = []
    for o in objects:
        names = (spellings or {}).get(o.index) or [o.class_name]
        out.append({"id": o.index + 1, "name": names[0], "supercategory": objects.supercategory,
                    "keypoints": KEYPOINTS, "skeleton": skeleton, "class_names": names})
    return out


def class_spellings(ds: Dataset, skip_bad: bool = False) -> dict[int, list[str]]:
    """Per object index, the class strings of the dataset's ``_object_settings.json`` files, each
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
            o = ds.objects.find(name)
            if o is not None and name not in found.setdefault(o.index, []):
                found[o.index].append(name)
    return found


def build(root: Path, split: str = "all", skip_bad: bool = False,
          progress: Progress | None = None) -> tuple[dict, list[str]]:
    """The COCO dictionary of ``root`` and the problems of frames left out (``skip_bad``)."""
    from pycocotools import mask as rle

    ds = open_dataset(root, "COCO's file_name entries name the dataset's JPEG files, which an export does not keep",
                      skip_bad, split=split, fields=("seg", "annotations"))
    images, annotations = [], []
    spellings = class_spellings(ds, skip_bad)
    for item, masks in views_with_masks(ds, progress=progress):
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
                "id": len(annotations) + 1, "image_id": image_id, "category_id": ds.objects.get(o["class"]).index + 1,
                "segmentation": enc, "area": float(rle.area(enc)), "bbox": [float(x) for x in rle.toBbox(enc)],
                "iscrowd": 0, "keypoints": kp, "num_keypoints": len(pts),
                "class": o["class"], "visibility": o["visibility"], "location": [float(x) for x in o["location"]],
                "quaternion_xyzw": [float(x) for x in o["quaternion_xyzw"]],
            })
    doc = {"info": {"description": f"FAT-style dataset {ds.base}", "version": "1.0"}, "licenses": [],
           "images": images, "annotations": annotations, "categories": categories(ds.objects, spellings)}
    return doc, skipped(ds)


def export(root: Path, out: Path, skip_bad: bool = False, progress=None,
           overwrite: bool = False) -> dict[str, tuple[int, int]]:
    """Write ``out`` (all frames) and, beside it, ``<out>.train.json`` and ``<out>.test.json`` for the
    splits that hold frames. Returns (images, annotations) per written file. Existing files of that
    name, split files of an earlier export included, are refused unless ``overwrite``; then a split
    file this export does not write is removed."""
    out = Path(out)
    if out.suffix != ".json":
        meant = out.with_suffix(".json") if out.suffix.lower() == ".json" else out.with_name(out.name + ".json")
        raise OutputError(f"{out}: the COCO file's name must end in .json, as its split files are named after it "
                          f"(fat.json: fat.train.json, fat.test.json); did you mean {meant}?")
    targets = (("all", out), ("train", out.with_suffix(".train.json")), ("test", out.with_suffix(".test.json")))
    written, problems = {}, []
    with file_output([path for _, path in targets], root, overwrite):
        for split, path in targets:
            doc, left_out = build(root, split, skip_bad, progress if split == "all" else None)
            if split == "all":
                problems = left_out
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


class Coco(Export):
    """``fat export coco``."""

    name = "coco"
    help = "COCO instances: RLE masks, boxes, the dataset's categories, the projected cuboid as keypoints."
    description = ("COCO instances of DATASET in the file OUT, whose name must end in .json (out/fat.json), and "
                   "the splits' files beside it (out/fat.train.json, out/fat.test.json): RLE masks, boxes and areas "
                   "from the visible masks, the dataset's categories, the projected cuboid as keypoints.")
    output = "file"
    unit = "image"

    def run(self, dataset: Path, out: Path, *, overwrite: bool = False, skip_bad: bool = False,
            progress: Progress | None = None) -> Result:
        written = export(dataset, out, skip_bad, progress, overwrite=overwrite)
        problems = written.pop("skipped")
        return Result([f"{path}: {n_img} images, {n_ann} annotations" for path, (n_img, n_ann) in written.items()],
                      problems)
