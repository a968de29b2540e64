"""Rotation helpers (scipy) against transforms3d as an independent implementation."""

import itertools

import numpy as np
import pytest
import transforms3d
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.rotations import (
    angle_between,
    matrix_from_quaternion,
    matrix_from_rotation_vector,
    matrix_from_rpy,
    quaternion_from_matrix,
    rotation_vector,
    rpy_from_matrix,
    skew,
)

MATRICES = Rotation.random(50, random_state=7).as_matrix()


def test_quaternion_is_xyzw_and_matches_transforms3d() -> None:
    for matrix in MATRICES:
        q = quaternion_from_matrix(matrix)
        w, x, y, z = transforms3d.quaternions.mat2quat(matrix)
        ref = np.array([x, y, z, w]) * np.sign(w)
        assert q[3] >= 0.0
        assert np.allclose(q, ref, atol=1e-12)
        assert np.allclose(matrix_from_quaternion(q), matrix, atol=1e-12)
    assert np.allclose(quaternion_from_matrix(np.eye(3)), [0.0, 0.0, 0.0, 1.0])


def test_rpy_is_fixed_axis_xyz_like_ros() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        roll, pitch, yaw = rng.uniform(-3.0, 3.0), rng.uniform(-1.5, 1.5), rng.uniform(-3.0, 3.0)
        matrix = matrix_from_rpy(roll, pitch, yaw)
        assert np.allclose(matrix, transforms3d.euler.euler2mat(roll, pitch, yaw, "sxyz"))
        assert np.allclose(rpy_from_matrix(matrix), [roll, pitch, yaw])
    yaw90 = matrix_from_rpy(0.0, 0.0, np.pi / 2)
    assert np.allclose(yaw90 @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])  # East turns to North


def test_rotation_vectors_angles_and_projection() -> None:
    for a, b in itertools.pairwise(MATRICES):
        _, angle = transforms3d.axangles.mat2axangle(a.T @ b)
        assert float(angle_between(a, b)) == pytest.approx(abs(angle), abs=1e-9)
        vec = rotation_vector(a)
        assert np.allclose(matrix_from_rotation_vector(vec), a)
    v, w = np.array([1.0, 2.0, 3.0]), np.array([-2.0, 0.5, 4.0])
    assert np.allclose(skew(v) @ w, np.cross(v, w))
