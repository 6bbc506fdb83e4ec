"""HDF5 export: a dataset in one file, read by ``fat.Dataset("file.h5")`` like the folder. The file's
layout (one row per eye of each frame: the JPEG bytes, depth, segmentation, instance maps, the frame
JSON as written, the leaf folders' settings files) is described with its reader,
:mod:`fat.storage.hdf5`.

The extra files of ``fat generate --extras`` (:mod:`fat.formats.extras`) are kept as their PNGs'
values, which :meth:`fat.storage.hdf5.H5Storage.extra` decodes as it decodes the files:

```
/extras/normals      (N, H, W, 3) uint16   the normals files' R, G, B values
/extras/flow         (N, H, W, 3) uint16   KITTI's R, G, B values; and /extras/flow_back
/extras/coordinates  (N, H, W, 3) uint16
/extras/amodal       (N, H, W, C) uint16   the amodal files' bit planes: C = 1 while every view so far
                                           lists at most 16 objects, else 4 (grey and RGBA files)
```

each chunked by image and LZF-compressed like depth, each present when the dataset's first view
has that file (then every view must have it, as with instance maps).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..errors import FatError, FormatError, OutputError
from ..fileio import commit, discard, reserve_temp, why
from ..formats.extras import SUFFIXES, extra_file
from ..formats.fat import (
    CAMERA_SETTINGS,
    OBJECT_SETTINGS,
    frame_file,
    parse_view,
    read_depth_raw,
    read_json,
    read_instance,
    read_rgb,
    read_seg,
)
from ..storage.base import read_extra_file
from ..storage.hdf5 import EXTRAS_DATASET, FORMAT, h5py_module
from . import Export, Result
from .common import Progress, file_output, open_dataset, skip_or_raise, skipped


def export(root: Path, out: Path, skip_bad: bool = False, progress: Progress | None = None,
           overwrite: bool = False) -> dict:
    """Write the dataset under ``root`` to ``out``; returns counts and the frames left out. An existing
    ``out`` is refused unless ``overwrite``; the file is written under a temporary name and renamed
    when complete, so a failure (a full disk) leaves neither a partial ``out`` nor the temporary."""
    ds = open_dataset(root, "the HDF5 export reads a dataset folder (the file already is one)", skip_bad, fields=())
    h5py = h5py_module()
    out = Path(out)
    if ds.folders and len({(ds.folder(f).intrinsics("left").width, ds.folder(f).intrinsics("left").height)
                           for f in ds.folders}) > 1:
        raise FormatError(root, "HDF5 export needs one image size for the whole dataset")
    rows = [(f, i, e) for (f, i), e in ((r, e) for r in ds.frames() for e in ("left", "right"))]
    first = ds.folder(rows[0][0]) if rows else None
    W, H = (first.intrinsics("left").width, first.intrinsics("left").height) if first else (0, 0)
    has_instance = bool(rows) and frame_file(ds.base / rows[0][0], rows[0][1], "left", "instance").exists()
    extras = [k for k in SUFFIXES if rows and extra_file(ds.base / rows[0][0], rows[0][1], "left", k).exists()]
    with file_output([out], root, overwrite):
        tmp = reserve_temp(out)
        sink = f5 = None
        try:
            sink = _Sink(tmp)
            f5 = h5py.File(sink, "w")

            def step(k: int) -> None:  # after each view: stop at the first write error
                sink.check(out)
                if progress:
                    progress(k)

            n = _fill(f5, h5py, ds, rows, W, H, has_instance, extras, step)
            f5.close()
            f5 = None
            sink.check(out)
        except BaseException as e:
            if f5 is not None:
                try:
                    f5.close()
                except Exception:
                    pass
            if sink is not None:
                sink.close()
            discard(tmp)  # no half-written file
            if sink is not None and sink.error is not None:  # the cause, whatever HDF5 made of it
                sink.check(out)
            if isinstance(e, OSError):
                raise OutputError(f"{out}: cannot write: {why(e)}") from None
            raise
        sink.close()
        commit(tmp, out)
    return {"views": n, "skipped": skipped(ds)}


class _Sink:
    """The file object HDF5 writes through. HDF5 copes badly with a failing disk: every later flush
    fails again, as each object is freed, and the interpreter has crashed at exit. So the first OS
    error is kept in ``error`` and not passed to HDF5: from then on writes are kept in memory (and
    read back from there), so that HDF5 stays consistent until the caller, who checks ``error``
    after each view, gives the file up (at most one view is held)."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        self.pos = 0
        self.error: OSError | None = None
        self.held: list[tuple[int, bytes]] = []  # (offset, bytes) written after the error

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        n, at = len(view), self.pos
        while self.error is None and len(view):
            try:
                k = os.pwrite(self.fd, view, at)
                view, at = view[k:], at + k
            except OSError as e:
                self.error = e
        if len(view):
            self.held.append((at, bytes(view)))
        self.pos += n
        return n

    def readinto(self, b) -> int:
        out = memoryview(b).cast("B")
        got = os.pread(self.fd, len(out), self.pos)
        out[:len(got)] = got
        end = self.pos + len(got)
        for at, d in self.held:  # later writes win
            lo, hi = max(at, self.pos), min(at + len(d), self.pos + len(out))
            if lo < hi:
                out[lo - self.pos:hi - self.pos] = d[lo - at:hi - at]
                end = max(end, hi)
        n = end - self.pos
        self.pos = end
        return n

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = max(0, self.seek(0, os.SEEK_END) - self.pos)
        buf = bytearray(n)
        return bytes(buf[:self.readinto(buf)])

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == os.SEEK_END:
            size = max([os.fstat(self.fd).st_size] + [at + len(d) for at, d in self.held])
            self.pos = size + offset
        else:
            self.pos = offset + (self.pos if whence == os.SEEK_CUR else 0)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def truncate(self, size=None):
        size = self.pos if size is None else size
        if self.error is None:
            try:
                os.ftruncate(self.fd, size)
            except OSError as e:
                self.error = e
        return size

    def flush(self) -> None:
        pass  # unbuffered

    def close(self) -> None:
        os.close(self.fd)

    def check(self, out: Path) -> None:
        if self.error is not None:
            raise OutputError(f"{out}: cannot write: {why(self.error)}")


