"""Smooth successive geo-registered poses into one output pose with covariance.

A Kalman filter on position and a variance-weighted slerp on orientation. Between fixes the
motion model is the platform's odometry when it is known at both stamps (``odom → base``,
the dead reckoning the node and the replay already receive): the last pose moved by the
odometry step, with a process noise that grows with the distance driven. Without odometry
the platform may have moved anywhere its top speed allows: the process noise per axis is
``(max_speed · dt)²``. Innovations beyond a chi-square gate are refused as jumps; after
`max_consecutive_jumps` refusals in a row the filter re-initialises, so a wrong first fix
cannot lock the output forever.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sky2ground_ros.geo.rotations import matrix_from_quaternion, quaternion_from_matrix
from sky2ground_ros.localizer.geometry import inverse, transform

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


@dataclass(frozen=True)
class SmoothingConfig:
    """Process noise of the motion model and the jump gate's patience."""

    max_speed_m_s: float = 20.0
    """Top speed of the platform: without odometry, the per-axis position noise is
    ``(max_speed · dt)²``, so motion at that speed is a one-sigma step."""
    odometry_drift_fraction: float = 0.1
    """With odometry, the per-axis position noise is this fraction of the distance driven."""
    position_noise_m2_per_s: float = 0.5
    """Random-walk position noise on top of either model (slip, unmodelled motion)."""
    rotation_noise_rad2_per_s: float = 0.01
    max_consecutive_jumps: int = 3

    def __post_init__(self) -> None:
        if not (self.max_speed_m_s > 0 and self.odometry_drift_fraction >= 0):
            raise ValueError("max_speed_m_s must be positive and the drift fraction >= 0")
        if min(self.position_noise_m2_per_s, self.rotation_noise_rad2_per_s) < 0:
            raise ValueError("process noises must be >= 0")
        if self.max_consecutive_jumps < 1:
            raise ValueError("max_consecutive_jumps must be >= 1")


class PoseSmoother:
    """Fuse pose fixes; `update` returns the smoothed estimate or None for a refused jump."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self.jumps_refused = 0
        self._state: PoseEstimate | None = None
        self._state_odom: np.ndarray | None = None
        self._consecutive_jumps = 0

    def update(self, fix: PoseEstimate, odom_base: np.ndarray | None = None) -> PoseEstimate | None:
        """Fold a new fix into the estimate; ``odom_base`` is the odometry pose at its stamp."""
        if self._state is None or fix.stamp <= self._state.stamp:
            return self._restart(fix, odom_base)
        prior = self._predict(fix.stamp, odom_base)
        P = prior.covariance[:3, :3]
        innovation = fix.position - prior.position
        S = P + fix.covariance[:3, :3]
        if innovation @ np.linalg.solve(S, innovation) > CHI2_3DOF_99:
            self.jumps_refused += 1
            self._consecutive_jumps += 1
            if self._consecutive_jumps >= self.config.max_consecutive_jumps:
                return self._restart(fix, odom_base)
            return None
        self._consecutive_jumps = 0
        gain = P @ np.linalg.inv(S)
        position = prior.position + gain @ innovation
        position_cov = (np.eye(3) - gain) @ P

        prior_rot_var = np.trace(prior.covariance[3:, 3:])
        fix_rot_var = np.trace(fix.covariance[3:, 3:])
        weight = prior_rot_var / (prior_rot_var + fix_rot_var)
        quaternion = slerp(prior.quaternion, fix.quaternion, weight)
        rot_cov = fix.covariance[3:, 3:] * (1.0 - weight)

        covariance = np.zeros((6, 6))
        covariance[:3, :3] = (position_cov + position_cov.T) / 2
        covariance[3:, 3:] = rot_cov
        self._state = PoseEstimate(fix.stamp, position, quaternion, covariance)
        self._state_odom = odom_base
        return self._state

    def predict(self, stamp: float, odom_base: np.ndarray | None = None) -> PoseEstimate | None:
        """The estimate carried to ``stamp`` (odometry pose ``odom_base``); None before a fix."""
        if self._state is None or stamp < self._state.stamp:
            return None
        return self._predict(stamp, odom_base)

    def reset(self) -> None:
        """Drop the current estimate (e.g. when time jumps backwards in bag playback)."""
        self._state = None
        self._state_odom = None
        self._consecutive_jumps = 0

    def _restart(self, fix: PoseEstimate, odom_base: np.ndarray | None) -> PoseEstimate:
        self._state = fix
        self._state_odom = odom_base
        self._consecutive_jumps = 0
        return fix

    def _predict(self, stamp: float, odom_base: np.ndarray | None) -> PoseEstimate:
        """The state carried to ``stamp`` by odometry, or held in place with speed-sized noise."""
        state, config = self._state, self.config
        if state is None:
            raise RuntimeError("nothing to predict before the first fix")
        dt = stamp - state.stamp
        position, quaternion = state.position, state.quaternion
        if odom_base is not None and self._state_odom is not None:
            step = inverse(self._state_odom) @ odom_base
            moved = transform(matrix_from_quaternion(state.quaternion), state.position) @ step
            position, quaternion = moved[:3, 3], quaternion_from_matrix(moved[:3, :3])
            sigma = config.odometry_drift_fraction * float(np.linalg.norm(step[:3, 3]))
        else:
            sigma = config.max_speed_m_s * dt
        covariance = state.covariance.copy()
        covariance[:3, :3] += np.eye(3) * (sigma**2 + config.position_noise_m2_per_s * dt)
        covariance[3:, 3:] += np.eye(3) * config.rotation_noise_rad2_per_s * dt
        return PoseEstimate(stamp, position, quaternion, covariance)
