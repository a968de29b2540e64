"""Training and the localizer feed the location head the same satellite crops.

SceneDataset renders its crops from a scene's orthophoto; the localizer from the tile
service's web-mercator tiles of that orthophoto. Both must agree in crop size, ground sample
distance, overlap, camera altitude, order and pixel normalisation, and their pixels must
line up (to a fraction of a pixel) and look alike.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.dataset import SceneDataset
from sky2ground_ros.data.location_windows import LocationSampling, PriorNoise, choose_window
from sky2ground_ros.data.synthetic import (
    GROUND_HEIGHT_KEY,
    ORTHOPHOTO_FILE,
    SyntheticConfig,
    render_scene,
)
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.pipeline import (
    CameraMount,
    Localizer,
    LocalizerConfig,
    WindowRequest,
)
from sky2ground_ros.localizer.prior import GeoPrior
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.views import ViewType

SIZE = 84


def test_priors_come_with_the_sigma_the_node_would_give_them() -> None:
    noise = PriorNoise(gnss_sigma_m=4.0, drift_max_m=50.0, drift_fraction=0.5)
    rng = np.random.default_rng(0)
    draws = [noise.sample(rng) for _ in range(2000)]
    gnss = np.array([o for o, sigma in draws if sigma == 4.0])
    drift = np.array([o for o, sigma in draws if sigma == 25.0])
    assert len(gnss) + len(drift) == 2000 and 800 < len(drift) < 1200
    assert np.std(gnss) == pytest.approx(4.0, rel=0.1)
    assert np.linalg.norm(drift, axis=1).max() <= 50.0
    assert np.std(drift) == pytest.approx(25.0, rel=0.1)  # a uniform disc's sigma: R / 2


@pytest.fixture(scope="module")
def scene_dir(tmp_path_factory: pytest.TempPathFactory):
    config = SyntheticConfig(
        size=64,
        satellite=0,
        ground=4,
        helix=HelixConfig(positions=4, altitude_start=400.0, altitude_end=250.0),
        orthophoto_gsd=1.0,
    )
    return render_scene(tmp_path_factory.mktemp("parity"), 0, 0, config)


@pytest.mark.parametrize("view_type", [ViewType.GROUND, ViewType.AERIAL])
def test_dataset_and_localizer_crops_agree(scene_dir, view_type: ViewType) -> None:
    config = get_config("tiny", location_head=True, location_image_size=SIZE)
    flight = 1.0 if view_type == ViewType.AERIAL else 0.0
    sampling = LocationSampling(config, cameras=1, flight_fraction=flight)
    dataset = SceneDataset(
        scene_dir.parent, num_frames=5, image_size=(SIZE, SIZE), location=sampling
    )
    item = 3
    sample = dataset[item]
    # the window the dataset drew for this item: its first draws from the item's generator
    choice = choose_window(dataset.frames[0], sampling, np.random.default_rng([0, item]))
    assert choice.view_type == view_type
    mosaic = dataset.mosaics[0]
    anchor = dataset.frames[0][choice.frames[0]]
    trained = mosaic.crops(choice.prior_xy, choice.plan, float(anchor.extra[GROUND_HEIGHT_KEY]))

    model = SkyNet(config).eval()
    service = TileService.open(scene_dir / ORTHOPHOTO_FILE)
    origin = mosaic.frame
    localizer = Localizer(model, service.get_tiles, LocalizerConfig(image_size=SIZE), origin)
    lat, lon, alt = origin.to_geodetic(*choice.prior_xy, anchor.center[2])
    prior = GeoPrior(float(lat), float(lon), 0.0, "gnss", float(alt))
    image = np.zeros((SIZE, SIZE, 3), np.uint8)
    frames = [FrameSet(0.0, [image], [np.eye(3)], ["cam"], odom=np.eye(4))]
    mount = np.eye(4)
    mount[:3, :3] = anchor.extrinsics[:3, :3].T
    request = WindowRequest(frames, prior, {"cam": CameraMount(view_type, mount)})
    prepared = localizer.prepare(request)
    service.close()
    window = prepared.crops
    assert window is not None
    assert window.plan == choice.plan  # size, GSD, overlap, altitude
    assert len(window.crops) == len(trained) == choice.plan.count
    for ours, theirs in zip(window.crops, trained, strict=True):  # order and georeference
        assert (ours.west, ours.north, ours.gsd_m) == pytest.approx(
            (theirs.west, theirs.north, theirs.gsd_m), abs=1e-6
        )
        np.testing.assert_allclose(ours.camera()[0], theirs.camera()[0])
        # same nadir pinhole (the map's ground is z = 0, the scene's its terrain height)
        np.testing.assert_allclose(ours.camera()[1][:, :3], theirs.camera()[1][:, :3])
        assert ours.altitude_m == theirs.altitude_m
        assert ours.image.shape == theirs.image.shape == (SIZE, SIZE, 3)
        a = cv2.cvtColor(ours.image, cv2.COLOR_RGB2GRAY).astype(np.float64)
        b = cv2.cvtColor(theirs.image, cv2.COLOR_RGB2GRAY).astype(np.float64)
        (dx, dy), _ = cv2.phaseCorrelate(a, b)
        assert np.hypot(dx, dy) < 0.3
        assert np.abs(a - b).mean() < 10.0
    # normalisation: the model sees both as float RGB in [0, 1] of the uint8 crops
    np.testing.assert_allclose(
        sample["images"][1:].numpy(),
        np.stack([c.image for c in trained]).transpose(0, 3, 1, 2) / 255.0,
        atol=1e-6,
    )
    # the priors the read-out is given: the prior's own sigma and a heading off by its sigma
    assert float(sample["prior_sigma_m"]) == pytest.approx(choice.prior_sigma_m)
    assert float(sample["heading_prior_sigma"]) == pytest.approx(math.radians(10.0))
    off = float(sample["heading_prior"][0] - sample["heading"][0])
    assert abs(math.remainder(off, 2 * math.pi)) < 5 * math.radians(10.0)
    seen = prepared.images[1:].float() / 255.0
    assert seen.dtype == torch.float32 and seen.shape == sample["images"][1:].shape
