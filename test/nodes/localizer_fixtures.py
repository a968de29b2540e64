"""Files the localizer ROS tests share: a textured orthophoto GeoTIFF and a params YAML."""

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
import yaml
from rasterio.crs import CRS
from rasterio.transform import Affine

from sky2ground_ros.data.orthophoto import enu_crs_proj4
from sky2ground_ros.data.scene_format import GeoReference


def write_orthophoto(path: Path, georef: GeoReference, half_size_m: int = 350) -> Path:
    """A blurred-noise RGB orthophoto (1 m/px) centred on the geo-reference."""
    size = 2 * half_size_m
    rng = np.random.default_rng(0)
    rgb = cv2.GaussianBlur(rng.integers(0, 255, (size, size, 3), dtype=np.uint8), (5, 5), 0)
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 3,
        "dtype": "uint8",
        "crs": CRS.from_proj4(enu_crs_proj4(georef)),
        "transform": Affine(1.0, 0.0, -half_size_m, 0.0, -1.0, half_size_m),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.moveaxis(rgb, 2, 0))
    return path


def write_params(path: Path, node: str, params: dict[str, Any]) -> Path:
    """A ROS 2 parameter file for one node (nested dicts become dotted names)."""
    path.write_text(yaml.safe_dump({node: {"ros__parameters": params}}))
    return path
