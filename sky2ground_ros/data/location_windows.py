"""Location-head training windows: cameras of one platform and crops around a noisy prior.

A window is a drive (ground cameras) or a flight (aerial cameras, as the localizer meets
them: frame 0 is then an aerial frame). Its satellite frames are the model's crop plan
(`model.location_head.location_crop_plan`) rendered by the localizer's own crop generator
(`geo.satellite_crops.render_crops`) from the scene's orthophoto, centred on a *prior*: the
anchor camera's position off by GNSS noise or by odometry drift, so the head cannot learn
"the crop centre". Labels: each camera's nadir on the canvas and the heading of its level
frame; inputs besides pixels: the level frame (gravity, with noise) and the camera's height
above the ground (with noise), as the localizer derives them from the IMU/odometry and mounts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from sky2ground_ros.data.cameras import camera_center
from sky2ground_ros.data.orthophoto import enu_crs_proj4
from sky2ground_ros.data.scene_format import Frame, Scene
from sky2ground_ros.data.synthetic import GROUND_HEIGHT_KEY, ORTHOPHOTO_FILE
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.level_frame import level_frame
from sky2ground_ros.geo.satellite_crops import (
    CropPlan,
    Raster,
    SatelliteCrop,
    canvas_origin,
    render_crops,
)
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.location_head import location_crop_plan
from sky2ground_ros.views import ViewType

NEIGHBOUR_REACH = 0.3
"""Other cameras of a window are drawn within this fraction of the canvas side of the anchor."""


@dataclass(frozen=True)
class PriorNoise:
    """Offset of the prior from the anchor camera: GNSS noise, or drift after GNSS loss."""

    gnss_sigma_m: float = 4.0
    """Horizontal standard deviation per axis of a GNSS prior."""
    drift_max_m: float = 50.0
    """Drift priors lie uniformly in a disc of this radius."""
    drift_fraction: float = 0.5

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, float]:
        """One (east, north) offset in metres and the per-axis sigma the node would give it.

        A drift prior's sigma is that of the uniform disc (half its radius): the node knows
        whether it has GNSS, not how far it has drifted.
        """
        if rng.random() < self.drift_fraction:
            radius = self.drift_max_m * math.sqrt(rng.random())
            angle = rng.uniform(0.0, 2.0 * math.pi)
            return radius * np.array([math.cos(angle), math.sin(angle)]), self.drift_max_m / 2.0
        return self.gnss_sigma_m * rng.standard_normal(2), self.gnss_sigma_m


@dataclass(frozen=True)
class LocationSampling:
    """How `SceneDataset` builds location windows for a model configuration."""

    model: SkyNetConfig
    cameras: int = 2
    flight_fraction: float = 0.5
    prior: PriorNoise = field(default_factory=PriorNoise)
    gravity_noise_deg: float = 0.5
    """Tilt of the level frame (an IMU's roll / pitch error)."""
    height_noise: float = 0.02
    """Relative error of the camera's height above ground (mount, barometer or GNSS)."""
    max_flight_height_m: float = 450.0
    """Aerial frames higher above the ground see little within the template's reach."""
    heading_prior_sigma_deg: float = 10.0
    """Error of the window's heading prior (a compass, or odometry since the last fix),
    common to its cameras."""

    def __post_init__(self) -> None:
        if not self.model.location_head:
            raise ValueError(f"model config {self.model.name} has no location head")
        if self.cameras < 1 or not 0.0 <= self.flight_fraction <= 1.0:
            raise ValueError("need cameras >= 1 and 0 <= flight_fraction <= 1")

    @property
    def num_frames(self) -> int:
        return self.cameras + self.model.location_grid**2

    def plan(self, view_type: ViewType) -> CropPlan:
        return location_crop_plan(self.model, view_type)


@dataclass(frozen=True)
class WindowChoice:
    """Which cameras of a scene, around which prior, with which crop plan."""

    view_type: ViewType
    frames: list[int]
    """Indices into the scene's frames; the anchor (frame 0 of the sample) first."""
    prior_xy: np.ndarray
    prior_sigma_m: float
    """Per-axis standard deviation the prior comes with."""
    plan: CropPlan


class SceneMosaic:
    """A scene's orthophoto as the localizer's tile mosaic, and its ENU frame."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.path = Path(scene.root) / ORTHOPHOTO_FILE
        if not self.path.is_file():
            raise FileNotFoundError(
                f"{scene.name} has no {ORTHOPHOTO_FILE}: render it with "
                "`sky2ground make-synthetic --orthophoto`"
            )
        georef = scene.georef
        self.frame = LocalENU(georef.latitude, georef.longitude, georef.altitude)

    @cached_property
    def raster(self) -> Raster:
        """The whole orthophoto in memory (a few MB per scene), read on first use."""
        import rasterio

        with rasterio.open(self.path) as source:
            image = np.moveaxis(source.read(indexes=[1, 2, 3]), 0, 2)
            bounds = source.bounds
        crs = enu_crs_proj4(self.scene.georef)
        return Raster(np.ascontiguousarray(image), crs, tuple(bounds))  # type: ignore[arg-type]

    def crops(self, centre_xy: np.ndarray, plan: CropPlan, ground_z: float) -> list[SatelliteCrop]:
        return render_crops([self.raster], self.frame, centre_xy, plan, ground_z)


def ground_height(frame: Frame) -> float:
    """ENU height of the terrain below a camera (from frames.json)."""
    try:
        return float(frame.extra[GROUND_HEIGHT_KEY])
    except KeyError:
        raise ValueError(
            f"frame {frame.group}/{frame.name} has no {GROUND_HEIGHT_KEY}: re-render the scene "
            "with this version of make-synthetic"
        ) from None


def choose_window(
    frames: list[Frame], sampling: LocationSampling, rng: np.random.Generator
) -> WindowChoice:
    """Platform, cameras (the anchor's nearest neighbours) and the prior of one window."""
    ground = [i for i, f in enumerate(frames) if f.view_type == ViewType.GROUND]
    aerial = [
        i
        for i, f in enumerate(frames)
        if f.view_type == ViewType.AERIAL
        and f.center[2] - ground_height(f) <= sampling.max_flight_height_m
    ]
    flight = len(aerial) >= sampling.cameras and (
        rng.random() < sampling.flight_fraction or len(ground) < sampling.cameras
    )
    candidates = np.array(aerial if flight else ground)
    if len(candidates) < sampling.cameras:
        raise ValueError(
            f"scene has {len(candidates)} usable camera frames, needs {sampling.cameras}"
        )
    view_type = ViewType.AERIAL if flight else ViewType.GROUND
    plan = sampling.plan(view_type)
    anchor = int(rng.choice(candidates))
    centres = np.stack([frames[i].center[:2] for i in candidates])
    distance = np.linalg.norm(centres - frames[anchor].center[:2], axis=1)
    order = np.argsort(distance, kind="stable")[1:]
    # the other cameras stand on the canvas when the scene has any there, as in a real window
    close = order[distance[order] <= NEIGHBOUR_REACH * plan.canvas_m]
    pool = close if len(close) >= sampling.cameras - 1 else order[: sampling.cameras - 1]
    others = rng.choice(candidates[pool], sampling.cameras - 1, replace=False)
    offset, sigma = sampling.prior.sample(rng)
    prior = frames[anchor].center[:2] + offset
    return WindowChoice(view_type, [anchor, *map(int, others)], prior, sigma, plan)


def camera_labels(
    frames: list[Frame],
    choice: WindowChoice,
    sampling: LocationSampling,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Level frames, heights, nadir positions on the canvas and headings of the cameras, and
    the window's priors (its heading prior off by one error common to its cameras)."""
    west, north = canvas_origin(choice.prior_xy, choice.plan)
    levels, heights, nadirs, headings = [], [], [], []
    for i in choice.frames:
        frame = frames[i]
        heading, level = level_frame(frame.extrinsics[:3, :3].T)
        tilt = rng.standard_normal(2) * math.radians(sampling.gravity_noise_deg)
        levels.append(Rotation.from_rotvec([tilt[0], tilt[1], 0.0]).as_matrix() @ level)
        centre = camera_center(frame.extrinsics)
        height = (centre[2] - ground_height(frame)) * (
            1.0 + sampling.height_noise * rng.standard_normal()
        )
        heights.append(height)
        nadirs.append([centre[0] - west, north - centre[1]])
        headings.append(heading)
    heading_error = math.radians(sampling.heading_prior_sigma_deg) * rng.standard_normal()
    return {
        "level_from_camera": np.asarray(levels, np.float32),
        "camera_height_m": np.asarray(heights, np.float32),
        "nadir_m": np.asarray(nadirs, np.float32),
        "heading": np.asarray(headings, np.float32),
        "heading_prior": np.asarray(headings, np.float32) + np.float32(heading_error),
        "heading_prior_sigma": np.float32(math.radians(sampling.heading_prior_sigma_deg)),
        "prior_sigma_m": np.float32(choice.prior_sigma_m),
        "crop_gsd_m": np.float32(choice.plan.gsd_m),
        "prior_error_m": np.float32(
            np.linalg.norm(frames[choice.frames[0]].center[:2] - choice.prior_xy)
        ),
    }
