"""Trajectory files: TUM (for evo and SLAM tools), GeoJSON and KML tracks (for GIS and maps).

* TUM: one pose per line, ``timestamp tx ty tz qx qy qz qw`` (seconds, metres, unit
  quaternion), space separated; here in the localizer's map frame (ENU at its origin).
* GeoJSON (RFC 7946): WGS84 ``[longitude, latitude, height above the ellipsoid]``; a
  LineString of the track and one Point per pose with its time and position sigma.
* KML 2.2: the track as a LineString clamped to the ground (KML heights are above mean sea
  level, not the ellipsoid, so none are claimed) and one Placemark per pose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from sky2ground_ros.replay.trajectory_metrics import Trajectory


@dataclass(frozen=True)
class GeoPose:
    """A localized pose on the globe."""

    stamp: float
    latitude: float
    longitude: float
    altitude: float
    sigma_m: float
    """Largest position standard deviation (from the covariance)."""


def write_tum(path: str | Path, trajectory: Trajectory) -> Path:
    """TUM trajectory file (a '#' header line, which evo and the TUM tools skip)."""
    rows = np.column_stack([trajectory.stamps, trajectory.positions, trajectory.quaternions])
    lines = ["# timestamp tx ty tz qx qy qz qw"]
    lines += [" ".join(f"{v:.9f}" if i == 0 else f"{v:.6f}" for i, v in enumerate(r)) for r in rows]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


def write_geojson(path: str | Path, track: list[GeoPose], name: str) -> Path:
    """GeoJSON FeatureCollection: the track LineString and a Point per pose."""
    coordinates = [[p.longitude, p.latitude, p.altitude] for p in track]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coordinates},
            "properties": {"name": name, "poses": len(track)},
        }
    ]
    features += [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": coordinates[i]},
            "properties": {"time": _iso(p.stamp), "stamp": p.stamp, "sigma_m": p.sigma_m},
        }
        for i, p in enumerate(track)
    ]
    path = Path(path)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, indent=1))
    return path


def write_kml(path: str | Path, track: list[GeoPose], name: str) -> Path:
    """KML document with the track and one timestamped placemark per pose."""
    line = " ".join(f"{p.longitude:.8f},{p.latitude:.8f},0" for p in track)
    points = "\n".join(
        f"<Placemark><TimeStamp><when>{_iso(p.stamp)}</when></TimeStamp>"
        f"<description>sigma {p.sigma_m:.1f} m</description>"
        f"<Point><coordinates>{p.longitude:.8f},{p.latitude:.8f},0</coordinates></Point>"
        "</Placemark>"
        for p in track
    )
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n'
        f"<name>{escape(name)}</name>\n"
        f"<Placemark><name>{escape(name)}</name><LineString><tessellate>1</tessellate>"
        f"<altitudeMode>clampToGround</altitudeMode><coordinates>{line}</coordinates>"
        "</LineString></Placemark>\n"
        f"{points}\n</Document></kml>\n"
    )
    path = Path(path)
    path.write_text(kml)
    return path


def _iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, tz=UTC).isoformat().replace("+00:00", "Z")
