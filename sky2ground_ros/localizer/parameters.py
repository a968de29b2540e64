"""Parameters of the `sky2ground_localizer` node: one table, read by the node and by replay.

`NODE_PARAMETERS` and `CAMERA_PARAMETERS` (declared as ``<camera>.<name>`` for every name in
``cameras``) are the single source of truth: the node declares them, config/sky2ground.yaml
sets them, and the tests check that the two agree. Optional arrays (``initial_pose``,
``origin``, ``<camera>.extrinsic``) are declared by type only: leave them out to unset them.
ROS-free (the node's rclpy declarations live in `sky2ground_ros.ros.localizer_params`), so
`sky2ground replay` applies the node's parameters without importing rclpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.geo.registration import RegistrationConfig
from sky2ground_ros.localizer.codec import ImageCodec
from sky2ground_ros.localizer.frames import DEFAULT_MAX_PIXELS
from sky2ground_ros.localizer.gate import GateConfig
from sky2ground_ros.localizer.geometry import extrinsic_from_list
from sky2ground_ros.localizer.keyframes import KeyframePolicy
from sky2ground_ros.localizer.pipeline import LocalizerConfig
from sky2ground_ros.localizer.smoothing import SmoothingConfig
from sky2ground_ros.localizer.tile_frames import TileQuery
from sky2ground_ros.resources import SHIPPED_MODEL
from sky2ground_ros.views import ViewType


class _UnsetDoubleArray:
    """Type of `UNSET_DOUBLE_ARRAY`."""

    def __repr__(self) -> str:
        return "UNSET_DOUBLE_ARRAY"


UNSET_DOUBLE_ARRAY = _UnsetDoubleArray()
"""Marker default: declared as a double array without a value."""

NODE_PARAMETERS: dict[str, tuple[Any, str]] = {
    "autostart": (True, "configure and activate at start (no lifecycle manager needed)"),
    "model_path": ("", f"SkyNet weights; empty: the package's {SHIPPED_MODEL}"),
    "device": ("auto", "auto (CUDA when present, else CPU), cpu, cuda or cuda:N"),
    "torch_threads": (0, "CPU threads for inference; 0 keeps torch's default"),
    "inference": (
        "local",
        "local: SkyNet in this process; remote: a skynet_inference node; classical: the "
        "model-free SIFT + PnP matcher (set image_size to 224)",
    ),
    "classical.dem_path": (
        "",
        "DEM GeoTIFF of the tiles' ground for inference: classical (empty: flat ground)",
    ),
    "remote.action": ("/skynet_inference/localize", "Localize action of the inference node"),
    "remote.timeout_s": (5.0, "give up on a window the inference node has not answered"),
    "transport.format": (
        "jpeg",
        "codec of the window images in both modes (identical model input): jpeg or png",
    ),
    "transport.jpeg_quality": (90, "JPEG quality of the window images (1-100)"),
    "max_image_pixels": (
        DEFAULT_MAX_PIXELS,
        "largest camera image (width x height) accepted; checked in the header before decoding",
    ),
    "image_size": (84, "model input side (multiple of 14) the weights were trained at (tiny: 84)"),
    "localization_mode": (
        "auto",
        "location: the location head finds each camera on satellite crops; sim3: tile cameras "
        "registered through a Sim(3) (the paper's mode); auto: location when the model has one",
    ),
    "window_size": (4, "keyframe sets per inference window"),
    "keyframe.min_interval_s": (0.5, "minimum time between keyframes"),
    "keyframe.min_translation_m": (0.0, "minimum odometry motion between keyframes (0: off)"),
    "keyframe.min_sharpness": (10.0, "minimum variance of the Laplacian at model size"),
    "cameras": (["camera"], "camera names; each has <name>.* parameters"),
    "sync.slop_s": (0.05, "largest stamp difference between synchronised cameras"),
    "sync.queue_size": (10, "messages kept per camera while matching"),
    "navsat_topic": ("", "sensor_msgs/NavSatFix prior for choosing tiles; empty: none"),
    "max_fix_age_s": (5.0, "a fix older than this (vs the image stamp) is not used"),
    "unknown_prior_sigma_m": (
        25.0,
        "position sigma of a prior without a covariance (last pose, initial pose, such a fix)",
    ),
    "odom_topic": ("", "nav_msgs/Odometry; when set, TF is map->odom instead of map->base"),
    "odom_max_gap_s": (0.5, "largest odometry gap to interpolate across"),
    "initial_pose": (UNSET_DOUBLE_ARRAY, "[lat, lon] to look for tiles before any fix or pose"),
    "origin": (UNSET_DOUBLE_ARRAY, "[lat, lon, alt] of the map frame; unset: the first prior"),
    "ground_altitude_m": (0.0, "ellipsoidal height of the map origin when taken from a prior"),
    "tile_source": ("", "tile path/URI (in-process) or service:<name> of a satellite_tile_server"),
    "tile_cache_dir": ("", "disk cache for the in-process tile source (empty: none)"),
    "allow_network": (False, "let an http(s) tile source fetch from the network"),
    "tiles.zoom": (17, "XYZ zoom of the tiles (0: the source's finest)"),
    "tiles.radius_m": (150.0, "radius around the prior to cover with tiles"),
    "tiles.max_tiles": (4, "tiles per window, nearest first"),
    "tiles.satellite_altitude_m": (1500.0, "height of the tile cameras (as in training)"),
    "tiles.service_timeout_s": (5.0, "wait for a GetTiles answer"),
    "registration.inlier_spacing_fraction": (
        0.25,
        "a tile agrees when its registered centre is within this fraction of the tile spacing",
    ),
    "registration.inlier_rotation_deg": (10.0, "... and its orientation within this angle"),
    "registration.min_inlier_ratio": (0.5, "more than this fraction of the tiles must agree"),
    "gate.min_inlier_tiles": (3, "tiles that must agree with the registration"),
    "gate.max_tile_rms_m": (30.0, "largest RMS tile position residual"),
    "gate.max_tile_rms_deg": (10.0, "largest RMS tile orientation residual"),
    "gate.max_position_sigma_m": (30.0, "largest position standard deviation"),
    "gate.min_pose_confidence": (0.0, "smallest model pose confidence of the newest frames"),
    "gate.max_focal_error": (0.0, "largest relative focal error vs CameraInfo (0: off)"),
    "gate.min_location_mass": (
        0.3,
        "location mode: smallest probability the map puts within 2 cells of its peak",
    ),
    "smoothing.max_speed_m_s": (
        20.0,
        "top speed: without odometry the smoother lets the pose move this fast (1 sigma)",
    ),
    "smoothing.odometry_drift_fraction": (
        0.1,
        "with odometry (odom_topic), the motion model's 1-sigma error per metre driven",
    ),
    "smoothing.position_noise_m2_per_s": (0.5, "random-walk position noise of the smoother"),
    "smoothing.rotation_noise_rad2_per_s": (0.01, "random-walk rotation noise of the smoother"),
    "smoothing.prior_correlation_s": (
        30.0,
        "correlation time of the error fixes share through their prior (a GNSS bias)",
    ),
    "frames.map": ("map", "map frame (local ENU at the origin)"),
    "frames.odom": ("odom", "odometry frame"),
    "frames.base": ("base_link", "robot base frame"),
    "frames.earth": ("earth", "ECEF frame of the static earth->map transform"),
    "publish_tf": (True, "publish map->odom (or map->base) on /tf"),
    "publish_earth_frame": (True, "publish the static earth->map (ECEF) transform"),
    "tf_republish_period_s": (0.1, "re-send the last map->odom at this period (0: off)"),
    "diagnostics_period_s": (1.0, "period of /diagnostics"),
}

CAMERA_PARAMETERS: dict[str, tuple[Any, str]] = {
    "image_topic": ("/{name}/image_raw", "sensor_msgs/Image (or CompressedImage) topic"),
    "info_topic": ("/{name}/camera_info", "sensor_msgs/CameraInfo topic"),
    "compressed": (False, "subscribe to sensor_msgs/CompressedImage"),
    "view_type": ("ground", "ground or aerial"),
    "frame_id": ("", "optical frame for the tf_static lookup; empty: the images' frame_id"),
    "extrinsic": (
        UNSET_DOUBLE_ARRAY,
        "[x, y, z, qx, qy, qz, qw] of the optical frame in the base frame; unset: tf_static, "
        "else the optical frame at the base origin looking along base +x",
    ),
}


@dataclass(frozen=True)
class CameraSettings:
    """One camera stream's parameters."""

    name: str
    image_topic: str
    info_topic: str
    compressed: bool = False
    view_type: ViewType = ViewType.GROUND
    frame_id: str = ""
    extrinsic: np.ndarray | None = None
    """``base → optical frame`` (4x4); None: /tf_static, else the default mount."""


