"""Held-out evaluation scenarios: a recorded bag, its orthophoto and DEM, and exact truth.

Each scenario is what `make-bag --seed S --orthophoto` writes for one platform (drive or
flight) in held-out scene ``(S, 0)``, plus the platform's motion, which gives the exact
ground-truth pose of every camera frame. Scenarios are cached in a data directory (a
finished one holds a marker file), so repeated evaluations render nothing.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sky2ground_ros.data.orthophoto import dem_path_for, write_orthophoto
from sky2ground_ros.data.raycast_renderer import Renderer
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.replay.make_bag import BagSpec, make_bag, platform_for, scene_renderer
from sky2ground_ros.replay.trajectories import Platform

PLATFORMS = ("flight", "drive")
DURATION_S = 20.0
"""make-bag's default: 38 windows of 4 keyframes at 2 Hz."""
ORTHO_GSD_M = 1.0
"""The orthophoto's metres per pixel (what make-bag and the demo write by default)."""
DONE = "complete"


@dataclass(frozen=True)
class ScenarioSpec:
    """Which scene, platform and motion to record."""

    platform: str
    seed: int
    duration_s: float = DURATION_S
    speed_mps: float | None = None
    """None: make-bag's default (8 m/s driving, 12 m/s flying)."""
    latitude: float | None = None
    """Move the scene's geo-reference to this latitude (None: the seed's own)."""

    @property
    def name(self) -> str:
        name = f"{self.platform}_{self.seed}_{self.duration_s:g}s_{self.bag_spec().speed:g}mps"
        if self.latitude is not None:
            name += f"_lat{self.latitude:g}"
        return name

    def bag_spec(self) -> BagSpec:
        return BagSpec(
            platform=self.platform,
            duration_s=self.duration_s,
            speed_mps=self.speed_mps,
            seed=self.seed,
        )


@dataclass(frozen=True)
class Scenario:
    """A recorded scenario on disk and its ground truth."""

    spec: ScenarioSpec
    directory: Path
    origin: LocalENU
    """The scene's ENU frame: the bag's map frame and the truth's frame."""
    platform: Platform
    start_time_s: float

    @property
    def bag(self) -> Path:
        return self.directory / "bag"

    @property
    def orthophoto(self) -> Path:
        return self.directory / "orthophoto.tif"

    @property
    def dem(self) -> Path:
        return dem_path_for(self.orthophoto)

    def base_pose(self, stamp: float) -> np.ndarray:
        """Exact ``map → base_link`` at a bag stamp (seconds)."""
        return self.platform.pose(stamp - self.start_time_s)

    def camera_pose(self, stamp: float, camera: str) -> np.ndarray:
        """Exact ``map → camera optical frame`` (the bag has one camera, whatever its name)."""
        return self.base_pose(stamp) @ self.platform.camera_in_base


def scenario_renderer(spec: ScenarioSpec) -> Renderer:
    """The renderer of the spec's scene, at its own or the requested latitude."""
    renderer = scene_renderer(spec.seed)
    if spec.latitude is None:
        return renderer
    scene = renderer.scene
    return Renderer(replace(scene, georef=replace(scene.georef, latitude=spec.latitude)))


def check_spec(spec: ScenarioSpec) -> None:
    """ValueError (one line) when the spec cannot be recorded, e.g. a drive longer than the
    scene's main street; cheap (no rendering)."""
    platform_for(spec.bag_spec(), scenario_renderer(spec))


def load_or_build(root: str | Path, spec: ScenarioSpec, progress: bool = False) -> Scenario:
    """The cached scenario under ``root``, rendered first when it is missing or unfinished."""
    directory = Path(root) / spec.name
    renderer = scenario_renderer(spec)
    bag_spec = spec.bag_spec()
    if not (directory / DONE).is_file():
        partial = directory.with_name(directory.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        make_bag(renderer, partial / "bag", bag_spec, progress)
        ortho = partial / "orthophoto.tif"
        write_orthophoto(renderer, ortho, ORTHO_GSD_M, dem=dem_path_for(ortho))
        (partial / DONE).write_text(f"{spec}\n")
        shutil.rmtree(directory, ignore_errors=True)
        partial.rename(directory)
    georef = renderer.scene.georef
    origin = LocalENU(georef.latitude, georef.longitude, georef.altitude)
    platform = platform_for(bag_spec, renderer)
    return Scenario(spec, directory, origin, platform, bag_spec.start_time_s)
