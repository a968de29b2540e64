"""WGS84 ↔ ECEF ↔ local ENU (REP-103) ↔ UTM, all through pyproj/PROJ.

Angles are degrees, heights are ellipsoidal metres (WGS84), arguments are ``lat, lon, alt``
in that order (as in pymap3d and sensor_msgs/NavSatFix). Every function accepts scalars or
numpy arrays and returns numpy values of the broadcast shape. Transformers are cached because
building one costs far more than a transform.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyproj
from numpy.typing import ArrayLike
from pyproj.enums import TransformDirection

WGS84_GEOD = pyproj.Geod(ellps="WGS84")
"""Geodesic computations on the WGS84 ellipsoid (distances, azimuths)."""

_GEOGRAPHIC_3D = "EPSG:4979"  # WGS84 lat, lon, ellipsoidal height
_GEOCENTRIC = "EPSG:4978"  # WGS84 ECEF X, Y, Z


@lru_cache(maxsize=64)
def _transformer(source: str, target: str) -> pyproj.Transformer:
    """A cached CRS-to-CRS transformer with the axis order each CRS defines."""
    return pyproj.Transformer.from_crs(source, target)


@lru_cache(maxsize=64)
def _xy_transformer(source: str, target: str) -> pyproj.Transformer:
    """A cached transformer with longitude/easting first on both sides (GIS order)."""
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


@lru_cache(maxsize=256)
def _topocentric(lat0: float, lon0: float, alt0: float) -> pyproj.Transformer:
    """Geodetic (lat, lon, h) → ENU at the given origin, as one PROJ pipeline."""
    return pyproj.Transformer.from_pipeline(
        "+proj=pipeline"
        " +step +proj=axisswap +order=2,1"
        " +step +proj=unitconvert +xy_in=deg +xy_out=rad"
        " +step +proj=cart +ellps=WGS84"
        f" +step +proj=topocentric +ellps=WGS84 +lat_0={lat0!r} +lon_0={lon0!r} +h_0={alt0!r}"
    )


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in np.broadcast_arrays(*values)]


def geodetic_to_ecef(
    lat: ArrayLike, lon: ArrayLike, alt: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 latitude/longitude (deg) and ellipsoidal height (m) to ECEF X, Y, Z (m)."""
    x, y, z = _transformer(_GEOGRAPHIC_3D, _GEOCENTRIC).transform(*_arrays(lat, lon, alt))
    return np.asarray(x), np.asarray(y), np.asarray(z)


