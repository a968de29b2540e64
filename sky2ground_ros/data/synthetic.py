"""Synthetic multi-altitude scenes: place cameras, render them, write the scene format.

Per scene (deterministic from the dataset seed and the scene index):

* satellite: north-up tile cameras (`cameras.satellite_camera`), altitude 1-2 km, tile
  footprint 150-400 m (narrow field of view, 4-22 deg), centres spread over the town, an
  optional off-nadir tilt of a few degrees; rendered without haze (like orthorectified,
  atmospherically corrected imagery);
* aerial: a three-camera rig on a helical descent from 800 m to 250 m above the site,
  looking at the site centre (`cameras.helical_rig_cameras`);
* ground: cameras 1.5-2 m above the road in a lane of a town street, looking along it with
  small yaw / pitch / roll jitter.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sky2ground_ros.data.cameras import (
    HelixConfig,
    PinholeCamera,
    camera_center,
    heading_pitch_direction,
    helical_rig_cameras,
    intrinsics_from_hfov,
    look_at,
    roll_about_optical_axis,
    satellite_camera,
)
from sky2ground_ros.data.procedural_scene import ProceduralScene, generate_scene
from sky2ground_ros.data.scene_format import SCENE_FILE, Scene, SceneWriter

GROUND_HEIGHT_KEY = "ground_height"
"""frames.json field: ENU height of the terrain below the camera (metres)."""
ORTHOPHOTO_FILE = "orthophoto.tif"
"""The scene's orthophoto (with ``orthophoto_dem.tif`` beside it), when rendered."""


@dataclass(frozen=True)
class SyntheticConfig:
    """What to render per scene (counts, image size and camera distributions)."""

    size: int = 256
    satellite: int = 16
    ground: int = 24
    helix: HelixConfig = field(default_factory=HelixConfig)
    satellite_altitude: tuple[float, float] = (1000.0, 2000.0)
    satellite_footprint: tuple[float, float] = (150.0, 400.0)
    satellite_max_tilt_deg: float = 2.0
    ground_height: tuple[float, float] = (1.5, 2.0)
    ground_hfov_deg: tuple[float, float] = (60.0, 80.0)
    ground_yaw_jitter_deg: float = 12.0
    ground_pitch_deg: tuple[float, float] = (-2.0, 6.0)
    orthophoto_gsd: float | None = None
    """Write ``orthophoto.tif`` and its DEM at this ground sample distance (m/px) when set."""

    def __post_init__(self) -> None:
        if self.size < 8:
            raise ValueError("image size must be at least 8 px")
        if min(self.satellite, self.ground, self.helix.positions) < 0:
            raise ValueError("view counts must be >= 0")


@dataclass(frozen=True)
class PlannedView:
    """One camera to render: its group, frame name, camera and extra frames.json fields."""

    group: str
    name: str
    camera: PinholeCamera
    extra: dict[str, Any]


def scene_seed(seed: int, index: int) -> int:
    """Independent 63-bit seed of scene ``index`` of a dataset generated with ``seed``."""
    return int(np.random.SeedSequence([seed, index]).generate_state(2, np.uint64)[0] >> 1)


def plan_views(scene: ProceduralScene, config: SyntheticConfig) -> list[PlannedView]:
    """All cameras of a scene, deterministic in the scene's seed."""
    rng = np.random.default_rng([scene.seed, 1])
    size = config.size
    views: list[PlannedView] = []
    for i in range(config.satellite):
        radius = 0.8 * scene.core_half_size * np.sqrt(rng.random())
        phi = rng.uniform(0, 2 * np.pi)
        altitude = rng.uniform(*config.satellite_altitude)
        gsd = rng.uniform(*config.satellite_footprint) / size
        tilt = rng.uniform(0.0, config.satellite_max_tilt_deg)
        azimuth = rng.uniform(0.0, 360.0)
        cam = satellite_camera(
            (radius * np.cos(phi), radius * np.sin(phi)), altitude, gsd, size, size, tilt, azimuth
        )
        extra = {"gsd": gsd, "altitude": altitude, "tilt_deg": tilt, "tilt_azimuth_deg": azimuth}
        views.append(PlannedView("satellite", f"sat_{i:03d}", cam, extra))
    site = np.array([0.0, 0.0, float(scene.terrain.height(np.array(0.0), np.array(0.0)))])
    for pos, rig, cam in helical_rig_cameras(config.helix, site, size, size, rng):
        extra = {"rig_position": pos, "rig_camera": rig}
        views.append(PlannedView("aerial", f"aer_{pos:03d}_{rig}", cam, extra))
    for i, cam in enumerate(_ground_cameras(scene, config, rng)):
        views.append(PlannedView("ground", f"gnd_{i:03d}", cam, {}))
    return views


