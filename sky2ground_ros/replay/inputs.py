"""The localizer node's input stages in bag time, without ROS, feeding `Localizer.process`.

`LocalizerInputs` takes the same steps as `ros.localizer_node.LocalizerNode`'s callbacks:
approximate-time sync of the cameras, `decode_rgb` / `parse_camera_info` checks, model-size
resizing, the keyframe window, the GNSS / last-pose / initial prior, odometry positions and
``base → camera`` mounts from parameters or /tf_static, and the reset when time jumps back.
So a replayed bag hands the pipeline the windows the node would have submitted live.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sky2ground_ros.localizer.frames import (
    BadFrameError,
    CameraIntrinsics,
    decode_rgb,
    parse_camera_info,
)
from sky2ground_ros.localizer.geometry import TransformTree, default_camera_extrinsic
from sky2ground_ros.localizer.keyframes import FrameSet, KeyframePolicy, KeyframeWindow
from sky2ground_ros.localizer.odometry import OdometryBuffer
from sky2ground_ros.localizer.pipeline import CameraMount, LocalizationResult, WindowRequest
from sky2ground_ros.localizer.preprocess import to_model_input
from sky2ground_ros.localizer.prior import BadFixError, GeoPrior, PriorSelector, validate_fix
from sky2ground_ros.localizer.sync import ApproximateTimeSync
from sky2ground_ros.replay.messages import pose_matrix, stamp_seconds
from sky2ground_ros.views import ViewType

TIME_JUMP_S = 1.0
"""A frame this much older than the previous one means time jumped back (as in the node)."""


@dataclass(frozen=True)
class CameraInput:
    """One camera stream of the bag and how it is mounted."""

    name: str
    image_topic: str
    info_topic: str
    view_type: ViewType = ViewType.GROUND
    extrinsic: np.ndarray | None = None
    """``base → optical frame`` (4x4); None: /tf_static, else the node's default mount."""


@dataclass(frozen=True)
class InputConfig:
    """The node parameters that shape its input handling (same names and defaults)."""

    cameras: tuple[CameraInput, ...]
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


@dataclass
class _Camera:
    settings: CameraInput
    intrinsics: CameraIntrinsics | None = None
    info_problem: str = "no CameraInfo received yet"
    frame_id: str = ""


class LocalizerInputs:
    """Turns deserialised bag messages into `WindowRequest`s (or a no-prior result)."""

    def __init__(
        self,
        config: InputConfig,
        static_tf: TransformTree,
        on_time_jump: Callable[[], None] | None = None,
    ) -> None:
        if not config.cameras:
            raise ValueError("at least one camera is needed")
        self.config = config
        self.problems: Counter[str] = Counter()
        """Bad inputs by reason, as the node reports them in /diagnostics."""
        self.priors = PriorSelector(config.max_fix_age_s, config.initial_position)
        self.odometry = (
            OdometryBuffer(max_gap_s=config.odom_max_gap_s) if config.odom_topic else None
        )
        self._static_tf = static_tf
        self._on_time_jump = on_time_jump
        self._cameras = [_Camera(c) for c in config.cameras]
        self._by_image = {c.image_topic: i for i, c in enumerate(config.cameras)}
        self._by_info = {c.info_topic: self._cameras[i] for i, c in enumerate(config.cameras)}
        self._sync: ApproximateTimeSync[tuple[float, Any]] = ApproximateTimeSync(
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

    def on_message(self, topic: str, msg: Any) -> WindowRequest | LocalizationResult | None:
        """Consume one message; a full keyframe window comes back as a request."""
        if topic in self._by_info:
            self._on_camera_info(self._by_info[topic], msg)
        if topic == self.config.navsat_topic:
            self._on_navsat(msg)
        if topic == self.config.odom_topic and self.odometry is not None:
            self.odometry.add(stamp_seconds(msg.header.stamp), pose_matrix(msg.pose.pose))
        if topic in self._by_image:
            stamp = stamp_seconds(msg.header.stamp)
            matched = self._sync.add(self._by_image[topic], stamp, (stamp, msg))
            if matched is not None:
                return self._on_frame_set(matched)
        return None

    def record_pose(self, result: LocalizationResult) -> None:
        """A published pose becomes the prior when no recent fix exists (as in the node)."""
        if result.geodetic is not None:
            lat, lon, _ = result.geodetic
            self.priors.last_pose = GeoPrior(lat, lon, result.stamp, "last pose")

    def _on_camera_info(self, camera: _Camera, msg: Any) -> None:
        try:
            camera.intrinsics = parse_camera_info(msg)
            camera.info_problem = ""
        except BadFrameError as error:
            camera.intrinsics = None
            camera.info_problem = error.reason
            self.problems[f"CameraInfo of '{camera.settings.name}': {error.reason}"] += 1

    def _on_navsat(self, msg: Any) -> None:
        try:
            fix = validate_fix(
                msg.latitude, msg.longitude, msg.status.status, stamp_seconds(msg.header.stamp)
            )
        except BadFixError as error:
            self.problems[f"NavSatFix: {error.reason}"] += 1
            return
        self.priors.fix = fix

    def _on_frame_set(
        self, matched: Sequence[tuple[float, Any]]
    ) -> WindowRequest | LocalizationResult | None:
        stamp = matched[0][0]
        received = time.monotonic()
        start = time.perf_counter()
        decoded = []
        for camera, (_, msg) in zip(self._cameras, matched, strict=True):
            name = camera.settings.name
            try:
                rgb = decode_rgb(msg)
            except BadFrameError as error:
                self.problems[f"image of '{name}': {error.reason}"] += 1
                return None
            info = camera.intrinsics
            if info is None:
                self.problems[f"image of '{name}': {camera.info_problem}"] += 1
                return None
            if (info.width, info.height) != (rgb.shape[1], rgb.shape[0]):
                self.problems[
                    f"image of '{name}': {rgb.shape[1]}x{rgb.shape[0]} but CameraInfo is "
                    f"{info.width}x{info.height}"
                ] += 1
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
            camera_names=[c.settings.name for c in self._cameras],
            position=None if odom is None else odom[:3, 3],
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
                "initial position",
            )
        mounts = {
            c.settings.name: CameraMount(c.settings.view_type, self._mount(c))
            for c in self._cameras
        }
        timings = {"decode": decode_ms, "preprocess": preprocess_ms}
        return WindowRequest(self._window.frames(), prior, mounts, received, timings)

    def _check_time_jump(self, stamp: float) -> None:
        if self._last_stamp is not None and stamp < self._last_stamp - TIME_JUMP_S:
            self._window.clear()
            if self.odometry is not None:
                self.odometry.clear()
            self.priors.reset()
            if self._on_time_jump is not None:
                self._on_time_jump()
        self._last_stamp = stamp

    def _mount(self, camera: _Camera) -> np.ndarray:
        """Parameter extrinsic, else /tf_static ``base → frame``, else the default mount."""
        mount = camera.settings.extrinsic
        if mount is None and camera.frame_id:
            mount = self._static_tf.lookup(self.config.base_frame, camera.frame_id)
        return default_camera_extrinsic() if mount is None else mount
