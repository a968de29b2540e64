"""Terrain heights from a DEM / DSM GeoTIFF: ellipsoidal metres at WGS84 points, bilinear.

The raster may be in any CRS (pyproj maps the points into it); nodata and points outside
the raster give NaN, so a caller can tell "no height here" from a height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from numpy.typing import ArrayLike
from rasterio.errors import RasterioError
from scipy.ndimage import map_coordinates

from sky2ground_ros.geo.geodesy import lonlat_to_crs


class ElevationError(ValueError):
    """The file is not a usable single-band elevation raster."""


class ElevationModel:
    """A DEM held in memory (the few MB of a site), sampled at latitude / longitude."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with rasterio.open(self.path) as dataset:
                if dataset.crs is None:
                    raise ElevationError(f"{self.path.name} has no CRS: it is not georeferenced")
                if dataset.transform.b != 0.0 or dataset.transform.d != 0.0:
                    raise ElevationError(f"{self.path.name} is rotated; need a north-up DEM")
                band = dataset.read(1, masked=True)
                self.crs = dataset.crs.to_string()
                self._inverse = ~dataset.transform
        except RasterioError as error:
            raise ElevationError(f"{self.path.name} is not a readable GeoTIFF: {error}") from error
        heights = np.ma.filled(band.astype(np.float64), np.nan)
        if not np.isfinite(heights).any():
            raise ElevationError(f"{self.path.name} holds no valid height")
        self._heights = heights

    def heights(self, latitude: ArrayLike, longitude: ArrayLike) -> np.ndarray:
        """Ellipsoidal heights (m) at the points; NaN where the DEM has none."""
        x, y = lonlat_to_crs(self.crs, longitude, latitude)
        col, row = self._inverse @ (np.ravel(x), np.ravel(y))
        # pixel centres sit at +0.5; map_coordinates indexes them at integers
        coords = np.stack([np.asarray(row) - 0.5, np.asarray(col) - 0.5])
        values = map_coordinates(self._heights, coords, order=1, mode="constant", cval=np.nan)
        return values.reshape(np.shape(x))
