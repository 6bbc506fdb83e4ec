"""A run: settings -> a dataset folder. Checks the output folder, starts the executor, writes the
dataset's record and split, makes the drops not yet finished and records them in the manifest.

Below it: :mod:`fat.run.executors` (where drops run), :mod:`fat.run.worker` (how one drop runs),
:mod:`fat.run.plan` and :mod:`fat.settings`. Nothing in the package imports this module but the CLI.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable

from .. import __version__
from . import executors, manifest
from ..errors import ConfigError, OutputError
from ..fileio import (LOCK_FILE, TMP_SUFFIX, folders_in, is_file_in, locked_folder, make_folder, open_folder,
                     refuse_links, remove_temporaries, unlink_in, write_text_atomic)
from ..formats import fat as fatfmt
from .plan import SPLIT_FILE, Drop, Folder, plan, split_of
from ..drop.sampling import bounding_radius
from ..settings import DATASET_FILE, SETTINGS_VERSION, Settings
from .resolve import object_infos, object_set, resolve


def _record(s: Settings, renderer: str) -> dict:
    doc = {"fat_version": __version__, "settings_version": SETTINGS_VERSION, "renderer": renderer,
           "settings": s.to_json()}
    objects = object_set(s)
    if objects.name != "fat":  # another set: its names and order (fat.objectsets.recorded reads them)
        doc["object_set"] = {"name": objects.name, "supercategory": objects.supercategory,
                             "objects": [{"name": o.name, "class": o.class_name} for o in objects]}
    return doc


def check_output(root: Path, overwrite: bool, s: Settings) -> str:
    """What to do with ``root``: "new" (absent or empty), "resume" (a dataset of these settings) or
    "replace" (another dataset of ours, with ``overwrite``). Refuses anything else. Changes nothing."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise OutputError(f"{root}: exists and is not a folder")
    if not root.is_dir() or not any(p.name != LOCK_FILE for p in root.iterdir()):
        return "new"
    record = root / DATASET_FILE
    if not record.is_file():
        if overwrite:
            raise OutputError(f"{root}: not a dataset made by fat (no {DATASET_FILE}); refusing to delete it")
        raise OutputError(f"{root}: folder is not empty and holds no dataset made by fat")
    if overwrite:
        return "replace"
    try:
        doc = json.loads(record.read_text())
        old, version = doc["settings"], doc.get("settings_version", 1)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise OutputError(f"{record}: unreadable; use --overwrite to start over") from None
    if version != SETTINGS_VERSION:
        raise OutputError(f"{root}: holds a dataset of settings version {version!r}, this fat makes version "
                          f"{SETTINGS_VERSION} (other random draws); use --overwrite to start over, or another folder")
    new = s.to_json()
    try:  # a record of an earlier release: renamed fields under their new names, new fields at their defaults
        old = Settings.from_json(old).to_json()
    except (TypeError, ValueError, AttributeError):
        pass
    for key in ("object_source", "class_names"):  # earlier releases recorded them as given: relative to here
        if isinstance(old.get(key), str):
            old[key] = os.path.abspath(os.path.expanduser(old[key]))
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed and not _finished_any(root):
        return "replace"  # a run that failed before its first drop left only its settings: nothing to keep
    if changed:
        diff = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:3])
        raise OutputError(f"{root}: holds a dataset made with other settings ({diff}{', ...' if len(changed) > 3 else ''}); "
                          "use --overwrite to start over, or another folder")
    return "resume"


def _finished_any(root: Path) -> bool:
    """Whether the manifest in ``root`` records a finished drop (an unreadable one counts as yes)."""
    try:
        return bool(manifest.load(root))
    except (OutputError, RecursionError, ValueError):
        return True


