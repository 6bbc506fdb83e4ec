"""Rigid transforms, quaternions, the FAT pinhole camera, the stereo rig and the frame conventions.

Conventions (see docs/architecture.md):

* world: right-handed, Z up, metres;
* camera: OpenCV (x right, y down, z forward), origin at the optical centre of that eye;
* poses are 4x4 matrices ``T_a_b`` that map points of frame b into frame a (``p_a = T_a_b @ p_b``);
* quaternions are (x, y, z, w), Hamilton, scalar last, as in FAT.

The UE4 world frame (left-handed, Z up, centimetres) used by FAT's ``camera_data`` appears only in the
functions named ``*_ue4*`` here, which the FAT writer and reader call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Stereo baseline of FAT, metres (FAT readme: "The baseline between cameras is 6.0 cm").
BASELINE_M = 0.06
#: The eyes of FAT's stereo pair, as its file names spell them.
EYES = ("left", "right")

#: FAT cuboid corner signs in the object frame, FAT vertex order (Front = +z, Top = -y, Right = +x).
CUBOID_SIGNS = np.array(
    [
        [+1, -1, +1],  # 0 FrontTopRight
        [-1, -1, +1],  # 1 FrontTopLeft
        [-1, +1, +1],  # 2 FrontBottomLeft
        [+1, +1, +1],  # 3 FrontBottomRight
        [+1, -1, -1],  # 4 RearTopRight
        [-1, -1, -1],  # 5 RearTopLeft
        [-1, +1, -1],  # 6 RearBottomLeft
        [+1, +1, -1],  # 7 RearBottomRight
    ],
    dtype=np.float64,
)
CUBOID_VERTEX_NAMES = (
    "FrontTopRight", "FrontTopLeft", "FrontBottomLeft", "FrontBottomRight",
    "RearTopRight", "RearTopLeft", "RearBottomLeft", "RearBottomRight",
)
#: Cuboid edges as pairs of vertex indices (for drawing).
CUBOID_EDGES = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4),
                (0, 4), (1, 5), (2, 6), (3, 7))

# UE4 camera-local axes (X forward, Y right, Z up) -> OpenCV camera axes: v_cv = Q_UE4_TO_CV @ v_ue4.
# A UE4 vector (X, Y, Z) is the OpenCV vector (Y, -Z, X). Improper (det -1): UE4 is left-handed.
UE4_TO_CV = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])
# The project world -> a UE4-style world: p_ue4 = 100 * D @ p_world (mirror Y; metres -> cm).
WORLD_TO_UE4_MIRROR = np.diag([1.0, -1.0, 1.0])


# ----------------------------------------------------------------------------- rigid transforms
def make_pose(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """4x4 pose from a 3x3 rotation and a translation."""
    T = np.eye(4)
    T[:3, :3] = rotation
    T[:3, 3] = translation
    return T


def invert_pose(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 pose (transpose of the rotation, no general matrix inverse)."""
    R = T[:3, :3]
    return make_pose(R.T, -R.T @ T[:3, 3])


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 pose to (N, 3) points."""
    points = np.asarray(points, dtype=np.float64)
    return points @ T[:3, :3].T + T[:3, 3]


# ----------------------------------------------------------------------------- quaternions
def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a quaternion (x, y, z, w). The quaternion is normalised first."""
    x, y, z, w = np.asarray(q, dtype=np.float64) / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def matrix_to_quat(R: np.ndarray) -> np.ndarray:
    """Quaternion (x, y, z, w) of a rotation matrix, with w >= 0 (Shepperd's method)."""
    R = np.asarray(R, dtype=np.float64)
    tr = R[0, 0] + R[1, 1] + R[2, 2]
    cands = np.array([tr, R[0, 0], R[1, 1], R[2, 2]])
    k = int(np.argmax(cands))
    if k == 0:
        s = 2.0 * math.sqrt(max(1.0 + tr, 0.0))
        q = [(R[2, 1] - R[1, 2]) / s, (R[0, 2] - R[2, 0]) / s, (R[1, 0] - R[0, 1]) / s, s / 4]
    elif k == 1:
        s = 2.0 * math.sqrt(max(1.0 + R[0, 0] - R[1, 1] - R[2, 2], 0.0))
        q = [s / 4, (R[0, 1] + R[1, 0]) / s, (R[0, 2] + R[2, 0]) / s, (R[2, 1] - R[1, 2]) / s]
    elif k == 2:
        s = 2.0 * math.sqrt(max(1.0 - R[0, 0] + R[1, 1] - R[2, 2], 0.0))
        q = [(R[0, 1] + R[1, 0]) / s, s / 4, (R[1, 2] + R[2, 1]) / s, (R[0, 2] - R[2, 0]) / s]
    else:
        s = 2.0 * math.sqrt(max(1.0 - R[0, 0] - R[1, 1] + R[2, 2], 0.0))
        q = [(R[0, 2] + R[2, 0]) / s, (R[1, 2] + R[2, 1]) / s, s / 4, (R[1, 0] - R[0, 1]) / s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product a * b of quaternions (x, y, z, w): the rotation b, then a."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array(
        [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ]
    )


