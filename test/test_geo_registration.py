"""Sim(3) geo-registration on synthetic windows with known similarity, noise and outliers."""

import mercantile
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.registration import register_tiles, register_window
from sky2ground_ros.geo.rotations import angle_between
from sky2ground_ros.geo.sim3 import DegenerateGeometryError, Sim3, camera_centres, estimate_sim3
from sky2ground_ros.geo.tile_camera import DEFAULT_SATELLITE_ALTITUDE_M, tile_camera
from sky2ground_ros.views import ViewType

LAT, LON, ALT = 47.37, 8.54, 410.0
FRAME = LocalENU(LAT, LON, ALT)


class _Tile:
    crs = "EPSG:3857"
    width = height = 256

    def __init__(self, x: int, y: int, z: int) -> None:
        b = mercantile.xy_bounds(x, y, z)
        self.bounds = (b.left, b.bottom, b.right, b.top)


def tile_grid(columns: int = 3, rows: int = 3, zoom: int = 17) -> np.ndarray:
    """Known ENU extrinsics (N, 3, 4) of a block of real web-mercator tiles around FRAME."""
    centre = mercantile.tile(LON, LAT, zoom)
    return np.array(
        [
            tile_camera(_Tile(centre.x + i, centre.y + j, zoom), FRAME).extrinsic
            for j in range(rows)
            for i in range(columns)
        ]
    )


def ground_cameras(rng: np.random.Generator, n: int = 4) -> np.ndarray:
    """World-to-camera ENU extrinsics of cameras near the ground looking roughly level."""
    out = []
    for _ in range(n):
        yaw = rng.uniform(-np.pi, np.pi)
        cam_to_enu = Rotation.from_euler("zx", [yaw, -np.pi / 2]).as_matrix() @ np.diag(
            [1.0, 1.0, 1.0]
        )
        rotation = cam_to_enu.T
        centre = np.array([rng.uniform(0, 400), rng.uniform(-400, 0), rng.uniform(1.5, 40)])
        out.append(np.concatenate([rotation, (-rotation @ centre)[:, None]], axis=1))
    return np.array(out)


def random_similarity(rng: np.random.Generator) -> Sim3:
    """A random ENU → model-frame similarity (the model's arbitrary frame and scale)."""
    return Sim3(
        float(np.exp(rng.uniform(-3.0, 1.0))),
        Rotation.random(random_state=rng).as_matrix(),
        rng.normal(0.0, 50.0, 3),
    )


def perturb(
    extrinsics: np.ndarray,
    to_model: Sim3,
    rng: np.random.Generator,
    sigma_m: float,
    sigma_deg: float,
) -> np.ndarray:
    """ENU cameras → model frame, with position noise (metres) and orientation noise."""
    out = []
    for extrinsic in extrinsics:
        rotation = (
            extrinsic[:, :3]
            @ Rotation.from_rotvec(rng.normal(0.0, np.radians(sigma_deg), 3)).as_matrix()
        )
        centre = camera_centres(extrinsic) + rng.normal(0.0, sigma_m, 3)
        out.append(np.concatenate([rotation, (-rotation @ centre)[:, None]], axis=1))
    return to_model.transform_extrinsics(np.array(out))


@pytest.mark.parametrize("seed", range(5))
def test_recovers_random_similarity_from_noisy_cameras(seed: int) -> None:
    rng = np.random.default_rng(seed)
    to_model = random_similarity(rng)
    tiles_enu = tile_grid()
    predicted = perturb(tiles_enu, to_model, rng, sigma_m=0.3, sigma_deg=0.05)
    result = register_tiles(predicted, tiles_enu)
    assert result.ok, result.reason
    truth = to_model.inverse()
    assert result.scale == pytest.approx(truth.scale, rel=2e-3)
    assert np.degrees(angle_between(result.rotation, truth.rotation)) < 0.05
    assert result.inliers == tuple(range(9))
    assert result.rms_position_m < 1.0

    # Ground cameras sit ~1.5 km below the tile cameras: the 0.05° rotation bound above
    # becomes a lever-arm bound of 1500 m x 0.05° = 1.3 m on their positions.
    lever_arm_m = DEFAULT_SATELLITE_ALTITUDE_M * np.radians(0.05)
    ground = ground_cameras(rng)
    for extrinsic in ground:
        pose = result.camera_pose(to_model.transform_extrinsics(extrinsic), FRAME)
        assert np.linalg.norm(pose.position_enu - camera_centres(extrinsic)) < lever_arm_m
        assert np.degrees(angle_between(pose.rotation_enu, extrinsic[:, :3].T)) < 0.05


