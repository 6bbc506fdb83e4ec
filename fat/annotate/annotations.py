"""Per-view annotation records, in the project's units, and how they are derived from poses.

These values are what a renderer-independent annotator produces and what the FAT writer turns into
text (and what the FAT reader gives back). Units: metres, OpenCV camera frame of the view, pixels for
image quantities with (0, 0) at the top-left corner of the image and boxes as (x_min, y_min, x_max,
y_max). Centimetres and FAT's (y, x) boxes exist only inside :mod:`fat.formats.fat`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..geometry import Intrinsics, cuboid_corners, make_pose, quat_fat_object, quat_to_matrix, transform_points

#: FAT's permutation of ``pose_transform_permuted``: ``A[:3,:3] = P @ R.T`` (FAT readme: R = A^T P).
PERMUTATION = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


@dataclass
class ObjectAnnotation:
    """One object in one view. Every FAT field is here, so a FAT record survives a read and write."""

    class_name: str
    visibility: float  # 0 = fully occluded, 1 = fully visible
    location: np.ndarray  # (3,) metres: object origin (= cuboid centre) in the camera frame
    quaternion_xyzw: np.ndarray  # (4,) rotation object frame -> camera frame
    permuted_rotation: np.ndarray  # (3, 3) upper block of FAT's pose_transform_permuted (P @ R.T)
    cuboid_centroid: np.ndarray  # (3,) metres
    projected_cuboid_centroid: np.ndarray  # (2,) pixels (u, v)
    bbox: np.ndarray  # (4,) pixels (x_min, y_min, x_max, y_max), unclamped
    cuboid: np.ndarray  # (8, 3) metres, FAT vertex order
    projected_cuboid: np.ndarray  # (8, 2) pixels (u, v)
    instance_id: int | None = None  # present in NDDS v1 files only
    amodal_pixel_count: int | None = None  # pixels of the full silhouette (``--extras amodal``; docs/extras.md)

    @property
    def rotation(self) -> np.ndarray:
        """3x3 rotation object -> camera."""
        return quat_to_matrix(self.quaternion_xyzw)

    @property
    def pose(self) -> np.ndarray:
        """4x4 pose of the object in the camera frame (metres), ``p_cam = pose @ p_obj``."""
        return make_pose(self.rotation, self.location)


@dataclass
class ViewAnnotation:
    """The annotation of one eye of one frame: the camera pose and the listed objects."""

    camera_location: np.ndarray  # (3,) metres, project world frame
    camera_quaternion_xyzw: np.ndarray  # (4,) OpenCV camera axes in the project world
    objects: list[ObjectAnnotation] = field(default_factory=list)

    @property
    def camera_pose(self) -> np.ndarray:
        """4x4 world pose of the camera (OpenCV axes): ``p_world = camera_pose @ p_cam``."""
        return make_pose(quat_to_matrix(self.camera_quaternion_xyzw), self.camera_location)


def annotate_object(
    class_name: str,
    T_cam_obj: np.ndarray,
    dimensions: np.ndarray,
    intrinsics: Intrinsics,
    bbox: np.ndarray,
    visibility: float,
) -> ObjectAnnotation:
    """Every pose-derived FAT field of one object (FAT_FORMAT.md section 8).

    ``T_cam_obj`` is the pose of the FAT-aligned object frame in this view's camera frame (metres),
    ``dimensions`` the cuboid's full extents (metres). ``bbox`` and ``visibility`` come from
    rendering and are passed through. The cuboid must lie in front of the camera (z > 0).
    """
    R = T_cam_obj[:3, :3]
    t = np.array(T_cam_obj[:3, 3], dtype=np.float64)
    cuboid = transform_points(T_cam_obj, cuboid_corners(dimensions))
    if np.any(cuboid[:, 2] <= 0):
        raise ValueError(f"{class_name}: cuboid corner behind the camera; its projection is undefined")
    return ObjectAnnotation(
        class_name=class_name,
        visibility=float(visibility),
        location=t,
        quaternion_xyzw=quat_fat_object(R),
        permuted_rotation=PERMUTATION @ R.T,
        cuboid_centroid=t.copy(),
        projected_cuboid_centroid=intrinsics.project(t)[0],
        bbox=np.asarray(bbox, dtype=np.float64),
        cuboid=cuboid,
        projected_cuboid=intrinsics.project(cuboid),
    )
