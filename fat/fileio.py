"""Atomic file writes: a file either has its complete new content or is not there at all."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .errors import OutputError

TMP_SUFFIX = ".part"


def temp_path(path: Path) -> Path:
    """The temporary name ``path`` is written under (hidden, same folder, so rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        _write(tmp, data)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        what = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise OutputError(f"{path}: cannot write: {what}") from e


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def remove_temporaries(root: Path) -> int:
    """Delete the temporary files an interrupted run left under ``root``; returns how many."""
    n = 0
    for p in Path(root).rglob(f".*{TMP_SUFFIX}"):
        p.unlink(missing_ok=True)
        n += 1
    return n


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ASCII text (no newline translation) atomically."""
    write_bytes_atomic(path, text.encode("ascii"))