def parameter_names(cameras: list[str]) -> list[str]:
    """Names of the node and camera parameters for these cameras."""
    per_camera = [f"{camera}.{name}" for camera in cameras for name in CAMERA_PARAMETERS]
    return [*NODE_PARAMETERS, *per_camera]


def camera_settings(values: dict[str, Any]) -> list[CameraSettings]:
    """Camera streams from parameter values; ValueError names the bad parameter."""
    cameras = list(values["cameras"])
    if not cameras or len(set(cameras)) != len(cameras):
        raise ValueError(f"'cameras' must list distinct names, got {cameras}")
    settings = []
    for camera in cameras:
        view_type = ViewType.parse(values[f"{camera}.view_type"])
        if view_type == ViewType.SATELLITE:
            raise ValueError(f"{camera}.view_type must be ground or aerial")
        extrinsic = values[f"{camera}.extrinsic"]
        try:
            mount = None if extrinsic is None else extrinsic_from_list(extrinsic)
        except ValueError as error:
            raise ValueError(f"{camera}.extrinsic: {error}") from error
        settings.append(
            CameraSettings(
                name=camera,
                image_topic=values[f"{camera}.image_topic"],
                info_topic=values[f"{camera}.info_topic"],
                compressed=bool(values[f"{camera}.compressed"]),
                view_type=view_type,
                frame_id=values[f"{camera}.frame_id"],
                extrinsic=mount,
            )
        )
    return settings


