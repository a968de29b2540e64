"""Crop generator, level frames, the location loss and read-out, and the location path's gate."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.level_frame import level_frame, yaw_rotation
from sky2ground_ros.geo.satellite_crops import CropPlan, Raster, render_crops
from sky2ground_ros.localizer.location import camera_geometry, location_prior, prior_pull
from sky2ground_ros.localizer.pipeline import LocalizerConfig, location_rejection
from sky2ground_ros.localizer.smoothing import PoseEstimate
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.location_head import INVALID_LOGIT, LocationPrior, read_location
from sky2ground_ros.training.losses import location_loss
from sky2ground_ros.views import ViewType

FRAME = LocalENU(47.0, 8.0, 400.0)


def enu_raster(half: float = 300.0, gsd: float = 0.5) -> Raster:
    """An orthophoto in the frame's transverse-Mercator grid whose pixels encode ENU x, y."""
    n = int(2 * half / gsd)
    centres = -half + (np.arange(n) + 0.5) * gsd
    east, north = np.meshgrid(centres, -centres)
    image = np.stack([(east % 256), (north % 256), np.full_like(east, 128)], -1).astype(np.uint8)
    crs = f"+proj=tmerc +lat_0={FRAME.lat0} +lon_0={FRAME.lon0} +k=1 +ellps=WGS84 +units=m"
    return Raster(image, crs, (-half, -half, half, half))


def test_crops_are_row_major_from_the_north_west_and_exact_nadir_cameras() -> None:
    plan = CropPlan(grid=2, size_px=40, overlap_px=10, gsd_m=2.0)
    crops = render_crops([enu_raster()], FRAME, (10.0, -20.0), plan)
    assert [(c.west, c.north) for c in crops] == [
        (-60.0, 50.0),
        (0.0, 50.0),
        (-60.0, -10.0),
        (0.0, -10.0),
    ]
    crop = crops[3]
    assert crop.coverage == 1.0
    east, north = crop.pixel_to_enu(7, 12)
    assert (east, north) == (15.0, -35.0)
    assert abs(int(crop.image[12, 7, 0]) - round(east % 256)) <= 1
    assert abs(int(crop.image[12, 7, 1]) - round(north % 256)) <= 1
    K, extrinsic = crop.camera()
    point = extrinsic @ np.array([east, north, 0.0, 1.0])
    np.testing.assert_allclose((K @ point)[:2] / point[2], [7.0, 12.0], atol=1e-9)


def test_crops_beyond_the_imagery_are_black_and_report_their_coverage() -> None:
    plan = CropPlan(grid=1, size_px=40, overlap_px=0, gsd_m=2.0)
    crop = render_crops([enu_raster(half=100.0)], FRAME, (100.0, 0.0), plan)[0]
    assert 0.4 < crop.coverage < 0.6
    assert not crop.image[:, -5:].any()


@pytest.mark.parametrize("pitch_deg", [0.0, 50.0, 90.0])
def test_level_frame_splits_a_camera_into_heading_and_gravity(pitch_deg: float) -> None:
    pitch = math.radians(pitch_deg)
    forward = np.array([math.cos(pitch), 0.0, -math.sin(pitch)])
    right = np.array([0.0, -1.0, 0.0])
    level = np.stack([right, np.cross(forward, right), forward], axis=1)
    world = yaw_rotation(math.radians(130.0)) @ level
    heading, found = level_frame(world)
    assert heading == pytest.approx(math.radians(130.0))
    np.testing.assert_allclose(found, level, atol=1e-12)


def test_camera_geometry_needs_an_altitude_for_aerial_cameras() -> None:
    mount = np.eye(4)
    mount[:3, 3] = [1.2, 0.0, 1.6]
    drive = camera_geometry(ViewType.GROUND, mount, None, None, 0.0)
    assert drive.height_m == pytest.approx(1.6)
    flight = camera_geometry(ViewType.AERIAL, mount, None, 250.0, 10.0)
    assert flight.height_m == pytest.approx(241.6)
    with pytest.raises(ValueError, match="altitude"):
        camera_geometry(ViewType.AERIAL, mount, None, None, 0.0)


