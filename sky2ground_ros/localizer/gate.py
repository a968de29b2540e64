"""Confidence gate: decide whether a registered window is trustworthy enough to publish.

Each check names what failed and by how much, so /diagnostics says why no pose came out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sky2ground_ros.geo.registration import RegistrationResult


@dataclass(frozen=True)
class GateConfig:
    """Thresholds a window must meet; a value of 0 disables the optional checks."""

    min_inlier_tiles: int = 3
    max_tile_rms_m: float = 30.0
    """RMS distance between registered and known tile cameras."""
    max_tile_rms_deg: float = 10.0
    max_position_sigma_m: float = 30.0
    """Largest standard deviation of the output position (from its covariance)."""
    min_pose_confidence: float = 0.0
    """Lowest model pose confidence of the newest frames (heuristic, in [0, 1))."""
    max_focal_error: float = 0.0
    """Largest relative difference between predicted and CameraInfo focal lengths (0: off)."""


def gate_rejection(
    config: GateConfig,
    registration: RegistrationResult,
    covariance: np.ndarray,
    pose_confidence: float,
    focal_error: float,
) -> str | None:
    """The first failed check as a sentence, or None when the window passes."""
    if len(registration.inliers) < config.min_inlier_tiles:
        return f"{len(registration.inliers)} inlier tiles < {config.min_inlier_tiles}"
    if registration.rms_position_m > config.max_tile_rms_m:
        return f"tile residual {registration.rms_position_m:.1f} m > {config.max_tile_rms_m} m"
    if registration.rms_rotation_deg > config.max_tile_rms_deg:
        return (
            f"tile residual {registration.rms_rotation_deg:.1f} deg > {config.max_tile_rms_deg} deg"
        )
    sigma = float(np.sqrt(max(np.linalg.eigvalsh(covariance[:3, :3]).max(), 0.0)))
    if not np.isfinite(sigma) or sigma > config.max_position_sigma_m:
        return f"position sigma {sigma:.1f} m > {config.max_position_sigma_m} m"
    if pose_confidence < config.min_pose_confidence:
        return f"pose confidence {pose_confidence:.3f} < {config.min_pose_confidence}"
    if config.max_focal_error > 0 and not focal_error <= config.max_focal_error:
        return f"focal length off by {100 * focal_error:.0f}% > {100 * config.max_focal_error:.0f}%"
    return None
