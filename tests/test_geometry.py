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


# ----------------------------------------------------------------------------- outside oracles of the sign rules
def fquat_from_fmatrix(M) -> np.ndarray:
    """UE4's ``FQuat::FQuat(const FMatrix& M)`` (Engine/Source/Runtime/Core/Public/Math/Quat.h, UE 4.1x),
    written out again here in float64 as the oracle of the sign rules. ``M`` is an FMatrix rotation:
    row-vector layout, row i = the image of axis i. Returns (X, Y, Z, W)."""
    M = np.asarray(M, dtype=np.float64)
    tr = M[0][0] + M[1][1] + M[2][2]
    if tr > 0.0:
        inv_s = 1.0 / math.sqrt(tr + 1.0)
        s = 0.5 * inv_s
        return np.array([(M[1][2] - M[2][1]) * s, (M[2][0] - M[0][2]) * s, (M[0][1] - M[1][0]) * s, 0.5 / inv_s])
    i = 0
    if M[1][1] > M[0][0]:
        i = 1
    if M[2][2] > M[i][i]:
        i = 2
    nxt = (1, 2, 0)
    j = nxt[i]
    k = nxt[j]
    inv_s = 1.0 / math.sqrt(M[i][i] - M[j][j] - M[k][k] + 1.0)
    qt = [0.0] * 4
    qt[i] = 0.5 / inv_s
    s = 0.5 * inv_s
    qt[3] = (M[j][k] - M[k][j]) * s
    qt[j] = (M[i][j] + M[j][i]) * s
    qt[k] = (M[i][k] + M[k][i]) * s
    return np.array(qt)


def _ue4_branch_is_clear(M, margin=1e-9) -> bool:
    """Whether float rounding cannot change which branch FQuat(FMatrix) takes (no near-ties)."""
    d = np.diag(np.asarray(M))
    if abs(d.sum()) < margin:
        return False
    if d.sum() > 0:
        return True
    top = np.sort(d)
    return top[2] - top[1] > margin


def ue4_camera_fmatrix(R_wc) -> np.ndarray:
    """The UE4 camera's FMatrix from its definition: rows are the camera's X (forward), Y (right) and
    Z (up) axes in the UE4 world, which is the project world with Y mirrored."""
    mirror = np.array([1.0, -1.0, 1.0])
    forward, right, up = R_wc[:, 2], R_wc[:, 0], -R_wc[:, 1]  # OpenCV camera: z forward, x right, y down
    return np.array([forward * mirror, right * mirror, up * mirror])


def ue4_object_fmatrix(R_cv) -> np.ndarray:
    """An object rotation given in OpenCV camera axes, as an FMatrix in UE4 camera axes (X = OpenCV z,
    Y = OpenCV x, Z = -OpenCV y)."""
    to_cv = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]])  # columns: UE4 X, Y, Z in OpenCV axes
    R_ue4 = to_cv.T @ R_cv @ to_cv
    return R_ue4.T  # row-vector layout


def ue4_object_quat_to_cv(q_ue4) -> np.ndarray:
    """A quaternion in UE4 camera axes, in OpenCV axes: the axis is a pseudovector under the mirror
    (v_cv = -(Y, -Z, X)), the angle and so w unchanged."""
    x, y, z, w = q_ue4
    return np.array([-y, z, -x, w])


def test_the_fquat_oracle_reproduces_published_values():
    """The oracle above against values published with FAT and NDDS (pasted here, so that this runs
    without the reference files). Catches an oracle (and so the tests below) that is wrong."""
    # FAT, fat/single/011_banana_16k/kitchen_0/000000.left.json (FAT_FORMAT.md 7.8; shared/reference):
    # objects[0].quaternion_xyzw, w < 0: the non-trace branch
    banana = np.array([-0.982200026512146, 0.12720000743865967, -0.048799999058246613, -0.12909999489784241])
    # ... and the same file's camera_data.quaternion_xyzw_worldframe (UE4 camera quaternion, trace branch)
    camera = np.array([0.33379998803138733, 0.39840000867843628, -0.54869997501373291, 0.65479999780654907])
    # NDDS v1 sample (FAT_FORMAT.md 7.4): quaternion_xyzw [0, 0.7071, -0.7071, 0] with pose_transform rows
    # [[0,-1,0],[-1,0,0],[0,0,1]] = P . R^T: a tie between two diagonal entries
    ndds = np.array([0.0, 0.70709997415542603, -0.70709997415542603, 0.0])
    P = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
    R_ndds = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).T @ P
    assert np.allclose(g.quat_to_matrix(ndds), R_ndds, atol=1e-4)
    for q, R in ((banana, g.quat_to_matrix(banana)), (ndds, R_ndds)):
        oracle = ue4_object_quat_to_cv(fquat_from_fmatrix(ue4_object_fmatrix(R)))
        assert np.allclose(oracle, q, atol=2e-4), (oracle, q)  # sign included
        assert np.allclose(g.quat_fat_object(R), q, atol=2e-4)  # and the code
    # the UE4 camera quaternion: rebuild its matrix, then FQuat gives the published value back
    M = g.quat_to_matrix(camera).T  # rows: UE4 camera axes in the UE4 world
    assert np.allclose(fquat_from_fmatrix(M), camera, atol=1e-6)


