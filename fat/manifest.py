"""``manifest.jsonl``: the drops a dataset has finished, with the sha256 of each of their files.

One line per finished drop, appended (and flushed to disk) by the coordinating process after all of
the drop's files are in place. A drop is finished when the manifest says so, never because its files
exist. A line counts only once its newline is written: a line cut short by a crash or a full disk
is ignored, and removed before the next line is appended.
"""

from __future__ import annotations

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