def quat_fat_object(R_cv: np.ndarray) -> np.ndarray:
    """Quaternion of an object rotation in OpenCV camera axes, signed as FAT/NDDS sign it.

    NDDS converts UE4's ``FQuat(const FMatrix&)`` to OpenCV axes. In OpenCV axes that rule reads: if
    the trace is positive, w > 0; otherwise take the largest of (R_zz, R_xx, R_yy) (earlier wins
    ties) and make qz < 0, qx < 0 or qy > 0 respectively (FAT_FORMAT.md 7.2).
    """
    q = matrix_to_quat(R_cv)
    R = np.asarray(R_cv)
    tr = R[0, 0] + R[1, 1] + R[2, 2]
    if tr > 0:
        return q if q[3] > 0 else -q
    i = int(np.argmax([R[2, 2], R[0, 0], R[1, 1]]))
    comp, positive = [(2, False), (0, False), (1, True)][i]
    return q if (q[comp] > 0) == positive else -q


# ----------------------------------------------------------------------------- camera
@dataclass(frozen=True)
class Intrinsics:
    """A pinhole camera as FAT's exporter made it: cx = W/2, cy = H/2, fx = fy, no skew.

    Image coordinates are continuous with (0, 0) at the top-left corner of the top-left pixel, so a
    pixel (col, row) has its centre at (col + 0.5, row + 0.5) (FAT_FORMAT.md section 4).
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    s: float = 0.0
    horizontal_fov: float | None = None  # degrees, when the camera was made from a FOV

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> "Intrinsics":
        """NDDS ``FCameraIntrinsicSettings``: cx = W/2, cy = H/2, fx = fy = cx / tan(hfov/2) in float32."""
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        if not 0 < horizontal_fov_deg < 180:
            raise ValueError(f"horizontal FOV must be in (0, 180) degrees, got {horizontal_fov_deg}")
        cx = np.float32(width / 2)
        cy = np.float32(height / 2)
        half = np.float32(np.deg2rad(np.float32(horizontal_fov_deg)) / np.float32(2))
        fx = float(np.float32(cx / np.tan(half, dtype=np.float32)))
        return cls(width, height, fx, fx, float(cx), float(cy), 0.0, float(horizontal_fov_deg))

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, self.s, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def hfov(self) -> float:
        """Horizontal field of view in degrees: the one it was made from, else from fx and the width."""
        if self.horizontal_fov is not None:
            return self.horizontal_fov
        return math.degrees(2 * math.atan(self.width / 2 / self.fx))

    @property
    def vertical_fov(self) -> float:
        """Vertical field of view in degrees."""
        return math.degrees(2 * math.atan(self.height / 2 / self.fy))

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """Project (N, 3) OpenCV camera points to (N, 2) pixel coordinates (u, v); z must be > 0."""
        p = np.asarray(points_cam, dtype=np.float64).reshape(-1, 3)
        z = p[:, 2]
        u = (self.fx * p[:, 0] + self.s * p[:, 1]) / z + self.cx
        v = self.fy * p[:, 1] / z + self.cy
        return np.stack([u, v], axis=1)

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """(x/z, y/z) of every pixel centre, each of shape (H, W): back-project with depth z."""
        u = np.arange(self.width) + 0.5
        v = np.arange(self.height) + 0.5
        yn = (v - self.cy) / self.fy
        xn = (u[None, :] - self.cx - self.s * yn[:, None]) / self.fx
        return np.broadcast_to(xn, (self.height, self.width)), np.broadcast_to(yn[:, None], (self.height, self.width))

    def backproject(self, depth: np.ndarray) -> np.ndarray:
        """(H, W, 3) camera points of a z-depth image (metres)."""
        xn, yn = self.pixel_rays()
        return np.stack([xn * depth, yn * depth, depth], axis=-1)


#: The FAT camera: 960 x 540, horizontal FOV 64 degrees (fx = 768.16058349609375).
FAT_INTRINSICS = Intrinsics.from_fov(960, 540, 64.0)


def right_eye_pose(T_world_left: np.ndarray, baseline: float = BASELINE_M) -> np.ndarray:
    """World pose of the right eye: the left pose moved ``baseline`` metres along its camera +x."""
    return T_world_left @ make_pose(np.eye(3), [baseline, 0.0, 0.0])


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray = (0.0, 0.0, 1.0)) -> np.ndarray:
    """World pose (OpenCV camera axes) of a camera at ``eye`` looking at ``target``, image-up = ``up``."""
    eye = np.asarray(eye, dtype=np.float64)
    z = np.asarray(target, dtype=np.float64) - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, np.asarray(up, dtype=np.float64))
    n = np.linalg.norm(x)
    if n < 1e-9:
        raise ValueError("look_at: the view direction is parallel to 'up'")
    x /= n
    y = np.cross(z, x)
    return make_pose(np.stack([x, y, z], axis=1), eye)


def orbit_position(center: np.ndarray, azimuth_deg: float, elevation_deg: float, distance: float) -> np.ndarray:
    """Point at ``distance`` from ``center``, azimuth about +Z from +X, elevation above the XY plane."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    offset = distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    return np.asarray(center, dtype=np.float64) + offset


