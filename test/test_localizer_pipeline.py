"""The ROS-free localizer: real tiles from a GeoTIFF, a real (test-made) SkyNet, exact geometry."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from nodes.localizer_fixtures import write_orthophoto
from scipy.spatial.transform import Rotation

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.data.transforms import relative_to_first
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.gate import GateConfig
from sky2ground_ros.localizer.geometry import default_camera_extrinsic, inverse, transform
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.pipeline import (
    CameraMount,
    LocalizationResult,
    Localizer,
    LocalizerConfig,
    RejectedWindowError,
    WindowPrediction,
    WindowRequest,
    select_device,
)
from sky2ground_ros.localizer.preprocess import to_model_input
from sky2ground_ros.localizer.prior import GeoPrior
from sky2ground_ros.localizer.smoothing import SmoothingConfig
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.views import ViewType

GEOREF = GeoReference(47.3769, 8.5417, 408.0)
ORIGIN = LocalENU(GEOREF.latitude, GEOREF.longitude, GEOREF.altitude)
SIZE = 56


@pytest.fixture(scope="module")
def tiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TileService]:
    """A textured 700 m x 700 m orthophoto (1 m/px) centred on the map origin."""
    path = write_orthophoto(Path(tmp_path_factory.mktemp("ortho")) / "ortho.tif", GEOREF)
    service = TileService.open(path)
    yield service
    service.close()


@pytest.fixture(scope="module")
def model() -> SkyNet:
    torch.manual_seed(0)
    return SkyNet(get_config("tiny")).eval()


def mounts() -> dict[str, CameraMount]:
    """Two aerial cameras on one base: one at the default mount, one offset and rotated."""
    tilted = transform(
        Rotation.from_euler("z", 30, degrees=True).as_matrix() @ default_camera_extrinsic()[:3, :3],
        [0.4, -0.3, -0.2],
    )
    return {
        "front": CameraMount(ViewType.AERIAL, default_camera_extrinsic()),
        "side": CameraMount(ViewType.AERIAL, tilted),
    }


def base_pose(k: int) -> np.ndarray:
    """Base k of a descending, turning flight above the origin, pitched 50 deg down."""
    rotation = Rotation.from_euler("zy", [20.0 * k, 50.0], degrees=True).as_matrix()
    return transform(rotation, [30.0 * k - 40.0, 10.0 * k, 400.0 - 20.0 * k])


def window(count: int = 3, prior_lat: float = GEOREF.latitude) -> WindowRequest:
    """Frame sets of both cameras with random images (the geometry comes separately)."""
    rng = np.random.default_rng(1)
    K = np.array([[80.0, 0.0, 47.5], [0.0, 80.0, 35.5], [0.0, 0.0, 1.0]])
    sets = []
    for k in range(count):
        resized = [to_model_input(rng.integers(0, 255, (72, 96, 3), np.uint8), K, SIZE)]
        resized.append(resized[0])
        sets.append(
            FrameSet(float(k), [r[0] for r in resized], [r[1] for r in resized], ["front", "side"])
        )
    prior = GeoPrior(prior_lat, GEOREF.longitude, 0.0, "initial pose")
    return WindowRequest(sets, prior, mounts())


def exact_prediction(localizer: Localizer, request: WindowRequest, scale: float = 37.0) -> tuple:
    """What a perfect model would predict: true cameras relative to frame 0, any scale."""
    prepared = localizer.prepare(request)
    cameras = []
    for k, frames in enumerate(request.frames):
        for name in frames.camera_names:
            cameras.append(inverse(base_pose(k) @ request.cameras[name].T_base_camera)[:3])
    extrinsics = relative_to_first(np.stack(cameras + [t.extrinsic for t in prepared.tiles]))
    extrinsics[:, :, 3] /= scale
    intrinsics = np.stack(
        [K for frames in request.frames for K in frames.intrinsics] + [t.K for t in prepared.tiles]
    )
    confidence = np.full(len(extrinsics), 0.5)
    return prepared, WindowPrediction(extrinsics, intrinsics, confidence)


def test_model_input_keeps_intrinsics_consistent() -> None:
    image = np.zeros((72, 96, 3), np.uint8)
    K = np.array([[80.0, 0.0, 47.5], [0.0, 80.0, 35.5], [0.0, 0.0, 1.0]])
    resized, K2 = to_model_input(image, K, SIZE)
    assert resized.shape == (SIZE, SIZE, 3)
    # scaled to cover 56 px (75 x 56), centre-cropped: the principal point stays central
    np.testing.assert_allclose(K2[:2, 2], [(SIZE - 1) / 2, (SIZE - 1) / 2], atol=0.5)
    np.testing.assert_allclose(K2[[0, 1], [0, 1]], 80.0 * np.array([75 / 96, 56 / 72]))


def test_exact_prediction_recovers_the_true_base_pose(tiles: TileService, model: SkyNet) -> None:
    localizer = Localizer(model, tiles.get_tiles, LocalizerConfig(image_size=SIZE), ORIGIN)
    request = window()
    prepared, prediction = exact_prediction(localizer, request)
    assert len(prepared.tiles) == 4 and prepared.view_types[0] == ViewType.AERIAL
    assert prepared.images.shape == (6 + 4, 3, SIZE, SIZE)

    pose, fit, confidence = localizer.geolocate(request, prepared, prediction)
    truth = base_pose(2)
    assert fit.ok and len(fit.inliers) == 4 and confidence == pytest.approx(0.5)
    np.testing.assert_allclose(pose.position, truth[:3, 3], atol=1e-6)
    angle = Rotation.from_quat(pose.quaternion).inv() * Rotation.from_matrix(truth[:3, :3])
    assert angle.magnitude() < 1e-8
    assert np.all(np.linalg.eigvalsh(pose.covariance) > 0)


def test_gate_and_jump_refuse_windows(tiles: TileService, model: SkyNet) -> None:
    strict = LocalizerConfig(image_size=SIZE, gate=GateConfig(min_inlier_tiles=5))
    localizer = Localizer(model, tiles.get_tiles, strict, ORIGIN)
    request = window()
    prepared, prediction = exact_prediction(localizer, request)
    with pytest.raises(RejectedWindowError, match="4 inlier tiles < 5") as rejected:
        localizer.geolocate(request, prepared, prediction)
    assert rejected.value.category == "gate"

    slow = LocalizerConfig(image_size=SIZE, smoothing=SmoothingConfig(max_speed_m_s=5.0))
    localizer = Localizer(model, tiles.get_tiles, slow, ORIGIN)
    localizer.geolocate(request, prepared, prediction)
    later = WindowRequest(
        [FrameSet(10.0, f.images, f.intrinsics, f.camera_names) for f in request.frames],
        request.prior,
        request.cameras,
    )
    moved = WindowPrediction(
        prediction.extrinsics.copy(), prediction.intrinsics, prediction.confidence
    )
    # both newest cameras move 300 m (scale 37): beyond 5 m/s over the 8 s to the next window
    shift = np.array([300.0, 0.0, 0.0]) / 37.0
    for i in (4, 5):
        moved.extrinsics[i, :, 3] -= moved.extrinsics[i, :, :3] @ shift
    with pytest.raises(RejectedWindowError, match="jump") as rejected:
        localizer.geolocate(later, prepared, moved)
    assert rejected.value.category == "jump"


def test_process_runs_every_stage_and_reports_rejections(tiles: TileService, model: SkyNet) -> None:
    localizer = Localizer(model, tiles.get_tiles, LocalizerConfig(image_size=SIZE))
    result = localizer.process(window())
    assert localizer.origin == LocalENU(GEOREF.latitude, GEOREF.longitude, 0.0)  # from the prior
    assert set(result.timings) == {"tiles+batch", "model", "registration"}
    assert result.tiles == 4 and result.prior_source == "initial pose"
    if not result.ok:  # random weights: registration or gate refuse, with a reason
        assert result.category in {"registration", "gate"} and result.rejection
        assert result.pose is None and result.geodetic is None

    far = localizer.process(window(prior_lat=GEOREF.latitude + 1.0))
    assert far.category == "tiles" and "no coverage" in far.rejection and far.pose is None
    assert "model" not in far.timings  # no inference without tiles
    assert localizer.stats()["tiles"] == 1


def test_submit_runs_off_thread_and_drops_stale_windows(tiles: TileService, model: SkyNet) -> None:
    results: list[LocalizationResult] = []
    localizer = Localizer(
        model, tiles.get_tiles, LocalizerConfig(image_size=SIZE), ORIGIN, results.append
    )
    try:
        accepted = [localizer.submit(window()) for _ in range(5)]
        assert localizer.wait_idle(30.0)
    finally:
        localizer.close()
    stats = localizer.stats()
    assert accepted[0] and stats["dropped stale"] == accepted.count(False)
    assert len(results) == 5 - stats["dropped stale"] and len(results) < 5
    assert all(r.timings["model"] > 0 for r in results)


def test_configuration_errors(tiles: TileService, model: SkyNet) -> None:
    with pytest.raises(ValueError, match="multiple of 14"):
        Localizer(model, tiles.get_tiles, LocalizerConfig(image_size=50))
    assert select_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            select_device("cuda")
