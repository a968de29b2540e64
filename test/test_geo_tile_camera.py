"""The satellite tile camera: pixels of a georeferenced tile project back onto themselves."""

from dataclasses import dataclass

import mercantile
import numpy as np
import pytest

from sky2ground_ros.geo.geodesy import LocalENU, crs_to_lonlat, lonlat_to_crs
from sky2ground_ros.geo.tile_camera import DEFAULT_SATELLITE_ALTITUDE_M, ground_gsd, tile_camera


@dataclass
class FakeTile:
    crs: str
    bounds: tuple[float, float, float, float]
    width: int = 256
    height: int = 256


def mercator_tile(lon: float, lat: float, zoom: int) -> FakeTile:
    xy = mercantile.xy_bounds(mercantile.tile(lon, lat, zoom))
    return FakeTile("EPSG:3857", (xy.left, xy.bottom, xy.right, xy.top))


def reprojection_error(tile: FakeTile, frame: LocalENU, ground_alt: float) -> float:
    """Largest pixel error when the tile's ground pixels are projected through its camera."""
    K, extrinsic = tile_camera(tile, frame, ground_alt_m=ground_alt)
    rng = np.random.default_rng(1)
    u = rng.uniform(-0.5, tile.width - 0.5, 200)
    v = rng.uniform(-0.5, tile.height - 0.5, 200)
    min_x, min_y, max_x, max_y = tile.bounds
    x = min_x + (u + 0.5) * (max_x - min_x) / tile.width
    y = max_y - (v + 0.5) * (max_y - min_y) / tile.height
    lon, lat = crs_to_lonlat(tile.crs, x, y)
    world = frame.points_from_geodetic(np.stack([lat, lon, np.full_like(lat, ground_alt)], 1))
    cam = world @ extrinsic[:, :3].T + extrinsic[:, 3]
    pix = cam @ K.T
    pix = pix[:, :2] / pix[:, 2:]
    return float(np.abs(pix - np.stack([u, v], 1)).max())


@pytest.mark.parametrize(
    ("lon", "lat", "zoom", "offset_deg"),
    [
        (10.0, 45.0, 17, 0.0),
        (-70.6, -33.4, 18, 0.03),
        (24.9, 60.2, 16, 0.05),
        (151.2, -33.9, 19, 0.0),
    ],
)
def test_mercator_tile_pixels_reproject_exactly(
    lon: float, lat: float, zoom: int, offset_deg: float
) -> None:
    frame = LocalENU(lat + offset_deg, lon - offset_deg, 120.0)
    tile = mercator_tile(lon, lat, zoom)
    assert reprojection_error(tile, frame, ground_alt=120.0) < 0.02


def test_transverse_mercator_tile_off_central_meridian() -> None:
    # 2.8° east of zone 32's central meridian: the grid is rotated ~2° from true north
    lon, lat = 11.8, 47.0
    x, y = lonlat_to_crs("EPSG:32632", lon, lat)
    tile = FakeTile(
        "EPSG:32632", (float(x), float(y), float(x) + 512.0, float(y) + 512.0), 512, 512
    )
    frame = LocalENU(lat, lon, 600.0)
    # the convergence itself varies by ~6e-5 rad across 512 m: up to ~0.015 px at the edges
    assert reprojection_error(tile, frame, ground_alt=600.0) < 0.04
    _, extrinsic = tile_camera(tile, frame)
    image_x_in_enu = extrinsic[0, :3]
    heading = np.degrees(np.arctan2(image_x_in_enu[1], image_x_in_enu[0]))
    assert 1.0 < abs(heading) < 3.0  # meridian convergence, not East


def test_camera_is_nadir_north_up_with_focal_from_gsd() -> None:
    lon, lat = 10.0, 45.0
    tile = mercator_tile(lon, lat, 17)
    frame = LocalENU(lat, lon, 0.0)
    K, extrinsic = tile_camera(tile, frame, altitude_m=500.0)
    rotation = extrinsic[:, :3]
    assert np.allclose(rotation, np.diag([1.0, -1.0, -1.0]), atol=1e-4)  # x East, y South, z down
    centre = -rotation.T @ extrinsic[:, 3]
    assert centre[2] == pytest.approx(500.0, abs=0.05)
    gsd_x, gsd_y = ground_gsd(tile.crs, tile.bounds, 256, 256)
    assert K[0, 0] == pytest.approx(500.0 / gsd_x) and K[1, 1] == pytest.approx(500.0 / gsd_y)
    assert (K[0, 2], K[1, 2]) == (127.5, 127.5)
    # web-mercator: ~156543 m/px at z0 on the equator, times cos(lat), halved per zoom level
    spherical = 2 * np.pi * 6378137.0 / 256 / 2**17 * np.cos(np.radians(lat))
    assert gsd_x == pytest.approx(spherical, rel=5e-3)
    assert gsd_x / gsd_y == pytest.approx(1.0, abs=5e-3)  # ellipsoidal anisotropy is tiny
    K_default, extrinsic_default = tile_camera(tile, frame)
    assert K_default[0, 0] == pytest.approx(DEFAULT_SATELLITE_ALTITUDE_M / gsd_x)
    centre_up = (-extrinsic_default[:, :3].T @ extrinsic_default[:, 3])[2]
    assert centre_up == pytest.approx(DEFAULT_SATELLITE_ALTITUDE_M, abs=1.0)


def test_degenerate_tile_geometry_is_refused() -> None:
    frame = LocalENU(45.0, 10.0)
    with pytest.raises(ValueError):
        tile_camera(FakeTile("EPSG:3857", (0.0, 0.0, 0.0, 10.0)), frame)
    with pytest.raises(ValueError):
        tile_camera(mercator_tile(10.0, 45.0, 17), frame, altitude_m=-5.0)
