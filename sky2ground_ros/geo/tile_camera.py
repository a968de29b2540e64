"""The satellite tile camera: a georeferenced orthophoto tile seen as a nadir pinhole.

A north-up tile of ground sample distance ``g`` (m/px) is the image of a pinhole camera
looking straight down from altitude ``H`` above the tile centre with focal length ``H / g``
pixels, image x along the grid's +x (East), image y along -y (South), optical axis down.
Ground distances, the grid axes and the local vertical are measured through pyproj in the
chosen local ENU frame, so the model is exact for any conformal CRS: web-mercator's
``1/cos(lat)`` scale (and its small ellipsoidal anisotropy), a transverse-Mercator grid's
meridian convergence and the Earth's curvature between the ENU origin and the tile all
come out of the projection library instead of hand-written formulas.

Intrinsics follow the project convention of pixel centres at integer coordinates, so the
principal point is ``((W - 1) / 2, (H - 1) / 2)`` and maps to the centre of the bounds.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from sky2ground_ros.geo.geodesy import WGS84_GEOD, LocalENU, crs_to_lonlat

DEFAULT_SATELLITE_ALTITUDE_M = 1500.0
"""Tile camera height above ground: the middle of Sky2Ground's 1–2 km satellite altitudes,
which the synthetic training data also spans, so predicted and known tile cameras agree."""


class GeoreferencedImage(Protocol):
    """What the camera model needs from a tile (see `sky2ground_ros.tiles.tile.Tile`)."""

    @property
    def crs(self) -> str: ...

    @property
    def bounds(self) -> tuple[float, float, float, float]: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


class TileCamera(NamedTuple):
    """Intrinsics ``K`` (3x3, px) and world-to-camera extrinsic ``[R|t]`` (3x4, ENU)."""

    K: np.ndarray
    extrinsic: np.ndarray


def ground_gsd(
    crs: str, bounds: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float]:
    """True ground metres per pixel along image x and y at the centre of the bounds.

    Measured as geodesic distances on WGS84 between points one pixel either side of the
    centre, so projection scale factors (e.g. web-mercator's) are accounted for.
    """
    min_x, min_y, max_x, max_y = (float(b) for b in bounds)
    if not (width > 0 and height > 0 and max_x > min_x and max_y > min_y):
        raise ValueError(f"degenerate tile geometry: bounds={bounds}, size={width}x{height}")
    res_x, res_y = (max_x - min_x) / width, (max_y - min_y) / height
    cx, cy = (min_x + max_x) / 2.0, (min_y + max_y) / 2.0
    lon, lat = crs_to_lonlat(
        crs, [cx - res_x, cx + res_x, cx, cx], [cy, cy, cy - res_y, cy + res_y]
    )
    _, _, dist = WGS84_GEOD.inv(lon[[0, 2]], lat[[0, 2]], lon[[1, 3]], lat[[1, 3]])
    return float(dist[0]) / 2.0, float(dist[1]) / 2.0


def tile_camera(
    tile: GeoreferencedImage,
    frame: LocalENU,
    altitude_m: float = DEFAULT_SATELLITE_ALTITUDE_M,
    ground_alt_m: float | None = None,
) -> TileCamera:
    """The nadir pinhole camera of a tile, posed in the local ENU ``frame``.

    ``altitude_m`` is the camera height above the tile's ground; it must match the satellite
    altitudes the model was trained on, or every registered camera's height is off by the
    difference (scale is unaffected). ``ground_alt_m`` is the ellipsoidal height of the
    imaged ground (default: the ENU origin's height).
    """
    width, height = int(tile.width), int(tile.height)
    gsd_x, gsd_y = ground_gsd(tile.crs, tile.bounds, width, height)
    altitude = float(altitude_m)
    if not (np.isfinite(altitude) and altitude > 0.0):
        raise ValueError(f"tile camera altitude must be positive, got {altitude_m}")
    ground = frame.alt0 if ground_alt_m is None else float(ground_alt_m)

    min_x, min_y, max_x, max_y = (float(b) for b in tile.bounds)
    res_x = (max_x - min_x) / width
    cx, cy = (min_x + max_x) / 2.0, (min_y + max_y) / 2.0
    lon, lat = crs_to_lonlat(tile.crs, [cx, cx - res_x, cx + res_x], [cy, cy, cy])
    points = frame.points_from_geodetic(
        np.stack([np.append(lat, lat[0]), np.append(lon, lon[0]), [ground] * 3 + [ground + 1.0]], 1)
    )
    centre, up = points[0], points[3] - points[0]
    grid_x = points[2] - points[1]

    z_axis = -up / np.linalg.norm(up)
    x_axis = grid_x - (grid_x @ z_axis) * z_axis
    x_axis /= np.linalg.norm(x_axis)
    y_axis = np.cross(z_axis, x_axis)
    rotation = np.stack([x_axis, y_axis, z_axis])
    camera_centre = centre + altitude * up / np.linalg.norm(up)
    extrinsic = np.concatenate([rotation, (-rotation @ camera_centre)[:, None]], axis=1)

    K = np.array(
        [
            [altitude / gsd_x, 0.0, (width - 1) / 2.0],
            [0.0, altitude / gsd_y, (height - 1) / 2.0],
            [0.0, 0.0, 1.0],
        ]
    )
    return TileCamera(K, extrinsic)
