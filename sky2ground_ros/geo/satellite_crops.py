"""North-up orthographic satellite crops around a prior: the one crop generator of SkyNet.

Training (`data.location_dataset`) and the localizer both call `render_crops`, so the crops a
model was trained on and the crops it meets in the field agree in size, ground sample
distance, overlap, order, camera altitude and pixel values (a parity test holds them to it).

The crops tile a square *canvas* centred on the prior: ``grid x grid`` crops of ``size_px``
pixels, neighbours overlapping by ``overlap_px``, ordered row-major from the north-west. Each
crop is resampled from any georeferenced rasters (web-mercator tiles of the tile service, an
orthophoto GeoTIFF) onto the local ENU grid of the map frame, so a crop pixel is an exact
ENU square and the crop is an exact nadir pinhole camera (see `SatelliteCrop.camera`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from sky2ground_ros.geo.geodesy import LocalENU, lonlat_to_crs

ArrayLikeFloat = float | np.ndarray
MIN_COVERAGE = 0.5
"""The localizer refuses a window whose crops hold less imagery than this (the rest black)."""


class GeoRaster(Protocol):
    """A georeferenced north-up RGB image: a `tiles.tile.Tile` or an orthophoto."""

    @property
    def image(self) -> np.ndarray: ...

    @property
    def crs(self) -> str: ...

    @property
    def bounds(self) -> tuple[float, float, float, float]: ...


@dataclass(frozen=True)
class Raster:
    """A plain `GeoRaster` (e.g. a whole orthophoto held in memory)."""

    image: np.ndarray
    crs: str
    bounds: tuple[float, float, float, float]
    """min x, min y, max x, max y in ``crs`` (outer pixel edges)."""


@dataclass(frozen=True)
class CropPlan:
    """How the satellite input of one window is laid out."""

    grid: int = 2
    size_px: int = 84
    overlap_px: int = 28
    gsd_m: float = 1.0
    altitude_m: float = 1500.0
    """Height of each crop's nadir pinhole camera above the ground (as the training data)."""

    def __post_init__(self) -> None:
        if self.grid < 1 or self.size_px < 8 or not 0 <= self.overlap_px < self.size_px:
            raise ValueError(f"bad crop plan {self}: need grid >= 1, 0 <= overlap < size")
        if not (self.gsd_m > 0 and self.altitude_m > 0):
            raise ValueError("crop gsd_m and altitude_m must be positive")

    @property
    def count(self) -> int:
        return self.grid * self.grid

    @property
    def step_px(self) -> int:
        """Distance between the north-west corners of neighbouring crops."""
        return self.size_px - self.overlap_px

    @property
    def canvas_px(self) -> int:
        """Side of the square the crops cover."""
        return self.size_px + (self.grid - 1) * self.step_px

    @property
    def canvas_m(self) -> float:
        return self.canvas_px * self.gsd_m

    @property
    def radius_m(self) -> float:
        """Radius of the circle around the centre that holds the whole canvas."""
        return self.canvas_m / math.sqrt(2.0)

    def offsets_px(self) -> list[tuple[int, int]]:
        """(row, col) of each crop's north-west pixel in the canvas, in crop order."""
        return [
            (r * self.step_px, c * self.step_px) for r in range(self.grid) for c in range(self.grid)
        ]


@dataclass(frozen=True)
class SatelliteCrop:
    """One north-up crop: RGB uint8 (size, size, 3) and its ENU georeference."""

    image: np.ndarray
    west: float
    north: float
    """ENU x of the west edge and ENU y of the north edge of the crop (metres)."""
    gsd_m: float
    ground_z: float
    """ENU height of the ground the crop camera looks at."""
    altitude_m: float
    coverage: float
    """Fraction of the crop's pixels that some raster covered (the rest are black)."""

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    def pixel_to_enu(self, col: ArrayLikeFloat, row: ArrayLikeFloat) -> np.ndarray:
        """ENU x, y of (fractional) pixel coordinates; pixel centres are at integers."""
        col, row = np.asarray(col, dtype=np.float64), np.asarray(row, dtype=np.float64)
        return np.stack(
            [self.west + (col + 0.5) * self.gsd_m, self.north - (row + 0.5) * self.gsd_m], -1
        )

    def camera(self) -> tuple[np.ndarray, np.ndarray]:
        """(K 3x3, world(ENU)-to-camera [R|t] 3x4) of the crop as a nadir pinhole camera.

        Image x is East, image y South, the optical axis down; the focal length is
        altitude / gsd pixels, so a point of the ground plane projects onto its crop pixel.
        """
        n, half = self.size, self.size * self.gsd_m / 2.0
        focal = self.altitude_m / self.gsd_m
        K = np.array([[focal, 0.0, (n - 1) / 2.0], [0.0, focal, (n - 1) / 2.0], [0.0, 0.0, 1.0]])
        rotation = np.diag([1.0, -1.0, -1.0])
        centre = np.array([self.west + half, self.north - half, self.ground_z + self.altitude_m])
        return K, np.concatenate([rotation, (-rotation @ centre)[:, None]], axis=1)


