"""The extra images of one eye (``--extras``, docs/extras.md) from what the renderer drew.

Flow and object coordinates come from every renderer's z-depth and instance ids and the frame's
poses: each drawn pixel's surface point is the pixel centre's ray at its depth (the depth is taken
there), moved with what it belongs to (an object or distractor by its pose change, the scenery not at
all) and projected into the other frame's camera. Normals and amodal masks are drawn by the renderer
(:attr:`fat.render.base.RenderOutput.normals`, ``.amodal``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .annotations import ViewAnnotation
from ..frame import Frame
from ..geometry import Intrinsics, invert_pose

#: A point counts as seen in the other frame when that frame's depth at the pixel it lands in is
#: within this of the point's own depth (relative, plus an absolute part): the pixel's centre is up to
#: half a pixel from the point, and on a slanted surface its depth differs by that much.
FLOW_DEPTH_REL, FLOW_DEPTH_ABS = 0.01, 0.003


_GRIDS: dict = {}


def _grids(K: Intrinsics) -> tuple[np.ndarray, ...]:
    """float32 (x/z, y/z) of each pixel centre's ray and the centres' columns and rows, (H, W) each."""
    key = (K.width, K.height, K.fx, K.fy, K.cx, K.cy)
    if key not in _GRIDS:
        _GRIDS.clear()
        xn, yn = K.pixel_rays()
        cols, rows = np.meshgrid(np.arange(K.width) + 0.5, np.arange(K.height) + 0.5)
        _GRIDS[key] = tuple(a.astype(np.float32) for a in (xn, yn, cols, rows))
    return _GRIDS[key]


def _groups(ids: np.ndarray, where: np.ndarray):
    """(id, flat pixel indices) of each id among the pixels ``where`` (``ids`` the flat ids there)."""
    order = np.argsort(ids, kind="stable")
    for group in np.split(order, np.flatnonzero(np.diff(ids[order])) + 1):
        if len(group):
            yield int(ids[group[0]]), where[group]


def _through(A: np.ndarray, X: np.ndarray, Y: np.ndarray, z: np.ndarray, at: np.ndarray) -> np.ndarray:
    """(N, 3) float32: the points (X, Y, z) of the flat pixels ``at`` through the 4x4 transform ``A``."""
    A = A.astype(np.float32)
    return np.stack([X.ravel()[at], Y.ravel()[at], z.ravel()[at]], axis=1) @ A[:3, :3].T + A[:3, 3]


def _shown_mask(instance: np.ndarray, shown: list[int]) -> np.ndarray:
    """Where ``instance`` (the drawn ids k + 1) shows an object of ``shown`` (indices into the frame's objects)."""
    keep = np.zeros(int(max(instance.max(initial=0), max(shown, default=0) + 1)) + 1, bool)
    keep[[k + 1 for k in shown]] = True
    return keep[np.clip(instance, 0, len(keep) - 1)]


def flow(K: Intrinsics, src: tuple, dst: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Optical flow from one view to another of the same drop and eye. ``src`` and ``dst`` are
    (camera pose T_world_cam, poses of the frame's drawn things, depth, instance ids of the drawn
    things: k + 1, 0 the scenery). Returns ((H, W, 2) flow in pixels, (H, W) bool valid): valid where
    the source pixel shows a surface that lands inside the other image, on a pixel showing the same
    thing at that depth (not hidden there)."""
    T_src, poses_src, depth_src, inst_src = src
    T_dst, poses_dst, depth_dst, inst_dst = dst
    H, W = depth_src.shape
    xn, yn, cols, rows = _grids(K)
    z = depth_src.astype(np.float32, copy=False)
    X, Y = xn * z, yn * z
    cam_dst = invert_pose(T_dst)
    A = (cam_dst @ T_src).astype(np.float32)  # the scenery: source camera -> destination camera
    Q = [A[c, 0] * X + A[c, 1] * Y + A[c, 2] * z + A[c, 3] for c in range(3)]
    on = np.flatnonzero((inst_src.ravel() > 0) & (z.ravel() > 0))
    for i, group in _groups(inst_src.ravel()[on], on):  # the objects and distractors, each with its own motion
        p = _through(cam_dst @ poses_dst[i - 1] @ invert_pose(poses_src[i - 1]) @ T_src, X, Y, z, group)
        for c in range(3):
            Q[c].ravel()[group] = p[:, c]
    qz = Q[2]
    ahead = (qz > 1e-6) & (z > 0)
    inv = np.float32(1) / np.where(ahead, qz, np.float32(1))
    u = np.float32(K.fx) * Q[0] * inv + np.float32(K.cx)
    v = np.float32(K.fy) * Q[1] * inv + np.float32(K.cy)
    c, r = np.floor(u), np.floor(v)
    inside = ahead & (c >= 0) & (c < W) & (r >= 0) & (r < H)
    at = np.where(inside, r * W + c, 0).astype(np.int64)
    there = depth_dst.ravel()[at]
    valid = inside & (inst_dst.ravel()[at] == inst_src) & (there > 0) & \
        (np.abs(there - qz) <= np.float32(FLOW_DEPTH_REL) * qz + np.float32(FLOW_DEPTH_ABS))
    out = np.stack([u - cols, v - rows], axis=-1)
    out[~ahead] = 0
    return out, valid


def coordinates(frame: Frame, eye: str, depth: np.ndarray, instance: np.ndarray, shown: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel of an object of ``shown`` (indices into ``frame.objects``): its point in the
    object's cuboid-aligned frame over the cuboid's extents, plus one half (NOCS, 0..1). Returns
    ((H, W, 3) coordinates, (H, W) bool where an object of ``shown`` is seen)."""
    H, W = depth.shape
    xn, yn, _, _ = _grids(frame.rig.intrinsics)
    z = depth.astype(np.float32, copy=False)
    X, Y = xn * z, yn * z
    where = np.flatnonzero(_shown_mask(instance, shown).ravel() & (z.ravel() > 0))
    T_world_cam = frame.rig.pose(eye)
    out = np.zeros((H * W, 3), np.float32)
    for i, group in _groups(instance.ravel()[where], where):  # camera -> object, scaled to the cuboid
        o = frame.objects[i - 1]
        S = np.diag(np.r_[1.0 / np.asarray(o.dimensions, dtype=np.float64), 1.0])
        out[group] = _through(S @ invert_pose(o.pose) @ T_world_cam, X, Y, z, group) + np.float32(0.5)
    valid = np.zeros(H * W, bool)
    valid[where] = True
    return out.reshape(H, W, 3), valid.reshape(H, W)


def on_listed(values: np.ndarray, instance: np.ndarray, shown: list[int]) -> np.ndarray:
    """``values`` (H, W, ...) where the pixel shows an object of ``shown`` (indices into the frame's
    objects; ``instance`` the drawn ids k + 1), 0 elsewhere."""
    mask = _shown_mask(instance, shown)
    return np.where(mask.reshape(mask.shape + (1,) * (values.ndim - 2)), values, 0).astype(values.dtype)


def amodal_masks(bits: np.ndarray, shown: list[int]) -> np.ndarray:
    """(N, H, W) bool full silhouettes of the listed objects ``shown`` from the renderer's bits."""
    if not shown:
        return np.zeros((0,) + bits.shape, bool)
    return np.stack([((bits >> np.uint32(k)) & 1).astype(bool) for k in shown])


def with_amodal(view: ViewAnnotation, masks: np.ndarray, instance: np.ndarray, shown: list[int]) -> ViewAnnotation:
    """The view with each object's amodal pixel count and its visibility as its visible pixels over
    them (0 when its silhouette misses the image)."""
    objects = []
    for o, mask, k in zip(view.objects, masks, shown):
        full = int(mask.sum())
        seen = int(np.count_nonzero(instance == k + 1))
        objects.append(replace(o, amodal_pixel_count=full, visibility=seen / full if full else 0.0))
    return replace(view, objects=objects)
