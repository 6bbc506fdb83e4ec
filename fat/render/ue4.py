"""Unreal Engine 4 coordinates for the UnrealCV driver: left-handed, Z up, centimetres, rotations
as FRotator (pitch, yaw, roll) in degrees. All conversions between the project's frames and UE4's
live here (FAT's ``camera_data`` quaternion is in :mod:`fat.geometry`).

* A UE4 world point is ``100 * (x, -y, z)`` of the project's world point (metres, right-handed).
* A camera, and a FAT-aligned object frame (built "as if the object were a camera facing the world
  through the front"), map to a UE4 actor whose forward axis X is the frame's z, right axis Y is x
  and up axis Z is -y: NDDS's UE4-to-OpenCV convention.
* FRotator semantics (UE4 ``FRotator``): pitch turns about the right axis (positive looks up), yaw
  about the up axis (positive turns from +X towards +Y), roll about the forward axis (positive tilts
  clockwise, seen from behind).
"""

from __future__ import annotations

import math

import numpy as np

from ..geometry import UE4_TO_CV, WORLD_TO_UE4_MIRROR, make_pose


def rotator_to_matrix(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """UE4 ``FRotationMatrix``: rows are the rotated X (forward), Y (right), Z (up) axes in the world."""
    sp, cp = math.sin(math.radians(pitch)), math.cos(math.radians(pitch))
    sy, cy = math.sin(math.radians(yaw)), math.cos(math.radians(yaw))
    sr, cr = math.sin(math.radians(roll)), math.cos(math.radians(roll))
    return np.array([
        [cp * cy, cp * sy, sp],
        [sr * sp * cy - cr * sy, sr * sp * sy + cr * cy, -sr * cp],
        [-(cr * sp * cy + sr * sy), cy * sr - cr * sp * sy, cr * cp],
    ])


def matrix_to_rotator(M: np.ndarray) -> tuple[float, float, float]:
    """UE4 ``FMatrix::Rotator``: (pitch, yaw, roll) in degrees of a matrix whose rows are the axes."""
    x, y, z = np.asarray(M, dtype=np.float64)
    pitch = math.degrees(math.atan2(x[2], math.hypot(x[0], x[1])))
    yaw = math.degrees(math.atan2(x[1], x[0]))
    sy = rotator_to_matrix(pitch, yaw, 0.0)[1]
    roll = math.degrees(math.atan2(float(z @ sy), float(y @ sy)))
    return pitch, yaw, roll


def pose_to_ue4(T_world_frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float]]:
    """World pose (metres) of a camera (OpenCV axes) or FAT-aligned object frame -> the UE4 actor's
    location (cm) and FRotator."""
    location = 100.0 * (WORLD_TO_UE4_MIRROR @ T_world_frame[:3, 3])
    R_ue4 = WORLD_TO_UE4_MIRROR @ T_world_frame[:3, :3] @ UE4_TO_CV  # columns: actor X, Y, Z in the UE4 world
    return location, matrix_to_rotator(R_ue4.T)


def ue4_to_pose(location_cm, rotator) -> np.ndarray:
    """Inverse of :func:`pose_to_ue4`."""
    R_ue4 = rotator_to_matrix(*rotator).T
    R = WORLD_TO_UE4_MIRROR @ R_ue4 @ UE4_TO_CV.T
    return make_pose(R, WORLD_TO_UE4_MIRROR @ np.asarray(location_cm, dtype=np.float64) / 100.0)


def format_vector(v) -> str:
    """Numbers as UnrealCV commands take them (enough digits for 0.01 mm and 1e-6 degrees)."""
    return " ".join(f"{float(x):.6f}" for x in v)
