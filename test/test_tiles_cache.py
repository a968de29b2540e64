"""Memory LRU and disk cache in front of a tile source."""

from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from sky2ground_ros.tiles.cache import CachedTileSource, MemoryTileCache
from sky2ground_ros.tiles.geotiff import GeoTiffSource
from sky2ground_ros.tiles.service import TileService, TileStatus
from sky2ground_ros.tiles.tile import CorruptTileError, Tile, TileKey, TileSource
from sky2ground_ros.tiles.xyz_dir import XYZDirectory

LAT, LON, ZOOM = 35.68, 139.76, 17


class CountingSource(TileSource):
    """Wraps a source and counts reads, standing in for a costly (persisted) source."""

    persist_in_disk_cache = True

    def __init__(self, inner: TileSource) -> None:
        super().__init__(inner.identity, inner.name)
        self.kind = inner.kind
        self.inner = inner
        self.reads = 0

    def read(self, key: TileKey) -> Tile | None:
        self.reads += 1
        return self.inner.read(key)

    @property
    def zoom_range(self) -> tuple[int, int]:
        return self.inner.zoom_range

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        return self.inner.bounds_wgs84


@pytest.fixture
def tiles(tmp_path: Path) -> XYZDirectory:
    centre = mercantile.tile(LON, LAT, ZOOM)
    store = XYZDirectory(tmp_path / "tiles", create=True)
    rng = np.random.default_rng(0)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            image = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
            data = cv2.imencode(".png", image)[1].tobytes()
            store.write(TileKey(ZOOM, centre.x + i, centre.y + j), data, "png")
    return store


def test_memory_lru_evicts_least_recently_used_within_byte_budget(tiles: XYZDirectory) -> None:
    keys = sorted(TileKey(ZOOM, int(p.parent.name), int(p.stem)) for p in tiles.root.rglob("*.png"))
    sample = [tiles.read(k) for k in keys[:4]]
    size = sample[0].image.nbytes + len(sample[0].data)
    cache = MemoryTileCache(max_bytes=int(size * 3.5))
    for tile in sample[:3]:
        cache.put("ns", tile)
    assert cache.get("ns", keys[0]) is sample[0]  # now most recent
    cache.put("ns", sample[3])
    assert len(cache) == 3 and cache.nbytes <= cache.max_bytes
    assert cache.get("ns", keys[1]) is None  # the least recently used went
    assert cache.get("ns", keys[0]) is sample[0] and cache.get("ns", keys[3]) is sample[3]
    assert cache.get("other", keys[0]) is None
    with pytest.raises(ValueError):
        MemoryTileCache(0)


def test_reads_go_memory_then_disk_then_source(tiles: XYZDirectory, tmp_path: Path) -> None:
    source = CountingSource(tiles)
    cache_root = tmp_path / "cache"
    cached = CachedTileSource(source, MemoryTileCache(), cache_root)
    key = TileKey(ZOOM, *mercantile.tile(LON, LAT, ZOOM)[:2])
    first = cached.read(key)
    assert source.reads == 1 and cached.stats.source_reads == 1
    assert cached.read(key) is first and source.reads == 1 and cached.stats.memory_hits == 1
    disk_file = cache_root / source.cache_namespace / str(key.z) / str(key.x) / f"{key.y}.png"
    assert disk_file.read_bytes() == first.data

    fresh = CachedTileSource(source, MemoryTileCache(), cache_root)  # new process, warm disk
    again = fresh.read(key)
    assert source.reads == 1 and fresh.stats.disk_hits == 1
    assert np.array_equal(again.image, first.image) and again.id == first.id
    assert not again.image.flags.writeable


def test_corrupt_cache_file_is_repaired_from_the_source(
    tiles: XYZDirectory, tmp_path: Path
) -> None:
    source = CountingSource(tiles)
    key = TileKey(ZOOM, *mercantile.tile(LON, LAT, ZOOM)[:2])
    CachedTileSource(source, None, tmp_path / "cache").read(key)
    disk_file = tmp_path / "cache" / source.cache_namespace / f"{key.z}/{key.x}/{key.y}.png"
    disk_file.write_bytes(disk_file.read_bytes()[:100])
    repaired = CachedTileSource(source, None, tmp_path / "cache").read(key)
    assert repaired is not None and source.reads == 2
    assert disk_file.read_bytes() == repaired.data

    disk_file.write_bytes(b"junk")
    (tiles.root / f"{key.z}/{key.x}/{key.y}.png").unlink()  # and the source lost it
    with pytest.raises(CorruptTileError, match="corrupt cache file"):
        CachedTileSource(source, None, tmp_path / "cache").read(key)


def test_local_tile_stores_are_not_copied_unless_asked(tiles: XYZDirectory, tmp_path: Path) -> None:
    assert CachedTileSource(tiles, MemoryTileCache(), tmp_path / "c1").disk is None
    forced = CachedTileSource(tiles, MemoryTileCache(), tmp_path / "c2", persist=True)
    assert forced.disk is not None


def test_warped_geotiff_tiles_are_served_from_cache(tmp_path: Path) -> None:
    path = tmp_path / "ortho.tif"
    rng = np.random.default_rng(1)
    x, y = mercantile.xy(LON, LAT)
    profile = {"driver": "GTiff", "width": 600, "height": 600, "count": 3, "dtype": "uint8"}
    transform = Affine(1.0, 0.0, x - 300.0, 0.0, -1.0, y + 300.0)
    with rasterio.open(path, "w", crs="EPSG:3857", transform=transform, **profile) as out:
        out.write(rng.integers(0, 255, (3, 600, 600), dtype=np.uint8))
    service = TileService.open(path, cache_dir=tmp_path / "cache", default_zoom=ZOOM)
    cached = service.source
    assert isinstance(cached, CachedTileSource) and isinstance(cached.source, GeoTiffSource)
    first = service.get_tiles(LAT, LON, 50.0)
    assert first.status == TileStatus.OK
    second = service.get_tiles(LAT, LON, 50.0)
    assert [t.id for t in second.tiles] == [t.id for t in first.tiles]
    assert cached.stats.memory_hits == len(first.tiles) == cached.stats.source_reads
    written = sorted((tmp_path / "cache").rglob("*.png"))
    assert len(written) == len(first.tiles)
    service.close()
