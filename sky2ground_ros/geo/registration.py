"""Geo-registration of a SkyNet window: predicted satellite cameras → their known ENU poses.

The model predicts world-to-camera extrinsics for every frame of a window in an arbitrary
frame and scale. The satellite tiles of the window have known ENU cameras (`tile_camera`),
so one similarity ``X_enu = s R X_pred + t`` maps the whole window to ENU:

1. hypotheses from every pair of tiles (all pairs when few, a seeded sample otherwise), each
   fitted on centres and orientations (`estimate_sim3`);
2. MSAC scoring: a tile is an inlier when its centre and orientation residuals are below
   thresholds (the position threshold is a fraction of the tile spacing, so it is
   zoom-independent); the best hypothesis is refitted on its inliers until the set is stable
   (local optimisation);
3. acceptance: the inliers are a majority of the tiles and their centres span a plane;
4. uncertainty: a 7-parameter covariance (log-scale, rotation, translation) from the
   confidence-weighted residuals, propagated to any camera's 6x6 pose covariance, plus that
   camera's own prediction error scaled by its confidence relative to the tiles'.

Every degenerate input (fewer than 2 tiles, collinear or coincident centres, NaN, no
majority) gives ``ok=False`` with a reason and no transform; `camera_pose` refuses it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.rotations import quaternion_from_matrix, rotation_vector, skew
from sky2ground_ros.geo.sim3 import (
    DegenerateGeometryError,
    Sim3,
    camera_centres,
    centre_spread,
    estimate_sim3,
)
from sky2ground_ros.views import ViewType


@dataclass(frozen=True)
class RegistrationConfig:
    """Thresholds of the robust Sim(3) fit."""

    inlier_spacing_fraction: float = 0.25
    """Position inlier threshold as a fraction of the median tile-to-nearest-tile distance."""
    inlier_rotation_deg: float = 10.0
    """Orientation inlier threshold."""
    orientation_weight: float = 1.0
    """Weight of camera orientations relative to centres in the rotation fit."""
    min_inlier_ratio: float = 0.5
    """The inliers must be more than this fraction of the tiles."""
    collinear_ratio: float = 0.05
    """Inlier tile centres whose minor/major spread ratio is below this are collinear."""
    max_hypotheses: int = 200
    """Pairs are enumerated when there are at most this many, otherwise sampled."""
    refinement_steps: int = 5
    seed: int = 0
    min_position_sigma_m: float = 0.05
    """Floor of the per-axis position noise (tile georeferencing is never perfect)."""
    min_rotation_sigma_deg: float = 0.05
    """Floor of the per-axis orientation noise."""


@dataclass(frozen=True)
class GeoPose:
    """One camera's optical-frame pose in ENU and WGS84, with its ROS-ordered covariance."""

    position_enu: np.ndarray
    """Camera centre (E, N, U) in metres."""
    rotation_enu: np.ndarray
    """Camera-to-ENU rotation of the OpenCV optical frame (x right, y down, z forward)."""
    latitude: float
    longitude: float
    altitude: float
    """Ellipsoidal height (m)."""
    covariance: np.ndarray
    """6x6 over (x, y, z, rotation about X, Y, Z) in ENU, as in PoseWithCovariance."""

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        """Orientation as a ROS quaternion (x, y, z, w)."""
        return quaternion_from_matrix(self.rotation_enu)

    @property
    def extrinsic_enu(self) -> np.ndarray:
        """World(ENU)-to-camera ``[R|t]`` (3x4)."""
        rotation = self.rotation_enu.T
        return np.concatenate([rotation, (-rotation @ self.position_enu)[:, None]], axis=1)


