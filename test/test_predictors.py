"""The oracle's output convention and the classical matcher's PnP covariance."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.elevation import ElevationError, ElevationModel
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import inverse, transform
from sky2ground_ros.localizer.pipeline import PreparedWindow
from sky2ground_ros.localizer.tile_frames import TileFrame
from sky2ground_ros.predictors.classical import pose_covariance
from sky2ground_ros.predictors.oracle import OraclePredictor
from sky2ground_ros.views import ViewType

K = np.array([[200.0, 0.0, 111.5], [0.0, 200.0, 111.5], [0.0, 0.0, 1.0]])
ORIGIN = LocalENU(47.0, 8.0, 400.0)


def looking_down(position, yaw_deg: float = 0.0) -> np.ndarray:
    """T_world_camera of an optical frame pointing straight down."""
    down = Rotation.from_euler("zx", [yaw_deg, 180.0], degrees=True).as_matrix()
    return transform(down, position)


def test_oracle_answers_in_the_models_convention() -> None:
    """Frame 0 is the world, centres scaled to unit mean distance, tiles appended."""
    poses = {1.0: looking_down([0, 0, 250]), 2.0: looking_down([30, 40, 250], 20.0)}
    tile = TileFrame("t", np.zeros((8, 8, 3), np.uint8), K, inverse(looking_down([0, 0, 1500]))[:3])
    prepared = PreparedWindow(
        ORIGIN,
        2,
        [ViewType.AERIAL, ViewType.AERIAL, ViewType.SATELLITE],
        [tile],
        torch.zeros((3, 3, 8, 8), dtype=torch.uint8),
        [K, K, K],
        frames=[(1.0, "cam"), (2.0, "cam")],
    )
    prediction = OraclePredictor(lambda stamp, _: poses[stamp], ORIGIN)(prepared)
    np.testing.assert_allclose(prediction.extrinsics[0], np.eye(4)[:3], atol=1e-12)
    centres = [inverse(np.vstack([e, [0, 0, 0, 1]]))[:3, 3] for e in prediction.extrinsics]
    assert np.mean([np.linalg.norm(c) for c in centres[1:]]) == pytest.approx(1.0)
    # relative geometry is the truth's, up to that one scale
    scale = np.linalg.norm(centres[1]) / 50.0
    assert np.linalg.norm(centres[2]) / 1250.0 == pytest.approx(scale, rel=1e-9)
    assert np.all(prediction.confidence == 1.0) and prediction.covariance is None


def test_pnp_covariance_matches_the_scatter_of_noisy_solutions() -> None:
    """Its own covariance from the inliers: predicted sigmas ≈ the Monte-Carlo spread."""
    rng = np.random.default_rng(4)
    camera = looking_down([10.0, -5.0, 200.0], 30.0)
    extrinsic = inverse(camera)
    ground = rng.uniform(-80, 80, (150, 2)) + np.array([10.0, -5.0])
    world = np.column_stack([ground, rng.uniform(0, 15, 150)])
    rvec0 = cv2.Rodrigues(extrinsic[:3, :3])[0]
    tvec0 = extrinsic[:3, 3].reshape(3, 1)
    clean = cv2.projectPoints(world, rvec0, tvec0, K, None)[0].reshape(-1, 2)
    centres, predicted = [], []
    for _ in range(200):
        pixels = clean + rng.normal(0.0, 0.7, clean.shape)
        _, rvec, tvec = cv2.solvePnP(world, pixels, K, None, rvec0, tvec0, True)
        rotation = cv2.Rodrigues(rvec)[0]
        centres.append(-rotation.T @ tvec.ravel())
        predicted.append(pose_covariance(world, pixels, K, rvec, tvec))
    spread = np.cov(np.array(centres).T)
    mean_predicted = np.mean(predicted, axis=0)[:3, :3]
    ratio = np.sqrt(np.diag(spread) / np.diag(mean_predicted))
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio


def test_a_dem_without_georeference_is_refused(tmp_path) -> None:
    import rasterio

    path = tmp_path / "plain.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32") as f:
        f.write(np.zeros((1, 4, 4), np.float32))
    with pytest.raises(ElevationError, match="no CRS"):
        ElevationModel(path)
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(ElevationError, match="not a readable GeoTIFF"):
        ElevationModel(tmp_path / "junk.tif")