def test_exact_cameras_give_exact_similarity_and_wgs84() -> None:
    rng = np.random.default_rng(11)
    to_model = random_similarity(rng)
    tiles_enu = tile_grid(2, 2)
    result = register_tiles(to_model.transform_extrinsics(tiles_enu), tiles_enu)
    assert result.ok
    assert np.allclose(result.sim3.matrix(), to_model.inverse().matrix(), atol=1e-6)
    pose = result.camera_pose(to_model.transform_extrinsics(ground_cameras(rng, 1)[0]), FRAME)
    lat, lon, alt = FRAME.to_geodetic(*pose.position_enu)
    assert (pose.latitude, pose.longitude, pose.altitude) == pytest.approx(
        (float(lat), float(lon), float(alt))
    )
    assert np.allclose(pose.extrinsic_enu[:, :3] @ pose.rotation_enu, np.eye(3))
    assert pose.quaternion_xyzw.shape == (4,) and pose.quaternion_xyzw[3] >= 0


@pytest.mark.parametrize(
    "corruption", ["position", "orientation", "both"], ids=lambda c: f"bad-{c}"
)
def test_one_corrupted_tile_is_rejected(corruption: str) -> None:
    rng = np.random.default_rng(5)
    to_model = random_similarity(rng)
    tiles_enu = tile_grid()
    bad = 4  # the centre tile
    wrong = tiles_enu.copy()
    if corruption in ("position", "both"):
        shift = np.array([120.0, -80.0, 0.0])
        wrong[bad, :, 3] -= wrong[bad, :, :3] @ shift
    if corruption in ("orientation", "both"):
        wrong[bad, :, :3] = wrong[bad, :, :3] @ Rotation.from_euler("z", 40, True).as_matrix()
    predicted = perturb(wrong, to_model, rng, sigma_m=0.2, sigma_deg=0.05)
    result = register_tiles(predicted, tiles_enu)
    assert result.ok, result.reason
    assert bad not in result.inliers and len(result.inliers) == 8
    truth = to_model.inverse()
    assert result.scale == pytest.approx(truth.scale, rel=3e-3)
    assert np.degrees(angle_between(result.rotation, truth.rotation)) < 0.1

    naive = estimate_sim3(
        camera_centres(predicted),
        camera_centres(tiles_enu),
        predicted[:, :, :3],
        tiles_enu[:, :, :3],
    )
    robust_error = abs(result.scale / truth.scale - 1)
    assert abs(naive.scale / truth.scale - 1) > 5 * robust_error or corruption == "orientation"


def test_degenerate_inputs_fail_clearly_and_give_no_pose() -> None:
    rng = np.random.default_rng(2)
    to_model = random_similarity(rng)
    grid = tile_grid()
    predicted = to_model.transform_extrinsics(grid)

    cases = {
        "fewer than 2 tiles": (predicted[:1], grid[:1], None),
        "no tiles": (predicted[:0], grid[:0], None),
        "collinear": (predicted[:3], grid[:3], None),  # one row of the grid
        "two tiles": (predicted[[0, 4]], grid[[0, 4]], None),
        "nan": (np.where(np.arange(9)[:, None, None] == 3, np.nan, predicted), grid, None),
        "bad confidence": (predicted, grid, np.full(9, np.nan)),
    }
    for name, (pred, known, conf) in cases.items():
        result = register_tiles(pred, known, conf)
        assert not result.ok, name
        assert result.reason and result.scale is None and result.covariance is None, name
        with pytest.raises(ValueError, match="registration failed"):
            result.camera_pose(np.eye(4)[:3], FRAME)
    assert "fewer than 2" in register_tiles(predicted[:1], grid[:1]).reason
    assert "collinear" in register_tiles(predicted[:3], grid[:3]).reason
    assert "non-finite" in register_tiles(cases["nan"][0], grid).reason


