"""An HDF5 export (``fat export hdf5``) as a :mod:`fat.storage`: ``fat.Dataset("file.h5")`` reads it
like the folder it was made from. The writer is :mod:`fat.exports.hdf5`.

Layout (one row per eye of each frame):

```
/rgb        (N,) bytes               the JPEG files as they are (decoding beats decompressing raw RGB)
/depth      (N, H, W)    uint16      FAT's counts of 0.1 mm (0 and 65535 = no value)
/seg        (N, H, W)    uint8
/instance   (N, H, W)    uint16      when the dataset has instance maps
/extras/{normals, flow, flow_back, coordinates}  (N, H, W, 3) uint16   with --extras: the PNGs' R, G, B values
/extras/amodal  (N, H, W, C) uint16   the amodal PNGs' bit planes (C = 1, or 4 from a view of over 16 objects)
/views/{folder, eye, kind, scene, location, split}  (N,) strings;  /views/frame (N,) int32
/views/annotation        (N,) string  the frame JSON as written (FAT's units and fields)
/folders/{name, camera_settings, object_settings}  one row per leaf folder (the settings files)
attributes: fat_format, baseline, fat_dataset (the dataset's fat_dataset.json, when it has one)
```

A file that would make the reader open another file is refused before anything is read from it
(:func:`check_self_contained`): an external link, a dataset whose data lies in external files, a
virtual dataset. The export never writes any of them.
"""

from __future__ import annotations

import json

from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ConfigError, FormatError
from ..formats.fat import (CAMERA_SETTINGS, OBJECT_SETTINGS, decode_depth, parse_camera_settings, parse_json_text,
                           parse_object_settings, parse_view)
from ..formats.extras import DECODERS, decode_amodal
from .base import FolderInfo, class_key, decode_rgb, folder_order, object_item

#: The HDF5 dataset of each extra file kind (:mod:`fat.exports.hdf5` writes them).
EXTRAS_DATASET = "extras/{}"

#: The ``fat_format`` attribute of the file.
FORMAT = "fat-hdf5-1"


