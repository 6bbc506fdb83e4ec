"""``manifest.jsonl``: the drops a dataset has finished, with the sha256 of each of their files.

One line per finished drop, appended (and flushed to disk) by the coordinating process after all of
the drop's files are in place. A drop is finished when the manifest says so, never because its files
exist. A line cut short by a crash is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST = "manifest.jsonl"


def drop_id(folder: str, index: int) -> str:
    return f"{folder}#{index}"


def load(root: Path) -> dict[str, dict]:
    """Finished drops by id."""
    path = Path(root) / MANIFEST
    done = {}
    if not path.is_file():
        return done
    for line in path.read_text().splitlines():
        try:
            entry = json.loads(line)
            done[entry["drop"]] = entry
        except (ValueError, KeyError, TypeError):
            continue  # the last line of a killed run
    return done


class Writer:
    """Appends finished drops to the manifest."""

    def __init__(self, root: Path):
        self.path = Path(root) / MANIFEST
        self._f = open(self.path, "a", encoding="ascii")

    def add(self, drop: str, frames: int, files: dict[str, str]) -> None:
        self._f.write(json.dumps({"drop": drop, "frames": frames, "files": dict(sorted(files.items()))},
                                 separators=(",", ":")) + "\n")
        self._f.flush()
        os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()


# ---------------------------------------------------------------------- checking finished drops
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class FolderListing:
    """Names in each folder, listed once (one directory read per folder instead of a stat per file)."""

    def __init__(self, root: Path):
        self.root, self._names = Path(root), {}

    def exists(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        if folder not in self._names:
            try:
                with os.scandir(self.root / folder) as it:
                    self._names[folder] = {e.name for e in it if e.is_file()}
            except OSError:
                self._names[folder] = set()
        return name in self._names[folder]


NO_FILE_LIST = "(no file list)"


def _inside(rel) -> bool:
    return isinstance(rel, str) and not rel.startswith("/") and ".." not in rel.split("/")


def check_drop(root: Path, entry: dict, full: bool, listing: FolderListing | None = None) -> tuple[list[str], list[str]]:
    """(missing, changed): the files of a finished drop's manifest entry that are gone, and, with
    ``full``, those whose sha256 differs from the entry (a file that cannot be read counts as changed).
    An entry without a readable file list has every file missing (its drop is made again)."""
    root = Path(root)
    listing = listing or FolderListing(root)
    files = entry.get("files") if isinstance(entry, dict) else None
    if not isinstance(files, dict) or not files:
        return [NO_FILE_LIST], []
    missing, changed = [], []
    for rel, digest in sorted(files.items()):
        if not _inside(rel) or not listing.exists(rel):
            missing.append(str(rel))
        elif full:
            try:
                ok = sha256_file(root / rel) == digest
            except OSError:
                ok = False
            if not ok:
                changed.append(rel)
    return missing, changed


def damaged(root: Path, entries: dict[str, dict], full: bool = False) -> dict[str, tuple[list[str], list[str]]]:
    """The drops among ``entries`` (finished drops by id) with missing or (``full``) changed files:
    drop id -> (missing, changed), as :func:`check_drop`."""
    listing = FolderListing(Path(root))
    out = {}
    for drop, entry in entries.items():
        missing, changed = check_drop(root, entry, full, listing)
        if missing or changed:
            out[drop] = (missing, changed)
    return out
