"""Resize / crop keeps projections exact; VGGT normalisation of a set of views."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.data.cameras import compose_extrinsics
from sky2ground_ros.data.transforms import normalize_views, plan_resize_crop


def _random_camera(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    f = rng.uniform(0.6, 1.5) * width
    return np.array([[f, 0, rng.uniform(0.3, 0.7) * width], [0, f * 1.01, 0.5 * height], [0, 0, 1]])


@pytest.mark.parametrize(
    ("size", "target", "random_crop"),
    [((640, 480), (518, 518), False), ((64, 48), (98, 70), True), ((300, 200), (56, 42), True)],
)
def test_new_intrinsics_project_points_where_the_pixels_moved(size, target, random_crop) -> None:
    rng = np.random.default_rng(0)
    (w, h), (tw, th) = size, target
    K = _random_camera(rng, w, h)
    plan = plan_resize_crop(w, h, tw, th, rng if random_crop else None)
    assert (plan.width, plan.height) == (tw, th)
    K2 = plan.apply_to_intrinsics(K)
    points = rng.normal(0, 1, (200, 3)) + np.array([0, 0, 4.0])
    uv = (points @ K.T)[:, :2] / points[:, 2:]
    uv2 = (points @ K2.T)[:, :2] / points[:, 2:]
    np.testing.assert_allclose(uv2, plan.apply_to_pixels(uv), atol=1e-9)


def test_image_and_depth_follow_the_same_pixel_mapping() -> None:
    w, h = 90, 60
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    # A linear ramp is reproduced exactly by bilinear / area resampling at the mapped spot.
    ramp = np.stack([u * 2.0, v * 3.0, u + v], axis=-1).astype(np.uint8)
    for target in ((56, 42), (140, 126)):
        plan = plan_resize_crop(w, h, *target, np.random.default_rng(3))
        out = plan.apply_to_image(ramp).astype(np.float64)
        uu, vv = np.meshgrid(np.arange(target[0]), np.arange(target[1]))
        src_u = (uu + plan.x0 + 0.5) / plan.scale_x - 0.5
        src_v = (vv + plan.y0 + 0.5) / plan.scale_y - 0.5
        inner = (src_u > 1) & (src_u < w - 2) & (src_v > 1) & (src_v < h - 2)
        np.testing.assert_allclose(out[..., 0][inner], 2.0 * src_u[inner], atol=1.01)
        np.testing.assert_allclose(out[..., 1][inner], 3.0 * src_v[inner], atol=1.51)
        index = (v * w + u).astype(np.float32)
        nearest = plan.apply_to_depth(index)
        np.testing.assert_array_equal(nearest, np.floor(src_v + 0.5) * w + np.floor(src_u + 0.5))


def test_normalisation_is_relative_to_first_camera_and_unit_scale() -> None:
    rng = np.random.default_rng(1)
    s, h, w = 4, 12, 16
    extrinsics = np.stack(
        [
            compose_extrinsics(Rotation.random(random_state=i).as_matrix(), rng.normal(0, 50, 3))
            for i in range(s)
        ]
    )
    K = np.stack([_random_camera(rng, w, h) for _ in range(s)])
    depths = rng.uniform(5, 40, (s, h, w))
    depths[1, :3] = 0.0
    out = normalize_views(extrinsics, K, depths)
    np.testing.assert_allclose(out.extrinsics[0], np.eye(3, 4), atol=1e-12)
    valid = out.point_masks
    assert valid.sum() == (depths > 0).sum()
    np.testing.assert_allclose(np.linalg.norm(out.world_points[valid], axis=1).mean(), 1.0)
    # every normalised point reprojects onto its own pixel with its own (normalised) depth
    u, v = np.meshgrid(np.arange(w), np.arange(h))
    for i in range(s):
        cam = out.world_points[i] @ out.extrinsics[i, :, :3].T + out.extrinsics[i, :, 3]
        proj = cam @ K[i].T
        m = valid[i]
        np.testing.assert_allclose(proj[m][:, 0] / proj[m][:, 2], u[m], atol=1e-9)
        np.testing.assert_allclose(proj[m][:, 1] / proj[m][:, 2], v[m], atol=1e-9)
        np.testing.assert_allclose(cam[m][:, 2], out.depths[i][m], rtol=1e-12)
    # a world scaled by 7 and moved normalises to the same thing
    scaled = extrinsics.copy()
    scaled[:, :, 3] = 7.0 * extrinsics[:, :, 3] + np.einsum(
        "sij,j->si", extrinsics[:, :, :3], [1, 2, 3]
    )
    again = normalize_views(scaled, K, 7.0 * depths)
    np.testing.assert_allclose(again.extrinsics, out.extrinsics, atol=1e-9)
    np.testing.assert_allclose(again.scale, 7.0 * out.scale)
    # without depth the scale comes from the camera centres
    empty = normalize_views(extrinsics, K, np.zeros_like(depths))
    assert empty.scale > 0 and not empty.point_masks.any()
