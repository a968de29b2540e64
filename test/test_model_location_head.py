"""Location head: its geometry finds a camera on a known descriptor field; SkyNet wiring."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sky2ground_ros.geo.satellite_crops import CropPlan
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.camera_head import FOV_KNEE, positive_fov
from sky2ground_ros.model.location_head import (
    LocationGeometry,
    assemble_canvas,
    bev_templates,
    correlate,
    lifted_templates,
)

SIZE = 84
FEATURES = 48  # DPT fused map of an 84 px frame (8 x 6 patches)


class Field:
    """A smooth random D-channel descriptor field over the ENU plane."""

    def __init__(self, dim: int, spacing_m: float, extent_m: float, seed: int = 0) -> None:
        generator = torch.Generator().manual_seed(seed)
        n = int(2 * extent_m / spacing_m) + 1
        self.values = torch.randn(1, dim, n, n, generator=generator)
        self.extent = extent_m

    def __call__(self, east: torch.Tensor, north: torch.Tensor) -> torch.Tensor:
        """[dim, *shape] descriptors at ENU points of any shape."""
        grid = torch.stack([east / self.extent, -north / self.extent], dim=-1)
        out = F.grid_sample(self.values, grid.reshape(1, -1, 1, 2), align_corners=True)
        return out.reshape(self.values.shape[1], *east.shape)


def camera_axes(pitch_down_deg: float) -> torch.Tensor:
    """Level-frame axes (columns x, y, z) of a camera looking forward, pitched down."""
    phi = math.radians(pitch_down_deg)
    z = torch.tensor([math.cos(phi), 0.0, -math.sin(phi)])
    x = torch.tensor([0.0, -1.0, 0.0])
    return torch.stack([x, torch.linalg.cross(z, x), z], dim=1)


def camera_view(
    field: Field,
    nadir: tuple[float, float],
    heading: float,
    level_from_camera: torch.Tensor,
    height: float,
    K: torch.Tensor,  # noqa: N803 - the usual name of the intrinsics
) -> torch.Tensor:
    """[dim, 48, 48] descriptors a camera sees of the field (0 where a ray misses the ground)."""
    index = torch.arange(FEATURES, dtype=torch.float32) * (SIZE - 1) / (FEATURES - 1)
    v, u = torch.meshgrid(index, index, indexing="ij")
    rays = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    level = rays @ level_from_camera.T
    t = height / (-level[..., 2]).clamp(min=1e-6)
    forward, left = level[..., 0] * t, level[..., 1] * t
    c, s = math.cos(heading), math.sin(heading)
    east, north = nadir[0] + c * forward - s * left, nadir[1] + s * forward + c * left
    seen = field(east, north)
    return seen * (level[..., 2] < -1e-3)


def crop_views(field: Field, plan: CropPlan, west: float, north: float) -> torch.Tensor:
    """[K, dim, 48, 48] descriptors of the plan's crops of the field."""
    index = torch.arange(FEATURES, dtype=torch.float32) * (SIZE - 1) / (FEATURES - 1)
    views = []
    for row0, col0 in plan.offsets_px():
        rows, cols = torch.meshgrid(index + row0, index + col0, indexing="ij")
        views.append(field(west + (cols + 0.5) * plan.gsd_m, north - (rows + 0.5) * plan.gsd_m))
    return torch.stack(views)


def plane_depth(level_from_camera: torch.Tensor, height: float, K: torch.Tensor) -> torch.Tensor:  # noqa: N803
    """[84, 84] z-depth of the ground plane (0 above the horizon), in arbitrary units."""
    index = torch.arange(SIZE, dtype=torch.float32)
    v, u = torch.meshgrid(index, index, indexing="ij")
    rays = torch.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], torch.ones_like(u)], -1)
    down = -(rays @ level_from_camera.T)[..., 2]
    return torch.where(down > 1e-3, height / down.clamp(min=1e-3), 0.0) / 7.3