@dataclass(frozen=True)
class RegistrationResult:
    """Outcome of `register_tiles`; transform fields are None unless ``ok``."""

    ok: bool
    reason: str
    scale: float | None = None
    rotation: np.ndarray | None = None
    """3x3, predicted frame → ENU."""
    translation: np.ndarray | None = None
    """ENU metres."""
    inliers: tuple[int, ...] = ()
    """Indices of the tiles that agree with the transform."""
    rms_position_m: float = float("nan")
    rms_rotation_deg: float = float("nan")
    covariance: np.ndarray | None = None
    """6x6 ENU covariance of the window's reference frame (the model's identity camera)."""
    parameter_covariance: np.ndarray | None = field(default=None, repr=False)
    """7x7 over (log scale, rotation vector in ENU, translation in ENU)."""
    sigma_position_m: float = float("nan")
    sigma_rotation_rad: float = float("nan")
    mean_confidence: float = float("nan")

    @property
    def sim3(self) -> Sim3:
        """The predicted-frame → ENU similarity; raises if the registration failed."""
        if not self.ok or self.scale is None or self.rotation is None or self.translation is None:
            raise ValueError(f"registration failed: {self.reason}")
        return Sim3(self.scale, self.rotation, self.translation)

    def camera_pose(
        self, extrinsic: ArrayLike, frame: LocalENU, confidence: float | None = None
    ) -> GeoPose:
        """ENU/WGS84 pose of a predicted world-to-camera ``[R|t]`` with its covariance.

        ``confidence`` is the model's pose confidence of that frame (default: the tiles'
        mean), which scales the camera's own error relative to the tiles' residuals.
        """
        sim = self.sim3
        if self.parameter_covariance is None:
            raise ValueError("registration result has no covariance")
        extrinsic = np.asarray(extrinsic, dtype=np.float64).reshape(3, 4)
        if not np.all(np.isfinite(extrinsic)):
            raise ValueError("non-finite camera extrinsic")
        centre = camera_centres(extrinsic)
        position = sim.apply(centre)
        rotation = sim.rotation @ extrinsic[:, :3].T
        own = self.mean_confidence / _positive_confidence(confidence, self.mean_confidence)
        covariance = _camera_covariance(
            sim,
            self.parameter_covariance,
            centre,
            self.sigma_position_m**2 * own,
            self.sigma_rotation_rad**2 * own,
        )
        lat, lon, alt = frame.to_geodetic(*position)
        return GeoPose(position, rotation, float(lat), float(lon), float(alt), covariance)


@dataclass(frozen=True)
class WindowRegistration:
    """`register_window` output: the fit, and the ENU pose of every non-satellite frame."""

    result: RegistrationResult
    poses: dict[int, GeoPose]


def register_tiles(
    predicted_extrinsics: ArrayLike,
    tile_extrinsics_enu: ArrayLike,
    confidences: ArrayLike | None = None,
    config: RegistrationConfig | None = None,
) -> RegistrationResult:
    """Robust Sim(3) from predicted tile cameras (N, 3, 4) to their known ENU cameras.

    ``confidences`` (N,) are the model's per-frame pose confidences of the tiles (weights).
    """
    config = config or RegistrationConfig()
    pred = np.asarray(predicted_extrinsics, dtype=np.float64)
    known = np.asarray(tile_extrinsics_enu, dtype=np.float64)
    n = pred.shape[0] if pred.ndim == 3 else 0
    if pred.shape != (n, 3, 4) or known.shape != (n, 3, 4):
        return RegistrationResult(
            False, f"expected two (N, 3, 4) extrinsic arrays, got {pred.shape} and {known.shape}"
        )
    if n < 2:
        return RegistrationResult(False, f"fewer than 2 tiles ({n}): scale is unobservable")
    conf = np.ones(n) if confidences is None else np.asarray(confidences, dtype=np.float64)
    if conf.shape != (n,):
        return RegistrationResult(False, f"expected {n} confidences, got shape {conf.shape}")
    if not (np.all(np.isfinite(pred)) and np.all(np.isfinite(known))):
        return RegistrationResult(False, "non-finite (NaN/inf) camera extrinsics")
    if not np.all(np.isfinite(conf)) or np.any(conf < 0.0) or not np.any(conf > 0.0):
        return RegistrationResult(False, "confidences must be finite, >= 0 and not all zero")

    problem = _Problem(pred, known, conf, config)
    if problem.collinear(np.arange(n)):
        return RegistrationResult(False, f"the {n} tile centres are collinear (or coincide)")
    best, all_agree = problem.search()
    if best is None:
        return RegistrationResult(False, "no tile pair gives a consistent similarity")
    sim, inliers = (best, np.arange(n)) if all_agree else problem.refine(best)
    if len(inliers) <= config.min_inlier_ratio * n:
        return RegistrationResult(
            False, f"only {len(inliers)} of {n} tiles agree (need more than half)"
        )
    if problem.conf[inliers].sum() <= 0.0:
        return RegistrationResult(False, "every agreeing tile has zero confidence")
    if len(inliers) < n and problem.collinear(inliers):  # all tiles were checked above
        return RegistrationResult(
            False, f"the {len(inliers)} agreeing tile centres are collinear: rotation unobservable"
        )
    return problem.result(sim, inliers)


