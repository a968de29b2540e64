"""What the localizer tests share: a test scene, an orthophoto, params YAML, open thresholds."""

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import rasterio
import torch
import yaml
from rasterio.crs import CRS
from rasterio.transform import Affine

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.orthophoto import enu_crs_proj4
from sky2ground_ros.data.scene_format import GeoReference, Scene
from sky2ground_ros.data.synthetic import SyntheticConfig, render_scene

SCENE_SEED = 7
"""A held-out town: the shipped model was trained on seed-0 scenes."""
OPEN_THRESHOLDS: dict[str, Any] = {
    "registration": {
        "inlier_spacing_fraction": 1.0e6,
        "inlier_rotation_deg": 180.0,
        "min_inlier_ratio": 0.0,
    },
    "gate": {
        "min_inlier_tiles": 0,
        "max_tile_rms_m": 1.0e12,
        "max_tile_rms_deg": 1.0e12,
        "max_position_sigma_m": 1.0e12,
    },
    "smoothing": {"position_noise_m2_per_s": 1.0e12},
}
"""Localizer parameters that let every window of the weak tiny checkpoint reach the outputs,
for tests of the output path (never the defaults: with them it registers no window)."""


def render_test_scene(root: Path) -> Scene:
    """The held-out town: 8 aerial rig positions at 96 px and a 1 m/px orthophoto (~5 s)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    config = SyntheticConfig(
        size=96, satellite=0, ground=0, helix=HelixConfig(positions=8), orthophoto_gsd=1.0
    )
    path = render_scene(root, 0, SCENE_SEED, config)
    torch.set_num_threads(threads)
    return Scene.load(path)


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


def aerial_localizer_params(scene: Scene, model: Path, **overrides: Any) -> dict[str, Any]:
    """Localizer parameters for the test scene's forward aerial camera, open thresholds."""
    g = scene.georef
    return {
        "model_path": str(model),
        "torch_threads": 1,
        "image_size": 84,
        "window_size": 4,
        "keyframe": {"min_interval_s": 0.2},
        "cameras": ["aerial"],
        "aerial": {"view_type": "aerial"},
        "tile_source": str(scene.root / "orthophoto.tif"),
        "origin": [g.latitude, g.longitude, g.altitude],
        "initial_pose": [g.latitude, g.longitude],
        "diagnostics_period_s": 0.5,
        **OPEN_THRESHOLDS,
        **overrides,
    }


def write_params(path: Path, node: str, params: dict[str, Any]) -> Path:
    """A ROS 2 parameter file for one node (nested dicts become dotted names)."""
    path.write_text(yaml.safe_dump({node: {"ros__parameters": params}}))
    return path
