"""A directory of slippy-map tiles, ``root/z/x/y.png|jpg|jpeg|webp`` (y from the north).

The same layout is the on-disk cache (`XYZDirectory.write`), so a prefetched cache is itself
a tile source. All paths go through `paths.path_inside`; writes are atomic (temporary file
in the target directory, then `os.replace`) so readers never see a half-written tile.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import mercantile

from sky2ground_ros.tiles.paths import path_inside, resolve_root
from sky2ground_ros.tiles.tile import (
    MAX_ZOOM,
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    TileSourceError,
    web_mercator_tile,
)

EXTENSIONS = ("png", "jpg", "jpeg", "webp")
_EXTENSION_OF_FORMAT = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class XYZDirectory(TileSource):
    """Tiles stored as files under a root directory."""

    kind = "xyz"

    def __init__(self, root: str | Path, create: bool = False) -> None:
        try:
            self.root = resolve_root(root, create=create)
        except (FileNotFoundError, NotADirectoryError) as error:
            raise TileSourceError(f"no tile directory at {root}: {error}") from error
        super().__init__(str(self.root), self.root.name)

    def path_of(self, key: TileKey) -> Path | None:
        """The existing file of ``key`` (first matching extension), or None."""
        for ext in EXTENSIONS:
            path = path_inside(self.root, str(key.z), str(key.x), f"{key.y}.{ext}")
            if path.is_file():
                return path
        return None

    def read(self, key: TileKey) -> Tile | None:
        path = self.path_of(key)
        if path is None:
            return None
        tile_id = self.tile_id(key)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CorruptTileError(tile_id, f"unreadable file: {error.strerror}") from error
        return web_mercator_tile(tile_id, key, data)

    def write(self, key: TileKey, data: bytes, fmt: str) -> Path:
        """Store encoded tile bytes atomically; returns the file written."""
        if fmt not in _EXTENSION_OF_FORMAT:
            raise ValueError(f"cannot store tile format {fmt!r}")
        target = path_inside(
            self.root, str(key.z), str(key.x), f"{key.y}.{_EXTENSION_OF_FORMAT[fmt]}"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        for ext in EXTENSIONS:  # one file per tile: drop a stale one in another format
            stale = target.with_suffix(f".{ext}")
            if stale != target and stale.is_file():
                stale.unlink()
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tile-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def _levels(self) -> list[int]:
        """Zoom levels present as directories (names that are small decimal integers)."""
        names = (p.name for p in self.root.iterdir() if p.is_dir())
        return sorted(int(n) for n in names if _is_decimal(n) and int(n) <= MAX_ZOOM)

    @property
    def zoom_range(self) -> tuple[int, int]:
        levels = self._levels()
        return (levels[0], levels[-1]) if levels else (0, 0)

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        """Union of the tiles at the lowest zoom present (a cheap directory listing)."""
        levels = self._levels()
        if not levels:
            return None
        z = levels[0]
        boxes = []
        for column in (self.root / str(z)).iterdir():
            if not column.is_dir():
                continue
            for file in column.iterdir():
                stem, _, ext = file.name.partition(".")
                try:
                    key = TileKey.parse(str(z), column.name, stem)
                except ValueError:
                    continue
                if ext in EXTENSIONS:
                    boxes.append(mercantile.bounds(key.x, key.y, key.z))
        if not boxes:
            return None
        return (
            min(b.west for b in boxes),
            min(b.south for b in boxes),
            max(b.east for b in boxes),
            max(b.north for b in boxes),
        )


def _is_decimal(name: str) -> bool:
    return name.isascii() and name.isdigit() and len(name) <= 10
