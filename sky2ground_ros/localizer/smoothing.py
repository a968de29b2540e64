"""Smooth successive geo-registered poses into one output pose with covariance.

A random-walk Kalman filter on position (covariance grows with time between fixes) and a
variance-weighted slerp on orientation. Innovations beyond a Mahalanobis gate are refused
as jumps; after `max_consecutive_jumps` refusals in a row the filter re-initialises, so a
wrong first fix cannot lock the output forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHI2_3DOF_99 = 11.345


def slerp(q0: np.ndarray, q1: np.ndarray, fraction: float) -> np.ndarray:
    """Shortest-path spherical interpolation of unit quaternions (x, y, z, w).

    Written out rather than through scipy's Slerp, which costs ~0.2 ms per call to build.
    """
    q0 = q0 / np.linalg.norm(q0)
    q1 = q1 / np.linalg.norm(q1)
    dot = float(q0 @ q1)
    if dot < 0.0:
        q1, dot = -q1, -dot
    angle = np.arccos(min(dot, 1.0))
    if angle < 1e-9:
        return q0.copy()
    out = (np.sin((1.0 - fraction) * angle) * q0 + np.sin(fraction * angle) * q1) / np.sin(angle)
    return out / np.linalg.norm(out)


@dataclass(frozen=True)
class PoseEstimate:
    """A pose in the map (ENU) frame: position, quaternion (x, y, z, w), 6x6 covariance."""

    stamp: float
    position: np.ndarray
    quaternion: np.ndarray
    covariance: np.ndarray  # order x, y, z, roll, pitch, yaw (ROS PoseWithCovariance)


@dataclass
class PoseSmoother:
    """Fuse pose fixes; `update` returns the smoothed estimate or None for a refused jump."""

    position_noise_m2_per_s: float = 0.5
    rotation_noise_rad2_per_s: float = 0.01
    max_consecutive_jumps: int = 3
    jumps_refused: int = 0
    _state: PoseEstimate | None = None
    _consecutive_jumps: int = 0

    def update(self, fix: PoseEstimate) -> PoseEstimate | None:
        """Fold a new fix into the estimate."""
        if self._state is None or fix.stamp <= self._state.stamp:
            self._state = fix
            self._consecutive_jumps = 0
            return fix
        prior = self._state
        dt = fix.stamp - prior.stamp
        P = prior.covariance[:3, :3] + np.eye(3) * self.position_noise_m2_per_s * dt
        R = fix.covariance[:3, :3]
        innovation = fix.position - prior.position
        S = P + R
        if innovation @ np.linalg.solve(S, innovation) > CHI2_3DOF_99:
            self.jumps_refused += 1
            self._consecutive_jumps += 1
            if self._consecutive_jumps >= self.max_consecutive_jumps:
                self._state = fix
                self._consecutive_jumps = 0
                return fix
            return None
        self._consecutive_jumps = 0
        gain = P @ np.linalg.inv(S)
        position = prior.position + gain @ innovation
        position_cov = (np.eye(3) - gain) @ P

        prior_rot_var = np.trace(prior.covariance[3:, 3:]) + 3 * self.rotation_noise_rad2_per_s * dt
        fix_rot_var = np.trace(fix.covariance[3:, 3:])
        weight = prior_rot_var / (prior_rot_var + fix_rot_var)
        quaternion = slerp(prior.quaternion, fix.quaternion, weight)
        rot_cov = fix.covariance[3:, 3:] * (1.0 - weight)

        covariance = np.zeros((6, 6))
        covariance[:3, :3] = (position_cov + position_cov.T) / 2
        covariance[3:, 3:] = rot_cov
        self._state = PoseEstimate(fix.stamp, position, quaternion, covariance)
        return self._state

    def reset(self) -> None:
        """Drop the current estimate (e.g. when time jumps backwards in bag playback)."""
        self._state = None
        self._consecutive_jumps = 0
