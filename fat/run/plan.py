"""Settings -> the plan: every leaf folder and every drop of a dataset, as pure descriptions.

A dataset is a list of drops. Each drop (kind, location, object, index, first frame) makes
``frames_per_drop`` consecutive frames of one leaf folder. Its random choices come from
``SeedSequence(seed, drop.key)``, and the key is made from names (kind, scene, location index,
object class, drop number), never from positions in a list: adding a scene or an object changes
no other drop's draws.

The functions take resolved :class:`fat.settings.Settings` (:func:`fat.run.resolve.resolve`:
the chosen objects named). A :class:`Plan` holds the folders, each with its camera (a randomized
folder's own field of view, where the camera randomizer draws one), and the drops, each with the
camera of its folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple

from ..catalog import ObjectSet
from ..geometry import Intrinsics
from ..randomize import Randomization
from ..scene.scenes import FAT_SCENES, n_locations, scene_name
from ..settings import KINDS, Settings
SPLIT_FILE = "split.json"


def drop_key(kind: str, scene: str, location: int, object_class: str | None, index: int) -> tuple[int, ...]:
    """A drop's spawn key: the sha256 of its names as canonical JSON, as eight 32-bit integers."""
    text = json.dumps({"kind": kind, "scene": scene, "location": int(location), "object": object_class,
                       "drop": int(index)}, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 32, 4))


@dataclass(frozen=True)
class Drop:
    kind: str
    location: str
    object_name: str | None  # single drops: the object
    index: int  # drop number within its folder
    folder: str  # relative leaf folder, e.g. "mixed/kitchen_0"
    first_frame: int
    n_frames: int
    object_class: str | None = None  # single drops: the object's class, which keys its random stream
    intrinsics: Intrinsics | None = field(default=None, compare=False)  # the camera of its folder

    @property
    def key(self) -> tuple[int, ...]:
        scene, _, i = self.location.rpartition("_")
        return drop_key(self.kind, scene, int(i), self.object_class, self.index)


@dataclass(frozen=True)
class Folder:
    path: str
    kind: str
    location: str
    objects: tuple[str, ...]  # settings entries: the one object (single) or the pool (mixed)
    n_frames: int
    intrinsics: Intrinsics | None = field(default=None, compare=False)  # its camera: _camera_settings.json


class Plan(NamedTuple):
    """Every leaf folder and every drop of a dataset."""

    folders: list[Folder]
    drops: list[Drop]


def locations_of(s: Settings) -> list[str]:
    return [f"{scene_name(sc)}_{i}" for sc in s.scenes for i in s.locations]


def count_drops(s: Settings) -> int:
    """How many drops :func:`plan` makes, counted without making them (resolved settings)."""
    per_folder = {k: -(-_folder_frames(s, k) // s.frames_per_drop) for k in KINDS}
    return len(locations_of(s)) * sum(per_folder[k] * (len(s.objects) if k == "single" else 1) for k in s.kinds)


def _folder_frames(s, kind: str) -> int:
    return {"single": s.single_frames, "mixed": s.mixed_frames, "dr": s.dr_frames}[kind]


def total_frames(s: Settings) -> int:
    """Frames :func:`plan` makes, counted without making the plan (resolved settings)."""
    return len(locations_of(s)) * sum(_folder_frames(s, k) * (len(s.objects) if k == "single" else 1) for k in s.kinds)


def plan(s: Settings, objects: ObjectSet, K: Intrinsics | None = None) -> Plan:
    """Every folder and drop of the dataset, in memory (:func:`fat.run.resolve.resolve` refuses
    plans of more than ``MAX_DROPS`` drops; count them first with :func:`count_drops`). ``objects``:
    the object set naming the single folders (the settings', :func:`fat.run.resolve.object_set`, or
    a dataset's own when checking it); ``K``: the camera the renderer draws with (default: the
    settings'), which each folder's camera starts from."""
    K = s.intrinsics if K is None else K
    randomization = Randomization(s.randomize, s.seed) if s.randomizes else None
    folders, drops = [], []
    chosen = objects.subset(s.objects) if s.objects else objects.objects
    names = tuple(s.objects) or tuple(o.name for o in chosen)
    for kind in s.kinds:
        for loc in locations_of(s):
            groups = [(f"{kind}/{loc}", None, None)] if kind != "single" else \
                [(f"single/{o.class_name}/{loc}", n, o.class_name) for n, o in zip(names, chosen)]
            for path, obj, cls in groups:
                n = _folder_frames(s, kind)
                own = randomization.folder_intrinsics(path, K) if s.randomized(kind) else K
                folders.append(Folder(path, kind, loc, (obj,) if obj else names, n, own))
                for d, first in enumerate(range(0, n, s.frames_per_drop)):
                    drops.append(Drop(kind, loc, obj, d, path, first, min(s.frames_per_drop, n - first), cls, own))
    return Plan(folders, drops)


def split_of(s: Settings, folders: list[Folder]) -> dict:
    """The held-out locations, the train and test folders, and the same for each kind (``dr/``
    has its own split: its test folders are those at the held-out locations)."""
    chosen = [scene_name(sc) for sc in s.scenes]
    test = [f"{sc}_{s.test_location}" for sc in dict.fromkeys([*FAT_SCENES, *chosen]) if s.test_location < n_locations(sc)]
    out = {
        "test_locations": test,
        "train": [f.path for f in folders if f.location not in test],
        "test": [f.path for f in folders if f.location in test],
    }
    if "dr" in s.kinds:
        out["kinds"] = {k: {"train": [f.path for f in folders if f.kind == k and f.location not in test],
                            "test": [f.path for f in folders if f.kind == k and f.location in test]} for k in s.kinds}
    return out
