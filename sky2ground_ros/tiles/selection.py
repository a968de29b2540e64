"""Which XYZ tiles cover a circle around a GNSS prior or the last pose.

The circle is geodesic (pyproj `Geod` on WGS84); its bounding box gives candidate tiles
(mercantile, which also splits boxes that cross the antimeridian) and a tile is kept when
its nearest point is within the radius. The selection is then grown to at least a 2x2 block
(the block whose shared corner is nearest the centre) so that registration always has tile
centres spanning a plane, even for a small radius inside one tile.
"""

from __future__ import annotations

import math

import mercantile
import numpy as np

from sky2ground_ros.geo.geodesy import WGS84_GEOD, ground_distance_m
from sky2ground_ros.tiles.tile import MAX_ZOOM, TileKey

MAX_LATITUDE = 85.0511287798
"""Web-mercator tiles end here."""
CIRCLE_POINTS = 72
BOX_PER_CIRCLE_TILES = 2
"""A circle's bounding box spans at most this many times the tiles `tiles_for` returns
(1.5 measured over random requests; tested), so a box over that is refused unlisted."""


class TooManyTilesError(ValueError):
    """A request spans more tiles than allowed; raised before any tile is listed."""


def box_tile_count(west: float, south: float, east: float, north: float, zoom: int) -> int:
    """How many tiles `mercantile.tiles` yields for the box (west > east: across ±180°),
    computed from its corner tiles, so even a continent at zoom 24 costs nothing."""
    spans = [(-180.0, east), (west, 180.0)] if west > east else [(west, east)]
    south, north = max(south, -MAX_LATITUDE), min(north, MAX_LATITUDE)
    total = 0
    for w, e in spans:
        upper_left = mercantile.tile(max(w, -180.0), north, zoom)
        lower_right = mercantile.tile(
            min(e, 180.0) - mercantile.LL_EPSILON, south + mercantile.LL_EPSILON, zoom
        )
        columns = lower_right.x - upper_left.x + 1
        rows = lower_right.y - upper_left.y + 1
        total += max(columns, 0) * max(rows, 0)
    return total


def validate_area(lat: float, lon: float, radius_m: float, zoom: int) -> None:
    """Raise ValueError unless the request describes a real area at a real zoom level."""
    if not all(math.isfinite(v) for v in (lat, lon, radius_m)):
        raise ValueError(f"non-finite request lat={lat} lon={lon} radius={radius_m}")
    if abs(lat) >= MAX_LATITUDE:
        raise ValueError(f"latitude {lat} is outside web-mercator coverage (±{MAX_LATITUDE:.4f})")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude {lon} is outside [-180, 180]")
    if radius_m <= 0.0:
        raise ValueError(f"radius must be positive, got {radius_m}")
    if isinstance(zoom, bool) or not isinstance(zoom, int) or not 0 <= zoom <= MAX_ZOOM:
        raise ValueError(f"zoom must be an integer in [0, {MAX_ZOOM}], got {zoom!r}")


def circle_bounds(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a geodesic circle; west > east when it crosses ±180°."""
    azimuths = np.linspace(0.0, 360.0, CIRCLE_POINTS, endpoint=False)
    lons, lats, _ = WGS84_GEOD.fwd(
        np.full(CIRCLE_POINTS, lon),
        np.full(CIRCLE_POINTS, lat),
        azimuths,
        np.full(CIRCLE_POINTS, radius_m),
    )
    offsets = (np.asarray(lons) - lon + 180.0) % 360.0 - 180.0  # unwrap around the centre
    pad = radius_m * 1e-3 / 111_000.0  # polygon chords cut inside the circle
    west = lon + offsets.min() - pad / max(math.cos(math.radians(lat)), 1e-6)
    east = lon + offsets.max() + pad / max(math.cos(math.radians(lat)), 1e-6)
    south = max(float(np.min(lats)) - pad, -MAX_LATITUDE)
    north = min(float(np.max(lats)) + pad, MAX_LATITUDE)
    if east - west >= 360.0:
        return -180.0, south, 180.0, north
    return _wrap(west), south, _wrap(east), north


def covering_tiles(
    lat: float, lon: float, radius_m: float, zoom: int, limit: int | None = None
) -> set[TileKey]:
    """Tiles at ``zoom`` that intersect the geodesic circle; with ``limit``,
    `TooManyTilesError` before listing when the circle's box alone rules that count out."""
    validate_area(lat, lon, radius_m, zoom)
    west, south, east, north = circle_bounds(lat, lon, radius_m)
    if limit is not None:
        spanned = box_tile_count(west, south, east, north, zoom)
        if spanned > BOX_PER_CIRCLE_TILES * limit:
            raise TooManyTilesError(
                f"{radius_m:.0f} m around the point spans {spanned} tiles at zoom {zoom}, "
                f"limit {limit}"
            )
    candidates = {TileKey(t.z, t.x, t.y) for t in mercantile.tiles(west, south, east, north, zoom)}
    return {k for k in candidates if _distance_to_tile(lat, lon, k) <= radius_m}


def tiles_for(
    lat: float, lon: float, radius_m: float, zoom: int, limit: int | None = None
) -> list[TileKey]:
    """Tiles at ``zoom`` covering the circle, grown to at least a 2x2 block, nearest first
    (``limit``: see `covering_tiles`)."""
    chosen = covering_tiles(lat, lon, radius_m, zoom, limit) | _nearest_block(lat, lon, zoom)
    return sorted(chosen, key=lambda k: (_distance_to_tile(lat, lon, k), k))


def _wrap(lon: float) -> float:
    """Bring a longitude that overshot ±180° by less than a turn back into range."""
    if lon > 180.0:
        return lon - 360.0
    if lon < -180.0:
        return lon + 360.0
    return lon


def _distance_to_tile(lat: float, lon: float, key: TileKey) -> float:
    """Geodesic distance (m) from the point to the nearest point of the tile (0 inside)."""
    b = mercantile.bounds(key.x, key.y, key.z)
    near_lat = min(max(lat, b.south), b.north)
    offset_w = (lon - b.west + 180.0) % 360.0 - 180.0  # signed, antimeridian-safe
    offset_e = (lon - b.east + 180.0) % 360.0 - 180.0
    inside = offset_w >= 0.0 and offset_e <= 0.0
    near_lon = lon if inside else (b.west if abs(offset_w) < abs(offset_e) else b.east)
    return ground_distance_m(lat, lon, near_lat, near_lon)


def _nearest_block(lat: float, lon: float, zoom: int) -> set[TileKey]:
    """The 2x2 block of tiles whose common corner is nearest the point."""
    if zoom == 0:
        return {TileKey(0, 0, 0)}
    side = 1 << zoom
    tile = mercantile.tile(lon, lat, zoom)
    xy = mercantile.xy_bounds(tile)
    px, py = mercantile.xy(lon, lat)
    dx = 1 if px >= (xy.left + xy.right) / 2.0 else -1
    dy = -1 if py >= (xy.bottom + xy.top) / 2.0 else 1  # tile y grows southwards
    rows = [tile.y, tile.y + dy if 0 <= tile.y + dy < side else tile.y - dy]
    columns = [tile.x, (tile.x + dx) % side]
    return {TileKey(zoom, x, y) for x in columns for y in rows}