def _fill(f5, h5py, ds, rows, W, H, has_instance, extras, progress) -> int:
    n = 0
    strings = h5py.string_dtype()
    def images(name, shape, dtype):
        return f5.create_dataset(name, (0, *shape), maxshape=(None, *shape), dtype=dtype,
                                 chunks=(1, *shape), compression="lzf")

    arrays = {"rgb": f5.create_dataset("rgb", (0,), maxshape=(None,), dtype=h5py.vlen_dtype(np.uint8), chunks=(64,)),
              "depth": images("depth", (H, W), "u2"), "seg": images("seg", (H, W), "u1")}
    if has_instance:
        arrays["instance"] = images("instance", (H, W), "u2")
    for kind in extras:
        name = EXTRAS_DATASET.format(kind)
        arrays[kind] = (f5.create_dataset(name, (0, H, W, 1), maxshape=(None, H, W, 4), dtype="u2", chunks=(1, H, W, 1),
                                          compression="lzf") if kind == "amodal" else images(name, (H, W, 3), "u2"))
    meta = {k: [] for k in ("folder", "eye", "kind", "scene", "location", "split", "annotation", "frame")}
    for folder, index, eye in rows:
        d = ds.base / folder
        size = (W, H)
        try:
            jpg = frame_file(d, index, eye, "rgb")
            read_rgb(jpg, size)  # a readable colour image of the right size
            data = {"rgb": np.frombuffer(jpg.read_bytes(), np.uint8),
                    "depth": read_depth_raw(frame_file(d, index, eye, "depth"), size),
                    "seg": read_seg(frame_file(d, index, eye, "seg"), size)}
            if has_instance:
                data["instance"] = read_instance(frame_file(d, index, eye, "instance"), size)
            path = frame_file(d, index, eye, "annotation")
            doc = read_json(path)
            parse_view(doc, path, ds.folder(folder).class_names)
            text = path.read_text()
            for kind in extras:
                data[kind] = read_extra_file(extra_file(d, index, eye, kind), kind, size, len(doc.get("objects", [])), raw=True)
        except FatError as e:
            skip_or_raise(ds, folder, index, e)
            continue
        for k, a in arrays.items():
            a.resize(n + 1, axis=0)
            if k == "amodal":
                _grow_planes(a, data[k].shape[2])
                data[k] = np.pad(data[k], ((0, 0), (0, 0), (0, a.shape[3] - data[k].shape[2])))
            a[n] = data[k]
        info = ds.folders[folder]
        for k, v in (("folder", folder), ("eye", eye), ("kind", info.kind), ("scene", info.scene),
                     ("location", info.location), ("split", info.split), ("annotation", text), ("frame", index)):
            meta[k].append(v)
        n += 1
        if progress:
            progress(1)
    views = f5.create_group("views")
    for k, v in meta.items():
        views.create_dataset(k, data=np.array(v, dtype=np.int32) if k == "frame" else np.array(v, dtype=object),
                             dtype="i4" if k == "frame" else strings)
    names = list(ds.folders)  # in the storage's folder order
    folders = f5.create_group("folders")
    folders.create_dataset("name", data=np.array(names, dtype=object), dtype=strings)
    for key, fname in (("camera_settings", CAMERA_SETTINGS), ("object_settings", OBJECT_SETTINGS)):
        folders.create_dataset(key, data=np.array([(ds.base / f / fname).read_text() for f in names], dtype=object),
                               dtype=strings)
    f5.attrs["fat_format"] = FORMAT
    f5.attrs["baseline"] = ds.baseline
    record = ds.storage.record()
    if record is not None:  # the object set's names and order (fat.objectsets.recorded)
        f5.attrs["fat_dataset"] = json.dumps(record)
    return n


def _grow_planes(a, planes: int) -> None:
    """Give the amodal dataset ``a`` at least ``planes`` bit planes (the earlier rows' new ones are 0:
    no object)."""
    if a.shape[3] < planes:
        a.resize(planes, axis=3)


class Hdf5(Export):
    """``fat export hdf5``."""

    name = "hdf5"
    help = "The dataset in one HDF5 file, which fat.Dataset reads like the folder."
    description = ("DATASET in one HDF5 file (chunked, LZF-compressed images and the annotations), which "
                   "fat.Dataset reads like the folder.")
    output = "file"
    unit = "view"

    def run(self, dataset: Path, out: Path, *, overwrite: bool = False, skip_bad: bool = False,
            progress: Progress | None = None) -> Result:
        r = export(dataset, out, skip_bad, progress, overwrite=overwrite)
        return Result([f"{out}: {r['views']} views"], r["skipped"])
