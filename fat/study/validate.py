"""``fat validate``: check every frame of a dataset (ours or NVIDIA's FAT) against the format.

Per folder: both settings files parse, and ``_camera_settings.json`` is there and holds possible
intrinsics. Per frame and eye: the four FAT files are present and readable (a JPEG cut short
included; the instance map is checked when present); image sizes match ``_camera_settings.json``;
RGB is 8-bit colour, depth 16-bit and segmentation 8-bit single-channel; the JSON has every field
with the right type (finite numbers, no booleans where numbers belong) and only classes of
``_object_settings.json``; ``projected_cuboid`` is K times ``cuboid``; segmentation values are 0 or
ids of ``_object_settings.json``; instance ids are at most the number of listed objects; each
class's mask lies inside the ``bounding_box`` of its objects, read as (y, x). Per dataset made by
``fat generate``: every frame the settings in ``fat_dataset.json`` plan is there and recorded as
finished in ``manifest.jsonl``, and every file the manifest lists has its recorded sha256.

The extra files of ``fat generate --extras`` (:mod:`fat.formats.extras`) are checked where a view
has them (:func:`check_extras`): each readable, of its encoding and of the camera's size; normals of
unit length where a surface was drawn; object coordinates in [0, 1] and only on pixels the instance
map gives to an object; each object's amodal mask holding its visible pixels, with its pixel count
the frame JSON's ``amodal_pixel_count``; flow files in pairs (``flow`` and ``flow_back``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..run import manifest
from ..dataset import Dataset, read_extra_file, require_folder
from ..errors import FatError
from ..formats import fat as F
from ..formats.extras import AMODAL_KEY, SUFFIXES, extra_file
from ..formats.fat import FatFolder, frame_file

#: Pixels a mask may reach beyond its box (rasterisation and the 4-decimal rounding of the box).
BOX_SLACK = 1.5
#: How far the length of a stored normal may be from 1: far above the 16-bit quantisation's error
#: (half a step of 2 / 65534 per component: under 3e-5 in length), far below a normal not made unit.
NORMAL_TOLERANCE = 1e-3


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
        with np.errstate(all="ignore"):
            err = np.abs(K.project(o.cuboid) - o.projected_cuboid)
            bad = ~(err <= _projection_tolerance(o.cuboid, K.fx))
        if np.any(bad):
            problems.append(Problem(path, f"objects[{k}].projected_cuboid: differs from K * cuboid by up to {np.nanmax(np.where(bad, err, 0)):.3g} px"))
        if not 0 <= o.visibility <= 1:
            problems.append(Problem(path, f"objects[{k}].visibility: {o.visibility} is not in [0, 1]"))
    instance = images.get("instance")
    if instance is not None:
        top = int(instance.max(initial=0))
        if top > len(view.objects):
            ipath = frame_file(folder.path, index, eye, "instance")
            n_bad = int(np.count_nonzero(instance > len(view.objects)))
            problems.append(Problem(ipath, f"instance ids up to {top}, but the frame lists {len(view.objects)} objects "
                                           f"({n_bad} pixels name no object)"))
            instance = None  # boxes are then checked by class
    seg = images.get("seg")
    if seg is not None:
        ids = {o.segmentation_id for o in folder.objects}
        unknown = sorted(set(np.unique(seg).tolist()) - ids - {0})
        if unknown:
            problems.append(Problem(frame_file(folder.path, index, eye, "seg"),
                                    f"values {unknown} are not segmentation ids of {F.OBJECT_SETTINGS}"))
        problems += _check_boxes(folder, index, eye, view, seg, instance)
    objects = instance > 0 if instance is not None else (seg > 0 if seg is not None else None)
    problems += check_extras(folder, index, eye, view, size, instance, objects)
    return problems


def check_extras(folder: FatFolder, index: int, eye: str, view, size: tuple[int, int], instance: np.ndarray | None,
                 objects: np.ndarray | None) -> list[Problem]:
    """The extra files of a view, where it has them (module docstring). ``instance``: the checked
    instance map (None without one); ``objects``: the pixels that show a listed object (None: unknown)."""
    path = {kind: extra_file(folder.path, index, eye, kind) for kind in SUFFIXES}
    have = {kind for kind, p in path.items() if p.exists()}
    problems = [Problem(path[b], f"file is missing: {path[a].name} is there (flow files come in pairs)")
                for a, b in (("flow", "flow_back"), ("flow_back", "flow")) if a in have and b not in have]
    json_path = frame_file(folder.path, index, eye, "annotation")
    if "amodal" not in have:
        given = [k for k, o in enumerate(view.objects) if o.amodal_pixel_count is not None]
        if given:
            problems.append(Problem(json_path, f"objects[{given[0]}].{AMODAL_KEY}: {view.objects[given[0]].amodal_pixel_count} "
                                               f"given, but {path['amodal'].name} is missing"))
    for kind in sorted(have, key=list(SUFFIXES).index):
        try:
            got = read_extra_file(path[kind], kind, size, len(view.objects))
        except FatError as e:
            problems.append(Problem(path[kind], getattr(e, "reason", str(e))))
            continue
        if kind == "normals":
            problems += _check_normals(path[kind], *got)
        elif kind == "coordinates":
            problems += _check_coordinates(path[kind], *got, objects)
        elif kind == "amodal":
            problems += _check_amodal(path[kind], json_path, got, view, instance)
    return problems


def _check_normals(path: Path, normals: np.ndarray, valid: np.ndarray) -> list[Problem]:
    """Unit normals where a surface was drawn, each component stored (1..65535, none 0)."""
    out = []
    partial = valid & (normals < -1).any(axis=2)
    if partial.any():
        out.append(Problem(path, f"normals: {int(partial.sum())} pixels have a component stored as 0 (no surface) "
                                 "and others not"))
    length = np.linalg.norm(normals[valid & ~partial], axis=1)
    bad = np.abs(length - 1) > NORMAL_TOLERANCE
    if bad.any():
        out.append(Problem(path, f"normals: {int(bad.sum())} pixels are not unit length (length {length[bad].min():.4g} "
                                 f"to {length[bad].max():.4g}; tolerance {NORMAL_TOLERANCE:g})"))
    return out


def _check_coordinates(path: Path, coords: np.ndarray, valid: np.ndarray, objects: np.ndarray | None) -> list[Problem]:
    """Coordinates in [0, 1], on object pixels only."""
    out = []
    outside = valid & ((coords < 0) | (coords > 1)).any(axis=2)
    if outside.any():
        out.append(Problem(path, f"coordinates: {int(outside.sum())} pixels are outside [0, 1] (a component stored "
                                 "as 0 beside others not)"))
    if objects is not None:
        stray = valid & ~objects
        if stray.any():
            y, x = (int(v[0]) for v in np.nonzero(stray))
            out.append(Problem(path, f"coordinates: {int(stray.sum())} pixels have coordinates where the instance map "
                                     f"shows no object (the first at x={x}, y={y})"))
    return out


def _check_amodal(path: Path, json_path: Path, masks: np.ndarray, view, instance: np.ndarray | None) -> list[Problem]:
    """Each object's amodal mask holds its visible pixels and has the JSON's pixel count."""
    out = []
    for k, (o, m) in enumerate(zip(view.objects, masks)):
        if instance is not None:
            lost = int(np.count_nonzero((instance == k + 1) & ~m))
            if lost:
                out.append(Problem(path, f"objects[{k}]: {lost} of its visible pixels (instance map) are outside its "
                                         "amodal mask"))
        n = int(m.sum())
        if o.amodal_pixel_count is None:
            out.append(Problem(json_path, f"objects[{k}].{AMODAL_KEY}: missing ({path.name} has {n} pixels)"))
        elif o.amodal_pixel_count != n:
            out.append(Problem(json_path, f"objects[{k}].{AMODAL_KEY}: {o.amodal_pixel_count}, but its mask in "
                                          f"{path.name} has {n} pixels"))
    return out


def _inside(ys: np.ndarray, xs: np.ndarray, boxes: list[np.ndarray]) -> np.ndarray:
    ok = np.zeros(len(xs), bool)
    for x0, y0, x1, y1 in boxes:
        ok |= (xs + 0.5 >= x0 - BOX_SLACK) & (xs + 0.5 <= x1 + BOX_SLACK) & (ys + 0.5 >= y0 - BOX_SLACK) & (ys + 0.5 <= y1 + BOX_SLACK)
    return ok


def _swap(b: np.ndarray) -> np.ndarray:
    return np.array([b[1], b[0], b[3], b[2]])


def _check_boxes(folder: FatFolder, index: int, eye: str, view, seg: np.ndarray, instance) -> list[Problem]:
    """Masks inside their boxes. Memory stays a few images whatever the number of objects: the
    instance map is checked in one pass over its labelled pixels, class masks one class at a time."""
    path = frame_file(folder.path, index, eye, "annotation")
    out = []
    if instance is not None:  # one mask per listed object, all at once
        ys, xs = np.nonzero(instance)
        if not len(xs):
            return out
        k = instance[ys, xs].astype(np.int64) - 1
        boxes = np.array([o.bbox for o in view.objects], dtype=np.float64).reshape(-1, 4)
        x0, y0, x1, y1 = boxes[k].T
        cx, cy = xs + 0.5, ys + 0.5
        ok = (cx >= x0 - BOX_SLACK) & (cx <= x1 + BOX_SLACK) & (cy >= y0 - BOX_SLACK) & (cy <= y1 + BOX_SLACK)
        total = np.bincount(k, minlength=len(boxes))
        outside = np.bincount(k, weights=~ok, minlength=len(boxes))
        for j in np.flatnonzero(outside > 0.001 * total):
            sel = k == j
            fits = _inside(ys[sel], xs[sel], [_swap(boxes[j])]).mean() >= 0.999
            out.append(_box_problem(path, f"objects[{j}]", outside[j] / total[j], fits))
        return out
    by_id: dict[int, list] = {}  # one mask per class: inside the union of that class's boxes
    for o in view.objects:
        by_id.setdefault(folder.object_setting(o.class_name).segmentation_id, []).append(o.bbox)
    for sid, boxes in by_id.items():
        ys, xs = np.nonzero(seg == sid)
        if len(xs) == 0:
            continue
        ok = _inside(ys, xs, boxes)
        if ok.mean() < 0.999:
            fits = len(boxes) <= 64 and any(
                _inside(ys, xs, boxes[:j] + [_swap(boxes[j])] + boxes[j + 1:]).mean() >= 0.999 for j in range(len(boxes)))
            name = next(o.class_name for o in view.objects if folder.object_setting(o.class_name).segmentation_id == sid)
            out.append(_box_problem(path, name, 1 - ok.mean(), fits))
    return out


def _box_problem(path: Path, where: str, outside: float, fits_swapped: bool) -> Problem:
    hint = " (it fits when one box is read as (x, y): bounding_box must be (y, x))" if fits_swapped else ""
    return Problem(path, f"{where}.bounding_box: {100 * outside:.1f}% of its mask lies outside{hint}")


def check_folder(folder_path: Path) -> tuple[FatFolder | None, list[Problem]]:
    try:
        return FatFolder(folder_path), []
    except FatError as e:
        return None, [Problem(getattr(e, "path", None) or folder_path, getattr(e, "reason", str(e)))]


def folders_without_camera_settings(base: Path) -> list[Problem]:
    """Leaf folders (``mixed/*``, ``single/*/*``) with no ``_camera_settings.json``: the loader passes
    over them, so their frames would go unchecked."""
    leaves = []
    for top in ("mixed", "dr"):
        if (base / top).is_dir():
            leaves += [p for p in sorted((base / top).iterdir()) if p.is_dir()]
    if (base / "single").is_dir():
        for obj in sorted(p for p in (base / "single").iterdir() if p.is_dir()):
            leaves += [p for p in sorted(obj.iterdir()) if p.is_dir()]
    out = []
    for p in leaves:
        if not (p / F.CAMERA_SETTINGS).is_file():
            n = sum(1 for e in os.scandir(p) if F.FRAME_RE.match(e.name))
            out.append(Problem(p / F.CAMERA_SETTINGS, f"file is missing: the folder's {n} frame JSON files are not checked"))
    return out


def _ranges(indices: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``0-2, 5``."""
    parts, start = [], None
    for a, b in zip(indices, indices[1:] + [None]):
        start = a if start is None else start
        if b != a + 1:
            parts.append(f"{start:06d}" if start == a else f"{start:06d}-{a:06d}")
            start = None
    return ", ".join(parts)


