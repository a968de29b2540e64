"""Similarity transforms and their least-squares estimation from cameras.

``X_target = scale * rotation @ X_source + translation``. The estimator is Umeyama's
(weighted means, scale from the centred point sets) with the rotation solved as one Wahba
problem by scipy's `Rotation.align_vectors`: the centred camera centres and, when given,
the cameras' axes (columns of the camera-to-world rotations, which a similarity maps by its
rotation alone) are aligned together, so the camera orientations constrain the rotation
as well as the positions do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial.transform import Rotation


class DegenerateGeometryError(ValueError):
    """The cameras do not determine a similarity (coincident or collinear centres, NaN)."""


@dataclass(frozen=True)
class Sim3:
    """A 3D similarity transform ``x -> scale * rotation @ x + translation``."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: ArrayLike) -> np.ndarray:
        """Transform points (..., 3)."""
        points = np.asarray(points, dtype=np.float64)
        return self.scale * points @ self.rotation.T + self.translation

    def inverse(self) -> Sim3:
        """The inverse similarity."""
        rotation = self.rotation.T
        return Sim3(1.0 / self.scale, rotation, -rotation @ self.translation / self.scale)

    def matrix(self) -> np.ndarray:
        """4x4 homogeneous matrix."""
        out = np.eye(4)
        out[:3, :3] = self.scale * self.rotation
        out[:3, 3] = self.translation
        return out

    def transform_extrinsics(self, extrinsics: ArrayLike) -> np.ndarray:
        """World-to-camera ``[R|t]`` (..., 3, 4) of the source frame expressed in the target.

        The camera keeps its orientation relative to the scene; its centre moves with the
        similarity, and translations come out in target units (metres for ENU).
        """
        extrinsics = np.asarray(extrinsics, dtype=np.float64)
        rotation = extrinsics[..., :3, :3] @ self.rotation.T
        centres = self.apply(camera_centres(extrinsics))
        translation = -np.einsum("...ij,...j->...i", rotation, centres)
        return np.concatenate([rotation, translation[..., None]], axis=-1)


def camera_centres(extrinsics: ArrayLike) -> np.ndarray:
    """Camera centres (..., 3) of world-to-camera ``[R|t]`` matrices (..., 3, 4)."""
    extrinsics = np.asarray(extrinsics, dtype=np.float64)
    return -np.einsum("...ji,...j->...i", extrinsics[..., :3, :3], extrinsics[..., :3, 3])


def centre_spread(points: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Largest and second-largest standard deviation of weighted points along principal axes."""
    mean = weights @ points
    centred = (points - mean) * np.sqrt(weights)[:, None]
    singular = np.linalg.svd(centred, compute_uv=False)
    return float(singular[0]), float(singular[1]) if singular.size > 1 else 0.0


def estimate_sim3(
    source_centres: ArrayLike,
    target_centres: ArrayLike,
    source_rotations: ArrayLike | None = None,
    target_rotations: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    orientation_weight: float = 1.0,
    collinear_ratio: float = 1e-3,
) -> Sim3:
    """Weighted least-squares similarity mapping source cameras onto target cameras.

    Centres are (N, 3); rotations, when given, are world-to-camera (N, 3, 3) in each frame.
    Positions and orientations enter the rotation fit with equal total weight times
    ``orientation_weight``. Raises `DegenerateGeometryError` when the centres coincide,
    contain non-finite values, or (without orientations) are collinear.
    """
    src = np.asarray(source_centres, dtype=np.float64).reshape(-1, 3)
    dst = np.asarray(target_centres, dtype=np.float64).reshape(-1, 3)
    n = len(src)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).reshape(n)
    if len(dst) != n:
        raise ValueError(f"{n} source centres but {len(dst)} target centres")
    if not (np.all(np.isfinite(src)) and np.all(np.isfinite(dst)) and np.all(np.isfinite(w))):
        raise DegenerateGeometryError("non-finite camera centres or weights")
    if n < 2 or np.any(w < 0.0) or w.sum() <= 0.0:
        raise DegenerateGeometryError(f"need >= 2 cameras with positive weight, got {n}")
    w = w / w.sum()

    src_major, src_minor = centre_spread(src, w)
    dst_major, dst_minor = centre_spread(dst, w)
    if src_major <= 1e-12 * max(1.0, np.abs(src).max()) or dst_major <= 1e-9:
        raise DegenerateGeometryError("camera centres coincide: the scale is undetermined")
    with_orientation = source_rotations is not None and target_rotations is not None
    if not with_orientation and min(src_minor / src_major, dst_minor / dst_major) < collinear_ratio:
        raise DegenerateGeometryError("camera centres are collinear: the rotation is undetermined")

    src_mean, dst_mean = w @ src, w @ dst
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_scale = np.sqrt(w @ np.sum(src_c**2, axis=1))
    dst_scale = np.sqrt(w @ np.sum(dst_c**2, axis=1))
    vectors_dst, vectors_src, vector_w = [dst_c / dst_scale], [src_c / src_scale], [w]
    if with_orientation:
        # Columns of camera-to-world rotations: target axis = R @ source axis, for all cameras.
        src_axes = np.asarray(source_rotations, dtype=np.float64).reshape(n, 3, 3)
        dst_axes = np.asarray(target_rotations, dtype=np.float64).reshape(n, 3, 3)
        if not (np.all(np.isfinite(src_axes)) and np.all(np.isfinite(dst_axes))):
            raise DegenerateGeometryError("non-finite camera rotations")
        vectors_src.append(src_axes.reshape(n * 3, 3))
        vectors_dst.append(dst_axes.reshape(n * 3, 3))
        vector_w.append(np.repeat(w * orientation_weight / 3.0, 3))
    rotation, _ = Rotation.align_vectors(
        np.concatenate(vectors_dst), np.concatenate(vectors_src), np.concatenate(vector_w)
    )
    R = rotation.as_matrix()

    scale = float(w @ np.einsum("ij,ij->i", dst_c, src_c @ R.T)) / float(src_scale**2)
    if not (np.isfinite(scale) and scale > 0.0):
        raise DegenerateGeometryError(f"non-positive scale {scale}: cameras are inconsistent")
    return Sim3(scale, R, dst_mean - scale * R @ src_mean)