def ecef_to_geodetic(
    x: ArrayLike, y: ArrayLike, z: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ECEF X, Y, Z (m) to WGS84 latitude, longitude (deg) and ellipsoidal height (m)."""
    lat, lon, alt = _transformer(_GEOCENTRIC, _GEOGRAPHIC_3D).transform(*_arrays(x, y, z))
    return np.asarray(lat), np.asarray(lon), np.asarray(alt)


@dataclass(frozen=True)
class LocalENU:
    """A local East-North-Up frame (REP-103) tangent to WGS84 at a geodetic origin."""

    lat0: float
    lon0: float
    alt0: float = 0.0

    def __post_init__(self) -> None:
        values = (self.lat0, self.lon0, self.alt0)
        if not all(np.isfinite(values)) or abs(self.lat0) > 90.0 or abs(self.lon0) > 180.0:
            raise ValueError(f"invalid ENU origin lat={self.lat0} lon={self.lon0} alt={self.alt0}")

    def from_geodetic(
        self, lat: ArrayLike, lon: ArrayLike, alt: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """WGS84 (deg, deg, m) to East, North, Up (m) in this frame."""
        e, n, u = _topocentric(self.lat0, self.lon0, self.alt0).transform(*_arrays(lat, lon, alt))
        return np.asarray(e), np.asarray(n), np.asarray(u)

    def to_geodetic(
        self, east: ArrayLike, north: ArrayLike, up: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """East, North, Up (m) in this frame to WGS84 (deg, deg, m)."""
        lat, lon, alt = _topocentric(self.lat0, self.lon0, self.alt0).transform(
            *_arrays(east, north, up), direction=TransformDirection.INVERSE
        )
        return np.asarray(lat), np.asarray(lon), np.asarray(alt)

    def from_ecef(
        self, x: ArrayLike, y: ArrayLike, z: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ECEF (m) to East, North, Up (m) in this frame."""
        return self.from_geodetic(*ecef_to_geodetic(x, y, z))

    def to_ecef(
        self, east: ArrayLike, north: ArrayLike, up: ArrayLike
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """East, North, Up (m) in this frame to ECEF (m)."""
        return geodetic_to_ecef(*self.to_geodetic(east, north, up))

    def points_from_geodetic(self, lat_lon_alt: ArrayLike) -> np.ndarray:
        """(..., 3) array of lat, lon, alt to a (..., 3) array of ENU points."""
        lla = np.asarray(lat_lon_alt, dtype=np.float64)
        return np.stack(self.from_geodetic(lla[..., 0], lla[..., 1], lla[..., 2]), axis=-1)

    def points_to_geodetic(self, enu: ArrayLike) -> np.ndarray:
        """(..., 3) array of ENU points to a (..., 3) array of lat, lon, alt."""
        points = np.asarray(enu, dtype=np.float64)
        return np.stack(self.to_geodetic(points[..., 0], points[..., 1], points[..., 2]), axis=-1)


def utm_epsg(lat: float, lon: float) -> int:
    """EPSG code of the standard WGS84 UTM zone of a point (326zz north, 327zz south).

    Zones are the plain 6° bands (the Norway/Svalbard exceptions are not applied, as in
    pyproj's own UTM query); a point on a zone boundary belongs to the eastern zone.
    """
    if not (np.isfinite(lat) and np.isfinite(lon)) or not -80.0 <= lat <= 84.0:
        raise ValueError(f"UTM is defined for latitudes in [-80, 84], got {lat}")
    zone = int((float(lon) + 180.0) // 6.0) % 60 + 1
    return (32600 if lat >= 0.0 else 32700) + zone


def geodetic_to_utm(
    lat: ArrayLike, lon: ArrayLike, epsg: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """WGS84 (deg) to UTM easting, northing (m); the zone is the first point's unless given."""
    lat_a, lon_a = _arrays(lat, lon)
    if epsg is None:
        epsg = utm_epsg(float(lat_a.flat[0]), float(lon_a.flat[0]))
    easting, northing = _xy_transformer("EPSG:4326", f"EPSG:{epsg}").transform(lon_a, lat_a)
    return np.asarray(easting), np.asarray(northing), epsg


def utm_to_geodetic(
    easting: ArrayLike, northing: ArrayLike, epsg: int
) -> tuple[np.ndarray, np.ndarray]:
    """UTM easting, northing (m) of a zone (EPSG code) to WGS84 latitude, longitude (deg)."""
    lon, lat = _xy_transformer(f"EPSG:{epsg}", "EPSG:4326").transform(*_arrays(easting, northing))
    return np.asarray(lat), np.asarray(lon)


def crs_to_lonlat(crs: str, x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in any CRS (easting/x first) to WGS84 longitude, latitude (deg)."""
    lon, lat = _xy_transformer(crs, "EPSG:4326").transform(*_arrays(x, y))
    return np.asarray(lon), np.asarray(lat)


def lonlat_to_crs(crs: str, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude, latitude (deg) to coordinates in any CRS (easting/x first)."""
    x, y = _xy_transformer("EPSG:4326", crs).transform(*_arrays(lon, lat))
    return np.asarray(x), np.asarray(y)


def ground_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance on the WGS84 ellipsoid between two points (m)."""
    _, _, distance = WGS84_GEOD.inv(lon1, lat1, lon2, lat2)
    return float(distance)