def localizer_config(values: dict[str, Any]) -> LocalizerConfig:
    """The ROS-free pipeline configuration from parameter values."""
    zoom = int(values["tiles.zoom"])
    return LocalizerConfig(
        image_size=int(values["image_size"]),
        tiles=TileQuery(
            radius_m=float(values["tiles.radius_m"]),
            zoom=zoom or None,
            max_tiles=int(values["tiles.max_tiles"]),
            satellite_altitude_m=float(values["tiles.satellite_altitude_m"]),
        ),
        gate=GateConfig(
            min_inlier_tiles=int(values["gate.min_inlier_tiles"]),
            max_tile_rms_m=float(values["gate.max_tile_rms_m"]),
            max_tile_rms_deg=float(values["gate.max_tile_rms_deg"]),
            max_position_sigma_m=float(values["gate.max_position_sigma_m"]),
            min_pose_confidence=float(values["gate.min_pose_confidence"]),
            max_focal_error=float(values["gate.max_focal_error"]),
        ),
        registration=RegistrationConfig(
            inlier_spacing_fraction=float(values["registration.inlier_spacing_fraction"]),
            inlier_rotation_deg=float(values["registration.inlier_rotation_deg"]),
            min_inlier_ratio=float(values["registration.min_inlier_ratio"]),
        ),
        ground_altitude_m=float(values["ground_altitude_m"]),
        smoothing=SmoothingConfig(
            max_speed_m_s=float(values["smoothing.max_speed_m_s"]),
            odometry_drift_fraction=float(values["smoothing.odometry_drift_fraction"]),
            position_noise_m2_per_s=float(values["smoothing.position_noise_m2_per_s"]),
            rotation_noise_rad2_per_s=float(values["smoothing.rotation_noise_rad2_per_s"]),
            prior_correlation_s=float(values["smoothing.prior_correlation_s"]),
        ),
        codec=ImageCodec(str(values["transport.format"]), int(values["transport.jpeg_quality"])),
        mode=str(values["localization_mode"]).strip().lower(),
        min_location_mass=float(values["gate.min_location_mass"]),
        unknown_prior_sigma_m=float(values["unknown_prior_sigma_m"]),
    )


INFERENCE_MODES = ("local", "remote", "classical")


def inference_mode(values: dict[str, Any]) -> str:
    """The ``inference`` parameter, checked."""
    mode = str(values["inference"]).strip().lower()
    if mode not in INFERENCE_MODES:
        raise ValueError(f"inference must be one of {INFERENCE_MODES}, got {mode!r}")
    if mode == "remote" and float(values["remote.timeout_s"]) <= 0:
        raise ValueError("remote.timeout_s must be positive")
    return mode


def keyframe_policy(values: dict[str, Any]) -> KeyframePolicy:
    """Keyframe thresholds from parameter values."""
    return KeyframePolicy(
        min_interval_s=float(values["keyframe.min_interval_s"]),
        min_translation_m=float(values["keyframe.min_translation_m"]),
        min_sharpness=float(values["keyframe.min_sharpness"]),
    )


def map_origin(values: dict[str, Any]) -> LocalENU | None:
    """The ``origin`` parameter as an ENU frame (altitude 0 when only lat, lon are given)."""
    origin = values["origin"]
    if origin is None:
        return None
    if len(origin) not in (2, 3):
        raise ValueError(f"origin must be [lat, lon] or [lat, lon, alt], got {list(origin)}")
    return LocalENU(*(float(v) for v in origin))


def initial_position(values: dict[str, Any]) -> tuple[float, float] | None:
    """The ``initial_pose`` parameter as (lat, lon)."""
    pose = values["initial_pose"]
    if pose is None:
        return None
    if len(pose) != 2 or not all(math.isfinite(v) for v in pose):
        raise ValueError(f"initial_pose must be [lat, lon], got {list(pose)}")
    return float(pose[0]), float(pose[1])
