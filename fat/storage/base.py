"""What both storages share: the description of a leaf folder, class keys, object items, RGB decoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from ..errors import FormatError
from ..formats.extras import DECODERS, check_planes, decode_amodal, read_raw
from ..formats.fat import CAMERA_SETTINGS

_IMREAD_RGB = getattr(cv2, "IMREAD_COLOR_RGB", None)


@dataclass(frozen=True)
class FolderInfo:
    path: str  # relative to the dataset's base, e.g. "mixed/kitchen_0"
    kind: str  # single | mixed | dr
    location: str  # kitchen_0
    scene: str  # kitchen
    object_class: str | None  # single folders: the object's class
    split: str  # train | test


#: The order of the kinds of leaf folders, in every storage: a dataset's items come kind by kind in
#: this order, each kind's folders by name (a single folder ``single/<class>/<location>`` by class,
#: then location), each folder's frames by number.
KIND_ORDER = ("mixed", "dr", "single")


def folder_order(path: str, kind: str) -> tuple:
    """The sort key of the leaf folder ``path`` (``single/011_banana_16k/kitchen_0``) of ``kind``:
    :data:`KIND_ORDER`, then the path's parts by name (a kind not listed there comes after, by name)."""
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, kind, tuple(path.split("/"))


class Storage(Protocol):
    """What :class:`fat.Dataset` reads through (see :mod:`fat.storage`)."""

    base: Path
    baseline: float
    folders: dict[str, FolderInfo]
    index_file: Path | None

    def frames(self, infos: list[FolderInfo], classes: set[str] | None) -> list[tuple[str, int, tuple[str, ...]]]: ...

    def folder(self, rel: str): ...

    def intrinsics(self, rel: str, eye: str): ...

    def annotations(self, rel: str, index: int, eye: str) -> dict: ...

    def image(self, name: str, rel: str, index: int, eye: str, size: tuple[int, int]) -> np.ndarray: ...

    def extra(self, kind: str, rel: str, index: int, eye: str, size: tuple[int, int], listed) -> object: ...

    def close(self) -> None: ...


def class_key(name: str) -> str:
    """The form a class name of the files is compared in: lower case (real FAT spells one class
    ``006_mustard_bottle_16K`` in mixed folders and ``006_mustard_bottle_16k`` in single ones)."""
    return name.lower()


def object_item(o, setting) -> dict:
    """The item of one object: its annotation in metres plus its ``_object_settings.json`` entry."""
    return {"class": o.class_name, "visibility": o.visibility, "pose": o.pose, "location": o.location,
            "quaternion_xyzw": o.quaternion_xyzw, "cuboid": o.cuboid, "projected_cuboid": o.projected_cuboid,
            "projected_cuboid_centroid": o.projected_cuboid_centroid, "bbox": o.bbox,
            "dimensions": setting.dimensions, "segmentation_id": setting.segmentation_id,
            **({} if o.amodal_pixel_count is None else {"amodal_pixel_count": o.amodal_pixel_count})}


def decode_rgb(data: np.ndarray, path) -> np.ndarray:
    """(H, W, 3) RGB from encoded image bytes; ``path`` names them in errors."""
    img = cv2.imdecode(data, _IMREAD_RGB if _IMREAD_RGB is not None else cv2.IMREAD_COLOR)
    if img is None:
        raise FormatError(path, "not a readable image (truncated or corrupt)")
    return img if _IMREAD_RGB is not None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def read_extra_file(path: str | Path, kind: str, size: tuple[int, int] | None = None, n_objects: int = 0,
                    raw: bool = False):
    """:func:`fat.formats.extras.read_extra` with the project's errors: a FormatError naming the file
    when it is missing, is not what ``kind`` writes, is not ``size`` (width, height) or (amodal) holds
    fewer objects than ``n_objects``. ``raw``: the values as stored (:func:`~fat.formats.extras.read_raw`)."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(path, "file is missing")
    try:
        values = read_raw(path, kind)
        if (values.shape[1], values.shape[0]) != tuple(size or values.shape[1::-1]):
            raise FormatError(path, f"image is {values.shape[1]}x{values.shape[0]}, expected {size[0]}x{size[1]} "
                                    f"({CAMERA_SETTINGS})")
        if kind == "amodal":
            check_planes(values, n_objects)
            return values if raw else decode_amodal(values, n_objects)
        return values if raw else DECODERS[kind](values)
    except ValueError as e:
        raise FormatError(path, str(e).removeprefix(f"{path}: ")) from None
