"""The FAT on-disk format (``shared/spec/FAT_FORMAT.md``): writer and reader.

Everything FAT-specific lives here: centimetres, the UE4 world frame of ``camera_data``, bounding
boxes in (y, x) order, ``pose_transform_permuted``, 4-decimal float32 quantisation, the UE4 JSON text
style, and the image encodings (JPEG RGB, 16-bit depth in 0.1 mm, 8-bit class segmentation:
:mod:`fat.formats.fat_images`, whose names this module re-exports). The rest of the project sees :class:`~fat.annotate.annotations.ViewAnnotation` values in metres.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..annotate.annotations import ObjectAnnotation, ViewAnnotation
from ..catalog import SINGLE_SEGMENTATION_ID, ObjectInfo
from ..errors import FormatError
from ..fileio import write_files, write_text_atomic
from ..geometry import (
    EYES,
    Intrinsics,
    ue4_point_to_world,
    ue4_quat_to_world,
    world_point_to_ue4,
    world_quat_to_ue4,
)
from .extras import AMODAL_KEY
from .fat_images import (  # noqa: F401 - the image codec's names, re-exported
                         CAMERA_SETTINGS, DEPTH_MAX_M, DEPTH_NO_VALUE, DEPTH_UNITS_PER_M, check_complete, check_rgb,
                         decode_depth, depth_valid, encode_depth, encode_image, encode_images, read_depth,
                         read_depth_raw, read_instance, read_rgb, read_seg)
from .ue4json import dumps, quantise

CM = 100.0  # centimetres per metre
OBJECT_SETTINGS = "_object_settings.json"
SUFFIXES = {"rgb": "jpg", "depth": "depth.png", "seg": "seg.png", "annotation": "json", "instance": "instance.png"}
FRAME_RE = re.compile(r"^(\d{6})\.(left|right)\.json$")
MAX_READ_SIDE = 65536  # pixels: larger sizes in _camera_settings.json are refused, not allocated


def frame_file(folder: str | Path, index: int, eye: str, kind: str) -> Path:
    """``folder/XXXXXX.<eye>.<suffix>`` for kind in rgb, depth, seg, annotation, instance."""
    return Path(folder) / f"{index:06d}.{eye}.{SUFFIXES[kind]}"


# ============================================================================ writer: JSON
def camera_settings_json(intrinsics: Intrinsics, eyes: Sequence[str] = EYES) -> str:
    """Text of ``_camera_settings.json``: one entry per eye, identical intrinsics, no resX/resY."""
    hfov = intrinsics.hfov
    entry = lambda name: {  # noqa: E731
        "name": name,
        "horizontal_fov": hfov,
        "intrinsic_settings": {
            "fx": intrinsics.fx, "fy": intrinsics.fy, "cx": intrinsics.cx, "cy": intrinsics.cy, "s": intrinsics.s,
        },
        "captured_image_size": {"width": int(intrinsics.width), "height": int(intrinsics.height)},
    }
    return dumps(quantise({"camera_settings": [entry(e) for e in eyes]}))


def fixed_model_transform(obj: ObjectInfo) -> np.ndarray:
    """FAT's row-vector ``fixed_model_transform`` (x100, translation in row 3) of an object."""
    T = obj.model_transform
    F = np.zeros((4, 4))
    F[:3, :3] = T[:3, :3].T * CM
    F[3, :3] = T[:3, 3] * CM
    F[3, 3] = 1.0
    return F


def object_settings_json(objects: Iterable[ObjectInfo], single: bool, fat_spelling: bool = True) -> str:
    """Text of ``_object_settings.json``.

    ``single``: segmentation id 255 for every object (single-object folders); otherwise the mixed
    ids 12..252. ``fat_spelling``: mixed folders spell the mustard class ``006_mustard_bottle_16K`` as
    real FAT does; ``False`` gives NVDU's ``_ycb_original.json`` spelling.
    """
    objects = list(objects)
    names = [class_name(o, single, fat_spelling) for o in objects]
    doc = {
        "exported_object_classes": names,
        "exported_objects": [
            {
                "class": n,
                "segmentation_class_id": SINGLE_SEGMENTATION_ID if single else o.segmentation_id,
                "fixed_model_transform": fixed_model_transform(o),
                "cuboid_dimensions": o.dimensions * CM,
            }
            for n, o in zip(names, objects)
        ],
    }
    return dumps(quantise(doc))