def prepare_output(root: Path, mode: str) -> None:
    """Create the output folder; for "replace", delete the old dataset's files first (see
    :func:`remove_dataset`). First of all, a symbolic link anywhere inside ``root`` is refused, in
    one line naming it, before anything is written or deleted (:func:`fat.fileio.refuse_links`;
    with --overwrite too: a link is never the old dataset's, and fat neither follows nor removes it)."""
    root = Path(root)
    refuse_links(root)
    if mode == "replace":
        remove_dataset(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{root}: cannot create the output folder: {e.strerror}") from None


#: what ``fat generate`` writes in a leaf folder: the settings files and the frames' files
_OUR_LEAF_FILE = re.compile(r"^(_camera_settings\.json|_object_settings\.json|\d{6}\.(left|right)\."
                            r"(jpg|json|depth\.png|seg\.png|instance\.png))$")


def _relative(rel) -> bool:
    """Whether ``rel`` is a path below the dataset folder (not absolute, no ``..``, no empty part)."""
    return (isinstance(rel, str) and bool(rel) and not rel.startswith("/")
            and all(part not in ("", ".", "..") for part in rel.split("/")))


def remove_dataset(root: Path) -> int:
    """Delete the dataset made by fat in ``root``: the files its manifest lists, the settings and
    frame files of its leaf folders (those of the manifest, and those under ``mixed/``, ``dr/`` and
    ``single/`` that hold a ``_camera_settings.json``), temporaries and its top-level files; then
    the folders left empty. Any other file stays. Nothing outside ``root`` is touched: a symbolic
    link anywhere inside ``root`` is refused before anything is deleted, and every file is reached
    one folder at a time without following a link (:func:`fat.fileio.open_folder`), so a link put
    there meanwhile is refused too. Returns the number of files deleted."""
    root = Path(root)
    if not root.is_dir():
        return 0
    refuse_links(root)
    done = manifest.load(root)
    files, leaves = set(), set()
    for e in done.values():
        if isinstance(e.get("drop"), str) and _relative(e["drop"].rpartition("#")[0]):
            leaves.add(e["drop"].rpartition("#")[0])
        if isinstance(e.get("files"), dict):
            files.update(f for f in e["files"] if _relative(f))  # a file outside the dataset: not ours to delete
    for top in ("mixed", "dr", "single"):
        for sub in folders_in(root, top):  # single/<class>/<location>, the others <kind>/<location>
            paths = [f"{top}/{sub}/{n}" for n in folders_in(root, f"{top}/{sub}")] if top == "single" else [f"{top}/{sub}"]
            for leaf in paths:
                with open_folder(root, leaf, missing_ok=True) as fd:
                    if fd is not None and is_file_in(fd, fatfmt.CAMERA_SETTINGS):
                        leaves.add(leaf)
    for leaf in leaves:
        with open_folder(root, leaf, missing_ok=True) as fd:
            if fd is not None:
                files.update(f"{leaf}/{n}" for n in os.listdir(fd)
                             if _OUR_LEAF_FILE.match(n) or (n.startswith(".") and n.endswith(TMP_SUFFIX)))
    files.update((DATASET_FILE, SPLIT_FILE, manifest.MANIFEST, ".fat_index.json"))
    by_folder: dict[str, list[str]] = {}
    for rel in files:
        folder, _, name = rel.rpartition("/")
        by_folder.setdefault(folder, []).append(name)
    n = 0
    for folder, names in sorted(by_folder.items()):
        with open_folder(root, folder, missing_ok=True) as fd:
            if fd is not None:
                n += sum(unlink_in(fd, name, root / folder / name) for name in sorted(names))
    for leaf in sorted(leaves, reverse=True):  # then the folders left empty, up to the top
        parts = leaf.split("/")
        while parts:
            with open_folder(root, "/".join(parts[:-1]), missing_ok=True) as fd:
                try:
                    if fd is None:
                        break
                    os.rmdir(parts[-1], dir_fd=fd)  # a link there is not a folder: never followed
                except OSError:
                    break
            parts = parts[:-1]
    return n


def write_folder_settings(root: Path, folders: list[Folder], s: Settings) -> None:
    """Each folder's ``_camera_settings.json`` (the plan's camera of the folder) and
    ``_object_settings.json``; no symbolic link between ``root`` and a folder is followed
    (:func:`fat.fileio.open_folder`)."""
    objects = object_set(s)
    for f in folders:
        path = make_folder(root, f.path)  # refuses a symbolic link in the way
        fatfmt.write_camera_settings(path, f.intrinsics, root=root)
        fatfmt.write_object_settings(path, objects.subset(f.objects), single=f.kind == "single", root=root)


def finished_drops(out: Path, drops: list[Drop], repair: bool = False,
                   notify: Callable[[str], None] | None = None) -> dict[str, dict]:
    """The manifest's entries of the planned drops that stay finished: all their files are present
    (one directory listing per folder) and, with ``repair``, have the sha256 the manifest recorded.
    The others (files deleted, or changed) are left out, so they are made again."""
    try:
        done = manifest.load(out)
    except RecursionError:
        raise OutputError(f"{out / manifest.MANIFEST}: unreadable (nested too deep); use --overwrite to start over") from None
    planned = {manifest.drop_id(d.folder, d.index) for d in drops}
    done = {k: v for k, v in done.items() if k in planned}
    bad = manifest.damaged(out, done, full=repair)
    if bad:
        names = ", ".join(sorted(bad)[:4]) + (", ..." if len(bad) > 4 else "")
        what = "missing or changed" if repair else "missing"
        (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(
            f"{len(bad)} finished drop{'s' if len(bad) > 1 else ''} with {what} files, made again: {names}")
    return {k: v for k, v in done.items() if k not in bad}


def _size_note(s: Settings) -> str:
    """What the plan changes for objects larger than FAT's."""
    big = max(object_infos(s), key=bounding_radius)
    return (f"objects up to {2 * bounding_radius(big):.2f} m across ({big.name}): drop cylinder and start heights "
            f"scaled {s.size_scale:g}x, camera {s.distance[0]:g}-{s.distance[1]:g} m from the drop point")


def generate(s: Settings, out: Path, overwrite: bool = False, progress: Callable[[int], None] | None = None,
             notify: Callable[[str], None] | None = None, workers: int = 1, dask: str | None = None,
             repair: bool = False, skipped: Callable[[int], None] | None = None) -> dict:
    """Make (or finish) the dataset described by ``s`` under ``out``; returns a summary.

    Drops already in the manifest are kept if their files are all there (``repair``: and unchanged,
    by sha256); the others are made, in this process (``workers`` 1), in ``workers`` local processes,
    or on the Dask scheduler at ``dask``. ``progress`` gets the frames of each drop made; ``skipped``
    (default: ``progress``) the frames of the drops finished before. ``notify`` gets notes such as the renderer ``auto`` chose
    (default: printed on standard error). A lock file in ``out`` (``.fat.lock``) refuses a second run
    into the same folder while this one runs."""
    s = resolve(s)
    out = Path(out)
    folders, drops = plan(s, object_set(s))
    if s.size_scale:
        (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(_size_note(s))
    check_output(out, overwrite, s)  # refuse early, before any renderer starts
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    with locked_folder(out):
        return _generate(s, out, folders, drops, check_output(out, overwrite, s), progress, notify, workers, dask,
                         repair, skipped or progress)


def _generate(s, out, folders, drops, mode, progress, notify, workers, dask, repair, skipped) -> dict:
    try:
        return _run(s, out, folders, drops, mode, progress, notify, workers, dask, repair, skipped)
    except BaseException:
        if not _finished_any(out):  # failed before its first drop: what it wrote goes, so a fixed rerun starts afresh
            try:
                remove_dataset(out)
            except OutputError:
                pass  # the error being raised says more
        raise


def _run(s, out, folders, drops, mode, progress, notify, workers, dask, repair, on_skipped) -> dict:
    done = finished_drops(out, drops, repair, notify) if mode == "resume" else None
    if done is not None and len(done) == len(drops):  # finished: no renderer to start, nothing to write
        remove_temporaries(out)
        if on_skipped:
            on_skipped(sum(d.n_frames for d in drops))
        renderer = json.loads((out / DATASET_FILE).read_text()).get("renderer")
        return {"frames": 0, "skipped": sum(d.n_frames for d in drops), "folders": len(folders), "drops": 0,
                "seconds": 0.0, "out": str(out), "renderer": renderer}
    executor = executors.make(s, workers, dask)  # starts renderers before any file is written
    try:
        if executor.note:
            (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(executor.note)
        if mode == "resume":
            old = json.loads((out / DATASET_FILE).read_text()).get("renderer")
            if old and old != executor.renderer:
                raise OutputError(f"{out}: was made with renderer {old}, this run would use {executor.renderer}; "
                                  "use --overwrite to start over")
        prepare_output(out, mode)
        remove_temporaries(out)
        write_text_atomic(out / DATASET_FILE, json.dumps(_record(s, executor.renderer), indent=1) + "\n")
        write_text_atomic(out / SPLIT_FILE, json.dumps(split_of(s, folders), indent=1) + "\n")
        if executor.K != s.intrinsics:  # the renderer draws another camera than asked (a game's own size)
            folders, drops = plan(s, object_set(s), executor.K)
        write_folder_settings(out, folders, s)
        done = done if done is not None else finished_drops(out, drops, repair, notify)
        todo = [d for d in drops if manifest.drop_id(d.folder, d.index) not in done]
        skipped = sum(d.n_frames for d in drops) - sum(d.n_frames for d in todo)
        if on_skipped and skipped:
            on_skipped(skipped)
        t0 = time.perf_counter()
        frames = 0
        record = manifest.Writer(out)
        try:
            for d, n, files in executor.run(todo, out):
                record.add(manifest.drop_id(d.folder, d.index), n, files)
                frames += n
                if progress:
                    progress(n)
        finally:
            record.close()
        dt = time.perf_counter() - t0
    finally:
        executor.close()
    return {"frames": frames, "skipped": skipped,
            "folders": len(folders), "drops": len(todo), "seconds": dt, "out": str(out), "renderer": executor.renderer}