#: Frames a fat_dataset.json may plan before validate declines to compare (a corrupt record could ask for 10^12).
MAX_PLANNED_FRAMES = 10_000_000


def _planned_drops(base: Path) -> tuple[list | None, list[Problem]]:
    """The drops the settings in ``fat_dataset.json`` plan (None without a readable record)."""
    from ..run.plan import plan
    from ..settings import DATASET_FILE, Settings

    record = base / DATASET_FILE
    if not record.is_file():
        return None, []
    try:
        settings = F.read_json(record)["settings"]
        s = Settings.from_json(settings)
        per_folder = max(int(s.mixed_frames), int(s.single_frames), int(s.dr_frames))
        n_folders = len(s.scenes) * len(s.locations) * (len(s.objects) + 2)
        if per_folder * n_folders > MAX_PLANNED_FRAMES or int(s.frames_per_drop) < 1:
            return None, [Problem(record, f"settings plan more than {MAX_PLANNED_FRAMES} frames "
                                          "or an empty drop; frames the plan expects are not checked")]
        from ..storage.folder import FolderStorage
        from ..objectsets.recorded import dataset_objects

        return plan(s, dataset_objects(FolderStorage(base)))[1], []
    except FatError as e:
        return None, [Problem(record, f"{getattr(e, 'reason', e)}; frames the plan expects are not checked")]
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as e:
        return None, [Problem(record, f"unreadable settings ({type(e).__name__}: {e}); frames the plan expects are not checked")]


