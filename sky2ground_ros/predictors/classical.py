"""The classical matcher: SIFT + ratio test + PnP-RANSAC against the satellite tiles.

A `Predictor` for the localizer that needs no trained model. The window's tiles (the
mosaic around the prior) are georeferenced: each SIFT keypoint of a tile is a ground point
in the map's ENU frame (its horizontal position from the tile camera, its height from a DEM
GeoTIFF when one is given, else flat ground at the map origin). The newest camera frames are
matched to the mosaic (Lowe's ratio test), their poses solved by PnP-RANSAC and refined by
Levenberg-Marquardt on the inliers, and each pose's covariance comes from those inliers'
reprojection residuals. Poses are returned in ENU (the tiles keep their known cameras, so the
registration is the identity), together with that covariance.

It is the baseline every model is compared with, and a model-free fallback for a drone
looking down on well-textured ground; cameras near the ground (a car) see too little of
what the satellite sees, and it publishes nothing for them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from sky2ground_ros.geo.elevation import ElevationModel
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.rotations import rotation_vector
from sky2ground_ros.geo.sim3 import camera_centres
from sky2ground_ros.localizer.pipeline import (
    PreparedWindow,
    RejectedWindowError,
    WindowPrediction,
)

CLASSICAL_IMAGE_SIZE = 224
"""Window image side for the matcher (the model's 84 px leaves SIFT too few features)."""
UNKNOWN_VARIANCE = 1e6
"""Covariance diagonal of frames the matcher does not solve (only the newest are)."""


@dataclass(frozen=True)
class ClassicalConfig:
    """Matching and RANSAC thresholds."""

    ratio: float = 0.8
    """Lowe's ratio: best match distance below this fraction of the second best."""
    min_inliers: int = 15
    reprojection_px: float = 3.0
    """RANSAC inlier threshold in window-image pixels."""
    ransac_iterations: int = 2000
    mosaic_cache: int = 8
    """Tile sets whose features are kept (a slowly moving prior reuses its tiles)."""


@dataclass(frozen=True)
class Mosaic:
    """SIFT descriptors of a window's tiles and the ENU ground point of each keypoint."""

    points: np.ndarray
    descriptors: np.ndarray


@dataclass(frozen=True)
class CameraFix:
    """A solved camera: world(ENU)-to-camera [R|t], 6x6 covariance, inlier ratio."""

    extrinsic: np.ndarray
    covariance: np.ndarray
    inlier_ratio: float


class ClassicalPredictor:
    """SIFT + PnP localization of the newest camera frames of a window against its tiles."""

    def __init__(
        self, elevation: ElevationModel | None = None, config: ClassicalConfig | None = None
    ) -> None:
        self.elevation = elevation
        self.config = config or ClassicalConfig()
        self._sift = cv2.SIFT_create()
        self._matcher = cv2.BFMatcher(cv2.NORM_L2)
        self._mosaics: OrderedDict[tuple, Mosaic] = OrderedDict()

    def __call__(self, prepared: PreparedWindow) -> WindowPrediction:
        count, cameras = len(prepared.view_types), prepared.num_cameras
        extrinsics = np.full((count, 3, 4), np.nan)
        covariance = np.tile(np.eye(6) * UNKNOWN_VARIANCE, (count, 1, 1))
        confidence = np.zeros(count)
        extrinsics[cameras:] = [tile.extrinsic for tile in prepared.tiles]
        covariance[cameras:] = 0.0
        confidence[cameras:] = 1.0
        mosaic = self.mosaic(prepared)
        newest_stamp = max(stamp for stamp, _ in prepared.frames)
        newest = [i for i, (stamp, _) in enumerate(prepared.frames) if stamp == newest_stamp]
        failures = []
        for i in newest:
            image = prepared.images[i].permute(1, 2, 0).numpy()
            solved = self.solve(image, prepared.intrinsics[i], mosaic)
            if isinstance(solved, str):
                failures.append(f"{prepared.frames[i][1]}: {solved}")
                continue
            extrinsics[i], covariance[i] = solved.extrinsic, solved.covariance
            confidence[i] = solved.inlier_ratio
        if len(failures) == len(newest):
            raise RejectedWindowError("model", f"classical matcher: {'; '.join(failures)}")
        return WindowPrediction(extrinsics, np.stack(prepared.intrinsics), confidence, covariance)

    def mosaic(self, prepared: PreparedWindow) -> Mosaic:
        """Features of the window's tiles (cached by tile set and map frame)."""
        key = (prepared.origin, tuple(tile.id for tile in prepared.tiles))
        cached = self._mosaics.get(key)
        if cached is not None:
            self._mosaics.move_to_end(key)
            return cached
        points, descriptors = [], []
        for tile in prepared.tiles:
            keypoints, desc = self._features(tile.image)
            if desc is None:
                continue
            pixels = np.array([k.pt for k in keypoints], dtype=np.float64)
            ground = self._ground_points(pixels, tile.K, tile.extrinsic, prepared.origin)
            valid = np.all(np.isfinite(ground), axis=1)
            points.append(ground[valid])
            descriptors.append(desc[valid])
        mosaic = Mosaic(
            np.concatenate(points) if points else np.zeros((0, 3)),
            np.concatenate(descriptors) if descriptors else np.zeros((0, 128), np.float32),
        )
        self._mosaics[key] = mosaic
        if len(self._mosaics) > self.config.mosaic_cache:
            self._mosaics.popitem(last=False)
        return mosaic

    def solve(self, image: np.ndarray, intrinsics: np.ndarray, mosaic: Mosaic) -> CameraFix | str:
        """The camera's pose from its matches to the mosaic, or why there is none."""
        config = self.config
        keypoints, desc = self._features(image)
        if desc is None or len(keypoints) < config.min_inliers or len(mosaic.points) < 2:
            return (
                f"too few features ({len(keypoints)} in the frame, {len(mosaic.points)} in tiles)"
            )
        pairs = self._matcher.knnMatch(desc, mosaic.descriptors, k=2)
        good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < config.ratio * p[1].distance]
        if len(good) < config.min_inliers:
            return f"{len(good)} matches pass the ratio test (need {config.min_inliers})"
        world = mosaic.points[[m.trainIdx for m in good]]
        pixels = np.array([keypoints[m.queryIdx].pt for m in good], dtype=np.float64)
        found, rvec, tvec, inliers = cv2.solvePnPRansac(
            world,
            pixels,
            intrinsics,
            None,
            iterationsCount=config.ransac_iterations,
            reprojectionError=config.reprojection_px,
            confidence=0.999,
            flags=cv2.SOLVEPNP_AP3P,
        )
        if not found or inliers is None or len(inliers) < config.min_inliers:
            return f"{0 if inliers is None else len(inliers)} PnP inliers of {len(good)} matches"
        idx = inliers.ravel()
        rvec, tvec = cv2.solvePnPRefineLM(world[idx], pixels[idx], intrinsics, None, rvec, tvec)
        rotation = cv2.Rodrigues(rvec)[0]
        extrinsic = np.concatenate([rotation, tvec.reshape(3, 1)], axis=1)
        covariance = pose_covariance(world[idx], pixels[idx], intrinsics, rvec, tvec)
        return CameraFix(extrinsic, covariance, len(idx) / len(good))

    def _features(self, image: np.ndarray) -> tuple[tuple, np.ndarray | None]:
        grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
        return self._sift.detectAndCompute(grey, None)

    def _ground_points(
        self, pixels: np.ndarray, intrinsics: np.ndarray, extrinsic: np.ndarray, frame: LocalENU
    ) -> np.ndarray:
        """ENU ground points of tile pixels: the tile camera's rays down to the map plane,
        then the DEM's height there (or the map origin's)."""
        rotation = extrinsic[:, :3]
        centre = camera_centres(extrinsic)
        rays = (
            np.linalg.inv(intrinsics) @ np.vstack([pixels.T, np.ones(len(pixels))])
        ).T @ rotation
        on_plane = centre + rays * (-centre[2] / rays[:, 2])[:, None]
        latitude, longitude, _ = frame.to_geodetic(on_plane[:, 0], on_plane[:, 1], 0.0)
        if self.elevation is None:
            height = np.full(len(pixels), frame.alt0)
        else:
            height = self.elevation.heights(latitude, longitude)
        return frame.points_from_geodetic(np.stack([latitude, longitude, height], axis=1))