def peaked_logits(row: float, col: float, bin_: float, shape=(36, 20, 20)) -> torch.Tensor:
    """Log of a trilinear split of all mass at a fractional (heading bin, row, col)."""
    p = torch.full(shape, 1e-9, dtype=torch.float64)
    b0, r0, c0 = math.floor(bin_), math.floor(row), math.floor(col)
    for db, wb in ((0, 1 - (bin_ - b0)), (1, bin_ - b0)):
        for dr, wr in ((0, 1 - (row - r0)), (1, row - r0)):
            for dc, wc in ((0, 1 - (col - c0)), (1, col - c0)):
                p[(b0 + db) % shape[0], r0 + dr, c0 + dc] += wb * wr * wc
    return p.log()


def test_read_location_finds_a_sub_cell_peak_and_its_heading() -> None:
    reading = read_location(peaked_logits(7.3, 11.6, 12.25), cell_m=2.0)
    assert reading.east_m == pytest.approx((11.6 + 0.5) * 2.0, abs=1e-3)
    assert reading.south_m == pytest.approx((7.3 + 0.5) * 2.0, abs=1e-3)
    assert math.degrees(reading.heading) == pytest.approx(122.5, abs=0.01)
    assert reading.peak_mass > 0.99
    # a 0.6 / 0.4 split of a 2 m cell plus its quantisation: (0.24 + 1/12) * 4 m^2
    assert reading.covariance[0, 0] == pytest.approx(4 * (0.24 + 1 / 12), rel=1e-3)


def test_priors_pick_among_look_alike_places_and_narrow_the_covariance() -> None:
    """Two equal peaks (a street's repeats): the position prior picks the one near the canvas
    centre; two equal headings at one place: the heading prior picks; the covariance is the
    posterior's, and a temperature widens the map."""
    far, near = peaked_logits(1.0, 1.0, 3.0), peaked_logits(10.0, 11.0, 3.0)  # centre: cell 10
    logits = torch.logaddexp(far, near)
    alone = read_location(logits, cell_m=2.0)
    assert alone.peak_mass == pytest.approx(0.5, abs=1e-3)
    given = read_location(logits, cell_m=2.0, prior=LocationPrior(sigma_m=4.0))
    assert (given.east_m, given.south_m) == pytest.approx((23.0, 21.0), abs=1e-3)
    assert given.peak_mass > 0.99
    assert given.covariance == pytest.approx(read_location(near, 2.0).covariance, abs=1e-3)
    rows, cols = torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij")
    blob = (-0.5 * ((rows - 10) ** 2 + (cols - 10) ** 2) / 3.0**2).expand(36, 20, 20)
    quantum = 4.0 / 12.0
    assert read_location(blob, 2.0).covariance[0, 0] == pytest.approx(36.0 + quantum, rel=0.05)
    narrowed = read_location(blob, 2.0, LocationPrior(sigma_m=2.0)).covariance
    assert np.diag(narrowed) == pytest.approx(1 / (1 / 36 + 1 / 4) + quantum, rel=0.1)
    sharp = (-0.5 * ((rows - 10) ** 2 + (cols - 10) ** 2)).expand(36, 20, 20)  # 2 m sigma
    warm = read_location(sharp, 2.0, temperature=4.0).covariance  # sigma doubled: 16 m^2
    assert np.diag(warm) == pytest.approx(16.0 + quantum, rel=0.05)

    turned = torch.logaddexp(near, peaked_logits(10.0, 11.0, 20.0))  # 30 deg and 200 deg
    for prior_heading, expected in ((25.0, 30.0), (190.0, -160.0)):
        prior = LocationPrior(8.0, math.radians(prior_heading), math.radians(10.0))
        reading = read_location(turned, cell_m=2.0, prior=prior)
        assert math.degrees(reading.heading) == pytest.approx(expected, abs=0.5)
    assert math.degrees(read_location(logits, 2.0, LocationPrior(8.0)).heading) == pytest.approx(
        30.0, abs=1e-3
    )


