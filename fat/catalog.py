"""Object sets: the objects a dataset is made of (names, segmentation ids, cuboids, model transforms,
masses, where their meshes come from).

FAT's 21 YCB objects are the default set (the user's own sets are read by :mod:`fat.objectsets`); their data lives in ``objects/catalog.json`` (installed as
``fat.objects``), loaded once and converted to the project's units: metres, column-vector 4x4
transforms.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ConfigError

#: Metres per unit of each ``--units`` name; ``--units`` also takes a positive number of metres per unit.
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
#: How the FAT-aligned frame is found: NDDS's axis-aligned box, or the smallest oriented box.
ALIGNMENTS = ("aabb", "obb")
#: Largest texture side kept for real YCB models (their scans carry 4096 px textures).
DEFAULT_TEXTURE_SIZE = 1024
#: Segmentation value of the object in every single-object folder.
SINGLE_SEGMENTATION_ID = 255


@dataclass(frozen=True)
class ObjectInfo:
    """One object of an :class:`ObjectSet`.

    ``model_transform`` maps points of the object's source mesh file (in the file's own units; for
    FAT's objects the YCB ``google_16k`` mesh, metres, in the YCB frame) into the FAT-aligned object
    frame (metres, origin at the cuboid centre): ``p_fat = T[:3,:3] @ p + T[:3,3]``; a millimetre
    file's ``T[:3,:3]`` holds the factor 1/1000. For FAT's objects it is the published
    ``fixed_model_transform`` F transposed and scaled: ``T[:3,:3] = F[:3,:3].T / 100``,
    ``T[:3,3] = F[3,:3] / 100``.
    """

    index: int  # position in its set (FAT's objects: 0..20, FAT order); category id = index + 1
    name: str  # "002_master_chef_can" (the YCB folder name)
    class_name: str  # "002_master_chef_can_16k" (FAT class)
    segmentation_id: int  # in mixed folders (FAT's objects: 12 * (index + 1))
    dimensions: np.ndarray  # (3,) full cuboid extents along the object x, y, z, metres
    model_transform: np.ndarray  # (4, 4)
    mass: float  # kg
    mixed_spelling: str = ""  # the class as written inside mixed folders, when it differs (FAT: 006_mustard_bottle_16K)
    mesh: str = ""  # the source mesh file ("": FAT's objects, found in the set's YCB folder or built as stand-ins)
    collision: str = ""  # a collision mesh file of convex parts ("": the hull, or V-HACD parts when concave)
    symmetry: dict | None = field(default=None, compare=False)  # BOP's symmetries_discrete / _continuous, if known
    material: object = field(default=None, compare=False)  # a fat.render.materials.Material, if the set gives one
    #: which of the material's values the set gives ("roughness", "metallic", "specular"): they override
    #: the mesh file's own (a glTF file's metallic-roughness); () with a material: all of them
    material_keys: tuple[str, ...] = field(default=(), compare=False)

    @property
    def short_name(self) -> str:
        """"master_chef_can": the name without the YCB number."""
        return self.name.split("_", 1)[1] if "_" in self.name and self.name.split("_", 1)[0].isdigit() else self.name

    def mixed_class_name(self) -> str:
        """Class name as written inside mixed folders (real FAT: ``006_mustard_bottle_16K``)."""
        return self.mixed_spelling or self.class_name


def _key(name: str) -> str:
    n = name.strip().lower()
    return n[:-4] if n.endswith("_16k") else n


@dataclass(frozen=True)
class Standins:
    """An object set's meshes are the built-in procedural stand-ins (FAT's cuboids)."""

    def __str__(self) -> str:
        return "stand-ins"


@dataclass(frozen=True)
class MeshFiles:
    """An object set's meshes are each object's own file (:attr:`ObjectInfo.mesh`)."""

    def __str__(self) -> str:
        return "the objects' own mesh files"


@dataclass(frozen=True)
class YcbModels:
    """An object set's meshes are the real YCB models in ``folder`` (FAT's 21 objects)."""

    folder: Path

    def __str__(self) -> str:
        return f"YCB models in {self.folder}"


#: Where an object set's meshes come from.
Meshes = Standins | MeshFiles | YcbModels


@dataclass(frozen=True, repr=False)
class ObjectSet:
    """The objects a dataset is made of, as data: classes, segmentation ids, cuboids, model transforms,
    masses, and where their meshes come from. FAT's 21 YCB objects (:func:`fat_objects`) are the
    default set; every module that needs objects is handed a set, none looks one up on its own."""

    name: str  # "fat"
    objects: tuple[ObjectInfo, ...]
    supercategory: str = "ycb"  # COCO's supercategory of every class
    meshes: Meshes = Standins()  # where meshes come from
    about: str = ""

    def __repr__(self) -> str:
        names = [o.name for o in self.objects]
        shown = ", ".join(names[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
        return f"ObjectSet({self.name!r}: {len(names)} objects ({shown}); meshes: {self.meshes})"

    def __post_init__(self):
        idx: dict[str, ObjectInfo] = {}
        for o in self.objects:
            for alias in dict.fromkeys((o.name, o.short_name, o.name.split("_", 1)[0], o.class_name, o.mixed_class_name())):
                idx.setdefault(_key(alias), o)
        object.__setattr__(self, "_index", idx)

    def __iter__(self):
        return iter(self.objects)

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(o.name for o in self.objects)

    def find(self, name: str) -> ObjectInfo | None:
        """The object called ``name``: its class (``011_banana_16k``, any case of ``_16K``), folder name
        (``011_banana``), short name (``banana``) or number (``011``); None if there is none."""
        return self._index.get(_key(name)) if isinstance(name, str) else None

    def get(self, name: str) -> ObjectInfo:
        """Like :meth:`find`; an unknown name is a one-line ConfigError listing the known ones."""
        o = self.find(name)
        if o is None:
            raise ConfigError(f"unknown object {name!r} in object set {self.name}; known: "
                              f"{', '.join(x.short_name for x in self.objects)}")
        return o

    def subset(self, names) -> tuple[ObjectInfo, ...]:
        """The objects called ``names``, in that order."""
        return tuple(self.get(n) for n in names)


@functools.lru_cache(maxsize=1)
def fat_objects() -> ObjectSet:
    """FAT's 21 YCB objects, in FAT's order, from ``objects/catalog.json``."""
    raw = json.loads(resources.files("fat.objects").joinpath("catalog.json").read_text("utf-8"))
    spelling = raw.get("fat_mixed_class_spelling", {})
    out = []
    for i, o in enumerate(raw["objects"]):
        F = np.array(o["fixed_model_transform"], dtype=np.float64)
        T = np.eye(4)
        T[:3, :3] = F[:3, :3].T / 100.0
        T[:3, 3] = F[3, :3] / 100.0
        dims = np.array(o["cuboid_dimensions_cm"], dtype=np.float64) / 100.0
        dims.setflags(write=False)
        T.setflags(write=False)
        out.append(ObjectInfo(i, o["name"], o["class"], int(o["segmentation_class_id"]), dims, T, float(o["mass_kg"]),
                              spelling.get(o["class"], "")))
    return ObjectSet("fat", tuple(out), supercategory="ycb", meshes=Standins(), about=raw.get("about", ""))


# ----------------------------------------------------------------------------- units
def parse_units(value):
    """A units value as a command line gives it: ``mm``, ``cm`` and ``m`` as they are, the text of
    a positive number (``0.1``) as that number; anything else as it is, for :func:`units_scale` to
    refuse as given."""
    if isinstance(value, str) and value not in UNITS:
        try:
            number = float(value.strip())
        except ValueError:
            return value
        return number if math.isfinite(number) and number > 0 else value
    return value


def units_scale(value, where: str) -> float:
    """Metres per unit from ``mm``, ``cm``, ``m`` or a positive number."""
    if isinstance(value, str) and value in UNITS:
        return UNITS[value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    raise ConfigError(f"{where}: units must be mm, cm, m or a positive number of metres per unit, got {value!r}")
