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

RENDERERS = ("auto", "gl", "tiny", "egl", "unrealcv")


#: OpenCV camera axes (x right, y down, z forward) -> OpenGL camera axes (y up, looking along -z).
CV_TO_GL = np.diag([1.0, -1.0, -1.0, 1.0])


def opengl_projection(K: Intrinsics, near: float, far: float, offset=(0.0, 0.0)) -> np.ndarray:
    """4x4 OpenGL projection (acting on OpenGL camera coordinates) whose pixel grid is FAT's: pixel
    (col, row) shows the point at (col + 0.5, row + 0.5) in continuous image coordinates, principal
    point (cx, cy) in those coordinates. ``offset``: where a renderer samples a pixel, relative to
    its centre (it moves the image so that the samples land on pixel centres)."""
    W, H = K.width, K.height
    cx, cy = K.cx + offset[0], K.cy + offset[1]
    return np.array([
        [2 * K.fx / W, -2 * K.s / W, 1 - 2 * cx / W, 0],
        [0, 2 * K.fy / H, 2 * cy / H - 1, 0],
        [0, 0, -(far + near) / (far - near), -2 * far * near / (far - near)],
        [0, 0, -1, 0],
    ])


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


def make_renderer(name: str, intrinsics: Intrinsics | None = None, unrealcv: str | None = None,
                  unreal_config: str | None = None, gl_device: str | int | None = None):
    """``gl`` (the project's OpenGL renderer on EGL), ``tiny`` (PyBullet TinyRenderer, any CPU), ``egl``
    (PyBullet's EGL plugin), ``unrealcv`` (an Unreal Engine 4 game with the UnrealCV plugin at
    ``unrealcv`` = HOST:PORT), or ``auto``: ``gl`` where EGL works, else ``tiny``, with ``note``
    saying why.

    A renderer has ``name``, ``render(state, T_world_cam, K)`` and ``close()``; one that cannot render
    the intrinsics asked for (a game) has ``intrinsics``, the camera it really renders with."""
    if name not in RENDERERS:
        raise ConfigError(f"unknown renderer {name!r}; choose from {', '.join(RENDERERS)}")
    if name in ("gl", "auto"):
        from .gl import GLRenderer

        try:
            return GLRenderer(gl_device, size=None if intrinsics is None else (intrinsics.width, intrinsics.height))
        except ConfigError as e:
            if name == "gl":
                raise
            from .pybullet import PyBulletRenderer

            r = PyBulletRenderer("tiny")
            r.note = f"renderer auto: using TinyRenderer, since {str(e).replace('--renderer gl: ', '')}"
            return r
    if name == "unrealcv":
        from .unreal import UnrealConfig, UnrealCVRenderer

        if not unrealcv:
            raise ConfigError("--renderer unrealcv needs --unrealcv HOST:PORT")
        from ..geometry import FAT_INTRINSICS

        return UnrealCVRenderer(unrealcv, UnrealConfig.load(unreal_config), intrinsics or FAT_INTRINSICS)
    from .pybullet import PyBulletRenderer

    return PyBulletRenderer(name)


__all__ = ["SceneState", "RenderOutput", "make_renderer", "RENDERERS", "Intrinsics"]