def register_window(
    extrinsics: ArrayLike,
    view_types: Sequence[int | ViewType],
    tile_extrinsics_enu: ArrayLike,
    frame: LocalENU,
    confidences: ArrayLike | None = None,
    config: RegistrationConfig | None = None,
) -> WindowRegistration:
    """Register a whole window and map its ground/aerial frames to ENU and WGS84.

    ``extrinsics`` (F, 3, 4) and ``confidences`` (F,) cover every frame; the satellite
    frames (by ``view_types``), in window order, correspond to ``tile_extrinsics_enu``.
    """
    extrinsics = np.asarray(extrinsics, dtype=np.float64)
    types = [ViewType.parse(v) for v in view_types]
    conf = np.ones(len(types)) if confidences is None else np.asarray(confidences, np.float64)
    if extrinsics.shape != (len(types), 3, 4) or conf.shape != (len(types),):
        raise ValueError(
            f"{len(types)} view types but extrinsics {extrinsics.shape}, confidences {conf.shape}"
        )
    tiles = [i for i, t in enumerate(types) if t == ViewType.SATELLITE]
    result = register_tiles(extrinsics[tiles], tile_extrinsics_enu, conf[tiles], config)
    poses: dict[int, GeoPose] = {}
    if result.ok:
        for i, view in enumerate(types):
            if view != ViewType.SATELLITE and np.all(np.isfinite(extrinsics[i])):
                poses[i] = result.camera_pose(extrinsics[i], frame, float(conf[i]))
    return WindowRegistration(result, poses)


def _positive_confidence(confidence: float | None, default: float) -> float:
    if confidence is None:
        return default
    if not (np.isfinite(confidence) and confidence > 0.0):
        raise ValueError(f"camera confidence must be positive, got {confidence}")
    return float(confidence)


def _camera_covariance(
    sim: Sim3,
    parameter_covariance: np.ndarray,
    centre: np.ndarray,
    position_variance: float,
    rotation_variance: float,
) -> np.ndarray:
    """Transform uncertainty propagated to a camera, plus the camera's own error variance."""
    jac = _pose_jacobian(sim, centre)
    own = np.diag([position_variance] * 3 + [rotation_variance] * 3)
    return jac @ parameter_covariance @ jac.T + own


def _pose_jacobian(sim: Sim3, centre: np.ndarray) -> np.ndarray:
    """d(ENU position, ENU rotation vector) / d(log scale, rotation vector, translation)."""
    moved = sim.scale * sim.rotation @ centre
    jac = np.zeros((6, 7))
    jac[:3, 0] = moved
    jac[:3, 1:4] = -skew(moved)
    jac[:3, 4:7] = np.eye(3)
    jac[3:, 1:4] = np.eye(3)
    return jac


