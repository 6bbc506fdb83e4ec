"""The object set of an existing dataset, from its own files: the classes, segmentation ids, cuboids
and model transforms of its folders' ``_object_settings.json`` (ours or real FAT's), ordered and
named as its ``fat_dataset.json`` records them when it has one.

A dataset whose classes are all FAT's (with FAT's cuboids) has FAT's set, whatever subset it uses,
so that category ids stay FAT's order. Any other dataset gets a set of its own classes: in the
order ``fat_dataset.json`` lists them, else by mixed-folder segmentation id, then by name.
"""

from __future__ import annotations

import numpy as np

from ..catalog import MeshFiles, ObjectInfo, ObjectSet, fat_objects
from .build import segmentation_ids

#: Cuboid difference (metres) under which a class of the files is FAT's object of that class.
SAME_CUBOID = 1e-4


def _is_fat(found: dict) -> bool:
    fat = fat_objects()
    for key, (cls, seg, T, dims) in found.items():
        o = fat.find(cls)
        if o is None or np.abs(o.dimensions - dims).max() > SAME_CUBOID or (seg is not None and seg != o.segmentation_id):
            return False
    return True


def dataset_objects(storage) -> ObjectSet:
    """The object set of the dataset read through ``storage`` (:mod:`fat.storage`)."""
    found: dict[str, list] = {}  # lower-case class -> [class as in single folders, mixed id, T, dims]
    mixed_spelling: dict[str, str] = {}
    for info, settings in storage.object_settings():
        for s in settings:
            key = s.class_name.lower()
            e = found.setdefault(key, [s.class_name, None, s.model_transform, s.dimensions])
            if info.kind != "single":  # mixed and dr folders
                e[1] = s.segmentation_id
                if s.class_name != e[0]:
                    mixed_spelling[key] = s.class_name
            elif e[0] != s.class_name:  # single folders' spelling is the class; a mixed one may differ
                mixed_spelling[key] = e[0]
                e[0] = s.class_name
    if not found or _is_fat(found):
        return fat_objects()
    record = (storage.record() or {}).get("object_set")
    listed = record.get("objects") if isinstance(record, dict) else None
    names: dict[str, str] = {}
    listed_order: list[str] = []
    for o in listed if isinstance(listed, list) else []:
        if isinstance(o, dict) and isinstance(o.get("class"), str):
            names[o["class"].lower()] = str(o.get("name", o["class"]))
            listed_order.append(o["class"].lower())
    rest = sorted((k for k in found if k not in names), key=lambda k: (found[k][1] is None, found[k][1] or 0, k))
    everything = listed_order + rest  # a set's position numbers its category id: the recorded set's, then the rest
    position = {k: i for i, k in enumerate(everything)}
    order = [k for k in everything if k in found]
    rule = segmentation_ids(len(everything), {})
    objects = []
    for k in order:
        cls, seg, T, dims = found[k]
        i = position[k]
        objects.append(ObjectInfo(i, names.get(k, cls), cls, seg if seg is not None else rule[i], dims, T, 0.0,
                                  mixed_spelling.get(k, "")))
    name = record.get("name", "dataset") if isinstance(record, dict) else "dataset"
    sup = record.get("supercategory", "objects") if isinstance(record, dict) else "objects"
    return ObjectSet(str(name), tuple(objects), supercategory=str(sup), meshes=MeshFiles(), about="read from the dataset's files")
