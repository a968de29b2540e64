"""`tiles_for`: the tiles around a GNSS prior cover the circle and span a plane."""

import time

import mercantile
import numpy as np
import pytest

from sky2ground_ros.geo.geodesy import WGS84_GEOD
from sky2ground_ros.tiles.selection import (
    BOX_PER_CIRCLE_TILES,
    TooManyTilesError,
    box_tile_count,
    circle_bounds,
    covering_tiles,
    tiles_for,
)


def covered(lat: float, lon: float, radius: float, zoom: int) -> bool:
    """Every sampled point of the disc falls in a selected tile."""
    keys = {(k.x, k.y) for k in tiles_for(lat, lon, radius, zoom)}
    rng = np.random.default_rng(0)
    az = rng.uniform(0, 360, 300)
    dist = radius * np.sqrt(rng.uniform(0, 1, 300))
    dist[:72] = radius * 0.999  # the rim
    lons, lats, _ = WGS84_GEOD.fwd(np.full(300, lon), np.full(300, lat), az, dist)
    return all((t.x, t.y) in keys for t in map(mercantile.tile, lons, lats, [zoom] * 300))


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "zoom"),
    [
        (47.37, 8.54, 150.0, 17),
        (-33.87, 151.21, 900.0, 16),
        (64.15, -21.94, 300.0, 18),
        (0.0, 0.0, 50.0, 19),
        (-54.8, -68.3, 2000.0, 15),
    ],
)
def test_circle_is_covered_and_nearest_tile_first(
    lat: float, lon: float, radius: float, zoom: int
) -> None:
    keys = tiles_for(lat, lon, radius, zoom)
    assert covered(lat, lon, radius, zoom)
    assert len(set(keys)) == len(keys)
    nearest = mercantile.bounds(keys[0].x, keys[0].y, keys[0].z)
    assert nearest.west <= lon <= nearest.east and nearest.south <= lat <= nearest.north
    # nothing far outside: every tile touches the circle or the minimal 2x2 block
    required = covering_tiles(lat, lon, radius, zoom)
    assert len(set(keys) - required) <= 3


def test_small_radius_still_gives_a_two_by_two_block() -> None:
    keys = tiles_for(47.37, 8.54, 5.0, 17)
    assert len(keys) == 4
    assert len({k.x for k in keys}) == 2 and len({k.y for k in keys}) == 2
    assert len(covering_tiles(47.37, 8.54, 5.0, 17)) == 1
    # the block grows towards the nearest corner
    t = mercantile.tile(8.54, 47.37, 17)
    b = mercantile.bounds(t)
    east = (8.54 - b.west) > (b.east - 8.54)
    assert ({k.x for k in keys} - {t.x}).pop() == (t.x + 1 if east else t.x - 1)


def test_antimeridian_is_handled() -> None:
    west, _, east, _ = circle_bounds(-17.0, 179.999, 1000.0)
    assert west > east  # crosses ±180°
    keys = tiles_for(-17.0, 179.999, 1000.0, 15)
    xs = {k.x for k in keys}
    assert 0 in xs and (1 << 15) - 1 in xs
    assert covered(-17.0, 179.999, 1000.0, 15)


def test_invalid_areas_are_refused() -> None:
    for args in [
        (91.0, 0.0, 10.0, 10),
        (86.0, 0.0, 10.0, 10),
        (0.0, float("inf"), 10.0, 10),
        (0.0, 0.0, 0.0, 10),
        (0.0, 0.0, 10.0, 25),
        (0.0, 0.0, 10.0, 3.0),
    ]:
        with pytest.raises(ValueError):
            tiles_for(*args)


def test_box_tile_count_is_what_mercantile_lists() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        zoom = int(rng.integers(0, 8))
        west, east = rng.uniform(-180, 180, 2)
        south, north = np.sort(rng.uniform(-85.0, 85.0, 2))
        spans = list(mercantile.tiles(west, south, east, north, zoom))
        assert box_tile_count(west, south, east, north, zoom) == len(spans)
    assert box_tile_count(179.9, 0.0, -179.9, 0.1, 10) == 2 * 1  # across the antimeridian


def test_a_circles_box_spans_at_most_twice_its_tiles() -> None:
    """The bound `covering_tiles` relies on to refuse a request before listing its tiles."""
    rng = np.random.default_rng(2)
    for _ in range(150):
        lat, lon = rng.uniform(-80, 80), rng.uniform(-179.9, 179.9)
        zoom, radius = int(rng.integers(12, 20)), float(np.exp(rng.uniform(np.log(5), 7.2)))
        chosen = len(tiles_for(lat, lon, radius, zoom))
        if chosen <= 300:
            spanned = box_tile_count(*circle_bounds(lat, lon, radius), zoom)
            assert spanned <= BOX_PER_CIRCLE_TILES * chosen
            tiles_for(lat, lon, radius, zoom, limit=chosen)  # never refuses what fits


def test_a_huge_request_is_refused_without_listing_its_tiles() -> None:
    started = time.perf_counter()
    with pytest.raises(TooManyTilesError, match=r"spans \d+ tiles at zoom 24, limit 64"):
        covering_tiles(0.0, 0.0, 1999.0, 24, limit=64)
    assert box_tile_count(-180.0, -85.0, 180.0, 85.0, 24) > 2**46
    assert time.perf_counter() - started < 0.5
