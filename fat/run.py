"""A run: settings -> a dataset folder. Checks the output folder, starts the executor, writes the
dataset's record and split, makes the drops not yet finished and records them in the manifest.

Below it: :mod:`fat.executors` (where drops run), :mod:`fat.worker` (how one drop runs),
:mod:`fat.plan` and :mod:`fat.settings`. Nothing in the package imports this module but the CLI.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Callable

from . import __version__, executors, manifest
from .errors import ConfigError, OutputError
from .fileio import LOCK_FILE, TMP_SUFFIX, inside, locked_folder, make_folder, remove_temporaries, write_text_atomic
from .formats import fat as fatfmt
from .geometry import Intrinsics
from .randomize import Randomization
from .plan import SPLIT_FILE, Drop, Folder, plan, split_of
from .sampling import bounding_radius
from .settings import DATASET_FILE, SETTINGS_VERSION, Settings, validate


def _record(s: Settings, renderer: str) -> dict:
    doc = {"fat_version": __version__, "settings_version": SETTINGS_VERSION, "renderer": renderer,
           "settings": s.to_json()}
    objects = s.object_set()
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
    changed = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    if changed:
        diff = ", ".join(f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in changed[:3])
        raise OutputError(f"{root}: holds a dataset made with other settings ({diff}{', ...' if len(changed) > 3 else ''}); "
                          "use --overwrite to start over, or another folder")
    return "resume"


def prepare_output(root: Path, mode: str) -> None:
    """Create the output folder; for "replace", delete the old dataset's files first (see
    :func:`remove_dataset`)."""
    root = Path(root)
    if mode == "replace":
        remove_dataset(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{root}: cannot create the output folder: {e.strerror}") from None


#: what ``fat generate`` writes in a leaf folder: the settings files and the frames' files
_OUR_LEAF_FILE = re.compile(r"^(_camera_settings\.json|_object_settings\.json|\d{6}\.(left|right)\."
                            r"(jpg|json|depth\.png|seg\.png|instance\.png))$")


def remove_dataset(root: Path) -> int:
    """Delete the dataset made by fat in ``root``: the files its manifest lists, the settings and
    frame files of its leaf folders (those of the manifest, and those under ``mixed/`` and
    ``single/`` that hold a ``_camera_settings.json``), temporaries and its top-level files; then
    the folders left empty. Any other file stays. Nothing outside ``root`` is touched. Returns the
    number of files deleted."""
    root = Path(root)
    done = manifest.load(root)
    files, leaves = set(), set()
    for e in done.values():
        if isinstance(e.get("drop"), str):
            leaves.add(e["drop"].rpartition("#")[0])
        if isinstance(e.get("files"), dict):
            files.update(f for f in e["files"] if isinstance(f, str))
    for top in ("mixed", "single", "dr"):
        if (root / top).is_dir() and not (root / top).is_symlink():
            pattern = "*/*/_camera_settings.json" if top == "single" else "*/_camera_settings.json"
            leaves.update(p.parent.relative_to(root).as_posix() for p in (root / top).glob(pattern))
    for leaf in leaves:
        folder = root / leaf
        if _is_inside(root, folder / "x") and folder.is_dir():
            files.update(f"{leaf}/{p.name}" for p in folder.iterdir()
                         if _OUR_LEAF_FILE.match(p.name) or (p.name.startswith(".") and p.name.endswith(TMP_SUFFIX)))
    files.update((DATASET_FILE, SPLIT_FILE, manifest.MANIFEST, ".fat_index.json"))
    n = 0
    for rel in sorted(files):
        path = root / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts or not _is_inside(root, path):
            continue  # a manifest naming a file outside the dataset: not ours to delete
        try:
            if path.is_file() or path.is_symlink():
                path.unlink()
                n += 1
        except OSError as e:
            raise OutputError(f"{path}: cannot delete: {e.strerror}") from None
    for leaf in sorted(leaves, reverse=True):  # then the folders left empty, up to the top
        p = root / leaf
        while p != root and root in p.parents and _is_inside(root, p / "x"):
            try:
                p.rmdir()
            except OSError:
                break
            p = p.parent
    return n


def _is_inside(root: Path, path: Path) -> bool:
    try:
        inside(root, path)
        return True
    except OutputError:
        return False


def write_folder_settings(root: Path, folders: list[Folder], s: Settings, K: Intrinsics | None = None) -> None:
    """Each folder's ``_camera_settings.json`` (a randomized folder's own field of view, where the
    camera randomizer draws one) and ``_object_settings.json``."""
    K = K or s.intrinsics
    randomization = Randomization(s.randomize, s.seed) if s.randomizes else None
    for f in folders:
        path = make_folder(root, f.path)  # refuses a symbolic link out of the dataset
        own = randomization.folder_intrinsics(f.path, K) if s.randomized(f.kind) else K
        fatfmt.write_camera_settings(path, own)
        fatfmt.write_object_settings(path, s.object_set().subset(f.objects), single=f.kind == "single")


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
    big = max(s.object_infos(), key=bounding_radius)
    return (f"objects up to {2 * bounding_radius(big):.2f} m across ({big.name}): drop cylinder and start heights "
            f"scaled {s.size_scale:g}x, camera {s.distance[0]:g}-{s.distance[1]:g} m from the drop point")


def generate(s: Settings, out: Path, overwrite: bool = False, progress: Callable[[int], None] | None = None,
             notify: Callable[[str], None] | None = None, workers: int = 1, dask: str | None = None,
             repair: bool = False) -> dict:
    """Make (or finish) the dataset described by ``s`` under ``out``; returns a summary.

    Drops already in the manifest are kept if their files are all there (``repair``: and unchanged,
    by sha256); the others are made, in this process (``workers`` 1), in ``workers`` local processes,
    or on the Dask scheduler at ``dask``. ``notify`` gets notes such as the renderer ``auto`` chose
    (default: printed on standard error). A lock file in ``out`` (``.fat.lock``) refuses a second run
    into the same folder while this one runs."""
    s = validate(s)
    out = Path(out)
    folders, drops = plan(s)
    if s.size_scale:
        (notify or (lambda m: print(f"fat: {m}", file=sys.stderr)))(_size_note(s))
    check_output(out, overwrite, s)  # refuse early, before any renderer starts
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    with locked_folder(out):
        return _generate(s, out, folders, drops, check_output(out, overwrite, s), progress, notify, workers, dask,
                         repair)


def _generate(s, out, folders, drops, mode, progress, notify, workers, dask, repair) -> dict:
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
        write_folder_settings(out, folders, s, executor.K)
        done = finished_drops(out, drops, repair, notify)
        todo = [d for d in drops if manifest.drop_id(d.folder, d.index) not in done]
        skipped = sum(d.n_frames for d in drops) - sum(d.n_frames for d in todo)
        if progress and skipped:
            progress(skipped)
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