def class_name(obj: ObjectInfo, single: bool, fat_spelling: bool = True) -> str:
    """The class string written for ``obj`` in a single or a mixed folder."""
    return obj.mixed_class_name() if (fat_spelling and not single) else obj.class_name


def _object_dict(o: ObjectAnnotation) -> dict:
    A = np.zeros((4, 4))
    A[:3, :3] = o.permuted_rotation
    A[3, :3] = o.location * CM
    A[3, 3] = 1.0
    x0, y0, x1, y1 = o.bbox
    out = {
        "class": o.class_name,
        "visibility": float(o.visibility),
        "location": o.location * CM,
        "quaternion_xyzw": np.asarray(o.quaternion_xyzw, dtype=np.float64),
        "pose_transform_permuted": A,
        "cuboid_centroid": o.cuboid_centroid * CM,
        "projected_cuboid_centroid": np.asarray(o.projected_cuboid_centroid, dtype=np.float64),
        "bounding_box": {"top_left": np.array([y0, x0]), "bottom_right": np.array([y1, x1])},
        "cuboid": o.cuboid * CM,
        "projected_cuboid": np.asarray(o.projected_cuboid, dtype=np.float64),
    }
    if o.amodal_pixel_count is not None:  # docs/extras.md: after FAT's keys
        out[AMODAL_KEY] = int(o.amodal_pixel_count)
    return out


def view_json(view: ViewAnnotation) -> str:
    """Text of ``XXXXXX.<eye>.json``."""
    for o in view.objects:
        for name in ("location", "cuboid", "projected_cuboid", "projected_cuboid_centroid", "bbox"):
            if not np.all(np.isfinite(getattr(o, name))):
                raise ValueError(f"{o.class_name}: {name} is not finite; FAT JSON cannot hold it")
    doc = {
        "camera_data": {
            "location_worldframe": world_point_to_ue4(view.camera_location),
            "quaternion_xyzw_worldframe": world_quat_to_ue4(view.camera_quaternion_xyzw),
        },
        "objects": [_object_dict(o) for o in view.objects],
    }
    return dumps(quantise(doc))


# ============================================================================ writer: images


def write_camera_settings(folder: str | Path, intrinsics: Intrinsics, root: str | Path | None = None) -> None:
    """``_camera_settings.json`` in ``folder``; ``root``: the output folder ``folder`` lies below, no
    symbolic link between them is followed (:func:`fat.fileio.open_folder`)."""
    write_text_atomic(Path(folder) / CAMERA_SETTINGS, camera_settings_json(intrinsics), root)


def write_object_settings(folder: str | Path, objects: Iterable[ObjectInfo], single: bool,
                          root: str | Path | None = None) -> None:
    """``_object_settings.json`` in ``folder``; ``root`` as :func:`write_camera_settings`."""
    write_text_atomic(Path(folder) / OBJECT_SETTINGS, object_settings_json(objects, single), root)


def write_view(
    folder: str | Path,
    index: int,
    eye: str,
    view: ViewAnnotation,
    rgb: np.ndarray,
    depth_m: np.ndarray,
    seg: np.ndarray,
    instance: np.ndarray,
    jpeg_quality: int = 95,
    root: str | Path | None = None,
) -> dict[Path, str]:
    """Write the five files of one eye of one frame (each atomically); returns their sha256 by path.

    ``instance`` holds 1 + the index of the object in ``view.objects`` (0 = background), as the
    project's ``XXXXXX.<eye>.instance.png`` (FAT_FORMAT.md section 14, item 4).

    ``root``: the output folder ``folder`` lies below. The folders between them are then opened
    without following a symbolic link (:func:`fat.fileio.open_folder`), so a link put there, even
    while the run goes on, is refused (OutputError naming it) and nothing is written through it.
    """
    if eye not in EYES:
        raise ValueError(f"eye must be one of {EYES}, got {eye!r}")
    files = encode_images(rgb, depth_m, seg, instance, jpeg_quality)
    files["annotation"] = view_json(view).encode("ascii")
    kinds = ("rgb", "depth", "seg", "instance", "annotation")
    return write_files(folder, {frame_file(folder, index, eye, kind): files[kind] for kind in kinds}, root)


