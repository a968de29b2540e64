"""The localizer's frame ingest, ROS-free: the one code the node and the bag replay both run.

`LocalizerInputs` takes camera, CameraInfo, NavSatFix and odometry messages (rclpy or rosbags
objects alike) through the node's input stages:
approximate-time sync of the cameras, `decode_rgb` / `parse_camera_info` checks, model-size
resizing, the keyframe window, the GNSS / last-pose / initial prior, odometry positions and
``base → camera`` mounts from parameters or /tf_static, and the reset when time jumps back.
A full window comes back as a `WindowRequest` for `Localizer`; bad inputs go to
`InputProblems`, which the node shows in /diagnostics and the replay in its report.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sky2ground_ros.localizer.frames import (
    DEFAULT_MAX_PIXELS,
    BadFrameError,
    CameraIntrinsics,
    decode_rgb,
    parse_camera_info,
    pose_matrix,
    stamp_seconds,
)
from sky2ground_ros.localizer.geometry import TransformTree, default_camera_extrinsic
from sky2ground_ros.localizer.keyframes import FrameSet, KeyframePolicy, KeyframeWindow
from sky2ground_ros.localizer.odometry import OdometryBuffer
from sky2ground_ros.localizer.parameters import CameraSettings, initial_position, keyframe_policy
from sky2ground_ros.localizer.pipeline import CameraMount, LocalizationResult, WindowRequest
from sky2ground_ros.localizer.preprocess import to_model_input
from sky2ground_ros.localizer.prior import BadFixError, GeoPrior, PriorSelector, validate_fix
from sky2ground_ros.localizer.sync import ApproximateTimeSync

TIME_JUMP_S = 1.0
"""A frame this much older than the previous one means time jumped back (bag restart)."""
DEFAULT_MOUNT = "default (optical frame at the base origin, looking along base +x)"


@dataclass(frozen=True)
class InputConfig:
    """The node parameters that shape its input handling (same names and defaults)."""

    cameras: tuple[CameraSettings, ...]
    image_size: int = 224
    window_size: int = 4
    keyframes: KeyframePolicy = field(default_factory=KeyframePolicy)
    sync_slop_s: float = 0.05
    sync_queue_size: int = 10
    navsat_topic: str = ""
    max_fix_age_s: float = 5.0
    odom_topic: str = ""
    odom_max_gap_s: float = 0.5
    initial_position: tuple[float, float] | None = None
    base_frame: str = "base_link"
    max_image_pixels: int = DEFAULT_MAX_PIXELS


def input_config(values: dict[str, Any], cameras: Sequence[CameraSettings]) -> InputConfig:
    """The input configuration from node parameter values, for these cameras."""
    return InputConfig(
        cameras=tuple(cameras),
        image_size=int(values["image_size"]),
        window_size=int(values["window_size"]),
        keyframes=keyframe_policy(values),
        sync_slop_s=float(values["sync.slop_s"]),
        sync_queue_size=int(values["sync.queue_size"]),
        navsat_topic=values["navsat_topic"],
        max_fix_age_s=float(values["max_fix_age_s"]),
        odom_topic=values["odom_topic"],
        odom_max_gap_s=float(values["odom_max_gap_s"]),
        initial_position=initial_position(values),
        base_frame=values["frames.base"],
        max_image_pixels=int(values["max_image_pixels"]),
    )


@dataclass
class InputProblems:
    """Bad inputs by kind ('image', 'CameraInfo', 'NavSatFix'), by full reason, and the latest."""

    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    """``'<kind>: <reason>'`` counts, for the replay's report."""
    last: dict[str, str] = field(default_factory=dict)
    latest: str = ""
    latest_time: float = -np.inf

    def report(self, kind: str, reason: str) -> None:
        """Count a bad input of this kind."""
        self.counts[kind] += 1
        self.reasons[f"{kind}: {reason}"] += 1
        self.last[kind] = reason
        self.latest = reason
        self.latest_time = time.monotonic()


