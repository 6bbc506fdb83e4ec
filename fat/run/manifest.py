"""``manifest.jsonl``: the drops a dataset has finished, with the sha256 of each of their files.

One line per finished drop, appended (and flushed to disk) by the coordinating process after all of
the drop's files are in place. A drop is finished when the manifest says so, never because its files
exist. A line counts only once its newline is written: a line cut short by a crash or a full disk
is ignored, and removed before the next line is appended.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
from pathlib import Path

from ..errors import OutputError
from ..fileio import open_folder, refuse_links, sha256_in, why

MANIFEST = "manifest.jsonl"


def drop_id(folder: str, index: int) -> str:
    return f"{folder}#{index}"


def load(root: Path) -> dict[str, dict]:
    """Finished drops by id. A manifest that is a symbolic link is refused (OutputError), not read:
    fat never makes one, and what it leads to is not the dataset's."""
    path = Path(root) / MANIFEST
    done = {}
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as e:
        if os.path.islink(path):
            raise OutputError(f"{path}: is a symbolic link; refusing to read through it") from None
        if e.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
            return done
        raise OutputError(f"{path}: cannot read: {why(e)}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return done
        data = f.read()
    for line in data.split(b"\n")[:-1]:  # the part after the last newline is unfinished
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
    """Names in each folder, listed once (one directory read per folder instead of a stat per file).
    ``follow=False``: folders are reached without following a symbolic link, and a link is not a file
    (:func:`fat.fileio.open_folder`; a link on the way raises OutputError)."""

    def __init__(self, root: Path, follow: bool = True):
        self.root, self.follow, self._names = Path(root), follow, {}

    def exists(self, rel: str) -> bool:
        folder, _, name = rel.rpartition("/")
        if folder not in self._names:
            self._names[folder] = self._list(folder)
        return name in self._names[folder]

    def _list(self, folder: str) -> set[str]:
        if self.follow:
            try:
                with os.scandir(self.root / folder) as it:
                    return {e.name for e in it if e.is_file()}
            except OSError:
                return set()
        with open_folder(self.root, folder, missing_ok=True) as fd:
            if fd is None:
                return set()
            with os.scandir(fd) as it:
                return {e.name for e in it if e.is_file(follow_symlinks=False)}


NO_FILE_LIST = "(no file list)"


def _inside(rel) -> bool:
    return isinstance(rel, str) and not rel.startswith("/") and ".." not in rel.split("/")


def _sha256_below(root: Path, rel: str) -> str:
    """sha256 of ``root/rel``, reached without following a symbolic link (one raises OSError)."""
    folder, _, name = rel.rpartition("/")
    with open_folder(root, folder) as d:
        return sha256_in(d, name)


def check_drop(root: Path, entry: dict, full: bool, listing: FolderListing | None = None,
               follow: bool = True) -> tuple[list[str], list[str]]:
    """(missing, changed): the files of a finished drop's manifest entry that are gone, and, with
    ``full``, those whose sha256 differs from the entry (a file that cannot be read counts as changed).
    An entry without a readable file list has every file missing (its drop is made again).
    ``follow=False`` (a run about to write there): no symbolic link is followed, a link is missing."""
    root = Path(root)
    listing = listing or FolderListing(root, follow)
    files = entry.get("files") if isinstance(entry, dict) else None
    if not isinstance(files, dict) or not files:
        return [NO_FILE_LIST], []
    missing, changed = [], []
    for rel, digest in sorted(files.items()):
        if not _inside(rel) or not listing.exists(rel):
            missing.append(str(rel))
        elif full:
            try:
                ok = (sha256_file(root / rel) if follow else _sha256_below(root, rel)) == digest
            except OSError:
                ok = False
            if not ok:
                changed.append(rel)
    return missing, changed


def damaged(root: Path, entries: dict[str, dict], full: bool = False) -> dict[str, tuple[list[str], list[str]]]:
    """The drops among ``entries`` (finished drops by id) with missing or (``full``) changed files:
    drop id -> (missing, changed), as :func:`check_drop`. What a run checks before writing there, so
    nothing outside the dataset is read: a symbolic link anywhere in ``root`` is refused first
    (:func:`fat.fileio.refuse_links`), and no link is followed meanwhile."""
    refuse_links(root)
    listing = FolderListing(Path(root), follow=False)
    out = {}
    for drop, entry in entries.items():
        missing, changed = check_drop(root, entry, full, listing, follow=False)
        if missing or changed:
            out[drop] = (missing, changed)
    return out