# ============================================================================ reader: JSON
def parse_json_text(text: str, path: str | Path) -> object:
    """Parse JSON text; every failure is a FormatError naming ``path``: bad syntax (with the position),
    nesting deeper than Python's parser can follow, integers too long to convert."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError(path, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise FormatError(path, "invalid JSON: nested too deep to read") from None
    except ValueError as e:  # an integer of more digits than Python converts
        raise FormatError(path, f"invalid JSON: {str(e).split(':')[0]}") from None


def read_json(path: str | Path) -> dict:
    """Parse a JSON file (LF or CRLF, any number form); errors name the file and position."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise FormatError(path, "file is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError(path, f"cannot read: {e}") from None
    doc = parse_json_text(text, path)
    if not isinstance(doc, dict):
        raise FormatError(path, f"expected a JSON object at the top level, found {type(doc).__name__}")
    return doc


def _is_number(v) -> bool:
    """A JSON number that is a finite float (``true``/``false`` are not numbers; ``1e999`` and a
    400-digit integer do not fit a float)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _short(v) -> str:
    try:
        text = json.dumps(v)
    except (ValueError, RecursionError):
        text = type(v).__name__
    return text if len(text) < 80 else text[:77] + "..."


def _why_not(v) -> str:
    """Why a JSON value is not a number, as a parenthesis (empty when its text says it)."""
    if isinstance(v, bool):
        return " (a boolean)"
    if isinstance(v, (int, float)):
        return " (not a finite float)"
    return ""


class _Fields:
    """Typed access to a JSON object, with errors naming the file and the field path."""

    def __init__(self, path: Path, doc: dict, where: str = ""):
        self.path, self.doc, self.where = path, doc, where

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def raw(self, key: str, optional: bool = False):
        if key not in self.doc:
            if optional:
                return None
            raise FormatError(self.path, "missing field", self._name(key))
        return self.doc[key]

    def number(self, key: str, optional: bool = False) -> float | None:
        v = self.raw(key, optional)
        if v is None and optional:
            return None
        if not _is_number(v):
            raise FormatError(self.path, f"expected a number, found {_short(v)}{_why_not(v)}", self._name(key))
        return float(v)

    def string(self, key: str) -> str:
        v = self.raw(key)
        if not isinstance(v, str):
            raise FormatError(self.path, f"expected a string, found {_short(v)}", self._name(key))
        return v

    def array(self, key: str, shape: tuple[int, ...]) -> np.ndarray:
        v = self.raw(key)
        wanted = f"expected {'x'.join(map(str, shape))} numbers"
        rows = [v] if len(shape) == 1 else v if isinstance(v, list) and len(v) == shape[0] else None
        if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != shape[-1] for r in rows):
            raise FormatError(self.path, f"{wanted}, found {_short(v)}", self._name(key))
        for i, r in enumerate(rows):
            for j, x in enumerate(r):
                if not _is_number(x):
                    at = f"[{j}]" if len(shape) == 1 else f"[{i}][{j}]"
                    raise FormatError(self.path, f"{wanted}, found {_short(x)}{_why_not(x)}", self._name(key) + at)
        return np.array(v, dtype=np.float64)

    def obj(self, key: str) -> "_Fields":
        v = self.raw(key)
        if not isinstance(v, dict):
            raise FormatError(self.path, f"expected an object, found {type(v).__name__}", self._name(key))
        return _Fields(self.path, v, self._name(key))

    def objects(self, key: str) -> list["_Fields"]:
        v = self.raw(key)
        if not isinstance(v, list):
            raise FormatError(self.path, f"expected an array, found {type(v).__name__}", self._name(key))
        out = []
        for i, x in enumerate(v):
            if not isinstance(x, dict):
                raise FormatError(self.path, f"expected an object, found {type(x).__name__}", f"{self._name(key)}[{i}]")
            out.append(_Fields(self.path, x, f"{self._name(key)}[{i}]"))
        return out


def parse_camera_settings(doc: dict, path: str | Path = CAMERA_SETTINGS) -> dict[str, Intrinsics]:
    """Intrinsics per eye name from a parsed ``_camera_settings.json`` (``resX``/``resY`` optional)."""
    f = _Fields(Path(path), doc)
    out: dict[str, Intrinsics] = {}
    entries = f.objects("camera_settings")
    if not entries:
        raise FormatError(path, "no camera entries", "camera_settings")
    for i, e in enumerate(entries):
        ins = e.obj("intrinsic_settings")
        size = e.obj("captured_image_size")
        width, height = size.number("width"), size.number("height")
        if width <= 0 or height <= 0 or width != int(width) or height != int(height):
            raise FormatError(path, f"bad image size {width}x{height}", size.where)
        if width > MAX_READ_SIDE or height > MAX_READ_SIDE:
            raise FormatError(path, f"image size {width:g}x{height:g} is beyond {MAX_READ_SIDE} pixels a side", size.where)
        fx, fy, cx, cy = (ins.number(k) for k in ("fx", "fy", "cx", "cy"))
        for key, v, ok, what in (("fx", fx, fx > 0, "must be positive"), ("fy", fy, fy > 0, "must be positive"),
                                 ("cx", cx, 0 <= cx <= width, f"must lie in the image, 0..{width:g}"),
                                 ("cy", cy, 0 <= cy <= height, f"must lie in the image, 0..{height:g}")):
            if not ok:
                raise FormatError(path, f"impossible intrinsics: {key} = {v:g} {what}", f"{ins.where}.{key}")
        hfov = e.number("horizontal_fov", optional=True)
        if hfov is not None and not 0 < hfov < 180:
            raise FormatError(path, f"impossible field of view {hfov:g} (degrees, 0..180)", f"{e.where}.horizontal_fov")
        name = e.raw("name", optional=True)
        out[str(name) if name is not None else str(i)] = Intrinsics(
            int(width), int(height), fx, fy, cx, cy, ins.number("s", optional=True) or 0.0, hfov,
        )
    return out


@dataclass(frozen=True)
class ObjectSetting:
    """One entry of ``_object_settings.json``, in metres (model transform as in :class:`ObjectInfo`)."""

    class_name: str
    segmentation_id: int
    model_transform: np.ndarray  # (4, 4) column-vector, metres
    dimensions: np.ndarray  # (3,) metres


def parse_object_settings(doc: dict, path: str | Path = OBJECT_SETTINGS) -> list[ObjectSetting]:
    f = _Fields(Path(path), doc)
    out = []
    for e in f.objects("exported_objects"):
        F = e.array("fixed_model_transform", (4, 4))
        T = np.eye(4)
        T[:3, :3] = F[:3, :3].T / CM
        T[:3, 3] = F[3, :3] / CM
        seg = e.number("segmentation_class_id")
        if seg != int(seg) or not 0 <= seg <= 255:
            raise FormatError(path, f"expected an integer 0..255, found {seg}", f"{e.where}.segmentation_class_id")
        out.append(ObjectSetting(e.string("class"), int(seg), T, e.array("cuboid_dimensions", (3,)) / CM))
    return out


def parse_view(doc: dict, path: str | Path = "<frame>.json", known_classes: Iterable[str] | None = None) -> ViewAnnotation:
    """A :class:`ViewAnnotation` from a parsed frame JSON (FAT's ``pose_transform_permuted`` or NDDS
    v1's ``pose_transform``; class names compared case-insensitively against ``known_classes``)."""
    path = Path(path)
    f = _Fields(path, doc)
    cam = f.obj("camera_data")
    known = None if known_classes is None else {c.lower() for c in known_classes}
    objects = []
    for o in f.objects("objects"):
        name = o.string("class")
        if known is not None and name.lower() not in known:
            raise FormatError(path, f"unknown class {name!r} (not in {OBJECT_SETTINGS})", f"{o.where}.class")
        pose_key = "pose_transform_permuted" if "pose_transform_permuted" in o.doc else "pose_transform"
        A = o.array(pose_key, (4, 4))
        bb = o.obj("bounding_box")
        (y0, x0), (y1, x1) = bb.array("top_left", (2,)), bb.array("bottom_right", (2,))
        q = o.array("quaternion_xyzw", (4,))
        if not 0.9 < np.linalg.norm(q) < 1.1:
            raise FormatError(path, f"not a unit quaternion: {q.tolist()}", f"{o.where}.quaternion_xyzw")
        inst = o.number("instance_id", optional=True)
        amodal = o.number(AMODAL_KEY, optional=True)
        objects.append(
            ObjectAnnotation(
                class_name=name,
                visibility=o.number("visibility"),
                location=o.array("location", (3,)) / CM,
                quaternion_xyzw=q,
                permuted_rotation=A[:3, :3],
                cuboid_centroid=o.array("cuboid_centroid", (3,)) / CM,
                projected_cuboid_centroid=o.array("projected_cuboid_centroid", (2,)),
                bbox=np.array([x0, y0, x1, y1]),
                cuboid=o.array("cuboid", (8, 3)) / CM,
                projected_cuboid=o.array("projected_cuboid", (8, 2)),
                instance_id=None if inst is None else int(inst),
                amodal_pixel_count=None if amodal is None else int(amodal),
            )
        )
    q_cam = cam.array("quaternion_xyzw_worldframe", (4,))
    if not 0.9 < np.linalg.norm(q_cam) < 1.1:
        raise FormatError(path, f"not a unit quaternion: {q_cam.tolist()}", "camera_data.quaternion_xyzw_worldframe")
    return ViewAnnotation(
        camera_location=ue4_point_to_world(cam.array("location_worldframe", (3,))),
        camera_quaternion_xyzw=ue4_quat_to_world(q_cam),
        objects=objects,
    )


def read_view_annotation(path: str | Path, known_classes: Iterable[str] | None = None) -> ViewAnnotation:
    return parse_view(read_json(path), path, known_classes)


# ============================================================================ reader: folders
@dataclass
class FatView:
    """One eye of one frame as read from disk. Images are None unless asked for."""

    folder: Path
    index: int
    eye: str
    intrinsics: Intrinsics
    annotation: ViewAnnotation
    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None  # float32 metres, 0 = no value
    seg: np.ndarray | None = None
    instance: np.ndarray | None = None


class FatFolder:
    """A FAT leaf folder (``mixed/kitchen_0`` or ``single/011_banana_16k/kitchen_0``), ours or real."""

    def __init__(self, folder: str | Path):
        self.path = Path(folder)
        if not self.path.is_dir():
            raise FormatError(self.path, "not a folder")
        self.cameras = parse_camera_settings(read_json(self.path / CAMERA_SETTINGS), self.path / CAMERA_SETTINGS)
        self.objects = parse_object_settings(read_json(self.path / OBJECT_SETTINGS), self.path / OBJECT_SETTINGS)
        self.class_names = [o.class_name for o in self.objects]
        self._by_class = {o.class_name.lower(): o for o in self.objects}

    def intrinsics(self, eye: str) -> Intrinsics:
        """The entry whose name matches the eye, else the first (as FAT loaders do)."""
        return self.cameras.get(eye) or next(iter(self.cameras.values()))

    def frame_indices(self) -> list[int]:
        """Indices of frames with a left or right annotation, ascending."""
        found = set()
        with os.scandir(self.path) as it:
            for entry in it:
                m = FRAME_RE.match(entry.name)
                if m:
                    found.add(int(m.group(1)))
        return sorted(found)

    def object_setting(self, class_name: str) -> ObjectSetting:
        o = self._by_class.get(class_name.lower())
        if o is not None:
            return o
        raise FormatError(self.path / OBJECT_SETTINGS, f"no entry for class {class_name!r}")

    def read(self, index: int, eye: str = "left", fields: Iterable[str] = ("rgb", "depth", "seg")) -> FatView:
        """Read one view; ``fields`` picks images among rgb, depth, seg, instance."""
        fields = set(fields)
        unknown = fields - {"rgb", "depth", "seg", "instance"}
        if unknown:
            raise ValueError(f"unknown image fields: {sorted(unknown)}")
        K = self.intrinsics(eye)
        size = (K.width, K.height)
        ann = read_view_annotation(frame_file(self.path, index, eye, "annotation"), self.class_names)
        view = FatView(self.path, index, eye, K, ann)
        readers = {"rgb": read_rgb, "depth": read_depth, "seg": read_seg, "instance": read_instance}
        for name in sorted(fields):
            setattr(view, name, readers[name](frame_file(self.path, index, eye, name), size))
        return view
