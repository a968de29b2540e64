"""Satellite tiles around a prior as model-ready satellite frames with known ENU cameras.

Tiles come from any provider with the `TileService.get_tiles` signature (in-process service
or the ROS ``~/get_tiles`` client). Each tile's resized image and nadir camera in the map's
ENU frame are cached by tile id: the map frame never changes, so a robot that stays in one
area pays for resampling and geodesy once per tile, not once per window.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.tile_camera import tile_camera
from sky2ground_ros.localizer.preprocess import to_model_input
from sky2ground_ros.tiles.service import TileResponse, TileStatus
from sky2ground_ros.tiles.tile import Tile

REUSE_FRACTION = 0.1
"""Reuse the last tiles while the prior moved less than this fraction of the radius."""
EARTH_RADIUS_M = 6_371_000.0

TileProvider = Callable[[float, float, float, int | None], TileResponse]
"""``(lat, lon, radius_m, zoom) -> TileResponse``; zoom None means the source's default."""


class NoTilesError(RuntimeError):
    """No usable satellite tiles around the prior; `reason` is user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TileGeo:
    """Geo metadata of a tile (for a remote inference server; the model does not use it)."""

    zoom: int
    crs: str
    bounds: tuple[float, float, float, float]
    bounds_wgs84: tuple[float, float, float, float]
    gsd_m: float
    """Metres per pixel of the model-size image."""


@dataclass(frozen=True)
class TileFrame:
    """One tile ready for the model: image at model size, its intrinsics and ENU extrinsic."""

    id: str
    image: np.ndarray
    K: np.ndarray
    extrinsic: np.ndarray
    """World(ENU)-to-camera [R|t] (3x4) of the tile's nadir camera."""
    geo: TileGeo | None = None


@dataclass(frozen=True)
class TileQuery:
    """How many tiles, from how far, at which zoom, and the tile camera's height."""

    radius_m: float = 150.0
    zoom: int | None = None
    max_tiles: int = 4
    satellite_altitude_m: float = 1500.0


class TileFrames:
    """Fetches tiles around a point and converts them (cached) for a fixed map frame."""

    def __init__(
        self,
        provider: TileProvider,
        frame: LocalENU,
        image_size: int,
        query: TileQuery,
        cache_size: int = 256,
    ) -> None:
        self.provider = provider
        self.frame = frame
        self.image_size = image_size
        self.query = query
        self.cache_size = cache_size
        self.last_message = ""
        self._cache: OrderedDict[str, TileFrame] = OrderedDict()
        self._last: tuple[float, float, list[TileFrame]] | None = None

    def around(self, latitude: float, longitude: float) -> list[TileFrame]:
        """The nearest ``max_tiles`` tiles around a point; `NoTilesError` when there are none.

        The previous answer is reused while the point stays within `REUSE_FRACTION` of the
        radius of where it was asked for, so a slowly moving prior does not query the tile
        source (or the tile server) for every window.
        """
        q = self.query
        if self._last is not None and self._near_last(latitude, longitude):
            return self._last[2]
        response = self.provider(latitude, longitude, q.radius_m, q.zoom)
        self.last_message = response.message
        if response.status in (TileStatus.NO_COVERAGE, TileStatus.ERROR) or not response.tiles:
            self._last = None
            where = f"({latitude:.6f}, {longitude:.6f})"
            raise NoTilesError(f"no tiles around {where}: {response.message}")
        frames = [self._frame(tile) for tile in response.tiles[: q.max_tiles]]
        self._last = (latitude, longitude, frames)
        return frames

    def _near_last(self, latitude: float, longitude: float) -> bool:
        """Within the reuse distance of the last query point (local flat-earth distance)."""
        if self._last is None:
            return False
        last_lat, last_lon, _ = self._last
        north = math.radians(latitude - last_lat)
        east = math.radians(longitude - last_lon) * math.cos(math.radians(latitude))
        distance = EARTH_RADIUS_M * math.hypot(north, east)
        return distance <= REUSE_FRACTION * self.query.radius_m

    def _frame(self, tile: Tile) -> TileFrame:
        cached = self._cache.get(tile.id)
        if cached is not None:
            self._cache.move_to_end(tile.id)
            return cached
        camera = tile_camera(tile, self.frame, self.query.satellite_altitude_m)
        image, K = to_model_input(np.asarray(tile.image), camera.K, self.image_size)
        gsd_m = tile.gsd_m * camera.K[0, 0] / K[0, 0]  # pixels grow as the image shrinks
        geo = TileGeo(tile.zoom, tile.crs, tile.bounds, tile.bounds_wgs84, gsd_m)
        frame = TileFrame(tile.id, image, K, camera.extrinsic, geo)
        self._cache[tile.id] = frame
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return frame
