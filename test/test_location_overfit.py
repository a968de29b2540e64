"""The location head learns one window and the localizer then publishes it to under a metre.

The window is built by the localizer itself (tiles from an orthophoto GeoTIFF through the
tile service, the crop generator, level frames and heights from odometry and the mount), so
the training labels and the localizer's read-out must agree on every convention: canvas
georeference, cell centres, heading, height and the base's lever arm. The depth head learns
the window's depth alongside (the depth lift places pixels by it).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sky2ground_ros.data.cameras import PinholeCamera, intrinsics_from_hfov
from sky2ground_ros.data.orthophoto import write_orthophoto
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.satellite_crops import canvas_origin
from sky2ground_ros.localizer.geometry import inverse
from sky2ground_ros.localizer.keyframes import FrameSet
from sky2ground_ros.localizer.pipeline import (
    CameraMount,
    Localizer,
    LocalizerConfig,
    WindowRequest,
)
from sky2ground_ros.localizer.prior import GeoPrior
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.replay.make_bag import BagSpec, platform_for, scene_renderer
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.training.losses import depth_loss, location_loss

SIZE = 84
SEED = 5000
STEPS = {"drive": 150, "flight": 200}
"""Adam steps per platform: a flight's map cells are 8 m (a drive's 2 m), so a metre is an
eighth of a cell there and takes longer to learn."""
CONSTANT_STEPS = 100
"""The learning rate is constant this long, then falls linearly to zero: the read-out of a
still-moving map swings by a cell fraction from step to step (0.1-1.3 m at a constant rate)."""
LIFT = "ground"
"""The ground-plane lift learns one window in these steps (the depth lift needs ~250 for a
drive, since it waits for the depth head); both share everything the test checks."""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory):
    renderer = scene_renderer(SEED)
    path = tmp_path_factory.mktemp("overfit") / "orthophoto.tif"
    write_orthophoto(renderer, path, 1.0)
    georef = renderer.scene.georef
    return renderer, path, LocalENU(georef.latitude, georef.longitude, georef.altitude)


def one_window(renderer, origin: LocalENU, platform_name: str, t: float = 3.0):
    """A one-camera window of the evaluate-geo platform and its true base pose."""
    platform = platform_for(BagSpec(platform=platform_name), renderer)
    T_map_base = platform.pose(t)
    K = intrinsics_from_hfov(SIZE, SIZE, platform.hfov_deg)
    T_map_camera = T_map_base @ platform.camera_in_base
    camera = PinholeCamera(K, inverse(T_map_camera)[:3], SIZE, SIZE)
    rendered = renderer.render(camera)
    image = np.round(rendered.rgb * 255).astype(np.uint8)
    frames = [FrameSet(t, [image], [K], ["cam"], odom=T_map_base)]
    offset = np.array([6.0, -4.0])  # a GNSS-like prior
    lat, lon, alt = origin.to_geodetic(*(T_map_base[:2, 3] + offset), T_map_base[2, 3])
    prior = GeoPrior(float(lat), float(lon), t, "gnss", float(alt))
    mounts = {"cam": CameraMount(platform.view_type, platform.camera_in_base)}
    return WindowRequest(frames, prior, mounts), T_map_base, T_map_camera, rendered.depth


@pytest.mark.parametrize("platform_name", ["drive", "flight"])
def test_location_head_overfits_one_window_to_under_a_metre(scene, platform_name: str) -> None:
    renderer, orthophoto, origin = scene
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = SkyNet(get_config("tiny", location_head=True, location_lift=LIFT))
    service = TileService.open(orthophoto)
    localizer = Localizer(model, service.get_tiles, LocalizerConfig(image_size=SIZE), origin)
    request, T_map_base, T_map_camera, depth = one_window(renderer, origin, platform_name)

    prepared = localizer.prepare(request)
    window = prepared.crops
    assert window is not None and len(window.crops) == 4
    geometry = window.geometry_tensors(prepared.intrinsics)
    images = (prepared.images.float() / 255.0)[None]
    types = torch.tensor([[int(v) for v in prepared.view_types]])
    west, north = canvas_origin(window.prior_xy, window.plan)
    nadir = torch.tensor([[[T_map_camera[0, 3] - west, north - T_map_camera[1, 3]]]])
    R = T_map_camera[:3, :3] @ window.cameras[0].level_from_camera.T
    heading = torch.tensor([[math.atan2(R[1, 0], R[0, 0])]])
    # the depth lift places pixels by the model's depth: learn it too (any scale will do)
    depth = torch.from_numpy(depth / np.median(depth[depth > 0])).float()
    gt_depth = torch.zeros(1, len(prepared.view_types), SIZE, SIZE)
    gt_depth[0, 0] = depth

    steps = STEPS[platform_name]
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda k: min(1.0, (steps - k) / (steps - CONSTANT_STEPS))
    )
    model.train()
    for _ in range(steps):
        out = model(images, types, geometry=geometry)
        loss = location_loss(
            out["location_logits"], out["location_valid"], out["location_cell_m"], nadir, heading
        )
        depth_term = depth_loss(out["depth"], out["depth_conf"], gt_depth).total
        optimizer.zero_grad()
        (loss.total + depth_term).backward()
        optimizer.step()
        schedule.step()
    model.eval()

    result = localizer.process(request)
    service.close()
    assert result.ok, result.rejection
    error = np.hypot(*(result.pose.position[:2] - T_map_base[:2, 3]))
    assert error < 1.0, f"{platform_name}: {error:.2f} m after {steps} steps, loss {loss.total:.3f}"
