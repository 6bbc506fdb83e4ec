"""``manifest.jsonl``: the drops a dataset has finished, with the sha256 of each of their files.

One line per finished drop, appended (and flushed to disk) by the coordinating process after all of
the drop's files are in place. A drop is finished when the manifest says so, never because its files
exist. A line cut short by a crash is ignored.
"""

from __future__ import annotations

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
