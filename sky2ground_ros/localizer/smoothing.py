"""Smooth successive geo-registered poses into one output pose with covariance.

A Kalman filter on position and a variance-weighted slerp on orientation. Between fixes the
motion model is the platform's odometry when it is known at both stamps (``odom → base``,
the dead reckoning the node and the replay already receive): the last pose moved by the
odometry step, with a process noise that grows with the distance driven. Without odometry
the platform may have moved anywhere its top speed allows: the process noise per axis is
``(max_speed · dt)²``. Innovations beyond a chi-square gate are refused as jumps; after
`max_consecutive_jumps` refusals in a row the filter re-initialises, so a wrong first fix
cannot lock the output forever.

Fixes read around a prior share that prior's error (a GNSS bias persists for tens of seconds),
so they are not independent: fusing them as if they were shrinks the published sigma below
the error that persists. Each fix may name the part of its covariance that is correlated with
earlier fixes; the filter carries that error as a first-order Gauss-Markov state (correlation
time ``prior_correlation_s``) next to the position and averages only the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sky2ground_ros.geo.rotations import matrix_from_quaternion, quaternion_from_matrix
from sky2ground_ros.localizer.geometry import inverse, transform

CHI2_3DOF_99 = 11.345
MAX_CORRELATED_FRACTION = 0.95
"""Largest share of a fix's covariance taken as correlated: a white part keeps the
innovation covariance invertible."""


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
    prior_correlation_s: float = 30.0
    """Correlation time of the fixes' correlated error (the prior's, e.g. a GNSS bias)."""
    max_consecutive_jumps: int = 3

    def __post_init__(self) -> None:
        if not (self.max_speed_m_s > 0 and self.odometry_drift_fraction >= 0):
            raise ValueError("max_speed_m_s must be positive and the drift fraction >= 0")
        if min(self.position_noise_m2_per_s, self.rotation_noise_rad2_per_s) < 0:
            raise ValueError("process noises must be >= 0")
        if not self.prior_correlation_s > 0:
            raise ValueError("prior_correlation_s must be positive")
        if self.max_consecutive_jumps < 1:
            raise ValueError("max_consecutive_jumps must be >= 1")


def correlated_part(covariance: np.ndarray, correlated: np.ndarray | None) -> np.ndarray:
    """The fix's correlated 3x3 position covariance, bounded by `MAX_CORRELATED_FRACTION` of
    its whole position covariance (zero when the fix names none)."""
    if correlated is None:
        return np.zeros((3, 3))
    whole = covariance[:3, :3]
    root = np.linalg.cholesky(whole)
    relative = np.linalg.solve(root, np.linalg.solve(root, correlated).T)
    values, vectors = np.linalg.eigh((relative + relative.T) / 2)
    values = np.clip(values, 0.0, MAX_CORRELATED_FRACTION)
    return root @ (vectors * values) @ vectors.T @ root.T


@dataclass(frozen=True)
class _State:
    """The filter's state: position and correlated error (6-vector, 6x6 covariance) with the
    orientation and its 3x3 covariance; `correlated` is the last fix's stationary part."""

    stamp: float
    mean: np.ndarray
    covariance: np.ndarray
    quaternion: np.ndarray
    rotation_covariance: np.ndarray
    correlated: np.ndarray
    odom: np.ndarray | None

    def estimate(self) -> PoseEstimate:
        covariance = np.zeros((6, 6))
        covariance[:3, :3] = self.covariance[:3, :3]
        covariance[3:, 3:] = self.rotation_covariance
        return PoseEstimate(self.stamp, self.mean[:3].copy(), self.quaternion, covariance)


