"""Tile caching: an in-memory LRU of decoded tiles in front of an on-disk XYZ cache.

`MemoryTileCache` is a small OrderedDict LRU written here rather than taken from a library
because it needs a byte budget over numpy images, a lock (the ROS node and replay may read
from several threads) and hit/miss counters, and it is a dozen lines; no dependency added.

`CachedTileSource` wraps any source: memory → disk (only for sources whose tiles are costly
to produce: warped GeoTIFFs, HTTP) → source. The disk cache lives in
``<cache root>/<source namespace>/z/x/y.<ext>``, is written atomically and is itself a valid
XYZ directory source; a corrupt cache file is replaced from the source when the source can
produce the tile again, and reported otherwise. Every cache path is resolved, links included,
and must stay inside the resolved cache root: a source folder linked outside is refused when
the cache opens, a link placed later is neither read nor written through.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sky2ground_ros.tiles.paths import path_inside, resolve_root
from sky2ground_ros.tiles.tile import (
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    UnsafePathError,
    web_mercator_tile,
)
from sky2ground_ros.tiles.xyz_dir import XYZDirectory

LOG = logging.getLogger(__name__)
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024


@dataclass
class CacheStats:
    """Where reads were answered from."""

    memory_hits: int = 0
    disk_hits: int = 0
    source_reads: int = 0


class MemoryTileCache:
    """Thread-safe LRU of tiles keyed by (source namespace, tile key), bounded in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError("memory cache size must be positive")
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, TileKey], Tile] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _size(tile: Tile) -> int:
        return tile.image.nbytes + len(tile.data)

    def get(self, namespace: str, key: TileKey) -> Tile | None:
        with self._lock:
            tile = self._items.get((namespace, key))
            if tile is not None:
                self._items.move_to_end((namespace, key))
            return tile

    def put(self, namespace: str, tile: Tile) -> None:
        size = self._size(tile)
        if size > self.max_bytes:
            return
        with self._lock:
            previous = self._items.pop((namespace, tile.key), None)
            if previous is not None:
                self._bytes -= self._size(previous)
            self._items[(namespace, tile.key)] = tile
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= self._size(evicted)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes


class CachedTileSource(TileSource):
    """A source seen through the memory cache and, optionally, a disk cache."""

    def __init__(
        self,
        source: TileSource,
        memory: MemoryTileCache | None = None,
        cache_root: str | Path | None = None,
        persist: bool | None = None,
    ) -> None:
        """``persist`` forces (or forbids) the disk cache; default: the source's own choice."""
        super().__init__(source.identity, source.name)
        self.kind = source.kind
        self.source = source
        self.memory = memory
        self.disk = (
            _disk_cache(cache_root, source.cache_namespace)
            if cache_root is not None
            and (source.persist_in_disk_cache if persist is None else persist)
            else None
        )
        self.stats = CacheStats()

    def read(self, key: TileKey) -> Tile | None:
        namespace = self.source.cache_namespace
        if self.memory is not None and (tile := self.memory.get(namespace, key)) is not None:
            self.stats.memory_hits += 1
            return tile
        cache_error: CorruptTileError | None = None
        tile = None
        if self.disk is not None:
            try:
                tile = self._read_disk(self.disk, key)
            except CorruptTileError as error:
                cache_error = error
            if tile is not None:
                self.stats.disk_hits += 1
        if tile is None:
            self.stats.source_reads += 1
            tile = self.source.read(key)
            if tile is None and cache_error is not None:
                raise cache_error
            if tile is not None and self.disk is not None:
                self._write_disk(self.disk, tile)
        if tile is not None and self.memory is not None:
            self.memory.put(namespace, tile)
        return tile

    def _read_disk(self, disk: XYZDirectory, key: TileKey) -> Tile | None:
        try:
            path = disk.path_of(key)
        except UnsafePathError as error:  # a link placed in the cache: read the source instead
            LOG.warning("not reading %s from the disk cache: %s", key, error)
            return None
        if path is None:
            return None
        tile_id = self.tile_id(key)
        try:
            return web_mercator_tile(tile_id, key, path.read_bytes())
        except OSError as error:
            raise CorruptTileError(tile_id, f"cache file unreadable: {error.strerror}") from error
        except CorruptTileError as error:
            raise CorruptTileError(
                tile_id, f"corrupt cache file {path.name}: {error.reason}"
            ) from None

    def _write_disk(self, disk: XYZDirectory, tile: Tile) -> None:
        try:
            disk.write(tile.key, tile.data, tile.format)
        except (OSError, UnsafePathError) as error:
            LOG.warning("cannot write %s to the disk cache: %s", tile.id, error)

    @property
    def zoom_range(self) -> tuple[int, int]:
        return self.source.zoom_range

    @property
    def default_zoom(self) -> int:
        return self.source.default_zoom

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        return self.source.bounds_wgs84

    @property
    def cache_namespace(self) -> str:
        return self.source.cache_namespace

    def info(self) -> dict[str, Any]:
        info = self.source.info()
        if self.disk is not None:
            info["disk_cache"] = str(self.disk.root)
        return info

    def close(self) -> None:
        self.source.close()


def _disk_cache(cache_root: str | Path, namespace: str) -> XYZDirectory:
    """The source's folder in the cache root; `UnsafePathError` when a link leads it outside."""
    return XYZDirectory(path_inside(resolve_root(cache_root, create=True), namespace), create=True)