@given(unit_quats())
def test_ue4_camera_quaternion_is_fquat_of_the_camera_matrix(q):
    """The camera quaternion written to FAT is what UE4's FQuat(FMatrix) makes of the camera's matrix
    (built from the axes, not from the code's constants), sign included. Catches a changed or
    removed sign rule in ``world_quat_to_ue4`` (e.g. always w > 0, or the wrong diagonal order)."""
    R_wc = g.quat_to_matrix(q)
    M = ue4_camera_fmatrix(R_wc)
    got = g.world_quat_to_ue4(g.matrix_to_quat(R_wc))
    expect = fquat_from_fmatrix(M)
    assert np.allclose(g.quat_to_matrix(got), M.T, atol=1e-9)  # the same rotation
    if _ue4_branch_is_clear(M):
        assert np.allclose(got, expect, atol=1e-9), (got, expect)
    else:
        assert np.allclose(got, expect, atol=1e-9) or np.allclose(got, -expect, atol=1e-9)


@given(poses())
def test_fat_object_quaternion_is_fquat_in_ue4_camera_axes(T):
    """FAT's object quaternion is UE4's FQuat(FMatrix) of the rotation in UE4 camera axes, carried to
    OpenCV axes (the oracle matches the published banana and NDDS values above). Catches a changed
    sign rule in ``quat_fat_object`` (wrong component, wrong order of the diagonal, ties)."""
    R = T[:3, :3]
    q = g.quat_fat_object(R)
    assert np.allclose(g.quat_to_matrix(q), R, atol=1e-12)
    M = ue4_object_fmatrix(R)
    expect = ue4_object_quat_to_cv(fquat_from_fmatrix(M))
    assert np.allclose(g.quat_to_matrix(expect), R, atol=1e-9)  # the carried quaternion is the same rotation
    if _ue4_branch_is_clear(M):
        assert np.allclose(q, expect, atol=1e-9), (q, expect)
    else:
        assert np.allclose(q, expect, atol=1e-9) or np.allclose(q, -expect, atol=1e-9)


def test_sign_rules_on_rotations_with_ties():
    """Rotations by multiples of 90 degrees put ties on the diagonal, where UE4 takes the earlier entry."""
    for M in _right_angle_rotations():
        R_wc = M.T  # any proper rotation will do as a camera
        cam = ue4_camera_fmatrix(R_wc)
        assert np.allclose(g.world_quat_to_ue4(g.matrix_to_quat(R_wc)), fquat_from_fmatrix(cam), atol=1e-12)
        obj = ue4_object_quat_to_cv(fquat_from_fmatrix(ue4_object_fmatrix(M)))
        assert np.allclose(g.quat_fat_object(M), obj, atol=1e-12), M


def _right_angle_rotations():
    import itertools

    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            M = np.zeros((3, 3))
            M[range(3), perm] = signs
            if np.linalg.det(M) > 0:
                yield M


@given(unit_quats())
def test_ue4_quaternion_read_write_is_exact_on_fat_values(q):
    """Reading a FAT camera quaternion (4-decimal values) and writing it back gives the same rotation,
    exactly the same values up to sign, and the sign UE4 gives. Catches a read or write that loses
    precision, or a sign rule other than FQuat(FMatrix)'s."""
    q = np.array([q4(v) for v in q])  # FAT files hold 4-decimal float32 values
    back = g.world_quat_to_ue4(g.ue4_quat_to_world(q))
    assert np.allclose(g.quat_to_matrix(back), g.quat_to_matrix(q), atol=1e-12)  # the same rotation
    assert np.array_equal(back, q) or np.array_equal(back, -q)  # to the last bit, up to sign
    M = g.quat_to_matrix(q).T
    if _ue4_branch_is_clear(M, 1e-6):
        assert np.allclose(back / np.linalg.norm(back), fquat_from_fmatrix(M), atol=1e-6)


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
