"""Geodesy through pyproj against independent implementations (pymap3d, Krüger's series)."""

import math

import numpy as np
import pymap3d
import pytest

from sky2ground_ros.geo.geodesy import (
    LocalENU,
    ecef_to_geodetic,
    geodetic_to_ecef,
    geodetic_to_utm,
    ground_distance_m,
    utm_epsg,
    utm_to_geodetic,
)

MM = 1e-3
RNG = np.random.default_rng(20260)
N = 500


def random_points(n: int = N) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform on the sphere, heights from below sea level to airliner altitude."""
    lat = np.degrees(np.arcsin(RNG.uniform(-1.0, 1.0, n)))
    lon = RNG.uniform(-180.0, 180.0, n)
    alt = RNG.uniform(-500.0, 12_000.0, n)
    return lat, lon, alt


def test_ecef_matches_pymap3d_worldwide() -> None:
    lat, lon, alt = random_points()
    x, y, z = geodetic_to_ecef(lat, lon, alt)
    ref = np.array(pymap3d.geodetic2ecef(lat, lon, alt))
    assert np.abs(np.array([x, y, z]) - ref).max() < MM

    lat2, lon2, alt2 = ecef_to_geodetic(*ref)
    back = np.array(pymap3d.geodetic2ecef(lat2, lon2, alt2))
    assert np.abs(back - ref).max() < MM
    assert np.abs(alt2 - alt).max() < MM


def test_local_enu_matches_pymap3d_worldwide() -> None:
    lat0, lon0, alt0 = random_points(40)
    for origin in zip(lat0, lon0, alt0, strict=True):
        frame = LocalENU(*map(float, origin))
        # points up to ~50 km away and a few far ones
        lat = origin[0] + RNG.uniform(-0.4, 0.4, 25)
        lat = np.clip(lat, -89.9, 89.9)
        lon = origin[1] + RNG.uniform(-0.4, 0.4, 25)
        alt = RNG.uniform(-100.0, 3000.0, 25)
        enu = np.array(frame.from_geodetic(lat, lon, alt))
        ref = np.array(pymap3d.geodetic2enu(lat, lon, alt, *origin))
        assert np.abs(enu - ref).max() < MM

        lat2, lon2, alt2 = frame.to_geodetic(*ref)
        back = np.array(pymap3d.geodetic2enu(lat2, lon2, alt2, *origin))
        assert np.abs(back - ref).max() < MM

        ecef = np.array(pymap3d.enu2ecef(*ref, *origin))
        assert np.abs(np.array(frame.to_ecef(*ref)) - ecef).max() < MM
        assert np.abs(np.array(frame.from_ecef(*ecef)) - ref).max() < MM


def test_enu_axes_follow_rep103() -> None:
    frame = LocalENU(48.0, 11.0, 500.0)
    east = frame.from_geodetic(48.0, 11.001, 500.0)
    north = frame.from_geodetic(48.001, 11.0, 500.0)
    up = frame.from_geodetic(48.0, 11.0, 510.0)
    assert east[0] > 70 and abs(east[1]) < 0.01
    assert north[1] > 100 and abs(north[0]) < 1e-6
    assert up[2] == pytest.approx(10.0, abs=1e-6)
    points = RNG.normal(0.0, 1000.0, (10, 3))
    assert np.abs(frame.points_from_geodetic(frame.points_to_geodetic(points)) - points).max() < MM


def krueger_utm(lat: np.ndarray, lon: np.ndarray, zone: int, south: bool) -> np.ndarray:
    """Krüger's n-series (to n^3, truncation < 0.1 mm) for WGS84 UTM, written for this test."""
    a, f, k0 = 6378137.0, 1 / 298.257223563, 0.9996
    n = f / (2 - f)
    big_a = a / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    alpha = (n / 2 - 2 * n**2 / 3 + 5 * n**3 / 16, 13 * n**2 / 48 - 3 * n**3 / 5, 61 * n**3 / 240)
    phi = np.radians(lat)
    lam = np.radians(lon - (6 * zone - 183))
    e = 2 * math.sqrt(n) / (1 + n)
    t = np.sinh(np.arctanh(np.sin(phi)) - e * np.arctanh(e * np.sin(phi)))
    xi_p = np.arctan2(t, np.cos(lam))
    eta_p = np.arctanh(np.sin(lam) / np.sqrt(1 + t**2))
    xi = xi_p + sum(
        al * np.sin(2 * j * xi_p) * np.cosh(2 * j * eta_p) for j, al in enumerate(alpha, 1)
    )
    eta = eta_p + sum(
        al * np.cos(2 * j * xi_p) * np.sinh(2 * j * eta_p) for j, al in enumerate(alpha, 1)
    )
    return np.array([500_000 + k0 * big_a * eta, (10_000_000 if south else 0) + k0 * big_a * xi])


def test_utm_matches_krueger_series_and_round_trips() -> None:
    for _ in range(30):
        lat = RNG.uniform(-79.0, 83.0)
        lon = RNG.uniform(-180.0, 180.0)
        epsg = utm_epsg(lat, lon)
        zone, south = epsg % 100, epsg >= 32700
        lats = np.clip(lat + RNG.uniform(-0.5, 0.5, 20), -79.9, 83.9)
        centre = 6 * zone - 183
        lons = centre + RNG.uniform(-3.0, 3.0, 20)
        easting, northing, used = geodetic_to_utm(lats, lons, epsg)
        assert used == epsg
        ref = krueger_utm(lats, lons, zone, south)
        assert np.abs(np.array([easting, northing]) - ref).max() < MM
        lat2, lon2 = utm_to_geodetic(easting, northing, epsg)
        assert np.abs(np.array(geodetic_to_utm(lat2, lon2, epsg)[:2]) - ref).max() < MM


def test_utm_zone_choice() -> None:
    assert utm_epsg(0.0, 3.0) == 32631
    assert utm_epsg(-33.9, 18.4) == 32734
    assert utm_epsg(10.0, 6.0) == 32632  # a boundary belongs to the eastern zone
    assert utm_epsg(10.0, 180.0) == 32601
    easting, northing, epsg = geodetic_to_utm(0.0, 3.0)
    assert (epsg, float(easting), float(northing)) == (32631, pytest.approx(500_000.0), 0.0)
    with pytest.raises(ValueError):
        utm_epsg(85.0, 0.0)
    with pytest.raises(ValueError):
        utm_epsg(float("nan"), 0.0)


def test_geodesic_distance_matches_pymap3d_vincenty() -> None:
    from pymap3d.vincenty import vdist

    lat, lon, _ = random_points(20)
    for i in range(19):
        ref, _ = vdist(lat[i], lon[i], lat[i + 1], lon[i + 1])
        assert ground_distance_m(lat[i], lon[i], lat[i + 1], lon[i + 1]) == pytest.approx(
            float(ref), abs=1e-2
        )


def test_invalid_origin_is_refused() -> None:
    with pytest.raises(ValueError):
        LocalENU(91.0, 0.0)
    with pytest.raises(ValueError):
        LocalENU(0.0, float("nan"))