def _ground_cameras(
    scene: ProceduralScene, config: SyntheticConfig, rng: np.random.Generator
) -> Iterator[PinholeCamera]:
    """Street-level cameras in a lane of a town street, looking along it."""
    segments = scene.road_segments[: scene.core_road_count]
    half_widths = scene.road_widths[: scene.core_road_count] / 2
    lengths = np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1)
    made = attempts = 0
    while made < config.ground:
        attempts += 1
        if attempts > 100 * config.ground:
            raise RuntimeError(f"{scene.name}: no free street positions for ground cameras")
        k = rng.choice(len(segments), p=lengths / lengths.sum())
        a, b = segments[k]
        direction = (b - a) / lengths[k]
        normal = np.array([-direction[1], direction[0]])
        forward = rng.choice([-1.0, 1.0])
        lane = half_widths[k] * rng.uniform(0.25, 0.6) * -forward
        xy = a + rng.uniform(0.1, 0.9) * lengths[k] * direction + lane * normal
        z = float(scene.terrain.height(np.array(xy[0]), np.array(xy[1])))
        eye = np.array([xy[0], xy[1], z + rng.uniform(*config.ground_height)])
        if _inside_any_primitive(scene, eye, margin=0.5):
            continue
        heading = np.arctan2(forward * direction[1], forward * direction[0])
        heading += np.radians(rng.uniform(-1, 1) * config.ground_yaw_jitter_deg)
        pitch = np.radians(rng.uniform(*config.ground_pitch_deg))
        extrinsics = look_at(eye, eye + heading_pitch_direction(heading, pitch))
        extrinsics = roll_about_optical_axis(extrinsics, np.radians(rng.uniform(-1.0, 1.0)))
        K = intrinsics_from_hfov(config.size, config.size, rng.uniform(*config.ground_hfov_deg))
        made += 1
        yield PinholeCamera(K, extrinsics, config.size, config.size)


def _inside_any_primitive(scene: ProceduralScene, point: np.ndarray, margin: float) -> bool:
    """Whether a point lies within ``margin`` metres of the inside of any primitive."""
    planes = scene.poly_planes
    inside_poly = np.all(planes[..., :3] @ point - planes[..., 3] <= margin, axis=1)
    rel = (point - scene.ell_center) / (scene.ell_radii + margin)
    inside_ell = np.sum(rel * rel, axis=1) <= 1.0
    return bool(inside_poly.any() or inside_ell.any())


def render_scene(
    out_dir: str | Path, index: int, seed: int, config: SyntheticConfig, preview: bool = False
) -> Path:
    """Generate, render and write scene ``index`` of a dataset; returns the scene directory.

    A previous synthetic scene of the same name is replaced; any other existing directory of
    that name is left alone and raises `FileExistsError`.
    """
    from sky2ground_ros.data.raycast_renderer import Renderer

    name = f"synth_{index:04d}"
    root = Path(out_dir) / name
    if root.exists():
        synthetic = (root / SCENE_FILE).is_file() and Scene.load(root).source == "synthetic"
        if not synthetic:
            raise FileExistsError(f"{root} exists and is not a synthetic scene; not replacing it")
        shutil.rmtree(root)
    scene = generate_scene(scene_seed(seed, index), name)
    metadata = {
        "generator": "sky2ground make-synthetic",
        "dataset_seed": seed,
        "scene_index": index,
        "scene_seed": scene.seed,
        "config": json.loads(json.dumps(asdict(config))),
        "sun_direction": scene.lighting.sun_direction.tolist(),
        "core_half_size": scene.core_half_size,
        "num_polyhedra": int(scene.poly_planes.shape[0]),
        "num_ellipsoids": int(scene.ell_center.shape[0]),
    }
    writer = SceneWriter(root, scene.georef, name=name, source="synthetic", metadata=metadata)
    renderer = Renderer(scene)
    for view in plan_views(scene, config):
        out = renderer.render(view.camera, haze=view.group != "satellite")
        rgb = np.round(out.rgb * 255.0).astype(np.uint8)
        cam = view.camera
        centre = camera_center(cam.extrinsics)
        ground = float(scene.terrain.height(np.array(centre[0]), np.array(centre[1])))
        extra = {**view.extra, GROUND_HEIGHT_KEY: ground}
        writer.add_frame(
            view.group, view.name, rgb, cam.intrinsics, cam.extrinsics, out.depth, extra=extra
        )
    writer.finish()
    if config.orthophoto_gsd:
        from sky2ground_ros.data.orthophoto import dem_path_for, write_orthophoto

        ortho = root / ORTHOPHOTO_FILE
        write_orthophoto(renderer, ortho, config.orthophoto_gsd, dem=dem_path_for(ortho))
    if preview:
        from sky2ground_ros.data.preview import write_contact_sheet

        write_contact_sheet(Scene.load(root), root / "preview.png")
    return root


def _render_job(job: tuple[str, int, int, SyntheticConfig, bool]) -> str:
    """Worker entry point: one scene per call."""
    return str(render_scene(*job))


def generate_dataset(
    out_dir: str | Path,
    scenes: int,
    seed: int,
    config: SyntheticConfig,
    *,
    workers: int = 1,
    preview: bool = False,
    on_scene_done: Callable[[Path], None] | None = None,
    first_index: int = 0,
) -> list[Path]:
    """Render ``scenes`` scenes into ``out_dir``, indices ``first_index`` onwards (a dataset
    grows by rendering the next indices; earlier scenes are left as they are).

    With ``workers > 1`` scenes render in that many processes (rendering itself is
    single-threaded, see `raycast_renderer.single_threaded_torch`); the output is identical.
    """
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    if first_index < 0:
        raise ValueError("first_index must be >= 0")
    indices = range(first_index, first_index + scenes)
    jobs = [(str(out_dir), i, seed, config, preview) for i in indices]
    done: list[Path] = []
    if workers <= 1:
        for job in jobs:
            done.append(render_scene(*job))
            if on_scene_done:
                on_scene_done(done[-1])
        return done
    # spawn, not fork: a forked child of a process whose torch thread pools already ran can hang
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(min(workers, scenes)) as pool:
        for path in pool.imap(_render_job, jobs):
            done.append(Path(path))
            if on_scene_done:
                on_scene_done(done[-1])
    return done
