"""Atomic file writes: a file either has its complete new content or is not there at all."""

from __future__ import annotations

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
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise OutputError(f"{path}: cannot write: {e.strerror or e}") from e


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ASCII text (no newline translation) atomically."""
    write_bytes_atomic(path, text.encode("ascii"))
