"""From object poses and a rendered instance map to FAT annotations of one view.

* Listed objects: those whose cuboid meets the view frustum (a conservative test: an object is left
  out only when all 8 cuboid corners lie outside one frustum plane), in spawn order, fully occluded
  ones included. An object with a cuboid corner behind the camera is left out (FAT cannot hold its
  projection); :func:`fat.drop.sampling.clear_camera` draws cameras so that no such object is in view,
  so every pixel drawn of an object is annotated.
* ``bounding_box``: min and max of the projected vertices of the convex hull of the object's render
  mesh, not clamped to the image. (NDDS projected the collision hull; the V-HACD collision parts of
  the YCB scans do not always contain the scan, so their box could cut off pixels of the object.)
* ``visibility``: the fraction of the object's silhouette that is not hidden. The silhouette is the
  union of its convex parts projected into the image (the part outside the image does not count);
  it is eroded by :data:`EDGE_PX` pixels so that edge pixels, where two rasterisers may disagree,
  do not count either. A silhouette pixel is hidden when the rendered instance there is not the
  object. An object alone in view has visibility 1; fully hidden, 0.
* Segmentation: each visible pixel of a listed object gets its class id; instance map: 1 + the
  object's index in the view's ``objects`` list. A distractor (a rendered instance past the
  objects) hides what it covers and is background in both maps.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .annotations import ObjectAnnotation, ViewAnnotation, annotate_object
from ..frame import FrameObject
from ..geometry import Intrinsics, cuboid_corners, invert_pose, matrix_to_quat, transform_points

EDGE_PX = 2
MIN_Z = 1e-3


def in_frustum(corners_cam: np.ndarray, K: Intrinsics) -> bool:
    """False only when all corners are outside one plane of the (infinite) view frustum."""
    x, y, z = corners_cam.T
    if np.all(z <= 0):
        return False
    u0, u1 = (0 - K.cx) / K.fx, (K.width - K.cx) / K.fx
    v0, v1 = (0 - K.cy) / K.fy, (K.height - K.cy) / K.fy
    return not (np.all(x < u0 * z) or np.all(x > u1 * z) or np.all(y < v0 * z) or np.all(y > v1 * z))


def _project(points_cam: np.ndarray, K: Intrinsics) -> np.ndarray:
    """Pixel coordinates of camera-frame points, those behind the camera pushed to just in front."""
    return K.project(np.column_stack([points_cam[:, :2], np.maximum(points_cam[:, 2], MIN_Z)]))


def _silhouette_roi(points_cam: np.ndarray, ends: np.ndarray, K: Intrinsics, pad: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The silhouette of the parts (``points_cam`` split at ``ends``) within its bounding box in the
    image, grown by ``pad`` pixels where the image allows; and the box's top left pixel."""
    uv = _project(points_cam, K)
    lo = np.floor(np.clip(uv.min(0), 0, (K.width, K.height))).astype(int) - pad
    hi = np.ceil(np.clip(uv.max(0), 0, (K.width, K.height))).astype(int) + pad
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), K.width), min(int(hi[1]), K.height)
    mask = np.zeros((max(y1 - y0, 0), max(x1 - x0, 0)), np.uint8)
    if mask.size:
        pts = np.round((uv - 0.5 - (x0, y0)) * 16)
        pts = np.clip(pts, -(1 << 26), 1 << 26).astype(np.int32)
        start = 0
        for end in ends:
            if end > start:
                cv2.fillConvexPoly(mask, cv2.convexHull(pts[start:end].reshape(-1, 1, 2)), 1, lineType=cv2.LINE_8, shift=4)
            start = end
    return mask.astype(bool), (x0, y0)


def visibility(sil: np.ndarray, seen: np.ndarray) -> float:
    """Unhidden fraction of the eroded silhouette (the plain one when erosion leaves nothing)."""
    if EDGE_PX > 0:
        core = cv2.erode(sil.astype(np.uint8), np.ones((2 * EDGE_PX + 1,) * 2, np.uint8)).astype(bool)
        if core.sum() >= 4:
            sil = core
    n = int(sil.sum())
    if n == 0:
        return 0.0
    return float((seen & sil).sum()) / n


def listed(objects: Sequence[FrameObject], T_cam_world: np.ndarray, K: Intrinsics) -> list[int]:
    """Indices of the objects a view lists (see the module text), in spawn order."""
    out = []
    for k, o in enumerate(objects):
        corners = transform_points(T_cam_world @ o.pose, cuboid_corners(o.dimensions))
        if in_frustum(corners, K) and not np.any(corners[:, 2] <= MIN_Z):
            out.append(k)
    return out


def annotate_view(
    objects: Sequence[FrameObject], T_world_cam: np.ndarray, K: Intrinsics, instance_render: np.ndarray
) -> tuple[ViewAnnotation, np.ndarray, np.ndarray]:
    """The view's annotation, its class segmentation (uint8) and instance map (uint16), from the
    frame's objects (``frame.objects``: class name, segmentation id, cuboid, parts, hull, pose)."""
    T_cam_world = invert_pose(T_world_cam)
    out: list[ObjectAnnotation] = []
    seg_of = np.zeros(len(objects) + 1, np.uint8)  # by rendered instance (k + 1)
    inst_of = np.zeros(len(objects) + 1, np.uint16)
    for k in listed(objects, T_cam_world, K):
        o = objects[k]
        T = T_cam_world @ o.pose
        hull_uv = _project(transform_points(T, o.hull), K)
        bbox = np.r_[hull_uv.min(0), hull_uv.max(0)]
        # silhouette in its box, grown so that erosion treats the box edge as the image does
        sil, (x0, y0) = _silhouette_roi(transform_points(T, o.part_points), o.part_ends, K, EDGE_PX + 1)
        seen = instance_render[y0 : y0 + sil.shape[0], x0 : x0 + sil.shape[1]] == k + 1
        vis = visibility(sil, seen)
        out.append(annotate_object(o.class_name, T, o.dimensions, K, bbox, vis))
        seg_of[k + 1] = o.segmentation_id
        inst_of[k + 1] = len(out)
    # anything else the renderer wrote (a distractor, drawn as len(objects) + 1 on) is background
    ids = np.where((instance_render > 0) & (instance_render <= len(objects)), instance_render, 0)
    view = ViewAnnotation(T_world_cam[:3, 3].copy(), matrix_to_quat(T_world_cam[:3, :3]), out)
    return view, seg_of[ids], inst_of[ids]