def orbit_angles(center: np.ndarray, position: np.ndarray) -> tuple[float, float, float]:
    """Inverse of :func:`orbit_position`: (azimuth deg, elevation deg, distance)."""
    d = np.asarray(position, dtype=np.float64) - np.asarray(center, dtype=np.float64)
    dist = float(np.linalg.norm(d))
    return math.degrees(math.atan2(d[1], d[0])), math.degrees(math.asin(d[2] / dist)), dist


# ----------------------------------------------------------------------------- cuboids
def cuboid_corners(dimensions: np.ndarray) -> np.ndarray:
    """(8, 3) corners of a cuboid of full extents ``dimensions`` centred at the origin, FAT order."""
    return CUBOID_SIGNS * (np.asarray(dimensions, dtype=np.float64) / 2.0)


# ----------------------------------------------------------------------------- UE4 world frame
# R_wc (camera axes in the world, OpenCV) -> R_ue4 = D @ R_wc @ Q, with Q = UE4 camera-local -> OpenCV.
# At the quaternion level (exact in floating point, see world_quat_to_ue4): mirroring through the
# XZ plane maps (x, y, z, w) -> (-x, y, -z, w), and D @ Q^T is a fixed rotation C.
_C = matrix_to_quat(WORLD_TO_UE4_MIRROR @ UE4_TO_CV.T)  # = D Q^T
_C_INV = _C * np.array([-1.0, -1.0, -1.0, 1.0])


def world_point_to_ue4(p_world_m: np.ndarray) -> np.ndarray:
    """Project world point (metres) -> UE4-style world point (cm): ``100 * (x, -y, z)``."""
    return 100.0 * (np.asarray(p_world_m, dtype=np.float64) * np.array([1.0, -1.0, 1.0]))


def ue4_point_to_world(p_ue4_cm: np.ndarray) -> np.ndarray:
    """UE4-style world point (cm) -> project world point (metres)."""
    return (np.asarray(p_ue4_cm, dtype=np.float64) * np.array([1.0, -1.0, 1.0])) / 100.0


def world_quat_to_ue4(q_world_cam: np.ndarray) -> np.ndarray:
    """Camera orientation: quaternion of R_wc (OpenCV camera axes in the world) -> the UE4 camera
    quaternion (UE4 camera-local -> UE4 world), signed by UE4's rule. Sums of four float32 values,
    so reading a FAT quaternion and writing it back is exact."""
    m = quat_multiply(np.asarray(q_world_cam, dtype=np.float64), _C_INV)  # R_wc (D Q^T)^T = R_wc Q D
    q = m * np.array([-1.0, 1.0, -1.0, 1.0])  # conjugate by the mirror D
    return _sign_like_ue4(q)


def ue4_quat_to_world(q_ue4: np.ndarray) -> np.ndarray:
    """Inverse of :func:`world_quat_to_ue4` (sign: whatever the product gives)."""
    m = np.asarray(q_ue4, dtype=np.float64) * np.array([-1.0, 1.0, -1.0, 1.0])
    return quat_multiply(m, _C)


def _sign_like_ue4(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    n2 = x * x + y * y + z * z + w * w
    diag = [n2 - 2 * (y * y + z * z), n2 - 2 * (x * x + z * z), n2 - 2 * (x * x + y * y)]
    if sum(diag) > 0:
        return q if w > 0 else -q
    i = int(np.argmax(diag))
    return q if q[i] > 0 else -q


def camera_pose_to_ue4(T_world_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World pose of a camera (OpenCV axes, metres) -> (location cm, quaternion) in the UE4 world."""
    q = world_quat_to_ue4(matrix_to_quat(T_world_cam[:3, :3]))
    return world_point_to_ue4(T_world_cam[:3, 3]), q


def ue4_to_camera_pose(location_cm: np.ndarray, q_ue4: np.ndarray) -> np.ndarray:
    """UE4 camera location (cm) and quaternion -> world pose of the camera (OpenCV axes, metres)."""
    return make_pose(quat_to_matrix(ue4_quat_to_world(q_ue4)), ue4_point_to_world(location_cm))
