"""Renderers: scene state + one camera -> RGB, z-depth (metres) and instance ids.

A renderer sees a :class:`SceneState` (location, object assets, their world poses) and a camera; it
knows nothing of physics or of file formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..assets import ObjectAsset
from ..errors import ConfigError
from ..geometry import Intrinsics
from ..scene import Location

RENDERERS = ("tiny", "egl")


@dataclass
class SceneState:
    location: Location
    objects: list[ObjectAsset]  # spawn order; duplicates allowed
    poses: list[np.ndarray]  # 4x4 world poses of the FAT-aligned object frames


@dataclass
class RenderOutput:
    rgb: np.ndarray  # (H, W, 3) uint8
    depth: np.ndarray  # (H, W) float32 z-depth in metres, 0 where there is no surface
    instance: np.ndarray  # (H, W) int32: k + 1 where objects[k] is seen, 0 elsewhere


def make_renderer(name: str):
    """``tiny`` (PyBullet TinyRenderer, any CPU) or ``egl`` (PyBullet's EGL plugin)."""
    from .pybullet import PyBulletRenderer

    if name not in RENDERERS:
        raise ConfigError(f"unknown renderer {name!r}; choose from {', '.join(RENDERERS)}")
    return PyBulletRenderer(name)


__all__ = ["SceneState", "RenderOutput", "make_renderer", "RENDERERS", "Intrinsics"]
