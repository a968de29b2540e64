"""MBTiles 1.3 (SQLite) raster tile source, opened read-only.

Rows are TMS (counted from the south); `TileKey.tms_y` converts. Queries use bound
parameters only. SQLite reports a damaged file as `sqlite3.DatabaseError`, which becomes
`TileSourceError` at open time and `CorruptTileError` for a single tile.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from urllib.request import pathname2url

from sky2ground_ros.tiles.tile import (
    MAX_ZOOM,
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    TileSourceError,
    web_mercator_tile,
)


class MBTilesSource(TileSource):
    """Tiles from the ``tiles`` table of an MBTiles file."""

    kind = "mbtiles"

    def __init__(self, path: str | Path) -> None:
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise TileSourceError(f"no MBTiles file at {path}")
        super().__init__(str(file), file.name)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                f"file:{pathname2url(str(file))}?mode=ro", uri=True, check_same_thread=False
            )
            self.metadata = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles")
            low, high = zooms.fetchone()
        except sqlite3.DatabaseError as error:
            raise TileSourceError(f"{file.name} is not a readable MBTiles file: {error}") from error
        fmt = str(self.metadata.get("format", "png")).lower()
        try:
            self._zoom_range = (
                int(self.metadata.get("minzoom", low if low is not None else 0)),
                int(self.metadata.get("maxzoom", high if high is not None else 0)),
            )
        except ValueError:
            self._zoom_range = (-1, -1)
        problem = None
        if fmt not in ("png", "jpg", "jpeg", "webp"):
            problem = f"holds '{fmt}' tiles, not raster imagery"
        elif not 0 <= self._zoom_range[0] <= self._zoom_range[1] <= MAX_ZOOM:
            problem = "has an invalid zoom range in its metadata"
        if problem:
            self._db.close()
            raise TileSourceError(f"{file.name} {problem}")

    def read(self, key: TileKey) -> Tile | None:
        tile_id = self.tile_id(key)
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT tile_data FROM tiles"
                    " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (key.z, key.x, key.tms_y),
                ).fetchone()
        except sqlite3.DatabaseError as error:
            raise CorruptTileError(tile_id, f"database error: {error}") from error
        if row is None:
            return None
        if not isinstance(row[0], bytes):
            raise CorruptTileError(tile_id, f"tile_data is {type(row[0]).__name__}, not a blob")
        return web_mercator_tile(tile_id, key, row[0])

    @property
    def zoom_range(self) -> tuple[int, int]:
        return self._zoom_range

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        try:
            west, south, east, north = (float(v) for v in str(self.metadata["bounds"]).split(","))
        except (KeyError, ValueError):
            return None
        return west, south, east, north

    def close(self) -> None:
        with self._lock:
            self._db.close()
