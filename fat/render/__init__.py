"""Renderers: a frame record + one eye -> RGB, z-depth (metres) and instance ids.

A renderer (:class:`fat.render.base.Renderer`) sees a :class:`fat.frame.Frame` (location, objects
and their world poses, camera rig); it knows nothing of physics or of file formats. Renderers are
found by name in :mod:`fat.render.registry`.
"""

from __future__ import annotations

import numpy as np

from ..catalog import ObjectSet
from ..geometry import Intrinsics
from . import registry
from .base import Capabilities, Renderer, RenderOutput


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


def make_renderer(name: str, intrinsics: Intrinsics | None = None, options: dict | None = None,
                  objects: ObjectSet | None = None) -> Renderer:
    """A started renderer by registered name (see :mod:`fat.render.registry`): ``gl`` (the project's
    OpenGL renderer on EGL), ``tiny`` (PyBullet TinyRenderer, any CPU), ``egl`` (PyBullet's EGL
    plugin), ``unrealcv`` (an Unreal Engine 4 game), a plugin's, or ``auto``: ``gl`` where EGL
    works, else ``tiny``, with ``note`` saying why. ``options``: the renderer's options by config
    key (``gl_device``, ``unrealcv``, ``unreal_config``...); ``objects``: the object set of the
    frames it will render (None: FAT's 21 objects)."""
    return registry.make(name, intrinsics, options, objects)


__all__ = ["Renderer", "Capabilities", "RenderOutput", "make_renderer", "Intrinsics"]
