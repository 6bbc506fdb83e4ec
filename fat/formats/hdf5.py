"""HDF5 export and reader: a dataset in one file, read by ``fat.Dataset("file.h5")`` like the folder.

Layout (one row per eye of each frame):

```
/rgb        (N,) bytes               the JPEG files as they are (decoding beats decompressing raw RGB)
/depth      (N, H, W)    uint16      FAT's counts of 0.1 mm (0 and 65535 = no value)
/seg        (N, H, W)    uint8
/instance   (N, H, W)    uint16      when the dataset has instance maps
/views/{folder, eye, kind, scene, location, split}  (N,) strings;  /views/frame (N,) int32
/views/annotation        (N,) string  the frame JSON as written (FAT's units and fields)
/folders/{name, camera_settings, object_settings}  one row per leaf folder (the settings files)
```
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import ConfigError, FatError, FormatError, OutputError
from ..fileio import check_target, commit, discard, locked, remove_stale_temporaries, reserve_temp, why
from .fat import (
    CAMERA_SETTINGS,
    OBJECT_SETTINGS,
    decode_depth,
    frame_file,
    parse_camera_settings,
    parse_json_text,
    parse_object_settings,
    parse_view,
    read_depth_raw,
    read_json,
    read_instance,
    read_rgb,
    read_seg,
)

def _h5():
    try:
        import h5py
    except ImportError:
        raise ConfigError("HDF5 needs h5py: pip install 'fat-datasets[hdf5]'") from None
    return h5py


def export(root: Path, out: Path, skip_bad: bool = False, progress: Callable[[int], None] | None = None,
           overwrite: bool = False) -> dict:
    """Write the dataset under ``root`` to ``out``; returns counts and the frames left out. An existing
    ``out`` is refused unless ``overwrite``; the file is written under a temporary name and renamed
    when complete, so a failure (a full disk) leaves neither a partial ``out`` nor the temporary."""
    from ..dataset import Dataset, require_folder

    require_folder(root, "the HDF5 export reads a dataset folder (the file already is one)")
    h5py = _h5()
    out = Path(out)
    check_target(out, root, overwrite)
    ds = Dataset(root, eyes="both", fields=())
    if ds.folders and len({(ds.folder(f).intrinsics("left").width, ds.folder(f).intrinsics("left").height)
                           for f in ds.folders}) > 1:
        raise FormatError(root, "HDF5 export needs one image size for the whole dataset")
    rows = [(f, i, e) for (f, i), e in ((r, e) for r in ds.frames() for e in ("left", "right"))]
    first = ds.folder(rows[0][0]) if rows else None
    W, H = (first.intrinsics("left").width, first.intrinsics("left").height) if first else (0, 0)
    has_instance = bool(rows) and frame_file(ds.base / rows[0][0], rows[0][1], "left", "instance").exists()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out.parent}: cannot create the folder: {why(e)}") from None
    with locked(out.parent / f".{out.name}.lock", out):
        remove_stale_temporaries(out)  # of a killed export
        tmp = reserve_temp(out)
        sink = f5 = None
        try:
            sink = _Sink(tmp)
            f5 = h5py.File(sink, "w")

            def step(k: int) -> None:  # after each view: stop at the first write error
                sink.check(out)
                if progress:
                    progress(k)

            n, skipped = _fill(f5, h5py, ds, rows, W, H, has_instance, skip_bad, step)
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
    return {"views": n, "skipped": skipped}


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


def _fill(f5, h5py, ds, rows, W, H, has_instance, skip_bad, progress) -> tuple[int, list[str]]:
    skipped, n = [], 0
    strings = h5py.string_dtype()
    def images(name, shape, dtype):
        return f5.create_dataset(name, (0, *shape), maxshape=(None, *shape), dtype=dtype,
                                 chunks=(1, *shape), compression="lzf")

    arrays = {"rgb": f5.create_dataset("rgb", (0,), maxshape=(None,), dtype=h5py.vlen_dtype(np.uint8), chunks=(64,)),
              "depth": images("depth", (H, W), "u2"), "seg": images("seg", (H, W), "u1")}
    if has_instance:
        arrays["instance"] = images("instance", (H, W), "u2")
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
        except FatError as e:
            if not skip_bad:
                raise
            skipped.append(str(e))
            continue
        for k, a in arrays.items():
            a.resize(n + 1, axis=0)
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
    names = sorted(ds.folders)
    folders = f5.create_group("folders")
    folders.create_dataset("name", data=np.array(names, dtype=object), dtype=strings)
    for key, fname in (("camera_settings", CAMERA_SETTINGS), ("object_settings", OBJECT_SETTINGS)):
        folders.create_dataset(key, data=np.array([(ds.base / f / fname).read_text() for f in names], dtype=object),
                               dtype=strings)
    f5.attrs["fat_format"] = "fat-hdf5-1"
    f5.attrs["baseline"] = ds.baseline
    return n, skipped


def has_instance(path: str | Path) -> bool:
    """Whether the HDF5 export at ``path`` holds instance maps (its source had them)."""
    h5py = _h5()
    try:
        with h5py.File(path, "r") as f:
            return "instance" in f
    except OSError:
        return False


class H5Dataset:
    """The reader behind ``fat.Dataset("file.h5", ...)``: same arguments, same items."""

    def __init__(self, path, split="all", kind="both", scenes=None, classes=None, eyes="left",
                 fields=("rgb", "depth", "seg", "annotations"), on_error="raise"):
        from ..dataset import _class_key, check_arguments

        self.fields = check_arguments(split, kind, eyes, fields, on_error)
        h5py = _h5()
        self.path = Path(path)
        try:
            self.f = h5py.File(self.path, "r")
            v = self.f["views"]
            self._meta = {k: v[k].asstr()[()] if k != "frame" else v[k][()] for k in
                          ("folder", "eye", "kind", "scene", "location", "split", "frame")}
        except (OSError, KeyError) as e:
            raise FormatError(self.path, f"not a fat HDF5 file: {e}") from None
        self.eyes, self.on_error, self.skipped = eyes, on_error, []
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
        keep = (np.ones(len(m["folder"]), bool) if split == "all" else m["split"] == split)
        if kind != "both":
            keep &= m["kind"] == kind
        if scenes is not None:
            keep &= np.isin(m["scene"], list(scenes))
        if classes is not None:
            wanted = {_class_key(c) for c in classes}
            notes = self.f["views/annotation"].asstr()
            keep &= np.array([keep[i] and any(isinstance(o, dict) and isinstance(o.get("class"), str) and _class_key(o["class"]) in wanted
                                              for o in self._json(notes[i], f"annotation {i}").get("objects", []))
                              for i in range(len(keep))], bool)
        rows = np.nonzero(keep)[0]
        by_frame: dict = {}
        for r in rows:
            by_frame.setdefault((m["folder"][r], int(m["frame"][r])), {})[m["eye"][r]] = int(r)
        if eyes == "stereo":  # frames() lists the frames of the items, in their order
            self._frames = sorted(k for k in by_frame if {"left", "right"} <= set(by_frame[k]))
        elif eyes in ("left", "right"):
            self._frames = sorted(k for k in by_frame if eyes in by_frame[k])
        else:
            self._frames = sorted(by_frame)
        if eyes == "stereo":
            self._items = [("stereo", by_frame[k]) for k in self._frames if {"left", "right"} <= set(by_frame[k])]
        else:
            want = ("left", "right") if eyes == "both" else (eyes,)
            self._items = [(e, {e: by_frame[k][e]}) for k in self._frames for e in want if e in by_frame[k]]

    def _json(self, text: str, what: str) -> dict:
        where = what if what.startswith(str(self.path)) else f"{self.path}[{what}]"
        doc = parse_json_text(text, where)
        if not isinstance(doc, dict):
            raise FormatError(where, f"expected a JSON object at the top level, found {type(doc).__name__}")
        return doc

    def __len__(self) -> int:
        return len(self._items)

    def frames(self) -> list[tuple[str, int]]:
        return list(self._frames)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def close(self) -> None:
        self.f.close()

    def _view(self, r: int) -> dict:
        from ..dataset import decode_rgb, object_item

        m = self._meta
        folder, eye = m["folder"][r], m["eye"][r]
        cams = self._cameras[folder]
        K = cams.get(eye) or next(iter(cams.values()))
        item = {"folder": folder, "index": int(m["frame"][r]), "eye": eye, "kind": m["kind"][r], "scene": m["scene"][r],
                "location": m["location"][r], "split": m["split"][r], "K": K.K, "width": K.width, "height": K.height,
                "baseline": self.baseline}
        if "annotations" in self.fields:
            where = f"{self.path}[{folder}/{int(m['frame'][r]):06d}.{eye}.json]"
            raw = self._json(self.f["views/annotation"].asstr()[r], where)
            view = parse_view(raw, where, list(self._objects[folder]))
            settings = self._objects[folder]
            item["camera_pose"] = view.camera_pose
            item["objects"] = [object_item(o, settings[o.class_name.lower()]) for o in view.objects]
            item["raw"] = raw
        for name in ("rgb", "depth", "seg", "instance"):
            if name in self.fields:
                if name not in self.f:
                    raise FormatError(self.path, f"has no {name} images")
                a = self.f[name][r]
                if name == "rgb":
                    item[name] = decode_rgb(a, f"{self.path}[rgb {r}]")
                else:
                    item[name] = decode_depth(a) if name == "depth" else a
        if "depth" in item:
            item["depth_valid"] = item["depth"] > 0
        return item

    def __getitem__(self, i: int) -> dict:
        from ..dataset import stereo_item

        eye, rows = self._items[i]
        if eye != "stereo":
            return self._view(rows[eye])
        return stereo_item(self._view(rows["left"]), self._view(rows["right"]), "depth" in self.fields)