@dataclass
class CameraStream:
    """A camera: its settings, latest valid intrinsics and the images' frame id."""

    settings: CameraSettings
    intrinsics: CameraIntrinsics | None = None
    info_problem: str = "no CameraInfo received yet"
    frame_id: str = ""


class LocalizerInputs:
    """Turns input messages into `WindowRequest`s (or a no-prior result)."""

    def __init__(
        self,
        config: InputConfig,
        static_tf: TransformTree,
        on_time_jump: Callable[[], None] | None = None,
        problems: InputProblems | None = None,
    ) -> None:
        if not config.cameras:
            raise ValueError("at least one camera is needed")
        self.config = config
        self.problems = InputProblems() if problems is None else problems
        self.priors = PriorSelector(config.max_fix_age_s, config.initial_position)
        self.odometry = (
            OdometryBuffer(max_gap_s=config.odom_max_gap_s) if config.odom_topic else None
        )
        self.cameras = [CameraStream(c) for c in config.cameras]
        self._static_tf = static_tf
        self._on_time_jump = on_time_jump
        self._by_image = {c.image_topic: i for i, c in enumerate(config.cameras)}
        self._by_info = {c.info_topic: i for i, c in enumerate(config.cameras)}
        self._sync: ApproximateTimeSync[tuple[float, float, Any]] = ApproximateTimeSync(
            len(config.cameras), config.sync_slop_s, config.sync_queue_size
        )
        self._window = KeyframeWindow(config.window_size, config.keyframes)
        self._last_stamp: float | None = None

    @property
    def topics(self) -> list[str]:
        """Every topic these inputs consume."""
        cameras = [t for c in self.config.cameras for t in (c.image_topic, c.info_topic)]
        return cameras + [t for t in (self.config.navsat_topic, self.config.odom_topic) if t]

    @property
    def keyframe_rejections(self) -> dict[str, int]:
        return dict(self._window.rejected)

    @property
    def sync_dropped(self) -> int:
        return self._sync.dropped

    def on_message(self, topic: str, msg: Any) -> WindowRequest | LocalizationResult | None:
        """Route one message of any input topic (a bag); a full window comes back."""
        if topic in self._by_info:
            self.on_camera_info(self._by_info[topic], msg)
        if topic == self.config.navsat_topic:
            self.on_navsat(msg)
        if topic == self.config.odom_topic:
            self.on_odometry(msg)
        if topic in self._by_image:
            return self.on_image(self._by_image[topic], msg)
        return None

    def on_camera_info(self, index: int, msg: Any) -> None:
        """Camera `index`'s intrinsics, or why it has none."""
        camera = self.cameras[index]
        try:
            camera.intrinsics = parse_camera_info(msg)
            camera.info_problem = ""
        except BadFrameError as error:
            camera.intrinsics = None
            camera.info_problem = error.reason
            self.problems.report("CameraInfo", f"camera '{camera.settings.name}': {error.reason}")

    def on_navsat(self, msg: Any) -> None:
        """A valid fix becomes the prior; a bad one is reported."""
        try:
            fix = validate_fix(
                msg.latitude,
                msg.longitude,
                msg.status.status,
                stamp_seconds(msg.header.stamp),
                msg.altitude,
                list(msg.position_covariance),
                msg.position_covariance_type,
            )
        except BadFixError as error:
            self.problems.report("NavSatFix", error.reason)
            return
        self.priors.fix = fix

    def on_odometry(self, msg: Any) -> None:
        if self.odometry is not None:
            self.odometry.add(stamp_seconds(msg.header.stamp), pose_matrix(msg.pose.pose))

    def on_image(self, index: int, msg: Any) -> WindowRequest | LocalizationResult | None:
        """Camera `index`'s image; the set it completes may complete a window."""
        stamp = stamp_seconds(msg.header.stamp)
        matched = self._sync.add(index, stamp, (stamp, time.monotonic(), msg))
        return None if matched is None else self._on_frame_set(matched)

    def record_result(self, result: LocalizationResult) -> None:
        """A localized pose is the prior when no recent fix exists; a lost one stops being it."""
        if result.pose is not None and result.geodetic is not None:
            lat, lon, alt = result.geodetic
            self.priors.last_pose = GeoPrior(lat, lon, result.stamp, "last pose", alt)
        elif result.category == "tiles" and result.prior_source == "last pose":
            self.priors.last_pose = None  # lost: look around the fix or initial pose again

    def mount(self, camera: CameraStream) -> tuple[np.ndarray, str]:
        """The ``base → camera`` transform and where it came from."""
        if camera.settings.extrinsic is not None:
            return camera.settings.extrinsic, "parameter"
        frame = camera.settings.frame_id or camera.frame_id
        found = self._static_tf.lookup(self.config.base_frame, frame) if frame else None
        if found is not None:
            return found, "tf_static"
        return default_camera_extrinsic(), DEFAULT_MOUNT

    def _on_frame_set(
        self, matched: Sequence[tuple[float, float, Any]]
    ) -> WindowRequest | LocalizationResult | None:
        """Decode, check and resize one synchronised set; a ready window becomes a request."""
        stamp = matched[0][0]
        received = max(item[1] for item in matched)
        start = time.perf_counter()
        decoded = []
        for camera, (_, _, msg) in zip(self.cameras, matched, strict=True):
            name = camera.settings.name
            try:
                rgb = decode_rgb(msg, self.config.max_image_pixels)
            except BadFrameError as error:
                self.problems.report("image", f"camera '{name}': {error.reason}")
                return None
            info = camera.intrinsics
            if info is None:
                self.problems.report("image", f"camera '{name}': {camera.info_problem}")
                return None
            if (info.width, info.height) != (rgb.shape[1], rgb.shape[0]):
                self.problems.report(
                    "image",
                    f"camera '{name}': image is {rgb.shape[1]}x{rgb.shape[0]} but CameraInfo "
                    f"is {info.width}x{info.height}",
                )
                return None
            camera.frame_id = msg.header.frame_id
            decoded.append((rgb, info.K))
        decode_ms = 1000.0 * (time.perf_counter() - start)

        start = time.perf_counter()
        resized = [to_model_input(rgb, K, self.config.image_size) for rgb, K in decoded]
        odom = self.odometry.at(stamp) if self.odometry is not None else None
        frames = FrameSet(
            stamp=stamp,
            images=[image for image, _ in resized],
            intrinsics=[K for _, K in resized],
            camera_names=[c.settings.name for c in self.cameras],
            odom=odom,
        )
        self._check_time_jump(stamp)
        if not self._window.offer(frames) or not self._window.full:
            return None
        preprocess_ms = 1000.0 * (time.perf_counter() - start)
        prior = self.priors.select(stamp)
        if prior is None:
            return LocalizationResult(
                stamp,
                received,
                category="prior",
                rejection="no position prior: no valid NavSatFix, no previous pose and no "
                "initial_pose parameter",
            )
        mounts = {
            c.settings.name: CameraMount(c.settings.view_type, self.mount(c)[0])
            for c in self.cameras
        }
        timings = {"decode": decode_ms, "preprocess": preprocess_ms}
        return WindowRequest(self._window.frames(), prior, mounts, received, timings)

    def _check_time_jump(self, stamp: float) -> None:
        """Time jumped back (a bag restart): window, odometry and priors start over."""
        if self._last_stamp is not None and stamp < self._last_stamp - TIME_JUMP_S:
            self._window.clear()
            if self.odometry is not None:
                self.odometry.clear()
            self.priors.reset()
            if self._on_time_jump is not None:
                self._on_time_jump()
        self._last_stamp = stamp