@pytest.mark.parametrize("lift", ["ground", "depth"])
@pytest.mark.parametrize(
    ("height", "pitch", "gsd", "spacing", "hfov"),
    [(1.7, 4.0, 1.0, 3.0, 70.0), (250.0, 50.0, 4.0, 12.0, 50.0)],
    ids=["drive", "flight"],
)
def test_correlation_finds_the_camera_on_an_exact_field(
    height: float, pitch: float, gsd: float, spacing: float, hfov: float, lift: str
) -> None:
    plan = CropPlan(gsd_m=gsd)
    field = Field(8, spacing, 3 * plan.canvas_m)
    west, north = -plan.canvas_m / 2, plan.canvas_m / 2
    nadir, heading = (0.37 * plan.canvas_m / 4, -0.21 * plan.canvas_m / 4), math.radians(130.0)
    axes = camera_axes(pitch)
    focal = (SIZE / 2) / math.tan(math.radians(hfov) / 2)
    K = torch.tensor([[focal, 0.0, (SIZE - 1) / 2], [0.0, focal, (SIZE - 1) / 2], [0, 0, 1.0]])
    camera = F.normalize(camera_view(field, nadir, heading, axes, height, K), dim=0)
    imagery = torch.ones(1, 4, SIZE, SIZE)
    canvas, covered = assemble_canvas(
        F.normalize(crop_views(field, plan, west, north), dim=1)[None], imagery, 2, 56, SIZE, 2
    )
    cell = 2 * gsd
    args = (K[None], axes[None], torch.tensor([height]), (SIZE, SIZE), cell, 36, 25)
    if lift == "ground":
        templates, masks, shifts = bev_templates(camera[None], *args)
    else:  # scale-free depth: the lift recovers metres from the near ground plane
        depth = plane_depth(axes, height, K)[None]
        templates, masks, shifts = lifted_templates(camera[None], depth, *args)
    scores, ok = correlate(canvas[0], covered[0], templates, masks, shifts)
    scores = torch.where(ok, scores, -2.0)[0]
    best = int(scores.argmax())
    k, row, col = np.unravel_index(best, scores.shape)
    true_col = (nadir[0] - west) / cell - 0.5
    true_row = (north - nadir[1]) / cell - 0.5
    assert abs(col - true_col) <= 1.0 and abs(row - true_row) <= 1.0
    assert min(abs(k - 13), 36 - abs(k - 13)) <= 1  # 130 deg / 10 deg bins
    far = scores.clone()
    far[:, max(row - 3, 0) : row + 4, max(col - 3, 0) : col + 4] = -2.0
    assert float(scores.max()) > float(far.max()) + 0.2  # one clear peak


def tiny_location_model(**overrides: object) -> SkyNet:
    torch.manual_seed(0)
    return SkyNet(get_config("tiny", img_size=SIZE, location_head=True, **overrides)).eval()


def window_geometry(cameras: int = 2) -> LocationGeometry:
    focal = 60.0
    K = torch.tensor([[focal, 0.0, 41.5], [0.0, focal, 41.5], [0.0, 0.0, 1.0]])
    return LocationGeometry(
        intrinsics=K.expand(1, cameras, 3, 3),
        level_from_camera=camera_axes(5.0).expand(1, cameras, 3, 3),
        height_m=torch.full((1, cameras), 1.7),
        gsd_m=torch.tensor([1.0]),
        grid=2,
        step_px=56,
    )


@pytest.mark.parametrize("lift", ["ground", "depth"])
def test_skynet_location_outputs_and_msa_still_isolates_the_cameras(lift: str) -> None:
    model = tiny_location_model(location_lift=lift)
    generator = torch.Generator().manual_seed(1)
    images = torch.rand(1, 6, 3, SIZE, SIZE, generator=generator)
    types = torch.tensor([[0, 0, 2, 2, 2, 2]])
    with torch.no_grad():
        out = model(images, types, geometry=window_geometry())
        other = images.clone()
        other[:, 2:] = torch.rand(1, 4, 3, SIZE, SIZE, generator=generator)
        changed = model(other, types, geometry=window_geometry())
    assert out["location_logits"].shape == (1, 2, 36, 70, 70)
    if lift == "ground":  # untrained depth may put every pixel in a few cells
        assert bool(out["location_valid"].all())
    for key in ("pose_enc", "depth"):  # MSA: camera predictions ignore the satellite crops
        torch.testing.assert_close(out[key][:, :2], changed[key][:, :2])
    assert not torch.allclose(out["location_logits"], changed["location_logits"])


def test_location_head_weights_are_new_next_to_the_vggt_layout() -> None:
    plain = SkyNet(get_config("tiny", img_size=SIZE)).state_dict()
    with_head = tiny_location_model().state_dict()
    added = set(with_head) - set(plain)
    assert added and all(k.startswith("location_head.") for k in added)
    assert set(plain) <= set(with_head)


def test_location_head_needs_the_crop_count_of_its_plan() -> None:
    model = tiny_location_model()
    images = torch.rand(1, 5, 3, SIZE, SIZE)
    with pytest.raises(ValueError, match="crop plan"):
        model(images, torch.tensor([[0, 0, 2, 2, 2]]), geometry=window_geometry())


def test_field_of_view_keeps_a_gradient_below_zero_and_vggt_values_above_the_knee() -> None:
    raw = torch.tensor([-1.0, -0.1, 0.0, FOV_KNEE, 0.3, 1.2], requires_grad=True)
    fov = positive_fov(raw)
    fov.sum().backward()
    assert bool((fov > 0).all())
    assert bool((raw.grad > 0).all())
    torch.testing.assert_close(fov[3:], raw[3:].detach())
