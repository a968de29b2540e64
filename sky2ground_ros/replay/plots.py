"""PNG of a replay: localized track, ground truth and GNSS fixes over the satellite tiles.

The tiles are the ones the localizer reads (same source and zoom), placed in the map's ENU
metres by their WGS84 corners; across a few hundred metres the web-mercator grid and ENU
differ by a rotation far below a pixel, so each tile is drawn axis-aligned.
Uses matplotlib's object API (no pyplot): no display and no global state.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sky2ground_ros.geo.geodesy import LocalENU, crs_to_lonlat
from sky2ground_ros.localizer.tile_frames import TileProvider
from sky2ground_ros.tiles.service import TileStatus

MARGIN_M = 60.0


def plot_trajectory(
    path: str | Path,
    origin: LocalENU,
    tiles: TileProvider,
    zoom: int | None,
    estimate: np.ndarray,
    ground_truth: np.ndarray | None = None,
    fixes: np.ndarray | None = None,
    title: str = "",
) -> Path:
    """Save the plot; the trajectories are (N, 3) ENU positions in the map frame."""
    tracks = [t for t in (estimate, ground_truth, fixes) if t is not None and len(t)]
    points = np.concatenate([t[:, :2] for t in tracks]) if tracks else np.zeros((1, 2))
    low, high = points.min(axis=0) - MARGIN_M, points.max(axis=0) + MARGIN_M
    figure = Figure(figsize=(7.5, 7.5), layout="constrained")
    ax = figure.add_subplot()
    _draw_tiles(ax, origin, tiles, zoom, (low + high) / 2, float(np.linalg.norm(high - low) / 2))
    if ground_truth is not None and len(ground_truth):
        ax.plot(*ground_truth[:, :2].T, color="white", lw=3.0, label="ground truth")
        ax.plot(*ground_truth[:, :2].T, color="limegreen", lw=1.5)
    if fixes is not None and len(fixes):
        ax.plot(*fixes[:, :2].T, "x", color="orange", ms=5, label="GNSS fix (input)")
    if len(estimate):
        ax.plot(*estimate[:, :2].T, "o-", color="red", ms=3, lw=1.0, label="sky2ground")
    ax.set_xlim(low[0], high[0])
    ax.set_ylim(low[1], high[1])
    ax.set_aspect("equal")
    ax.set_xlabel("East (m)")
    ax.set_ylabel("North (m)")
    ax.set_title(title or "sky2ground replay", fontsize="medium")
    ax.legend(loc="upper right", fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=110)
    return path


def _draw_tiles(
    ax: Axes,
    origin: LocalENU,
    tiles: TileProvider,
    zoom: int | None,
    centre: np.ndarray,
    radius: float,
) -> None:
    """Every tile within ``radius`` of ``centre`` (ENU), drawn at its ENU extent."""
    lat, lon, _ = origin.to_geodetic(centre[0], centre[1], 0.0)
    response = tiles(float(lat), float(lon), math.ceil(radius), zoom)
    if response.status in (TileStatus.NO_COVERAGE, TileStatus.ERROR):
        return
    for tile in response.tiles:
        min_x, min_y, max_x, max_y = tile.bounds
        lons, lats = crs_to_lonlat(tile.crs, [min_x, max_x], [min_y, max_y])
        east, north, _ = origin.from_geodetic(lats, lons, origin.alt0)
        extent = (east[0], east[1], north[0], north[1])
        ax.imshow(np.asarray(tile.image), extent=extent, interpolation="bilinear", zorder=0)
