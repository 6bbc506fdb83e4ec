"""Geometry by its properties: inverses, quaternion/matrix agreement, projections, the stereo rig."""

import math

import numpy as np
from hypothesis import assume, given, settings, strategies as st

from fat import geometry as g
from fat.formats.ue4json import q4

finite = st.floats(min_value=-5, max_value=5, allow_nan=False)
vec3 = st.tuples(finite, finite, finite).map(np.array)


@st.composite
def unit_quats(draw):
    q = np.array([draw(st.floats(-1, 1)) for _ in range(4)])
    assume(np.linalg.norm(q) > 0.1)
    return q / np.linalg.norm(q)


@st.composite
def poses(draw):
    return g.make_pose(g.quat_to_matrix(draw(unit_quats())), draw(vec3))


def test_fat_intrinsics_are_exactly_fats():
    K = g.FAT_INTRINSICS
    assert K.fx == K.fy == 768.16058349609375
    assert (K.cx, K.cy, K.s, K.width, K.height) == (480.0, 270.0, 0.0, 960, 540)
    assert K.fx == float(np.float32(480 / math.tan(math.radians(32))))
    assert abs(K.vertical_fov - 38.7) < 0.05


@given(unit_quats())
def test_quaternion_and_matrix_agree(q):
    R = g.quat_to_matrix(q)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(R), 1.0)
    q2 = g.matrix_to_quat(R)
    assert np.allclose(q2, q) or np.allclose(q2, -q)
    # the matrix rotates a vector as the quaternion sandwich q v q* does
    v = np.array([0.3, -1.2, 2.0])
    qv = g.quat_multiply(g.quat_multiply(q, np.r_[v, 0.0]), q * np.array([-1, -1, -1, 1]))
    assert np.allclose(qv[:3], R @ v, atol=1e-12)


@given(unit_quats(), unit_quats())
def test_quaternion_product_is_matrix_product(a, b):
    assert np.allclose(g.quat_to_matrix(g.quat_multiply(a, b)), g.quat_to_matrix(a) @ g.quat_to_matrix(b), atol=1e-12)


@given(poses(), st.lists(vec3, min_size=1, max_size=5))
def test_pose_inverse(T, pts):
    pts = np.array(pts)
    assert np.allclose(g.transform_points(g.invert_pose(T), g.transform_points(T, pts)), pts, atol=1e-9)
    assert np.allclose(g.invert_pose(T) @ T, np.eye(4), atol=1e-12)


@given(poses())
def test_ue4_camera_frame_round_trip(T):
    loc, q = g.camera_pose_to_ue4(T)
    assert np.allclose(g.ue4_to_camera_pose(loc, q), T, atol=1e-12)
    # the UE4 quaternion is a proper rotation: D R_wc Q with the left-handed axes on both sides
    R_ue4 = g.quat_to_matrix(q)
    assert np.allclose(R_ue4, g.WORLD_TO_UE4_MIRROR @ T[:3, :3] @ g.UE4_TO_CV, atol=1e-12)


@given(poses(), vec3)
def test_ue4_formula_of_the_spec(T, p_cam):
    """FAT_FORMAT.md 7.2: world_ue4 = location_worldframe + R(q) . (z, x, -y) for an OpenCV camera point."""
    loc, q = g.camera_pose_to_ue4(T)
    p_cam_cm = p_cam * 100
    expect = loc + g.quat_to_matrix(q) @ np.array([p_cam_cm[2], p_cam_cm[0], -p_cam_cm[1]])
    got = g.world_point_to_ue4(g.transform_points(T, p_cam[None])[0])
    assert np.allclose(got, expect, atol=1e-9)
    assert np.allclose(g.ue4_point_to_world(got), g.transform_points(T, p_cam[None])[0], atol=1e-12)


@given(unit_quats())
def test_ue4_quaternion_read_write_is_exact_on_fat_values(q):
    q = np.array([q4(v) for v in q])  # FAT files hold 4-decimal float32 values
    assume(q[3] > 0.05)  # positive-trace region, where UE4's sign rule is w > 0
    back = g.world_quat_to_ue4(g.ue4_quat_to_world(q))
    assert np.array_equal(back, q) or g.quat_to_matrix(q).trace() <= 0


def test_ue4_sign_rule():
    for _ in range(200):
        q = np.random.default_rng(_).normal(size=4)
        R = g.quat_to_matrix(q)
        qq = g.world_quat_to_ue4(g.matrix_to_quat(R))
        Rue = g.quat_to_matrix(qq)
        if np.trace(Rue) > 0:
            assert qq[3] > 0
        else:
            assert qq[int(np.argmax(np.diag(Rue)))] > 0


