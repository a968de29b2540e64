"""Rigid transforms as 4x4 matrices: the poses and TF edges of the localizer.

``T_a_b`` maps points of frame ``b`` into frame ``a``; it is the pose of ``b`` in ``a`` and
the TF transform with parent ``a`` and child ``b``. Quaternions are ROS ``(x, y, z, w)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation, Slerp

from sky2ground_ros.geo.geodesy import LocalENU, geodetic_to_ecef
from sky2ground_ros.geo.rotations import matrix_from_quaternion, quaternion_from_matrix, skew

OPTICAL_IN_BODY = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
"""Rotation of an OpenCV optical frame (x right, y down, z forward) in a REP-103 body frame
(x forward, y left, z up): the usual ``camera_link → camera_optical_frame`` rotation."""


def transform(rotation: ArrayLike, translation: ArrayLike) -> np.ndarray:
    """4x4 matrix from a 3x3 rotation and a translation."""
    out = np.eye(4)
    out[:3, :3] = np.asarray(rotation, dtype=np.float64)
    out[:3, 3] = np.asarray(translation, dtype=np.float64)
    return out


def inverse(pose: np.ndarray) -> np.ndarray:
    """Inverse of a rigid 4x4 transform."""
    rotation = pose[:3, :3].T
    return transform(rotation, -rotation @ pose[:3, 3])


def from_xyz_quat(xyz: ArrayLike, quat_xyzw: ArrayLike) -> np.ndarray:
    """4x4 matrix from a translation and a (normalised here) quaternion."""
    return transform(matrix_from_quaternion(quat_xyzw), xyz)


def to_xyz_quat(pose: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translation and quaternion (x, y, z, w) of a 4x4 matrix."""
    return pose[:3, 3].copy(), quaternion_from_matrix(pose[:3, :3])


def extrinsic_from_list(values: ArrayLike) -> np.ndarray:
    """``base → camera`` transform from ``[x, y, z, qx, qy, qz, qw]`` (a ROS parameter)."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (7,) or not np.all(np.isfinite(values)):
        raise ValueError(f"extrinsic must be 7 finite numbers [x, y, z, qx, qy, qz, qw]: {values}")
    if np.linalg.norm(values[3:]) < 1e-9:
        raise ValueError("extrinsic quaternion is zero")
    return from_xyz_quat(values[:3], values[3:])


def default_camera_extrinsic() -> np.ndarray:
    """Camera optical frame at the base origin, looking along the base's +x axis."""
    return transform(OPTICAL_IN_BODY, np.zeros(3))


def interpolate(pose0: np.ndarray, pose1: np.ndarray, fraction: float) -> np.ndarray:
    """Pose between two poses: linear in translation, slerp in rotation."""
    rotations = Rotation.from_matrix(np.stack([pose0[:3, :3], pose1[:3, :3]]))
    rotation = Slerp([0.0, 1.0], rotations)(fraction).as_matrix()
    return transform(rotation, (1.0 - fraction) * pose0[:3, 3] + fraction * pose1[:3, 3])


def enu_in_ecef(frame: LocalENU) -> np.ndarray:
    """Pose of a local ENU frame in ECEF (the REP-105 ``earth → map`` transform)."""
    lat, lon = np.radians(frame.lat0), np.radians(frame.lon0)
    east = np.array([-np.sin(lon), np.cos(lon), 0.0])
    north = np.array([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)])
    up = np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    origin = np.array([float(v) for v in geodetic_to_ecef(frame.lat0, frame.lon0, frame.alt0)])
    return transform(np.stack([east, north, up], axis=1), origin)


def enu_in_enu(frame: LocalENU, reference: LocalENU) -> np.ndarray:
    """Pose of one local ENU frame in another (through ECEF; identity when they coincide)."""
    return inverse(enu_in_ecef(reference)) @ enu_in_ecef(frame)


def base_from_camera(
    map_camera: np.ndarray, camera_covariance: np.ndarray, base_camera: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Base pose in the map from a camera's pose, with the 6x6 covariance carried over.

    Rotation perturbations are about the map axes (PoseWithCovariance), so the camera's
    orientation error moves the base through the lever arm between the two.
    """
    T_map_base = map_camera @ inverse(base_camera)
    lever = T_map_base[:3, :3] @ base_camera[:3, 3]
    jac = np.eye(6)
    jac[:3, 3:] = skew(lever)
    return T_map_base, jac @ camera_covariance @ jac.T


class TransformTree:
    """Static transforms (e.g. from /tf_static) keyed by child; looks up chains between frames."""

    def __init__(self) -> None:
        self._parents: dict[str, tuple[str, np.ndarray]] = {}

    def set(self, parent: str, child: str, parent_child: np.ndarray) -> None:
        """Add or replace the edge ``parent → child`` (the child's pose in the parent)."""
        self._parents[child] = (parent, parent_child)

    def lookup(self, target: str, source: str) -> np.ndarray | None:
        """``T_target_source``, or None when the two frames are not connected."""
        root_source, T_root_source = self._to_root(source)
        root_target, T_root_target = self._to_root(target)
        if root_source is None or root_source != root_target:
            return None
        return inverse(T_root_target) @ T_root_source

    def _to_root(self, frame: str) -> tuple[str | None, np.ndarray]:
        T = np.eye(4)
        seen = {frame}
        while frame in self._parents:
            frame, T_parent = self._parents[frame]
            if frame in seen:  # a cycle: refuse rather than loop forever
                return None, T
            seen.add(frame)
            T = T_parent @ T
        return frame, T
