"""PMTiles v3 raster archive source, read through the `pmtiles` package over a memory map.

The map is created here rather than by `pmtiles.reader.MmapSource` so that `close` can
release it.
"""

from __future__ import annotations

import gzip
import mmap
import threading
from pathlib import Path

from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType

from sky2ground_ros.tiles.tile import (
    MAX_ZOOM,
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    TileSourceError,
    web_mercator_tile,
)

_RASTER_TYPES = (TileType.PNG, TileType.JPEG, TileType.WEBP)


class PMTilesSource(TileSource):
    """Tiles from a local ``.pmtiles`` archive."""

    kind = "pmtiles"

    def __init__(self, path: str | Path) -> None:
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise TileSourceError(f"no PMTiles file at {path}")
        super().__init__(str(file), file.name)
        self._lock = threading.Lock()
        try:
            with file.open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as error:  # an empty file cannot be mapped
            raise TileSourceError(f"cannot map {file.name}: {error}") from error
        self._reader = Reader(self._bytes)
        try:
            self.header = self._reader.header()
        except Exception as error:  # the library raises anything on a foreign file
            self._map.close()
            raise TileSourceError(f"{file.name} is not a PMTiles v3 archive: {error!r}") from error
        zooms = (self.header["min_zoom"], self.header["max_zoom"])
        problem = None
        if self.header["tile_type"] not in _RASTER_TYPES:
            problem = f"holds {self.header['tile_type'].name} tiles, not raster imagery"
        elif not 0 <= zooms[0] <= zooms[1] <= MAX_ZOOM:
            problem = f"has an invalid zoom range {zooms}"
        if problem:
            self._map.close()
            raise TileSourceError(f"{file.name} {problem}")
        self._zoom_range = zooms

    def _bytes(self, offset: int, length: int) -> bytes:
        return self._map[offset : offset + length]

    def read(self, key: TileKey) -> Tile | None:
        tile_id = self.tile_id(key)
        try:
            with self._lock:
                data = self._reader.get(key.z, key.x, key.y)
        except Exception as error:  # malformed directories surface as arbitrary exceptions
            raise CorruptTileError(tile_id, f"archive directory unreadable: {error!r}") from error
        if data is None:
            return None
        data = bytes(data)
        if self.header["tile_compression"] == Compression.GZIP:
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as error:
                raise CorruptTileError(tile_id, f"bad gzip payload: {error}") from error
        return web_mercator_tile(tile_id, key, data)

    @property
    def zoom_range(self) -> tuple[int, int]:
        return self._zoom_range

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        h = self.header
        box = tuple(h[k] / 1e7 for k in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7"))
        return None if box[0] >= box[2] or box[1] >= box[3] else box

    def close(self) -> None:
        with self._lock:
            self._map.close()