@given(poses())
def test_fat_object_quaternion_sign(T):
    R = T[:3, :3]
    q = g.quat_fat_object(R)
    assert np.allclose(g.quat_to_matrix(q), R, atol=1e-12)
    if np.trace(R) > 0:
        assert q[3] > 0
    else:
        i = int(np.argmax([R[2, 2], R[0, 0], R[1, 1]]))
        assert [q[2] < 0, q[0] < 0, q[1] > 0][i]


def test_cuboid_corner_order():
    c = g.cuboid_corners([2.0, 4.0, 6.0])
    front, top, right = c[:, 2] > 0, c[:, 1] < 0, c[:, 0] > 0
    assert list(front) == [True] * 4 + [False] * 4
    assert list(top) == [True, True, False, False] * 2
    assert list(right) == [True, False, False, True] * 2
    assert np.allclose(c.max(0) - c.min(0), [2, 4, 6]) and np.allclose(c.mean(0), 0)


@given(poses(), st.tuples(st.floats(0.01, 0.5), st.floats(0.01, 0.5), st.floats(0.01, 0.5)))
@settings(max_examples=50)
def test_projection_of_cuboid_corners_is_K_times_corners(T_obj, dims):
    T_obj = T_obj.copy()
    T_obj[:3, 3] = [T_obj[0, 3] * 0.1, T_obj[1, 3] * 0.1, 2.0 + abs(T_obj[2, 3])]
    pts = g.transform_points(T_obj, g.cuboid_corners(dims))
    assume(np.all(pts[:, 2] > 0.05))
    uv = g.FAT_INTRINSICS.project(pts)
    h = (g.FAT_INTRINSICS.K @ pts.T).T
    assert np.allclose(uv, h[:, :2] / h[:, 2:], atol=1e-9)
    # the projected corners back-project onto their rays
    xn, yn = (uv[:, 0] - 480) / g.FAT_INTRINSICS.fx, (uv[:, 1] - 270) / g.FAT_INTRINSICS.fy
    assert np.allclose(np.stack([xn * pts[:, 2], yn * pts[:, 2]], 1), pts[:, :2], atol=1e-9)


@given(poses(), st.lists(vec3, min_size=1, max_size=8))
def test_right_eye_sees_points_shifted_by_the_disparity(T_left, pts):
    pts_world = np.array(pts)
    T_right = g.right_eye_pose(T_left)
    assert np.isclose(np.linalg.norm(T_right[:3, 3] - T_left[:3, 3]), 0.06)
    assert np.allclose(T_right[:3, :3], T_left[:3, :3])
    pl = g.transform_points(g.invert_pose(T_left), pts_world)
    pr = g.transform_points(g.invert_pose(T_right), pts_world)
    keep = pl[:, 2] > 0.1
    assume(keep.any())
    K = g.FAT_INTRINSICS
    ul, ur = K.project(pl[keep]), K.project(pr[keep])
    assert np.allclose(ul[:, 0] - ur[:, 0], K.fx * 0.06 / pl[keep, 2], atol=1e-6)
    assert np.allclose(ul[:, 1], ur[:, 1], atol=1e-6)


@given(st.floats(-180, 180), st.floats(-89, 89), st.floats(0.1, 5), vec3)
def test_orbit_and_look_at(az, el, dist, center):
    eye = g.orbit_position(center, az, el, dist)
    a2, e2, d2 = g.orbit_angles(center, eye)
    assert np.isclose(d2, dist) and np.isclose(e2, el, atol=1e-6)
    assert np.isclose((a2 - az + 180) % 360 - 180, 0, atol=1e-6)
    T = g.look_at(eye, center)
    c = g.transform_points(g.invert_pose(T), np.asarray(center)[None])[0]
    assert np.allclose(c[:2], 0, atol=1e-9) and np.isclose(c[2], dist)
    # image up is world up: the camera's -y axis has a non-negative world z component
    assert -T[2, 1] >= -1e-12
    assert np.isclose(T[2, 0], 0, atol=1e-12)  # no roll: camera x stays horizontal


def test_backproject_inverts_project():
    K = g.FAT_INTRINSICS
    depth = np.full((K.height, K.width), 2.0)
    pts = K.backproject(depth)
    uv = K.project(pts.reshape(-1, 3)).reshape(K.height, K.width, 2)
    assert np.allclose(uv[0, 0], [0.5, 0.5]) and np.allclose(uv[-1, -1], [959.5, 539.5])
