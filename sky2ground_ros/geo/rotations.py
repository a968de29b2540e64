"""Rotation conversions in ROS conventions, delegated to scipy's `Rotation`.

Quaternions are ``(x, y, z, w)`` as in geometry_msgs/Quaternion; roll/pitch/yaw are the
fixed-axis X-Y-Z angles of REP-103 (``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``); rotation-vector
perturbations are expressed in the parent (world) frame, as PoseWithCovariance expects.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation


def quaternion_from_matrix(matrix: ArrayLike) -> np.ndarray:
    """Unit quaternion (x, y, z, w) with w >= 0 of a rotation matrix (..., 3, 3)."""
    quat = Rotation.from_matrix(np.asarray(matrix, dtype=np.float64)).as_quat(canonical=True)
    return np.asarray(quat)


def matrix_from_quaternion(quat_xyzw: ArrayLike) -> np.ndarray:
    """Rotation matrix (..., 3, 3) of a quaternion (x, y, z, w); it is normalised first."""
    return Rotation.from_quat(np.asarray(quat_xyzw, dtype=np.float64)).as_matrix()


def rpy_from_matrix(matrix: ArrayLike) -> np.ndarray:
    """Fixed-axis roll, pitch, yaw (rad) of a rotation matrix."""
    return Rotation.from_matrix(np.asarray(matrix, dtype=np.float64)).as_euler("xyz")


def matrix_from_rpy(roll: float, pitch: float, yaw: float) -> np.ndarray:
    """Rotation matrix from fixed-axis roll, pitch, yaw (rad)."""
    return Rotation.from_euler("xyz", [roll, pitch, yaw]).as_matrix()


def rotation_vector(matrix: ArrayLike) -> np.ndarray:
    """Axis-angle vector (rad) of a rotation matrix (..., 3, 3)."""
    return Rotation.from_matrix(np.asarray(matrix, dtype=np.float64)).as_rotvec()


def matrix_from_rotation_vector(rotvec: ArrayLike) -> np.ndarray:
    """Rotation matrix (..., 3, 3) of an axis-angle vector (rad)."""
    return Rotation.from_rotvec(np.asarray(rotvec, dtype=np.float64)).as_matrix()


def angle_between(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Geodesic angle (rad) between rotation matrices (broadcast over leading dims)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    relative = Rotation.from_matrix(np.swapaxes(a, -1, -2) @ b)
    return np.asarray(relative.magnitude())


def skew(vector: ArrayLike) -> np.ndarray:
    """Cross-product matrix ``[v]x`` of a 3-vector (``[v]x @ w == v × w``)."""
    x, y, z = np.asarray(vector, dtype=np.float64)
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