def _frames_on_disk(folder: Path) -> set[int]:
    try:
        with os.scandir(folder) as it:
            return {int(m.group(1)) for m in (F.FRAME_RE.match(e.name) for e in it) if m}
    except OSError:
        return set()


def check_plan_and_manifest(base: Path) -> Iterator[Problem]:
    """Frames the dataset's plan expects but the folders lack (an interrupted run), drops not recorded
    as finished, and finished drops whose files were deleted or changed since (sha256)."""
    drops, problems = _planned_drops(base)
    present: dict[str, set[int]] = {}
    yield from problems
    record = base / manifest.MANIFEST
    try:
        done = manifest.load(base)
    except RecursionError:
        yield Problem(record, "unreadable (nested too deep)")
        done = {}
    if drops is None:
        ids = sorted(done)
        spans = {}
    else:
        ids = [manifest.drop_id(d.folder, d.index) for d in drops]
        spans = {manifest.drop_id(d.folder, d.index): d for d in drops}
    listing = manifest.FolderListing(base)
    rerun = "`fat generate` with the same settings makes them"
    for drop in ids:
        d = spans.get(drop)
        if d is not None:
            if d.folder not in present:
                present[d.folder] = _frames_on_disk(base / d.folder)
            have = present[d.folder]
            lack = [i for i in range(d.first_frame, d.first_frame + d.n_frames) if i not in have]
            if lack:
                why = "listed as finished in manifest.jsonl" if drop in done else "not finished: the run was interrupted"
                yield Problem(base / d.folder, f"frames {_ranges(lack)} are missing (drop {drop}, {why}); {rerun}")
                continue
            if drop not in done:
                yield Problem(base / d.folder, f"frames {_ranges(list(range(d.first_frame, d.first_frame + d.n_frames)))} "
                                               f"are not recorded as finished in {manifest.MANIFEST} (drop {drop}: the run "
                                               f"stopped before recording them); {rerun} again")
                continue
        missing, changed = manifest.check_drop(base, done[drop], True, listing)
        if missing == [manifest.NO_FILE_LIST]:
            yield Problem(record, f"drop {drop}: its entry lists no files; `fat generate --repair` makes it again")
        elif missing:
            more = f" (and {len(missing) - 1} more files of drop {drop})" if len(missing) > 1 else f" (drop {drop})"
            yield Problem(base / missing[0], f"missing: listed in {manifest.MANIFEST}{more}; `fat generate` with the "
                                            "same settings makes it again")
        for rel in changed:
            yield Problem(base / rel, f"changed since it was written: its sha256 differs from {manifest.MANIFEST} "
                                      f"(drop {drop}); `fat generate --repair` with the same settings makes it again")


def validate(root: Path, progress: Callable[[int], None] | None = None) -> Iterator[Problem]:
    """Every problem of the dataset under ``root``; ``progress(n)`` after each frame."""
    require_folder(root, "fat validate checks the files of a dataset folder, which an export does not keep")
    ds = Dataset(root, fields=())
    yield from folders_without_camera_settings(ds.base)
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
    yield from check_plan_and_manifest(ds.base)