class _Problem:
    """The tiles of one window and the pieces of the robust fit that share them."""

    def __init__(
        self, pred: np.ndarray, known: np.ndarray, conf: np.ndarray, config: RegistrationConfig
    ) -> None:
        self.config = config
        self.pred_centres = camera_centres(pred)
        self.known_centres = camera_centres(known)
        self.pred_rot = pred[:, :, :3]
        self.known_rot = known[:, :, :3]
        self.conf = conf
        gaps = np.linalg.norm(self.known_centres[:, None] - self.known_centres[None], axis=-1)
        gaps[gaps <= 0.0] = np.inf  # the diagonal, and duplicated tiles
        nearest = gaps.min(axis=1)
        spacing = np.median(nearest[np.isfinite(nearest)]) if np.isfinite(nearest).any() else 0.0
        self.position_threshold = config.inlier_spacing_fraction * float(spacing)
        self.rotation_threshold = np.radians(config.inlier_rotation_deg)

    def collinear(self, indices: np.ndarray | Sequence[int]) -> bool:
        idx = np.asarray(indices)
        if len(idx) < 3:
            return True
        weights = np.full(len(idx), 1.0 / len(idx))
        major, minor = centre_spread(self.known_centres[idx], weights)
        return major <= 0.0 or minor / major < self.config.collinear_ratio

    def fit(self, indices: np.ndarray | Sequence[int]) -> Sim3:
        idx = np.asarray(indices)
        return estimate_sim3(
            self.pred_centres[idx],
            self.known_centres[idx],
            self.pred_rot[idx],
            self.known_rot[idx],
            self.conf[idx],
            self.config.orientation_weight,
        )

    def residuals(self, sim: Sim3) -> tuple[np.ndarray, np.ndarray]:
        """Per-tile ENU position error (N, 3) and world-frame rotation-vector error (N, 3)."""
        position = sim.apply(self.pred_centres) - self.known_centres
        # predicted camera-to-ENU times the known ENU-to-camera: identity when they agree
        rotation = rotation_vector(sim.rotation @ np.swapaxes(self.pred_rot, 1, 2) @ self.known_rot)
        return position, rotation

    def normalised_errors(self, sim: Sim3) -> np.ndarray:
        position, rotation = self.residuals(sim)
        return np.maximum(
            np.linalg.norm(position, axis=1) / self.position_threshold,
            np.linalg.norm(rotation, axis=1) / self.rotation_threshold,
        )

    def search(self) -> tuple[Sim3 | None, bool]:
        """Best MSAC hypothesis over all tiles together and tile pairs; True when all agree.

        The all-tiles fit comes first: when every tile is an inlier of it, no hypothesis can
        have more inliers and `refine` would only refit on all tiles again, so the pairs and
        the refinement are skipped (the usual case for a good window, and most of the time).
        """
        n = len(self.conf)
        pairs = list(itertools.combinations(range(n), 2))
        if len(pairs) > self.config.max_hypotheses:
            rng = np.random.default_rng(self.config.seed)
            chosen = rng.choice(len(pairs), self.config.max_hypotheses, replace=False)
            pairs = [pairs[i] for i in sorted(chosen)]
        best, best_cost = None, np.inf
        for sample in [tuple(range(n)), *pairs]:
            try:
                sim = self.fit(sample)
            except DegenerateGeometryError:
                continue
            errors = self.normalised_errors(sim)
            if len(sample) == n and np.all(errors < 1.0):
                return sim, True
            cost = float(np.minimum(errors**2, 1.0).sum())
            if cost < best_cost:
                best, best_cost = sim, cost
        return best, False

    def refine(self, sim: Sim3) -> tuple[Sim3, np.ndarray]:
        """Local optimisation: refit on the inliers until the inlier set stops changing."""
        inliers = np.flatnonzero(self.normalised_errors(sim) < 1.0)
        for _ in range(self.config.refinement_steps):
            if len(inliers) < 2:
                break
            try:
                refit = self.fit(inliers)
            except DegenerateGeometryError:
                break
            updated = np.flatnonzero(self.normalised_errors(refit) < 1.0)
            if len(updated) < len(inliers):
                break
            sim, stable, inliers = refit, np.array_equal(updated, inliers), updated
            if stable:
                break
        return sim, inliers

    def result(self, sim: Sim3, inliers: np.ndarray) -> RegistrationResult:
        """Residual statistics and covariances of an accepted fit."""
        position, rotation = self.residuals(sim)
        position, rotation = position[inliers], rotation[inliers]
        weights = self.conf[inliers] / self.conf[inliers].mean()
        m = len(inliers)
        dof = 6.0 * m / max(6.0 * m - 7.0, 1.0)
        sigma_p = np.sqrt(dof * (weights @ np.sum(position**2, axis=1)) / (3.0 * weights.sum()))
        sigma_r = np.sqrt(dof * (weights @ np.sum(rotation**2, axis=1)) / (3.0 * weights.sum()))
        sigma_p = max(float(sigma_p), self.config.min_position_sigma_m)
        sigma_r = max(float(sigma_r), np.radians(self.config.min_rotation_sigma_deg))

        information = np.zeros((7, 7))
        for w, centre in zip(weights, self.pred_centres[inliers], strict=True):
            jac = _pose_jacobian(sim, centre)
            information += w * (jac[:3].T @ jac[:3] / sigma_p**2 + jac[3:].T @ jac[3:] / sigma_r**2)
        parameter_covariance = np.linalg.inv(information)
        covariance = _camera_covariance(
            sim, parameter_covariance, np.zeros(3), sigma_p**2, sigma_r**2
        )
        return RegistrationResult(
            ok=True,
            reason=f"{m} of {len(self.conf)} tiles agree",
            scale=sim.scale,
            rotation=sim.rotation,
            translation=sim.translation,
            inliers=tuple(int(i) for i in inliers),
            rms_position_m=float(np.sqrt(np.mean(np.sum(position**2, axis=1)))),
            rms_rotation_deg=float(np.degrees(np.sqrt(np.mean(np.sum(rotation**2, axis=1))))),
            covariance=covariance,
            parameter_covariance=parameter_covariance,
            sigma_position_m=sigma_p,
            sigma_rotation_rad=sigma_r,
            mean_confidence=float(self.conf[inliers].mean()),
        )
