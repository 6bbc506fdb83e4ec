"""``manifest.jsonl``: the drops a dataset has finished, with the sha256 of each of their files.

One line per finished drop, appended (and flushed to disk) by the coordinating process after all of
the drop's files are in place. A drop is finished when the manifest says so, never because its files
exist. A line counts only once its newline is written: a line cut short by a crash or a full disk
is ignored, and removed before the next line is appended.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .errors import OutputError
from .fileio import why

MANIFEST = "manifest.jsonl"


def drop_id(folder: str, index: int) -> str:
    return f"{folder}#{index}"


def load(root: Path) -> dict[str, dict]:
    """Finished drops by id."""
    path = Path(root) / MANIFEST
    done = {}
    if not path.is_file():
        return done
    for line in path.read_bytes().split(b"\n")[:-1]:  # the part after the last newline is unfinished
        try:
            entry = json.loads(line)
            done[entry["drop"]] = entry
        except (ValueError, KeyError, TypeError):
            continue
    return done


def _append(fd: int, data: bytes) -> None:
    """Write all of ``data`` at the end of the file (a full disk may stop it part-way)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class Writer:
    """Appends finished drops to the manifest. Opening it removes an unfinished last line; a symbolic
    link in place of the manifest is refused (it would write outside the dataset)."""

    def __init__(self, root: Path):
        self.path = Path(root) / MANIFEST
        try:
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as e:
            if os.path.islink(self.path):
                raise OutputError(f"{self.path}: is a symbolic link; refusing to write through it") from None
            raise OutputError(f"{self.path}: cannot write: {why(e)}") from None
        try:
            self._size = self._drop_unfinished_line()
        except OSError as e:
            os.close(self._fd)
            raise OutputError(f"{self.path}: cannot write: {why(e)}") from None

    def _drop_unfinished_line(self) -> int:
        """Truncate the file after its last newline; returns the new size."""
        size = os.fstat(self._fd).st_size
        end, block = size, 1 << 16
        while end > 0:
            start = max(0, end - block)
            chunk = os.pread(self._fd, end - start, start)
            k = chunk.rfind(b"\n")
            if k >= 0:
                end = start + k + 1
                break
            end = start
        if end != size:
            os.ftruncate(self._fd, end)
        return end

    def add(self, drop: str, frames: int, files: dict[str, str]) -> None:
        line = json.dumps({"drop": drop, "frames": frames, "files": dict(sorted(files.items()))},
                          separators=(",", ":")) + "\n"
        try:
            _append(self._fd, line.encode("ascii"))
            os.fsync(self._fd)
        except OSError as e:
            try:  # take back a partial line; a resumed run would discard it anyway
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass
            raise OutputError(f"{self.path}: cannot write: {why(e)}") from None
        self._size += len(line)

    def close(self) -> None:
        os.close(self._fd)


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
