"""Camera models: satellite tile camera contract, look-at axes, culling rectangles, helix rig."""

from __future__ import annotations

import numpy as np

from sky2ground_ros.data.cameras import (
    HelixConfig,
    OrthographicCamera,
    PinholeCamera,
    compose_extrinsics,
    helical_rig_cameras,
    intrinsics_from_hfov,
    look_at,
    satellite_camera,
)


def test_satellite_camera_is_the_tile_model() -> None:
    cam = satellite_camera((120.0, -40.0), altitude=1500.0, gsd=0.75, width=256, height=256)
    assert cam.intrinsics[0, 0] == cam.intrinsics[1, 1] == 1500.0 / 0.75
    np.testing.assert_allclose(cam.center, [120.0, -40.0, 1500.0])
    # Ground points on z = 0: x grows East, y grows South, gsd metres per pixel, and the
    # pixel centres tile the footprint [E - 128 g, E + 128 g].
    uv, z = cam.project(np.array([[120.0, -40.0, 0.0], [120.75, -40.0, 0.0], [120.0, -40.75, 0]]))
    np.testing.assert_allclose(uv[0], [127.5, 127.5])
    np.testing.assert_allclose(uv[1] - uv[0], [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(uv[2] - uv[0], [0.0, 1.0], atol=1e-9)
    np.testing.assert_allclose(z, 1500.0)
    west_edge_centre = np.array([[120.0 - 128 * 0.75 + 0.375, -40.0, 0.0]])
    np.testing.assert_allclose(cam.project(west_edge_centre)[0][0, 0], 0.0, atol=1e-9)


def test_tilted_satellite_keeps_target_on_principal_point() -> None:
    cam = satellite_camera((10.0, 20.0), 1200.0, 1.0, 64, 64, tilt_deg=3.0, tilt_azimuth_deg=30)
    uv, _ = cam.project(np.array([10.0, 20.0, 0.0]))
    np.testing.assert_allclose(uv, [31.5, 31.5], atol=1e-9)
    optical_axis = cam.extrinsics[2, :3]
    tilt = np.degrees(np.arccos(-optical_axis[2]))
    np.testing.assert_allclose(tilt, 3.0, atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(cam.center - [10.0, 20.0, 0.0]), 1200.0)


def test_look_at_uses_opencv_axes() -> None:
    extrinsics = look_at(np.zeros(3), np.array([0.0, 10.0, 0.0]))  # look North
    np.testing.assert_allclose(extrinsics[:, :3], [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-12)
    # a point up-right in front is at positive x, negative y, positive z
    cam = extrinsics[:, :3] @ np.array([1.0, 5.0, 1.0]) + extrinsics[:, 3]
    assert cam[0] > 0 and cam[1] < 0 and cam[2] > 0


def test_box_rectangles_cover_every_projection() -> None:
    rng = np.random.default_rng(0)
    K = intrinsics_from_hfov(64, 48, 70.0)
    cam = PinholeCamera(K, look_at(np.zeros(3), np.array([1.0, 0.0, 0.0])), 64, 48)
    lo = rng.uniform(-12, 12, (300, 3))
    hi = lo + rng.uniform(0.5, 15, (300, 3))
    bits = np.array([[(i >> k) & 1 for k in range(3)] for i in range(8)], dtype=bool)
    corners = np.where(bits[None], hi[:, None], lo[:, None])
    rects = cam.box_pixel_bounds(corners)
    straddling = 0
    for box, rect in zip(range(300), rects, strict=True):
        samples = lo[box] + rng.random((4000, 3)) * (hi[box] - lo[box])
        uv, z = cam.project(samples)
        seen = (z > 1e-3) & (uv[:, 0] > -0.5) & (uv[:, 0] < 63.5)
        seen &= (uv[:, 1] > -0.5) & (uv[:, 1] < 47.5)
        px = np.rint(uv[seen]).astype(int)
        assert np.all(px[:, 0] >= rect[0]) and np.all(px[:, 0] < rect[1])
        assert np.all(px[:, 1] >= rect[2]) and np.all(px[:, 1] < rect[3])
        straddling += bool(seen.any() and (z < 0).any())
    assert straddling > 10  # boxes around the camera were exercised


def test_orthographic_rays_and_rectangles() -> None:
    nadir = compose_extrinsics(np.diag([1.0, -1.0, -1.0]), np.array([5.0, 7.0, 100.0]))
    cam = OrthographicCamera(nadir, 0.5, 8, 6)
    origins, directions = cam.pixel_rays()
    np.testing.assert_allclose(directions, np.tile([0.0, 0.0, -1.0], (48, 1)))
    np.testing.assert_allclose(origins[0], [5.0 - 1.75, 7.0 + 1.25, 100.0])
    rect = cam.box_pixel_bounds(np.array([[[5.0, 7.0, 0.0]] * 8]))[0]
    assert rect[0] <= 3 < rect[1] and rect[2] <= 2 < rect[3]


def test_helix_descends_from_800_to_250_with_three_cameras() -> None:
    config = HelixConfig(positions=12)
    center = np.array([0.0, 0.0, 3.0])
    cams = helical_rig_cameras(config, center, 64, 64, np.random.default_rng(0))
    assert len(cams) == 36
    forward = [cam for _, rig, cam in cams if rig == 0]
    heights = np.array([cam.center[2] - 3.0 for cam in forward])
    radii = np.array([np.linalg.norm(cam.center[:2]) for cam in forward])
    np.testing.assert_allclose(heights[[0, -1]], [800.0, 250.0])
    assert np.all(np.diff(heights) < 0)
    assert radii[-1] < radii[0] / 2
    for cam in forward:  # the forward-oblique camera sees the site centre near its middle
        uv, z = cam.project(center)
        assert z > 0 and np.all(np.abs(uv - 31.5) < 64 * 0.15)
    for pos in range(12):
        rig = [cam for p, _, cam in cams if p == pos]
        np.testing.assert_allclose(rig[0].center, rig[1].center)
        yaw = np.degrees(_heading(rig[1]) - _heading(rig[0]))
        np.testing.assert_allclose((yaw + 180) % 360 - 180, 25.0, atol=1e-6)


def _heading(cam: PinholeCamera) -> float:
    """Heading of the optical axis (radians, counter-clockwise from East)."""
    axis = cam.extrinsics[2, :3]
    return float(np.arctan2(axis[1], axis[0]))