def test_prior_pull_is_how_far_the_read_out_follows_its_prior() -> None:
    """A flat map leaves the read-out to its prior (pull 1, all of its error shared with the
    next window); a sharp map ignores it (pull 0); a Gaussian map of 6 m against a 2 m prior
    follows the prior by 36 / (36 + 4), and the east / north axes keep their signs."""
    rows, cols = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
    flat = torch.zeros(36, 40, 40)
    sharp = (-0.5 * ((rows - 20) ** 2 + (cols - 20) ** 2) / 0.3**2).expand(36, 40, 40)
    blob = (-0.5 * ((rows - 19.5) ** 2 + (cols - 19.5) ** 2) / 3.0**2).expand(36, 40, 40)
    prior = LocationPrior(sigma_m=2.0)
    assert prior_pull(flat, 2.0, prior, 1.0) == pytest.approx(np.eye(2), abs=0.05)
    assert prior_pull(sharp, 2.0, prior, 1.0) == pytest.approx(np.zeros((2, 2)), abs=0.05)
    assert prior_pull(blob, 2.0, prior, 1.0) == pytest.approx(np.eye(2) * 36 / 40, abs=0.05)
    moved = read_location(flat, 2.0, LocationPrior(2.0, offset_m=(4.0, 6.0)))
    centre = read_location(flat, 2.0, prior)
    assert moved.east_m - centre.east_m == pytest.approx(4.0, abs=0.2)
    assert moved.south_m - centre.south_m == pytest.approx(-6.0, abs=0.2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sigma_m": 0.0},
        {"sigma_m": 5.0, "heading": 1.0},
        {"sigma_m": 5.0, "heading": 1.0, "heading_sigma": -1.0},
    ],
)
def test_bad_priors_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="sigma"):
        LocationPrior(**kwargs)


def test_location_prior_carries_the_tracked_heading_to_each_camera() -> None:
    mount = np.eye(4)
    mount[:3, :3] = [[0, 0, 1], [-1, 0, 0], [0, -1, 0]]  # optical axis along the base's x
    assert location_prior(4.0, None, mount) == LocationPrior(4.0)
    yaw = math.radians(70.0)
    for yaw_sigma, expected in ((3.0, 10.0), (20.0, 20.0)):  # floored at 10 degrees
        covariance = np.diag([1.0, 1.0, 1.0, 1e-4, 1e-4, math.radians(yaw_sigma) ** 2])
        quaternion = Rotation.from_euler("z", yaw).as_quat()
        tracked = PoseEstimate(5.0, np.zeros(3), quaternion, covariance)
        prior = location_prior(4.0, tracked, mount)
        assert prior.sigma_m == 4.0 and prior.heading == pytest.approx(yaw)
        assert prior.heading_sigma == pytest.approx(math.radians(expected))
    covariance[5, 5] = math.radians(60.0) ** 2  # lost track of the heading: no prior
    lost = PoseEstimate(5.0, np.zeros(3), quaternion, covariance)
    assert location_prior(4.0, lost, mount).heading is None


def test_location_loss_is_lowest_at_the_truth_and_skips_what_it_cannot_score() -> None:
    truth = (7.3, 11.6, 12.25)
    nadir = torch.tensor([[[(11.6 + 0.5) * 2.0, (7.3 + 0.5) * 2.0]]])
    heading = torch.tensor([[math.radians(122.5)]])
    cell, valid = torch.tensor([2.0]), torch.tensor([[True]])
    right = location_loss(peaked_logits(*truth)[None, None].float(), valid, cell, nadir, heading)
    wrong = location_loss(
        peaked_logits(3.0, 3.0, 0.0)[None, None].float(), valid, cell, nadir, heading
    )
    assert int(right.cameras) == 1 and float(right.total) < float(wrong.total)
    invalid = peaked_logits(*truth)[None, None].float()
    invalid[..., 8, 12] = INVALID_LOGIT
    assert int(location_loss(invalid, valid, cell, nadir, heading).cameras) == 0
    off_canvas = torch.tensor([[[100.0, 5.0]]])
    assert int(location_loss(invalid, valid, cell, off_canvas, heading).cameras) == 0


def test_location_gate_refuses_a_flat_map_and_a_wide_spread() -> None:
    config = LocalizerConfig()
    narrow = np.diag([1.0, 1.0, 0.1, 0.01, 0.01, 0.01])
    assert location_rejection(config, narrow, 0.9) is None
    assert "mass" in location_rejection(config, narrow, 0.05)
    assert "sigma" in location_rejection(config, 1000.0 * narrow, 0.9)


def test_localizer_mode_needs_a_location_head_and_a_matching_image_size() -> None:
    from sky2ground_ros.localizer.pipeline import Localizer

    plain = SkyNet(get_config("tiny"))
    with pytest.raises(ValueError, match="location head"):
        Localizer(plain, lambda *a: None, LocalizerConfig(image_size=84, mode="location"))
    located = SkyNet(get_config("tiny", location_head=True))
    with pytest.raises(ValueError, match="84 px"):
        Localizer(located, lambda *a: None, LocalizerConfig(image_size=112))
    assert Localizer(located, lambda *a: None, LocalizerConfig(image_size=84)).on_map
    assert not Localizer(located, lambda *a: None, LocalizerConfig(mode="sim3")).on_map
