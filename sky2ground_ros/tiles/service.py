"""The satellite tile service without ROS: "give me the tiles around this point".

The ROS node (`sky2ground_ros.ros.tile_server_node`) and the replay pipeline both call
`TileService.get_tiles`, which never raises for a bad request: every outcome is a
`TileResponse` whose status mirrors sky2ground_interfaces/srv/GetTiles (OK, NO_COVERAGE,
PARTIAL, ERROR), with unusable tiles listed as ``"<id>: <reason>"`` in ``skipped``, where
the server's folders are named relative to the source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path

from sky2ground_ros.tiles.cache import DEFAULT_MEMORY_BYTES, CachedTileSource, MemoryTileCache
from sky2ground_ros.tiles.selection import (
    TooManyTilesError,
    circle_bounds,
    covering_tiles,
    tiles_for,
    validate_area,
)
from sky2ground_ros.tiles.sources import open_tile_source
from sky2ground_ros.tiles.tile import Tile, TileError, TileSource

LOG = logging.getLogger(__name__)


class TileStatus(IntEnum):
    """Same values as the GetTiles.srv STATUS_* constants."""

    OK = 0
    NO_COVERAGE = 1
    PARTIAL = 2
    ERROR = 3


@dataclass(frozen=True)
class TileResponse:
    """Outcome of one request."""

    status: TileStatus
    message: str
    tiles: tuple[Tile, ...] = ()
    skipped: tuple[str, ...] = ()


class TileService:
    """Tiles covering circular areas, from one (cached) source."""

    def __init__(
        self,
        source: TileSource,
        default_zoom: int | None = None,
        max_radius_m: float = 2000.0,
        max_tiles: int = 64,
    ) -> None:
        low, high = source.zoom_range
        if default_zoom is not None and not low <= default_zoom <= high:
            raise ValueError(
                f"default zoom {default_zoom} outside the source's range [{low}, {high}]"
            )
        if not max_radius_m > 0 or max_tiles < 1:
            raise ValueError("max_radius_m and max_tiles must be positive")
        self.source = source
        self.default_zoom = source.default_zoom if default_zoom is None else default_zoom
        self.max_radius_m = max_radius_m
        self.max_tiles = max_tiles

    @classmethod
    def open(
        cls,
        uri_or_path: str | Path,
        cache_dir: str | Path | None = None,
        default_zoom: int | None = None,
        max_radius_m: float = 2000.0,
        max_tiles: int = 64,
        allow_network: bool = False,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
    ) -> TileService:
        """Open a source (see `open_tile_source`) behind a memory cache and a disk cache."""
        source = open_tile_source(uri_or_path, allow_network=allow_network)
        cached = CachedTileSource(source, MemoryTileCache(memory_bytes), cache_dir)
        return cls(cached, default_zoom, max_radius_m, max_tiles)

    def get_tiles(
        self, lat: float, lon: float, radius_m: float, zoom: int | None = None
    ) -> TileResponse:
        """Tiles covering the circle (grown to at least 2x2), nearest first.

        ``zoom`` None or 0 uses the service's default zoom.
        """
        zoom = zoom or self.default_zoom
        try:
            validate_area(lat, lon, radius_m, zoom)
        except ValueError as error:
            return TileResponse(TileStatus.ERROR, f"bad request: {error}")
        if radius_m > self.max_radius_m:
            return TileResponse(
                TileStatus.ERROR,
                f"radius {radius_m:.0f} m exceeds the limit {self.max_radius_m:.0f} m",
            )
        low, high = self.source.zoom_range
        label = f"{self.source.kind}:{self.source.name}"
        if not low <= zoom <= high:
            return TileResponse(
                TileStatus.NO_COVERAGE, f"zoom {zoom} is outside {label}'s range [{low}, {high}]"
            )
        coverage = self.source.bounds_wgs84
        if coverage is not None and not _overlaps(circle_bounds(lat, lon, radius_m), coverage):
            return TileResponse(
                TileStatus.NO_COVERAGE,
                f"no coverage: {radius_m:.0f} m around ({lat:.6f}, {lon:.6f}) is outside {label} "
                f"(W,S,E,N = {', '.join(f'{v:.5f}' for v in coverage)})",
            )
        advice = "ask for a smaller radius or a lower zoom"
        try:
            keys = tiles_for(lat, lon, radius_m, zoom, self.max_tiles)
        except TooManyTilesError as error:
            return TileResponse(TileStatus.ERROR, f"{error}: {advice}")
        if len(keys) > self.max_tiles:
            return TileResponse(
                TileStatus.ERROR,
                f"{len(keys)} tiles needed at zoom {zoom}, limit {self.max_tiles}: {advice}",
            )
        required = covering_tiles(lat, lon, radius_m, zoom)
        tiles: list[Tile] = []
        skipped: list[str] = []
        missing_required = 0
        for key in keys:
            try:
                tile = self.source.read(key)
            except TileError as error:
                LOG.warning("skipping tile %s: %s", key, error)
                skipped.append(self._as_client_sees_it(error))
                tile = None
            if tile is not None:
                tiles.append(tile)
            elif key in required:
                missing_required += 1
        response = _summarise(label, zoom, tiles, skipped, missing_required, len(required))
        if not tiles and self.source.info().get("network") == "off":
            hint = "; network fetching is off: prefetch the area or allow the network"
            response = replace(response, message=response.message + hint)
        return response

    def _as_client_sees_it(self, error: TileError) -> str:
        """The error with the server's own folders named relative to the source."""
        text, identity = str(error), self.source.identity
        if Path(identity).is_absolute():
            text = text.replace(identity, self.source.name)
        return text

    def close(self) -> None:
        self.source.close()


def _summarise(
    label: str, zoom: int, tiles: list[Tile], skipped: list[str], missing: int, required: int
) -> TileResponse:
    if not tiles and skipped:
        status, text = TileStatus.ERROR, f"every tile found in {label} was unusable"
    elif not tiles:
        status, text = (
            TileStatus.NO_COVERAGE,
            f"no coverage: {label} has no tile here at zoom {zoom}",
        )
    elif missing:
        status = TileStatus.PARTIAL
        text = f"{len(tiles)} tiles from {label} at zoom {zoom}; {missing} of {required} missing"
    else:
        status, text = TileStatus.OK, f"{len(tiles)} tiles from {label} at zoom {zoom}"
    if skipped:
        text += f"; {len(skipped)} skipped"
    return TileResponse(status, text, tuple(tiles), tuple(skipped))


def _overlaps(
    area: tuple[float, float, float, float], coverage: tuple[float, float, float, float]
) -> bool:
    """Whether two (west, south, east, north) boxes intersect; either may cross ±180°."""
    if area[3] < coverage[1] or area[1] > coverage[3]:
        return False
    return any(
        a_w <= c_e and c_w <= a_e
        for a_w, a_e in _lon_ranges(area[0], area[2])
        for c_w, c_e in _lon_ranges(coverage[0], coverage[2])
    )


def _lon_ranges(west: float, east: float) -> list[tuple[float, float]]:
    return [(west, east)] if west <= east else [(west, 180.0), (-180.0, east)]
