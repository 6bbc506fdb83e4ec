"""UE4 coordinate conversions against the semantics UE4's documentation gives for FRotator, and
against FAT's camera quaternion."""

import numpy as np
from hypothesis import given, strategies as st

from fat.geometry import camera_pose_to_ue4, look_at, make_pose, quat_to_matrix
from fat.render.ue4 import matrix_to_rotator, pose_to_ue4, rotator_to_matrix, ue4_to_pose

angles = st.floats(-179, 179)


def test_rotator_examples_from_the_ue4_documentation():
    # FRotator: "Yaw: rotation around the up axis, 0 = East (+X), +North"; looking along +Y at yaw 90
    assert np.allclose(rotator_to_matrix(0, 90, 0)[0], [0, 1, 0])
    # "Pitch: looking up and down (0 = straight ahead, +Up, -Down)"
    assert np.allclose(rotator_to_matrix(30, 0, 0)[0], [np.cos(np.radians(30)), 0, 0.5])
    assert np.allclose(rotator_to_matrix(-90, 0, 0)[0], [0, 0, -1])
    # "Roll: tilting your head, 0 = straight, +Clockwise": at +90 the head's up points right (+Y)
    assert np.allclose(rotator_to_matrix(0, 0, 90)[2], [0, 1, 0])
    # the identity
    assert np.allclose(rotator_to_matrix(0, 0, 0), np.eye(3))


@given(st.floats(-89, 89), angles, angles)
def test_rotator_round_trip_and_left_handed_axes(pitch, yaw, roll):
    M = rotator_to_matrix(pitch, yaw, roll)
    assert np.allclose(M @ M.T, np.eye(3), atol=1e-12) and np.isclose(np.linalg.det(M), 1)
    assert np.allclose(matrix_to_rotator(M), (pitch, yaw, roll), atol=1e-7)


def test_a_camera_looking_along_world_x():
    # camera at the origin looking along the project's +x, image up = +z: UE4 forward is +X, no roll
    T = look_at([0, 0, 0], [1, 0, 0])
    loc, rot = pose_to_ue4(T)
    assert np.allclose(loc, 0) and np.allclose(rot, (0, 0, 0), atol=1e-9)
    # looking along the project's +y (= UE4 -Y): yaw -90
    loc, rot = pose_to_ue4(look_at([1, 2, 3], [1, 3, 3]))
    assert np.allclose(loc, [100, -200, 300]) and np.allclose(rot, (0, -90, 0), atol=1e-9)
    # looking down at 45 degrees: pitch -45
    _, rot = pose_to_ue4(look_at([0, 0, 1], [1, 0, 0]))
    assert np.allclose(rot, (-45, 0, 0), atol=1e-9)


@given(st.floats(-85, 85), angles, angles, st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5)))
def test_pose_round_trip_and_agreement_with_fats_camera_quaternion(pitch, yaw, roll, t):
    R = rotator_to_matrix(pitch, yaw, roll)
    T = ue4_to_pose(np.array(t) * 100, (pitch, yaw, roll))
    loc, rot = pose_to_ue4(T)
    assert np.allclose(loc, np.array(t) * 100, atol=1e-9)
    assert np.allclose(rotator_to_matrix(*rot), R, atol=1e-9)
    # FAT's camera_data quaternion (fat.geometry) rotates UE4 camera-local axes into the UE4 world:
    # its matrix's columns are the rows of the FRotator's matrix
    _, q = camera_pose_to_ue4(T)
    assert np.allclose(quat_to_matrix(q), R.T, atol=1e-9)


def test_objects_use_the_camera_convention():
    # a FAT object frame whose front (+z) faces the project's +x and whose top (-y) is up
    R = np.column_stack([[0, -1, 0], [0, 0, -1], [1, 0, 0]])  # columns: object x, y, z in the world
    loc, rot = pose_to_ue4(make_pose(R, [0.5, 0, 0]))
    assert np.allclose(rot, (0, 0, 0), atol=1e-9) and np.allclose(loc, [50, 0, 0])
    # turned to face the project's -y (UE4 +Y): yaw +90
    _, rot = pose_to_ue4(make_pose(np.column_stack([[-1, 0, 0], [0, 0, -1], [0, -1, 0]]), [0, 0, 0]))
    assert np.allclose(rot, (0, 90, 0), atol=1e-9)