def canvas_origin(centre_xy: Sequence[float], plan: CropPlan) -> tuple[float, float]:
    """ENU (west, north) of the canvas centred on ``centre_xy``."""
    half = plan.canvas_m / 2.0
    return float(centre_xy[0]) - half, float(centre_xy[1]) + half


def render_crops(
    rasters: Sequence[GeoRaster],
    frame: LocalENU,
    centre_xy: Sequence[float],
    plan: CropPlan,
    ground_z: float = 0.0,
) -> list[SatelliteCrop]:
    """The plan's crops around ENU ``centre_xy``, resampled from ``rasters`` (row-major, NW first).

    Each raster is warped with one affine map per crop (fitted through pyproj on a 3 x 3 grid
    of the crop; exact to well under a pixel over a crop), after an area-averaging reduction
    when it is finer than the crop, so no imagery aliases. Overlapping rasters are blended by
    their bilinear coverage weights.
    """
    west, north = canvas_origin(centre_xy, plan)
    crops = []
    for row0, col0 in plan.offsets_px():
        crop_west, crop_north = west + col0 * plan.gsd_m, north - row0 * plan.gsd_m
        image, coverage = _resample(rasters, frame, crop_west, crop_north, plan)
        crops.append(
            SatelliteCrop(
                image, crop_west, crop_north, plan.gsd_m, ground_z, plan.altitude_m, coverage
            )
        )
    return crops


def _resample(
    rasters: Sequence[GeoRaster], frame: LocalENU, west: float, north: float, plan: CropPlan
) -> tuple[np.ndarray, float]:
    """One crop's RGB and coverage from every raster that reaches it."""
    n = plan.size_px
    total = np.zeros((n, n, 3), np.float32)
    weight = np.zeros((n, n), np.float32)
    grid = np.array([0.0, (n - 1) / 2.0, n - 1.0])
    cols, rows = (a.ravel() for a in np.meshgrid(grid, grid))
    east = west + (cols + 0.5) * plan.gsd_m
    northing = north - (rows + 0.5) * plan.gsd_m
    lat, lon, _ = frame.to_geodetic(east, northing, np.zeros_like(east))
    by_crs: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for raster in rasters:
        if raster.crs not in by_crs:
            by_crs[raster.crs] = lonlat_to_crs(raster.crs, lon, lat)
        x, y = by_crs[raster.crs]
        warped = _warp(raster, x, y, cols, rows, n)
        if warped is not None:
            total += warped[0] * warped[1][..., None]
            weight += warped[1]
    covered = weight > 1e-3
    rgb = np.zeros((n, n, 3), np.uint8)
    rgb[covered] = np.clip(np.round(total[covered] / weight[covered, None]), 0, 255)
    return rgb, float(np.mean(weight > 0.5))


def _warp(
    raster: GeoRaster,
    x: np.ndarray,
    y: np.ndarray,
    cols: np.ndarray,
    rows: np.ndarray,
    n: int,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(RGB float, weight) of one raster resampled onto the crop, None when it misses it."""
    image = np.asarray(raster.image)
    height, width = image.shape[:2]
    min_x, min_y, max_x, max_y = (float(b) for b in raster.bounds)
    px = (x - min_x) / (max_x - min_x) * width - 0.5
    py = (max_y - y) / (max_y - min_y) * height - 0.5
    margin = 2.0
    x0, x1 = math.floor(px.min() - margin), math.ceil(px.max() + margin)
    y0, y1 = math.floor(py.min() - margin), math.ceil(py.max() + margin)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)
    if x0 > x1 or y0 > y1:
        return None
    roi = image[y0 : y1 + 1, x0 : x1 + 1, :3]
    source = np.stack([px - x0, py - y0], axis=1)
    target = np.stack([cols, rows], axis=1)
    scale = math.sqrt(abs(np.linalg.det(_affine(target, source)[:, :2])))
    factor = max(1, int(scale / 1.25 + 1e-9))
    if factor > 1:  # area-average the finer raster first, so the bilinear warp cannot alias
        size = (max(1, round(roi.shape[1] / factor)), max(1, round(roi.shape[0] / factor)))
        sx, sy = size[0] / roi.shape[1], size[1] / roi.shape[0]
        roi = cv2.resize(roi, size, interpolation=cv2.INTER_AREA)
        source = (source + 0.5) * np.array([sx, sy]) - 0.5
    matrix = _affine(target, source)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    rgb = cv2.warpAffine(roi.astype(np.float32), matrix, (n, n), flags=flags, borderValue=0)
    ones = np.ones(roi.shape[:2], np.float32)
    mask = cv2.warpAffine(ones, matrix, (n, n), flags=flags, borderValue=0)
    if not mask.any():
        return None
    return rgb, mask


def _affine(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Least-squares 2x3 affine map taking target (crop) pixels to source (raster) pixels."""
    design = np.concatenate([target, np.ones((len(target), 1))], axis=1)
    solution, *_ = np.linalg.lstsq(design, source, rcond=None)
    return solution.T.astype(np.float64)
