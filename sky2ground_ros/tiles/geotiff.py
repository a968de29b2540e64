"""GeoTIFF / COG orthophotos served as XYZ web-mercator tiles.

Each request warps exactly one 256x256 tile of the EPSG:3857 grid out of the raster through
a rasterio `WarpedVRT` (GDAL reads only the source windows it needs and uses overviews of a
COG when zoomed out), so a GeoTIFF in any projected CRS (e.g. a local transverse-Mercator
orthophoto) answers `tiles_for` exactly like a tile pyramid. Pixels outside the raster or
under its nodata/alpha mask are black; a tile with no valid pixel does not exist.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

import mercantile
import numpy as np
import rasterio
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import RasterioError
from rasterio.transform import Affine
from rasterio.vrt import WarpedVRT
from rasterio.warp import transform_bounds

from sky2ground_ros.geo.tile_camera import ground_gsd
from sky2ground_ros.tiles.tile import (
    MAX_ZOOM,
    WEB_MERCATOR,
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    TileSourceError,
    encode_png,
    make_web_mercator_tile,
)

TILE_SIZE = 256
ZOOM_LEVELS_BELOW_NATIVE = 6
"""Coarsest zoom served is this many levels above the raster's native one."""
ZOOM_LEVELS_ABOVE_NATIVE = 2
"""Finest zoom served is the native one plus this (the warp resamples the raster): the native
zoom is only the one nearest the pixel size, and at high latitude the zoom the localizer asks
for (17) is finer than a 1 m orthophoto's native zoom (16 above about 53.7°)."""


class GeoTiffSource(TileSource):
    """An orthophoto (RGB or grey, 8-bit) cut into web-mercator tiles on demand."""

    kind = "geotiff"
    persist_in_disk_cache = True

    def __init__(self, path: str | Path, resampling: Resampling = Resampling.bilinear) -> None:
        file = Path(path).expanduser().resolve()
        if not file.is_file():
            raise TileSourceError(f"no GeoTIFF at {path}")
        super().__init__(str(file), file.name)
        self._lock = threading.Lock()
        self._resampling = resampling
        try:
            self._dataset = rasterio.open(file)
        except RasterioError as error:
            raise TileSourceError(f"{file.name} is not a readable GeoTIFF: {error}") from error
        try:
            self._check_and_describe()
        except TileSourceError:
            self._dataset.close()
            raise

    def _check_and_describe(self) -> None:
        ds = self._dataset
        if ds.crs is None:
            raise TileSourceError(f"{self.name} has no CRS: it is not georeferenced")
        if ds.dtypes[0] != "uint8" or ds.count not in (1, 2, 3, 4):
            raise TileSourceError(
                f"{self.name}: need 8-bit grey or RGB(A), got {ds.count}x{ds.dtypes[0]}"
            )
        if ds.transform.b != 0.0 or ds.transform.d != 0.0:
            raise TileSourceError(f"{self.name} is rotated; only north-up orthophotos are served")
        self._bands = [1, 1, 1] if ds.count <= 2 else [1, 2, 3]
        self._has_mask = ds.nodata is not None or ColorInterp.alpha in ds.colorinterp
        self.crs = ds.crs.to_string()
        self._bounds_wgs84 = tuple(
            float(v) for v in transform_bounds(ds.crs, "EPSG:4326", *ds.bounds, densify_pts=21)
        )
        gsd_x, gsd_y = ground_gsd(self.crs, tuple(ds.bounds), ds.width, ds.height)
        self.native_gsd_m = math.sqrt(gsd_x * gsd_y)
        self.native_zoom = _zoom_for_gsd(self.native_gsd_m, self._bounds_wgs84)

    def read(self, key: TileKey) -> Tile | None:
        ll = mercantile.bounds(key.x, key.y, key.z)
        west, south, east, north = self._bounds_wgs84
        if ll.east <= west or ll.west >= east or ll.north <= south or ll.south >= north:
            return None
        xy = mercantile.xy_bounds(key.x, key.y, key.z)
        res = (xy.right - xy.left) / TILE_SIZE
        tile_id = self.tile_id(key)
        try:
            with (
                self._lock,
                WarpedVRT(
                    self._dataset,
                    crs=WEB_MERCATOR,
                    transform=Affine(res, 0.0, xy.left, 0.0, -res, xy.top),
                    width=TILE_SIZE,
                    height=TILE_SIZE,
                    resampling=self._resampling,
                    add_alpha=not self._has_mask,
                ) as vrt,
            ):
                rgb = vrt.read(self._bands)
                mask = vrt.dataset_mask()
        except RasterioError as error:
            raise CorruptTileError(tile_id, f"raster read failed: {error}") from error
        if not mask.any():
            return None
        image = np.ascontiguousarray(np.where(mask > 0, rgb, 0).transpose(1, 2, 0), np.uint8)
        return make_web_mercator_tile(tile_id, key, image, encode_png(image), "png")

    @property
    def zoom_range(self) -> tuple[int, int]:
        low = max(0, self.native_zoom - ZOOM_LEVELS_BELOW_NATIVE)
        return low, min(MAX_ZOOM, self.native_zoom + ZOOM_LEVELS_ABOVE_NATIVE)

    @property
    def default_zoom(self) -> int:
        return self.native_zoom

    @property
    def bounds_wgs84(self) -> tuple[float, float, float, float]:
        return self._bounds_wgs84

    def info(self) -> dict[str, Any]:
        ds = self._dataset
        return {
            **super().info(),
            "raster_crs": self.crs,
            "raster_size": [ds.width, ds.height],
            "native_gsd_m": self.native_gsd_m,
            "native_zoom": self.native_zoom,
        }

    def close(self) -> None:
        with self._lock:
            self._dataset.close()


def _zoom_for_gsd(gsd_m: float, bounds_wgs84: tuple[float, float, float, float]) -> int:
    """The web-mercator zoom whose ground GSD at the area's centre is nearest ``gsd_m``."""
    lon = (bounds_wgs84[0] + bounds_wgs84[2]) / 2.0
    lat = (bounds_wgs84[1] + bounds_wgs84[3]) / 2.0
    tile = mercantile.tile(lon, lat, MAX_ZOOM)
    xy = mercantile.xy_bounds(tile)
    finest = math.sqrt(
        np.prod(
            ground_gsd(WEB_MERCATOR, (xy.left, xy.bottom, xy.right, xy.top), TILE_SIZE, TILE_SIZE)
        )
    )
    return int(np.clip(MAX_ZOOM + round(math.log2(finest / gsd_m)), 0, MAX_ZOOM))
