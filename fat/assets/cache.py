"""The user's cache folder: built object assets, meshes and textures, and the frame index of
datasets that cannot hold their own."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$FAT_CACHE_DIR``, else ``$XDG_CACHE_HOME/fat``, else ``~/.cache/fat``."""
    if os.environ.get("FAT_CACHE_DIR"):
        return Path(os.environ["FAT_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fat"