def pose_covariance(
    world: np.ndarray,
    pixels: np.ndarray,
    intrinsics: np.ndarray,
    rvec: np.ndarray,
    tvec: np.ndarray,
) -> np.ndarray:
    """6x6 covariance (ENU centre, world rotation vector) of a PnP pose from its residuals.

    Gauss-Newton: ``σ² (JᵀJ)⁻¹`` over (rvec, tvec) with σ² the residual variance, carried to
    the camera centre and orientation by a numerical Jacobian.
    """
    projected, jacobian = cv2.projectPoints(world, rvec, tvec, intrinsics, None)
    residual = (projected.reshape(-1, 2) - pixels).ravel()
    sigma2 = float(residual @ residual) / max(residual.size - 6, 1)
    J = jacobian[:, :6]
    parameters = sigma2 * np.linalg.pinv(J.T @ J)
    p0 = np.concatenate([np.ravel(rvec), np.ravel(tvec)])
    centre0, rotation0 = _camera_pose(p0)
    step = 1e-6
    G = np.zeros((6, 6))
    for k in range(6):
        p = p0.copy()
        p[k] += step
        centre, rotation = _camera_pose(p)
        G[:3, k] = (centre - centre0) / step
        G[3:, k] = rotation_vector(rotation @ rotation0.T) / step
    covariance = G @ parameters @ G.T
    return (covariance + covariance.T) / 2.0


def _camera_pose(parameters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre and camera-to-world rotation of (rvec, tvec)."""
    rotation = cv2.Rodrigues(parameters[:3])[0]
    return -rotation.T @ parameters[3:], rotation.T