def h5py_module():
    """h5py, or a ConfigError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise ConfigError("HDF5 needs h5py: pip install 'fat-datasets[hdf5]'") from None
    return h5py


def check_self_contained(f, path: str | Path) -> None:
    """Refuse (FormatError naming ``path`` and the object) the open HDF5 file ``f`` when reading it
    would read another file on the machine: an external link (``h5py.ExternalLink``), a link of a
    kind HDF5 does not define (a user-defined link), a dataset with external storage (its data in
    raw files elsewhere) or a virtual dataset (its data mapped from other datasets, in other files
    or this one). Metadata only: one walk over the links (``H5Lvisit``) and one over the objects
    reached by hard links (``H5Ovisit``); no link is followed, no data is read."""
    h5py = h5py_module()
    hard, soft = h5py.h5l.TYPE_HARD, h5py.h5l.TYPE_SOFT

    def link(name: bytes, info) -> str | None:
        if info.type in (hard, soft):  # an object of this file, or a path in this file
            return None
        where = "/" + name.decode("utf-8", "replace")
        if info.type == h5py.h5l.TYPE_EXTERNAL:
            target = f.get(where, getlink=True)
            to = f" to {target.filename}:{target.path}" if isinstance(target, h5py.ExternalLink) else ""
            return f"{where}: an external link{to}; refusing to read another file through it"
        return f"{where}: a user-defined link (type {info.type}); refusing to follow it"

    problem = f.id.links.visit(link, info=True)
    if problem is None:
        def dataset(name: str, obj) -> str | None:
            if not isinstance(obj, h5py.Dataset):
                return None
            if obj.external:
                files = ", ".join(sorted({str(e[0]) for e in obj.external}))
                return f"/{name}: its data lies in another file ({files}: HDF5 external storage); refusing to read it"
            if obj.is_virtual:
                files = ", ".join(sorted({m.file_name for m in obj.virtual_sources()}))
                return f"/{name}: a virtual dataset (its data comes from {files}); refusing to read through it"
            return None

        problem = f.visititems(dataset)
    if problem is not None:
        raise FormatError(path, f"not a self-contained HDF5 export: {problem}")


def has_instance(path: str | Path) -> bool:
    """Whether the HDF5 export at ``path`` holds instance maps (its source had them). A file that
    is not self-contained is refused (:func:`check_self_contained`)."""
    h5py = h5py_module()
    try:
        f = h5py.File(path, "r")
    except OSError:
        return False
    with f:
        check_self_contained(f, path)
        return f.get("instance", getlink=True) is not None


class H5Storage:
    """The frames of an HDF5 export."""

    def __init__(self, path: str | Path):
        h5py = h5py_module()
        self.base = self.path = Path(path)
        self.index_file = None
        try:
            self.f = h5py.File(self.path, "r")
        except OSError as e:
            raise FormatError(self.path, f"not a fat HDF5 file: {e}") from None
        try:
            check_self_contained(self.f, self.path)  # before anything is read from it
        except BaseException:
            self.f.close()
            raise
        try:
            v = self.f["views"]
            self._meta = {k: v[k].asstr()[()] if k != "frame" else v[k][()] for k in
                          ("folder", "eye", "kind", "scene", "location", "split", "frame")}
        except (OSError, KeyError) as e:
            raise FormatError(self.path, f"not a fat HDF5 file: {e}") from None
        self.baseline = float(self.f.attrs.get("baseline", 0.06))
        folders = self.f["folders"]
        names = folders["name"].asstr()[()]
        cams, objs = folders["camera_settings"].asstr()[()], folders["object_settings"].asstr()[()]
        self._cameras = {n: parse_camera_settings(self._json(c, f"{n}/{CAMERA_SETTINGS}"), f"{self.path}[{n}/{CAMERA_SETTINGS}]")
                         for n, c in zip(names, cams)}
        self._objects = {n: {o.class_name.lower(): o for o in parse_object_settings(
                             self._json(s, f"{n}/{OBJECT_SETTINGS}"), f"{self.path}[{n}/{OBJECT_SETTINGS}]")}
                         for n, s in zip(names, objs)}
        m = self._meta
        self._rows: dict[tuple[str, int, str], int] = {}
        found: dict[str, FolderInfo] = {}
        for r in range(len(m["folder"])):
            folder = m["folder"][r]
            self._rows[(folder, int(m["frame"][r]), m["eye"][r])] = r
            if folder not in found:  # the folder's description, as the export wrote it with each view
                parts = folder.split("/")
                found[folder] = FolderInfo(folder, m["kind"][r], m["location"][r], m["scene"][r],
                                           parts[1] if m["kind"][r] == "single" and len(parts) == 3 else None, m["split"][r])
        self.folders = {k: found[k] for k in sorted(found, key=lambda k: folder_order(k, found[k].kind))}  # as the folder's

    def _json(self, text: str, what: str) -> dict:
        where = what if what.startswith(str(self.path)) else f"{self.path}[{what}]"
        doc = parse_json_text(text, where)
        if not isinstance(doc, dict):
            raise FormatError(where, f"expected a JSON object at the top level, found {type(doc).__name__}")
        return doc

    def frames(self, infos: list[FolderInfo], classes: set[str] | None) -> list[tuple[str, int, tuple[str, ...]]]:
        m = self._meta
        keep = np.isin(m["folder"], [f.path for f in infos])
        if classes is not None:
            notes = self.f["views/annotation"].asstr()
            keep &= np.array([keep[i] and any(isinstance(o, dict) and isinstance(o.get("class"), str) and class_key(o["class"]) in classes
                                              for o in self._json(notes[i], f"annotation {i}").get("objects", []))
                              for i in range(len(keep))], bool)
        by_frame: dict[tuple[str, int], list[str]] = {}
        for r in np.nonzero(keep)[0]:
            by_frame.setdefault((m["folder"][r], int(m["frame"][r])), []).append(m["eye"][r])
        position = {f.path: k for k, f in enumerate(infos)}  # the folders' order, as the folder storage gives it
        return [(folder, index, tuple(e for e in ("left", "right") if e in eyes))
                for (folder, index), eyes in sorted(by_frame.items(), key=lambda x: (position[x[0][0]], x[0][1]))]

    def record(self) -> dict | None:
        """The dataset's ``fat_dataset.json``, as the export kept it (None if it kept none)."""
        text = self.f.attrs.get("fat_dataset")
        if not text:
            return None
        try:
            doc = json.loads(text)
        except ValueError:
            return None
        return doc if isinstance(doc, dict) else None

    def object_settings(self):
        """Each leaf folder's parsed ``_object_settings.json``."""
        for name, info in self.folders.items():
            if name in self._objects:
                yield info, list(self._objects[name].values())

    def folder(self, rel: str):
        raise FormatError(self.path, "is an HDF5 export; its leaf folders' files are not kept: give the dataset "
                                     "folder it was made from")

    def intrinsics(self, rel: str, eye: str):
        cams = self._cameras[rel]
        return cams.get(eye) or next(iter(cams.values()))

    def annotations(self, rel: str, index: int, eye: str) -> dict:
        r = self._rows[(rel, index, eye)]
        where = f"{self.path}[{rel}/{index:06d}.{eye}.json]"
        raw = self._json(self.f["views/annotation"].asstr()[r], where)
        settings = self._objects[rel]
        view = parse_view(raw, where, list(settings))
        return {"camera_pose": view.camera_pose,
                "objects": [object_item(o, settings[o.class_name.lower()]) for o in view.objects], "raw": raw}

    def image(self, name: str, rel: str, index: int, eye: str, size: tuple[int, int]) -> np.ndarray:
        if name not in self.f:
            raise FormatError(self.path, f"has no {name} images")
        r = self._rows[(rel, index, eye)]
        a = self.f[name][r]
        if name == "rgb":
            return decode_rgb(a, f"{self.path}[rgb {r}]")
        return decode_depth(a) if name == "depth" else a

    def extra(self, kind: str, rel: str, index: int, eye: str, size: tuple[int, int], listed: Callable[[], int]):
        """The extra ``kind`` of a view (the file's values, kept in ``/extras/<kind>``) decoded as the
        folder's file is, or None where the export has none."""
        name = EXTRAS_DATASET.format(kind)
        if name not in self.f:
            return None
        r = self._rows[(rel, index, eye)]
        raw = self.f[name][r]
        if kind == "amodal":
            try:
                return decode_amodal(raw, listed())
            except ValueError as e:
                raise FormatError(f"{self.path}[{name} {r}]", str(e)) from None
        return DECODERS[kind](raw)

    def close(self) -> None:
        self.f.close()