class PoseSmoother:
    """Fuse pose fixes; `update` returns the smoothed estimate or None for a refused jump."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = config or SmoothingConfig()
        self.jumps_refused = 0
        self._state: _State | None = None
        self._consecutive_jumps = 0

    def update(
        self,
        fix: PoseEstimate,
        odom_base: np.ndarray | None = None,
        correlated: np.ndarray | None = None,
    ) -> PoseEstimate | None:
        """Fold a new fix into the estimate; ``odom_base`` is the odometry pose at its stamp and
        ``correlated`` the 3x3 part of its position covariance shared with earlier fixes."""
        shared = correlated_part(fix.covariance, correlated)
        if self._state is None or fix.stamp <= self._state.stamp:
            return self._restart(fix, odom_base, shared)
        prior = self._predict(fix.stamp, odom_base, shared)
        H = np.hstack([np.eye(3), np.eye(3)])
        P = prior.covariance
        innovation = fix.position - H @ prior.mean
        S = H @ P @ H.T + fix.covariance[:3, :3] - shared
        if innovation @ np.linalg.solve(S, innovation) > CHI2_3DOF_99:
            self.jumps_refused += 1
            self._consecutive_jumps += 1
            if self._consecutive_jumps >= self.config.max_consecutive_jumps:
                return self._restart(fix, odom_base, shared)
            return None
        self._consecutive_jumps = 0
        gain = P @ H.T @ np.linalg.inv(S)
        mean = prior.mean + gain @ innovation
        covariance = (np.eye(6) - gain @ H) @ P

        prior_rot_var = np.trace(prior.rotation_covariance)
        fix_rot_var = np.trace(fix.covariance[3:, 3:])
        weight = prior_rot_var / (prior_rot_var + fix_rot_var)
        quaternion = slerp(prior.quaternion, fix.quaternion, weight)
        rotation_covariance = fix.covariance[3:, 3:] * (1.0 - weight)
        self._state = _State(
            fix.stamp,
            mean,
            (covariance + covariance.T) / 2,
            quaternion,
            rotation_covariance,
            shared,
            odom_base,
        )
        return self._state.estimate()

    def predict(self, stamp: float, odom_base: np.ndarray | None = None) -> PoseEstimate | None:
        """The estimate carried to ``stamp`` (odometry pose ``odom_base``); None before a fix."""
        if self._state is None or stamp < self._state.stamp:
            return None
        return self._predict(stamp, odom_base, self._state.correlated).estimate()

    def reset(self) -> None:
        """Drop the current estimate (e.g. when time jumps backwards in bag playback)."""
        self._state = None
        self._consecutive_jumps = 0

    def _restart(
        self, fix: PoseEstimate, odom_base: np.ndarray | None, shared: np.ndarray
    ) -> PoseEstimate:
        """Start from the fix alone: its position, and a correlated error of zero mean whose
        covariance is the fix's shared part (the position's error is anti-correlated to it)."""
        covariance = np.zeros((6, 6))
        covariance[:3, :3] = fix.covariance[:3, :3]
        covariance[:3, 3:] = covariance[3:, :3] = -shared
        covariance[3:, 3:] = shared
        mean = np.concatenate([fix.position, np.zeros(3)])
        self._state = _State(
            fix.stamp, mean, covariance, fix.quaternion, fix.covariance[3:, 3:], shared, odom_base
        )
        self._consecutive_jumps = 0
        return self._state.estimate()

    def _predict(self, stamp: float, odom_base: np.ndarray | None, shared: np.ndarray) -> _State:
        """The state carried to ``stamp``: the position by odometry (or held in place with
        speed-sized noise), the correlated error decayed toward ``shared``, its stationary
        covariance."""
        state, config = self._state, self.config
        if state is None:
            raise RuntimeError("nothing to predict before the first fix")
        dt = stamp - state.stamp
        position, quaternion = state.mean[:3], state.quaternion
        if odom_base is not None and state.odom is not None:
            step = inverse(state.odom) @ odom_base
            moved = transform(matrix_from_quaternion(state.quaternion), position) @ step
            position, quaternion = moved[:3, 3], quaternion_from_matrix(moved[:3, :3])
            sigma = config.odometry_drift_fraction * float(np.linalg.norm(step[:3, 3]))
        else:
            sigma = config.max_speed_m_s * dt
        decay = float(np.exp(-dt / config.prior_correlation_s))
        transition = np.eye(6)
        transition[3:, 3:] *= decay
        covariance = transition @ state.covariance @ transition.T
        covariance[:3, :3] += np.eye(3) * (sigma**2 + config.position_noise_m2_per_s * dt)
        covariance[3:, 3:] += (1.0 - decay**2) * shared
        mean = np.concatenate([position, decay * state.mean[3:]])
        rotation_covariance = (
            state.rotation_covariance + np.eye(3) * config.rotation_noise_rad2_per_s * dt
        )
        return _State(stamp, mean, covariance, quaternion, rotation_covariance, shared, odom_base)
