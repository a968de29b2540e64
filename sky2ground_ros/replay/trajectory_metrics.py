"""Trajectory accuracy of a replay against ground truth: APE and RPE computed with evo.

evo (installed without torch) associates poses whose stamps differ by at most
`MAX_TIME_DIFFERENCE_S`, interpolating the denser trajectory at the sparser one's stamps,
and computes the per-pose errors with its definitions: APE translation
``‖t_ref,i − t_est,i‖``, APE rotation the angle of ``R_ref,iᵀ R_est,i``, RPE the same on the
relative motion between consecutive estimates (``(Q_iᵀQ_i+1)ᵀ (P_iᵀP_i+1)``).
Geo-localization is absolute, so the headline errors are *unaligned*: the map frame is
geo-referenced and any offset is a real error. The SE(3)-aligned APE (Umeyama, no scale)
separates the trajectory's shape from a constant offset (not defined, so left out, for
collinear positions such as a straight drive). Horizontal errors use the same
association on the East/North components only.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
from evo.core import metrics, sync
from evo.core.geometry import GeometryException
from evo.core.trajectory import PoseTrajectory3D, TrajectoryException
from scipy.spatial.transform import Rotation

MAX_TIME_DIFFERENCE_S = 0.1
"""Largest stamp difference at which poses are associated."""


@dataclass(frozen=True)
class Trajectory:
    """Stamped poses: seconds, positions (N, 3), quaternions (N, 4, x y z w)."""

    stamps: np.ndarray
    positions: np.ndarray
    quaternions: np.ndarray

    def __len__(self) -> int:
        return len(self.stamps)

    @classmethod
    def from_poses(cls, stamps: list[float], poses: list[np.ndarray]) -> Trajectory:
        """From 4x4 matrices."""
        if not poses:
            return cls(np.zeros(0), np.zeros((0, 3)), np.zeros((0, 4)))
        stack = np.stack(poses)
        quats = Rotation.from_matrix(stack[:, :3, :3]).as_quat()
        return cls(np.asarray(stamps, dtype=np.float64), stack[:, :3, 3].copy(), quats)

    def to_evo(self) -> PoseTrajectory3D:
        wxyz = np.roll(self.quaternions, 1, axis=1)
        return PoseTrajectory3D(self.positions, wxyz, self.stamps)


@dataclass(frozen=True)
class ErrorStats:
    """Summary of per-pose errors."""

    rmse: float
    mean: float
    median: float
    max: float
    count: int

    @classmethod
    def of(cls, errors: np.ndarray) -> ErrorStats:
        errors = np.asarray(errors, dtype=np.float64)
        return cls(
            rmse=float(np.sqrt(np.mean(errors**2))),
            mean=float(np.mean(errors)),
            median=float(np.median(errors)),
            max=float(np.max(errors)),
            count=int(errors.size),
        )


APE_TRANSLATION = "APE translation (m)"
APE_HORIZONTAL = "APE horizontal (m)"
APE_ROTATION = "APE rotation (deg)"
APE_ALIGNED = "APE translation, SE(3)-aligned (m)"
RPE_TRANSLATION = "RPE translation, consecutive poses (m)"
RPE_ROTATION = "RPE rotation, consecutive poses (deg)"
GNSS_HORIZONTAL = "GNSS fix horizontal, input prior (m)"
POSE_METRICS = (
    APE_TRANSLATION,
    APE_HORIZONTAL,
    APE_ROTATION,
    APE_ALIGNED,
    RPE_TRANSLATION,
    RPE_ROTATION,
)
"""The localizer's rows of the error table, in order."""


def associate(
    reference: Trajectory, estimate: Trajectory
) -> tuple[PoseTrajectory3D, PoseTrajectory3D]:
    """evo's time association (interpolating the denser trajectory); ValueError if none."""
    try:
        ref, est = sync.associate_trajectories(
            reference.to_evo(),
            estimate.to_evo(),
            sync_method=sync.SyncMethod.interpolation,
            max_diff=MAX_TIME_DIFFERENCE_S,
        )
    except (sync.SyncException, TrajectoryException) as error:  # e.g. a single pose each
        raise ValueError(f"no poses to compare: {error}") from error
    return ref, est


def pose_errors(reference: Trajectory, estimate: Trajectory) -> dict[str, ErrorStats]:
    """APE (unaligned and SE(3)-aligned), horizontal APE and RPE of an estimate."""
    ref, est = associate(reference, estimate)
    out = {
        APE_TRANSLATION: _evo(metrics.APE(metrics.PoseRelation.translation_part), ref, est),
        APE_HORIZONTAL: ErrorStats.of(_horizontal(ref, est)),
        APE_ROTATION: _evo(metrics.APE(metrics.PoseRelation.rotation_angle_deg), ref, est),
    }
    if est.num_poses >= 3:
        aligned = copy.deepcopy(est)
        try:
            aligned.align(ref, correct_scale=False)
        except GeometryException:  # collinear positions (a straight drive): no unique alignment
            aligned = None
        if aligned is not None:
            ape = metrics.APE(metrics.PoseRelation.translation_part)
            out[APE_ALIGNED] = _evo(ape, ref, aligned)
    if est.num_poses >= 2:
        for name, relation in (
            (RPE_TRANSLATION, metrics.PoseRelation.translation_part),
            (RPE_ROTATION, metrics.PoseRelation.rotation_angle_deg),
        ):
            rpe = metrics.RPE(relation, delta=1, delta_unit=metrics.Unit.frames, all_pairs=False)
            out[name] = _evo(rpe, ref, est)
    return out


def horizontal_errors(reference: Trajectory, positions: Trajectory) -> ErrorStats:
    """East/North error of positions (e.g. GNSS fixes) against the reference at their stamps."""
    ref, est = associate(reference, positions)
    return ErrorStats.of(_horizontal(ref, est))


def _evo(metric: metrics.PE, ref: PoseTrajectory3D, est: PoseTrajectory3D) -> ErrorStats:
    metric.process_data((ref, est))
    return ErrorStats.of(metric.error)


def _horizontal(ref: PoseTrajectory3D, est: PoseTrajectory3D) -> np.ndarray:
    return np.linalg.norm(ref.positions_xyz[:, :2] - est.positions_xyz[:, :2], axis=1)
