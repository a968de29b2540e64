"""Tile cache benchmark: cache-hit latency as a ratio of an uncached read in the same process.

Writes a synthetic local transverse-Mercator orthophoto (what the data generator produces)
to a temporary directory, then times, per tile, the uncached GeoTIFF source (the baseline:
one warped 256x256 tile), a read through an empty cache (baseline + disk write), a disk-cache
hit in a fresh cache (PNG decode) and a memory-cache hit. Usage:

    .venv/bin/python benchmarks/tiles.py [--zoom 18] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import Affine

from sky2ground_ros.tiles.cache import CachedTileSource, MemoryTileCache
from sky2ground_ros.tiles.geotiff import GeoTiffSource
from sky2ground_ros.tiles.selection import tiles_for
from sky2ground_ros.tiles.tile import TileKey

LAT, LON = 47.3769, 8.5417


def write_orthophoto(path: Path, half_m: float = 600.0, gsd: float = 0.3) -> None:
    size = int(2 * half_m / gsd)
    crs = f"+proj=tmerc +lat_0={LAT} +lon_0={LON} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (3, size // 8, size // 8), dtype=np.uint8)
    image = image.repeat(8, axis=1).repeat(8, axis=2)  # blocky but compressible texture
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": crs,
        "transform": Affine(gsd, 0.0, -half_m, 0.0, -gsd, half_m),
        "tiled": True,
        "compress": "deflate",
    }
    with rasterio.open(path, "w", **profile) as out:
        out.write(image)


def per_tile_ms(read: Callable[[TileKey], object], keys: list[TileKey]) -> list[float]:
    times = []
    for key in keys:
        start = time.perf_counter()
        if read(key) is None:
            raise RuntimeError(f"tile {key} missing from the benchmark raster")
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoom", type=int, default=18)
    parser.add_argument("--radius", type=float, default=250.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ortho = Path(tmp) / "site.tif"
        write_orthophoto(ortho)
        keys = tiles_for(LAT, LON, args.radius, args.zoom)
        source = GeoTiffSource(ortho)
        per_tile_ms(source.read, keys)  # warm GDAL's block cache so the baseline is steady

        baseline, cold, disk, memory = [], [], [], []
        for repeat in range(args.repeats):
            baseline += per_tile_ms(source.read, keys)
            cache_root = Path(tmp) / f"cache{repeat}"
            cold_cache = CachedTileSource(source, MemoryTileCache(), cache_root)
            cold += per_tile_ms(cold_cache.read, keys)
            disk_cache = CachedTileSource(source, None, cache_root)
            disk += per_tile_ms(disk_cache.read, keys)
            memory += per_tile_ms(cold_cache.read, keys)
            if disk_cache.stats.disk_hits != len(keys) or cold_cache.stats.memory_hits != len(keys):
                raise RuntimeError("cache statistics do not match the reads made")
        source.close()

    base = statistics.median(baseline)
    print(f"{len(keys)} tiles at zoom {args.zoom}, {args.repeats} repeats; median per tile:")
    rows = [
        ("uncached GeoTIFF warp (baseline)", baseline),
        ("cache miss (warp + disk write)", cold),
        ("disk-cache hit (PNG decode)", disk),
        ("memory-cache hit", memory),
    ]
    for name, times in rows:
        median = statistics.median(times)
        print(f"  {name:34s} {median:9.4f} ms   x{median / base:.4f} of baseline")
    print(f"memory-hit speed-up over the baseline: {base / statistics.median(memory):.0f}x")


if __name__ == "__main__":
    main()
