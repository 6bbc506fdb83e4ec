"""The 21 FAT objects: names, segmentation ids, cuboids, model transforms and masses.

The data lives in ``objects/catalog.json`` (installed as ``fat.objects``). It is loaded once and
converted to the project's units: metres, column-vector 4x4 transforms.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .errors import ConfigError

#: Segmentation value of the object in every single-object folder.
SINGLE_SEGMENTATION_ID = 255


@dataclass(frozen=True)
class ObjectInfo:
    """One FAT object.

    ``model_transform`` maps points of the YCB ``google_16k`` mesh (metres, YCB frame) into the
    FAT-aligned object frame (metres, origin at the cuboid centre): ``p_fat = T[:3,:3] @ p + T[:3,3]``.
    It is FAT's ``fixed_model_transform`` F transposed and scaled: ``T[:3,:3] = F[:3,:3].T / 100``,
    ``T[:3,3] = F[3,:3] / 100``.
    """

    index: int  # 0..20, FAT order
    name: str  # "002_master_chef_can" (the YCB folder name)
    class_name: str  # "002_master_chef_can_16k" (FAT class)
    segmentation_id: int  # in mixed folders: 12 * (index + 1)
    dimensions: np.ndarray  # (3,) full cuboid extents along the object x, y, z, metres
    model_transform: np.ndarray  # (4, 4)
    mass: float  # kg

    @property
    def short_name(self) -> str:
        """"master_chef_can": the name without the YCB number."""
        return self.name.split("_", 1)[1]

    def mixed_class_name(self) -> str:
        """Class name as real FAT spells it inside mixed folders (``006_mustard_bottle_16K``)."""
        return _raw()["fat_mixed_class_spelling"].get(self.class_name, self.class_name)


@functools.lru_cache(maxsize=1)
def _raw() -> dict:
    return json.loads(resources.files("fat.objects").joinpath("catalog.json").read_text("utf-8"))


@functools.lru_cache(maxsize=1)
def objects() -> tuple[ObjectInfo, ...]:
    """All 21 objects, in FAT order."""
    out = []
    for i, o in enumerate(_raw()["objects"]):
        F = np.array(o["fixed_model_transform"], dtype=np.float64)
        T = np.eye(4)
        T[:3, :3] = F[:3, :3].T / 100.0
        T[:3, 3] = F[3, :3] / 100.0
        dims = np.array(o["cuboid_dimensions_cm"], dtype=np.float64) / 100.0
        dims.setflags(write=False)
        T.setflags(write=False)
        out.append(ObjectInfo(i, o["name"], o["class"], int(o["segmentation_class_id"]), dims, T, float(o["mass_kg"])))
    return tuple(out)


def _key(name: str) -> str:
    n = name.strip().lower()
    return n[:-4] if n.endswith("_16k") else n


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, ObjectInfo]:
    idx: dict[str, ObjectInfo] = {}
    for o in objects():
        for alias in (o.name, o.short_name, o.name[:3]):
            idx[alias.lower()] = o
    return idx


def get(name: str) -> ObjectInfo:
    """Look an object up by class (``011_banana_16k``, any case of ``_16K``), YCB folder name
    (``011_banana``), short name (``banana``) or number (``011``)."""
    o = _index().get(_key(name))
    if o is None:
        raise ConfigError(f"unknown object {name!r}; known: {', '.join(x.short_name for x in objects())}")
    return o


def find(name: str) -> ObjectInfo | None:
    """Like :func:`get`, but ``None`` for an unknown name."""
    return _index().get(_key(name))
