"""``fat validate``: check every frame of a dataset (ours or NVIDIA's FAT) against the format.

Per folder: both settings files parse. Per frame and eye: the four FAT files are present and
readable (the instance map is checked when present); image sizes match ``_camera_settings.json``; RGB
is 8-bit colour, depth 16-bit and segmentation 8-bit single-channel; the JSON has every field with
the right type and only classes of ``_object_settings.json``; ``projected_cuboid`` is K times
``cuboid``; segmentation values are 0 or ids of ``_object_settings.json``; each class's mask lies
inside the ``bounding_box`` of its objects, read as (y, x).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .dataset import Dataset
from .errors import FatError
from .formats import fat as F
from .formats.fat import FatFolder, frame_file

#: Pixels a mask may reach beyond its box (rasterisation and the 4-decimal rounding of the box).
BOX_SLACK = 1.5


@dataclass
class Problem:
    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _projection_tolerance(cuboid_m: np.ndarray, fx: float) -> np.ndarray:
    """How far K * cuboid may be from projected_cuboid given 4-decimal centimetres in the file."""
    z = cuboid_m[:, 2:]
    return 0.002 + fx * 2e-6 * (1 + np.abs(cuboid_m[:, :2] / z)) / z


def check_view(folder: FatFolder, index: int, eye: str) -> list[Problem]:
    problems: list[Problem] = []
    K = folder.intrinsics(eye)
    size = (K.width, K.height)
    images = {}
    for kind in ("rgb", "depth", "seg", "instance"):
        path = frame_file(folder.path, index, eye, kind)
        if kind == "instance" and not path.exists():
            continue
        try:
            images[kind] = {"rgb": F.read_rgb, "depth": F.read_depth_raw, "seg": F.read_seg,
                            "instance": F.read_instance}[kind](path, size)
        except FatError as e:
            problems.append(Problem(path, getattr(e, "reason", str(e))))
    path = frame_file(folder.path, index, eye, "annotation")
    try:
        view = F.read_view_annotation(path, folder.class_names)
    except FatError as e:
        problems.append(Problem(path, str(e).split(f"{path}: ", 1)[-1]))
        return problems
    for k, o in enumerate(view.objects):
        if np.any(o.cuboid[:, 2] <= 0):
            problems.append(Problem(path, f"objects[{k}].cuboid: a corner lies behind the camera"))
            continue
        err = np.abs(K.project(o.cuboid) - o.projected_cuboid)
        if np.any(err > _projection_tolerance(o.cuboid, K.fx)):
            problems.append(Problem(path, f"objects[{k}].projected_cuboid: differs from K * cuboid by up to {err.max():.3f} px"))
        if not 0 <= o.visibility <= 1:
            problems.append(Problem(path, f"objects[{k}].visibility: {o.visibility} is not in [0, 1]"))
    seg = images.get("seg")
    if seg is not None:
        ids = {o.segmentation_id for o in folder.objects}
        unknown = sorted(set(np.unique(seg).tolist()) - ids - {0})
        if unknown:
            problems.append(Problem(frame_file(folder.path, index, eye, "seg"),
                                    f"values {unknown} are not segmentation ids of {F.OBJECT_SETTINGS}"))
        problems += _check_boxes(folder, index, eye, view, seg, images.get("instance"))
    return problems


def _inside(ys: np.ndarray, xs: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
    ok = np.zeros(len(xs), bool)
    for x0, y0, x1, y1 in boxes:
        ok |= (xs + 0.5 >= x0 - BOX_SLACK) & (xs + 0.5 <= x1 + BOX_SLACK) & (ys + 0.5 >= y0 - BOX_SLACK) & (ys + 0.5 <= y1 + BOX_SLACK)
    return ok


def _check_boxes(folder: FatFolder, index: int, eye: str, view, seg: np.ndarray, instance) -> list[Problem]:
    path = frame_file(folder.path, index, eye, "annotation")
    out = []
    if instance is not None:  # one mask per listed object
        masks = [(k, instance == k + 1, [o.bbox]) for k, o in enumerate(view.objects)]
    else:  # one mask per class: inside the union of that class's boxes
        by_id: dict[int, list] = {}
        for o in view.objects:
            by_id.setdefault(folder.object_setting(o.class_name).segmentation_id, []).append(o.bbox)
        masks = [(None, seg == sid, boxes) for sid, boxes in by_id.items()]
    for k, mask, boxes in masks:
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            continue
        ok = _inside(ys, xs, boxes)
        if ok.mean() < 0.999:
            swap = lambda b: np.array([b[1], b[0], b[3], b[2]])  # noqa: E731
            fits_swapped = any(_inside(ys, xs, boxes[:j] + [swap(boxes[j])] + boxes[j + 1:]).mean() >= 0.999
                               for j in range(len(boxes)))
            hint = " (it fits when one box is read as (x, y): bounding_box must be (y, x))" if fits_swapped else ""
            where = f"objects[{k}]" if k is not None else view.objects[0].class_name
            out.append(Problem(path, f"{where}.bounding_box: {100 * (1 - ok.mean()):.1f}% of its mask lies outside{hint}"))
    return out


def check_folder(folder_path: Path) -> tuple[FatFolder | None, list[Problem]]:
    try:
        return FatFolder(folder_path), []
    except FatError as e:
        return None, [Problem(getattr(e, "path", None) or folder_path, getattr(e, "reason", str(e)))]


def validate(root: Path, progress: Callable[[int], None] | None = None) -> Iterator[Problem]:
    """Every problem of the dataset under ``root``; ``progress(n)`` after each frame."""
    ds = Dataset(root, fields=())
    frames: dict[str, list[int]] = {rel: [] for rel in ds.folders}
    for rel, i in ds.frames():
        frames[rel].append(i)
    for rel, indices in frames.items():
        folder, problems = check_folder(ds.base / rel)
        yield from problems
        if folder is None:
            if progress:
                progress(len(indices))
            continue
        for i in indices:
            for eye in ("left", "right"):
                yield from check_view(folder, i, eye)
            if progress:
                progress(1)
