"""True-orthographic nadir orthophoto of a synthetic scene, written as a GeoTIFF.

The scene's world frame is local ENU at its geo-reference. The GeoTIFF uses a transverse
Mercator CRS centred on that origin (``+proj=tmerc +lat_0 +lon_0 +k=1``, WGS84 ellipsoid), so
its easting / northing equal ENU x / y: for points of the ENU plane z = 0 the horizontal
difference is below 0.1 mm within 2 km of the origin (measured with pyproj's topocentric
conversion; it grows as distance^3). The orthophoto is a parallel projection along -z, i.e.
a true orthophoto (building roofs over their footprints, no relief displacement).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sky2ground_ros.data.cameras import NADIR_ROTATION, OrthographicCamera, compose_extrinsics
from sky2ground_ros.data.raycast_renderer import Renderer
from sky2ground_ros.data.scene_format import GeoReference

_TILE = 256


def enu_crs_proj4(georef: GeoReference) -> str:
    """PROJ string of the transverse Mercator CRS matching the scene's ENU x / y."""
    return (
        f"+proj=tmerc +lat_0={georef.latitude!r} +lon_0={georef.longitude!r} +k=1 "
        "+x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
    )


@dataclass(frozen=True)
class Orthophoto:
    """A rendered orthophoto: RGB uint8 (H, W, 3) and surface height (DSM, metres, ENU z).

    Pixel (col, row) is centred at ``(west + (col + 0.5) gsd, north - (row + 0.5) gsd)``.
    """

    rgb: np.ndarray
    surface_height: np.ndarray
    west: float
    north: float
    gsd: float


def render_orthophoto(
    renderer: Renderer, west: float, north: float, width: int, height: int, gsd: float
) -> Orthophoto:
    """Render a north-up orthophoto straight down (parallel rays, no haze) tile by tile."""
    top = float(np.max(renderer.scene.poly_bounds[:, 1, 2], initial=0.0)) + 100.0
    top = max(top, renderer.scene.terrain.height_bounds[1] + 100.0)
    rgb = np.zeros((height, width, 3), dtype=np.uint8)
    surface = np.full((height, width), np.nan, dtype=np.float32)
    for row0 in range(0, height, _TILE):
        for col0 in range(0, width, _TILE):
            tw, th = min(_TILE, width - col0), min(_TILE, height - row0)
            east_c = west + (col0 + tw / 2.0) * gsd
            north_c = north - (row0 + th / 2.0) * gsd
            extrinsics = compose_extrinsics(NADIR_ROTATION, np.array([east_c, north_c, top]))
            out = renderer.render(OrthographicCamera(extrinsics, gsd, tw, th), haze=False)
            rgb[row0 : row0 + th, col0 : col0 + tw] = np.round(out.rgb * 255.0)
            tile = np.where(out.depth > 0, top - out.depth, np.nan)
            surface[row0 : row0 + th, col0 : col0 + tw] = tile
    return Orthophoto(rgb, surface, west, north, gsd)


def dem_path_for(orthophoto: str | Path) -> Path:
    """Where `write_orthophoto` puts the scene's DEM: ``<stem>_dem.tif`` beside it."""
    path = Path(orthophoto)
    return path.with_name(f"{path.stem}_dem.tif")


def write_orthophoto(
    renderer: Renderer,
    path: str | Path,
    gsd: float,
    half_extent: float | None = None,
    dem: str | Path | None = None,
) -> Path:
    """Render the square ``[-half_extent, half_extent]^2`` (default: town + 100 m) to a GeoTIFF.

    With ``dem``, the same grid's surface heights (a DSM: roofs, trees and terrain, as the
    orthophoto sees them) go to that GeoTIFF as float32 ellipsoidal metres, NaN for nodata.
    """
    import rasterio
    from rasterio.crs import CRS
    from rasterio.transform import Affine

    scene = renderer.scene
    half = half_extent if half_extent is not None else scene.core_half_size + 100.0
    size = math.ceil(2 * half / gsd)
    west, north = -size * gsd / 2.0, size * gsd / 2.0
    ortho = render_orthophoto(renderer, west, north, size, size, gsd)
    path = Path(path)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "crs": CRS.from_proj4(enu_crs_proj4(scene.georef)),
        "transform": Affine(gsd, 0.0, west, 0.0, -gsd, north),
        "compress": "deflate",
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    tags = {
        "scene": scene.name,
        "origin_latitude": repr(scene.georef.latitude),
        "origin_longitude": repr(scene.georef.longitude),
        "origin_altitude": repr(scene.georef.altitude),
        "world_frame": "ENU",
    }
    with rasterio.open(path, "w", count=3, dtype="uint8", photometric="RGB", **profile) as dst:
        dst.write(np.moveaxis(ortho.rgb, 2, 0))
        dst.update_tags(**tags)
    if dem is not None:
        heights = _ellipsoidal_heights(ortho, scene.georef)
        with rasterio.open(dem, "w", count=1, dtype="float32", nodata=np.nan, **profile) as dst:
            dst.write(heights[None])
            dst.update_tags(**tags, heights="ellipsoidal metres of the surface (DSM)")
    return path


def _ellipsoidal_heights(ortho: Orthophoto, georef: GeoReference) -> np.ndarray:
    """WGS84 heights of the orthophoto's surface points (its grid is ENU x / y)."""
    from sky2ground_ros.geo.geodesy import LocalENU

    rows, cols = ortho.surface_height.shape
    east = ortho.west + (np.arange(cols) + 0.5) * ortho.gsd
    north = ortho.north - (np.arange(rows) + 0.5) * ortho.gsd
    grid_e, grid_n = np.meshgrid(east, north)
    frame = LocalENU(georef.latitude, georef.longitude, georef.altitude)
    _, _, height = frame.to_geodetic(grid_e, grid_n, np.nan_to_num(ortho.surface_height))
    return np.where(np.isfinite(ortho.surface_height), height, np.nan).astype(np.float32)