def test_no_majority_is_a_failure() -> None:
    rng = np.random.default_rng(8)
    to_model = random_similarity(rng)
    grid = tile_grid(2, 2)
    scrambled = grid.copy()
    for i, angle in ((1, 90.0), (2, -120.0), (3, 45.0)):
        scrambled[i, :, :3] = grid[i, :, :3] @ Rotation.from_euler("z", angle, True).as_matrix()
        scrambled[i, :, 3] += rng.normal(0, 200.0, 3)
    result = register_tiles(to_model.transform_extrinsics(scrambled), grid)
    assert not result.ok


def test_estimator_refuses_coincident_centres() -> None:
    points = np.zeros((4, 3))
    with pytest.raises(DegenerateGeometryError):
        estimate_sim3(points, np.random.default_rng(0).normal(size=(4, 3)))


def test_covariance_grows_with_noise_and_low_confidence() -> None:
    tiles_enu = tile_grid()
    spreads = []
    for sigma in (0.1, 1.0, 4.0):
        rng = np.random.default_rng(3)
        to_model = random_similarity(rng)
        result = register_tiles(perturb(tiles_enu, to_model, rng, sigma, 0.05 * sigma), tiles_enu)
        assert result.ok
        cov = result.covariance
        assert cov.shape == (6, 6) and np.allclose(cov, cov.T)
        assert np.all(np.linalg.eigvalsh(cov) > 0)
        spreads.append(np.sqrt(np.trace(cov[:3, :3])))
    assert spreads[0] < spreads[1] < spreads[2]

    camera = to_model.transform_extrinsics(ground_cameras(np.random.default_rng(4), 1)[0])
    sure = result.camera_pose(camera, FRAME, confidence=result.mean_confidence * 4)
    unsure = result.camera_pose(camera, FRAME, confidence=result.mean_confidence / 4)
    assert np.trace(unsure.covariance) > np.trace(sure.covariance)


def test_position_covariance_is_calibrated() -> None:
    """Over many noisy windows, the predicted sigma matches the actual error (within 2x)."""
    tiles_enu = tile_grid()
    rng = np.random.default_rng(21)
    truth_camera = ground_cameras(rng, 1)[0]
    errors, predicted_var = [], []
    for _ in range(40):
        to_model = random_similarity(rng)
        result = register_tiles(perturb(tiles_enu, to_model, rng, 1.0, 0.05), tiles_enu)
        assert result.ok
        noisy_camera = perturb(truth_camera[None], to_model, rng, 1.0, 0.05)[0]
        pose = result.camera_pose(noisy_camera, FRAME)
        errors.append(pose.position_enu - camera_centres(truth_camera))
        predicted_var.append(np.trace(pose.covariance[:3, :3]))
    ratio = np.sqrt(np.mean(np.sum(np.square(errors), axis=1)) / np.mean(predicted_var))
    assert 0.5 < ratio < 2.0


def test_register_window_maps_ground_and_aerial_frames() -> None:
    rng = np.random.default_rng(9)
    to_model = random_similarity(rng)
    tiles_enu = tile_grid(2, 2)
    ground = ground_cameras(rng, 2)
    views = [ViewType.GROUND, ViewType.SATELLITE, ViewType.SATELLITE, ViewType.AERIAL]
    views += [ViewType.SATELLITE, ViewType.SATELLITE]
    frames = np.concatenate([ground[:1], tiles_enu[:2], ground[1:], tiles_enu[2:]])
    window = register_window(to_model.transform_extrinsics(frames), views, tiles_enu, FRAME)
    assert window.result.ok
    assert sorted(window.poses) == [0, 3]
    for index, camera in ((0, ground[0]), (3, ground[1])):
        lat, lon, alt = FRAME.to_geodetic(*camera_centres(camera))
        pose = window.poses[index]
        assert (pose.latitude, pose.longitude) == pytest.approx((float(lat), float(lon)), abs=1e-8)
        assert pose.altitude == pytest.approx(float(alt), abs=1e-3)
