"""A realistic rosbag2 from a synthetic scene: camera, GNSS, odometry, TF and ground truth.

Topics, all stamped with the same clock as the bag's receive times (REP-105 frames):

* ``/camera/image_raw`` (rgb8 Image) or ``/camera/image_raw/compressed`` (JPEG) and
  ``/camera/camera_info``, rendered by the data renderer from the platform's camera;
* ``/gps/fix``: NavSatFix of the ``gnss_link`` antenna with first-order Gauss-Markov noise
  (correlated over `GNSS_CORRELATION_S`, like real receivers) and its diagonal covariance;
* ``/odom`` and ``/tf`` ``odom → base_link``: dead reckoning with a scale error and a yaw
  bias, so it drifts;
* ``/ground_truth/odom``: the exact ``map → base_link`` pose;
* ``/tf_static``: ``earth → map`` (the scene's ENU frame in ECEF) and the sensor mounts.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from sky2ground_ros.data.cameras import PinholeCamera, intrinsics_from_hfov
from sky2ground_ros.data.procedural_scene import generate_scene
from sky2ground_ros.data.raycast_renderer import Renderer
from sky2ground_ros.data.synthetic import scene_seed
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import enu_in_ecef, inverse, transform
from sky2ground_ros.replay import messages
from sky2ground_ros.replay.bag_types import VIEW_TYPE_KEY
from sky2ground_ros.replay.bag_writer import BagWriter
from sky2ground_ros.replay.trajectories import DroneOrbit, Platform, street_drive

IMAGE_TOPIC = "/camera/image_raw"
INFO_TOPIC = "/camera/camera_info"
GNSS_TOPIC = "/gps/fix"
ODOM_TOPIC = "/odom"
GROUND_TRUTH_TOPIC = "/ground_truth/odom"
CAMERA_FRAME = "camera_optical_frame"
GNSS_FRAME = "gnss_link"
ODOMETRY_HZ = 20.0
GNSS_CORRELATION_S = 30.0
GNSS_ANTENNA = np.array([0.0, 0.0, 1.8])
ODOMETRY_SCALE_ERROR = 0.01
ODOMETRY_YAW_BIAS_DEG_S = 0.3
DEFAULT_SPEED = {"drive": 8.0, "flight": 12.0}


@dataclass(frozen=True)
class BagSpec:
    """What to record: platform, duration, camera, GNSS noise, storage and seed."""

    platform: str = "drive"
    duration_s: float = 20.0
    speed_mps: float | None = None
    """None: 8 m/s driving, 12 m/s flying."""
    camera_rate_hz: float = 2.0
    width: int = 160
    height: int = 120
    compressed: bool = False
    gnss_sigma_m: float = 3.0
    """Horizontal standard deviation of the fix (vertical: 1.5 times)."""
    gnss_rate_hz: float = 1.0
    storage: str = "mcap"
    seed: int = 0
    start_time_s: float = 1_700_000_000.0

    def __post_init__(self) -> None:
        if self.platform not in DEFAULT_SPEED:
            raise ValueError(f"platform must be one of {', '.join(DEFAULT_SPEED)}")
        if min(self.duration_s, self.camera_rate_hz, self.gnss_rate_hz, self.gnss_sigma_m) <= 0:
            raise ValueError("duration, rates and GNSS sigma must be positive")
        if min(self.width, self.height) < 16:
            raise ValueError("images must be at least 16x16 px")

    @property
    def speed(self) -> float:
        return DEFAULT_SPEED[self.platform] if self.speed_mps is None else self.speed_mps

    @property
    def image_topic(self) -> str:
        return f"{IMAGE_TOPIC}/compressed" if self.compressed else IMAGE_TOPIC


@dataclass(frozen=True)
class BagSummary:
    """What was written."""

    path: Path
    frames: int
    duration_s: float
    origin: LocalENU
    topics: dict[str, str]


def scene_renderer(seed: int) -> Renderer:
    """The renderer of the scene ``make-synthetic --seed SEED`` writes first (synth_0000)."""
    return Renderer(generate_scene(scene_seed(seed, 0), "synth_0000"))


def platform_for(spec: BagSpec, renderer: Renderer) -> Platform:
    """The spec's platform in the renderer's scene."""
    if spec.platform == "drive":
        return street_drive(renderer.scene, spec.speed, spec.duration_s)
    return DroneOrbit(radius_m=150.0, altitude_m=250.0, speed_mps=spec.speed)


def make_bag(
    renderer: Renderer, path: str | Path, spec: BagSpec, progress: bool = False
) -> BagSummary:
    """Record the spec's platform through the renderer's scene into a new bag at ``path``."""
    georef = renderer.scene.georef
    origin = LocalENU(georef.latitude, georef.longitude, georef.altitude)
    platform = platform_for(spec, renderer)
    recorder = _Recorder(renderer, platform, spec, origin)
    frames = 0
    with BagWriter(path, spec.storage) as writer:
        writer.set_custom_data(VIEW_TYPE_KEY, platform.view_type.name.lower())
        events = list(_events(spec))
        for t, kind in tqdm(events, desc="make-bag", unit="msg", disable=not progress):
            stamp_ns = round((spec.start_time_s + t) * 1e9)
            for topic, msg in recorder.messages(kind, t, spec.start_time_s + t):
                writer.write(topic, stamp_ns, msg)
            frames += kind == "camera"
        topics = writer.topics
    return BagSummary(Path(path), frames, spec.duration_s, origin, topics)


def _events(spec: BagSpec) -> Iterator[tuple[float, str]]:
    """(seconds after start, kind) of every recording event, in time order."""
    streams = [
        ("static", [0.0]),
        ("odometry", _times(ODOMETRY_HZ, spec.duration_s)),
        ("gnss", _times(spec.gnss_rate_hz, spec.duration_s)),
        ("camera", _times(spec.camera_rate_hz, spec.duration_s)),
    ]
    merged = heapq.merge(
        *[[(t, k, kind) for t in times] for k, (kind, times) in enumerate(streams)]
    )
    for t, _, kind in merged:
        yield t, kind


def _times(rate_hz: float, duration_s: float) -> list[float]:
    return [i / rate_hz for i in range(math.floor(duration_s * rate_hz) + 1)]


class _Recorder:
    """Produces each event's messages; holds the noise states (GNSS, odometry)."""

    def __init__(
        self, renderer: Renderer, platform: Platform, spec: BagSpec, origin: LocalENU
    ) -> None:
        self.renderer = renderer
        self.platform = platform
        self.spec = spec
        self.origin = origin
        self.K = intrinsics_from_hfov(spec.width, spec.height, platform.hfov_deg)
        self._rng = np.random.default_rng([spec.seed, 8])
        sigma = spec.gnss_sigma_m * np.array([1.0, 1.0, 1.5])
        self._gnss_sigma = sigma
        self._gnss_error = sigma * self._rng.standard_normal(3)
        self._gnss_time = 0.0
        self._odom_scale = 1.0 + ODOMETRY_SCALE_ERROR * self._rng.standard_normal()
        self._odom_yaw_rate = np.radians(ODOMETRY_YAW_BIAS_DEG_S) * self._rng.standard_normal()
        self._odom = np.eye(4)
        self._odom_time = 0.0

    def messages(self, kind: str, t: float, stamp: float) -> list[tuple[str, Any]]:
        """(topic, message) pairs of one event."""
        if kind == "static":
            return [("/tf_static", self._static(stamp))]
        if kind == "odometry":
            return self._odometry(t, stamp)
        if kind == "gnss":
            return [(GNSS_TOPIC, self._gnss(t, stamp))]
        return self._camera(t, stamp)

    def _static(self, stamp: float) -> Any:
        base = "base_link"
        return messages.tf_message(
            [
                messages.transform_stamped("earth", "map", enu_in_ecef(self.origin), stamp),
                messages.transform_stamped(base, CAMERA_FRAME, self.platform.camera_in_base, stamp),
                messages.transform_stamped(
                    base, GNSS_FRAME, transform(np.eye(3), GNSS_ANTENNA), stamp
                ),
            ]
        )

    def _odometry(self, t: float, stamp: float) -> list[tuple[str, Any]]:
        """Exact ground truth and drifting dead reckoning (odom → base_link)."""
        truth = self.platform.pose(t)
        if t > self._odom_time:
            step = inverse(self.platform.pose(self._odom_time)) @ truth
            dt = t - self._odom_time
            yaw = Rotation.from_euler("z", self._odom_yaw_rate * dt).as_matrix()
            step = transform(step[:3, :3] @ yaw, self._odom_scale * step[:3, 3])
            self._odom = self._odom @ step
            self._odom_time = t
        covariance = np.diag([0.05, 0.05, 0.05, 0.01, 0.01, 0.01])
        return [
            (
                GROUND_TRUTH_TOPIC,
                messages.odometry("map", "base_link", stamp, truth, np.zeros(6 * 6)),
            ),
            (ODOM_TOPIC, messages.odometry("odom", "base_link", stamp, self._odom, covariance)),
            (
                "/tf",
                messages.tf_message(
                    [messages.transform_stamped("odom", "base_link", self._odom, stamp)]
                ),
            ),
        ]

    def _gnss(self, t: float, stamp: float) -> Any:
        """Antenna position plus Gauss-Markov noise, reported with its stationary covariance."""
        decay = math.exp(-(t - self._gnss_time) / GNSS_CORRELATION_S)
        innovation = self._gnss_sigma * math.sqrt(1.0 - decay**2) * self._rng.standard_normal(3)
        self._gnss_error = decay * self._gnss_error + innovation
        self._gnss_time = t
        antenna = self.platform.pose(t) @ np.append(GNSS_ANTENNA, 1.0)
        position = antenna[:3] + self._gnss_error
        geodetic = tuple(float(v) for v in self.origin.to_geodetic(*position))
        return messages.navsat_fix(
            GNSS_FRAME,
            stamp,
            geodetic,
            np.diag(self._gnss_sigma**2),
            messages.COVARIANCE_TYPE_DIAGONAL_KNOWN,
        )

    def _camera(self, t: float, stamp: float) -> list[tuple[str, Any]]:
        spec = self.spec
        map_camera = self.platform.pose(t) @ self.platform.camera_in_base
        camera = PinholeCamera(self.K, inverse(map_camera)[:3], spec.width, spec.height)
        rgb = np.round(self.renderer.render(camera).rgb * 255.0).astype(np.uint8)
        if spec.compressed:
            image = messages.compressed_jpeg(rgb, CAMERA_FRAME, stamp)
        else:
            image = messages.image_rgb8(rgb, CAMERA_FRAME, stamp)
        info = messages.camera_info(self.K, spec.width, spec.height, CAMERA_FRAME, stamp)
        return [(INFO_TOPIC, info), (spec.image_topic, image)]
