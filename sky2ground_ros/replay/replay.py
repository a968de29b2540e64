"""Replay a bag through the localizer, synchronously, with bag time as the clock.

Every input message is copied to the output bag; camera, CameraInfo, NavSatFix and odometry
messages also go through `LocalizerInputs` (the node's own ingest code) and each full window
through `Localizer.process` (the node's pipeline class). Results are written at the bag time
of the message that completed the window, as the node would publish them: REP-105 TF on
/tf (``map → odom`` with odometry, else ``map → base_link``), a static ``earth → map`` on
/tf_static, PoseWithCovarianceStamped and NavSatFix on the node's ``~/pose`` and ``~/fix``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sky2ground_ros.geo.geodesy import LocalENU, ecef_to_geodetic
from sky2ground_ros.localizer.frames import pose_matrix, stamp_seconds
from sky2ground_ros.localizer.geometry import (
    TransformTree,
    enu_in_ecef,
    from_xyz_quat,
    inverse,
)
from sky2ground_ros.localizer.inputs import InputConfig, LocalizerInputs
from sky2ground_ros.localizer.pipeline import (
    LocalizationResult,
    Localizer,
    LocalizerConfig,
    Predictor,
    WindowRequest,
)
from sky2ground_ros.localizer.tile_frames import TileProvider
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.replay import messages
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.bag_types import BagError
from sky2ground_ros.replay.bag_writer import BagWriter

NODE_NAMESPACE = "/sky2ground_localizer"
"""The node's name: its private topics ``~/pose`` and ``~/fix`` live under it."""
POSE_TOPIC = f"{NODE_NAMESPACE}/pose"
FIX_TOPIC = f"{NODE_NAMESPACE}/fix"
GROUND_TRUTH_TYPES = (
    messages.ODOMETRY,
    messages.POSE_STAMPED,
    messages.POSE_WITH_COVARIANCE_STAMPED,
)
ENU_TOLERANCE_RAD = 1e-4
"""How far an ``earth → map`` rotation may be from ENU axes for the map to be used as ENU."""


@dataclass(frozen=True)
class FrameNames:
    """TF frame names (the node's ``frames.*`` parameters)."""

    map: str = "map"
    odom: str = "odom"
    base: str = "base_link"
    earth: str = "earth"


@dataclass(frozen=True)
class ReplayConfig:
    """Inputs, pipeline, frames and outputs of one replay."""

    inputs: InputConfig
    localizer: LocalizerConfig
    origin: LocalENU | None = None
    """Map origin; None: the bag's ``earth → map`` when it has one, else the first prior."""
    frames: FrameNames = field(default_factory=FrameNames)
    ground_truth_topic: str = ""
    storage: str = "mcap"


@dataclass(frozen=True)
class StampedPose:
    """A pose (4x4) at a stamp (seconds) in the frame given by context."""

    stamp: float
    T: np.ndarray


@dataclass
class ReplayOutcome:
    """Everything a replay produced, for reports, exports and metrics."""

    output: Path
    results: list[LocalizationResult] = field(default_factory=list)
    origin: LocalENU | None = None
    fixes: list[tuple[float, tuple[float, float, float]]] = field(default_factory=list)
    """(stamp, (lat, lon, alt)) of every input NavSatFix."""
    ground_truth: list[StampedPose] = field(default_factory=list)
    """Ground-truth ``base`` poses in the ground truth's own frame."""
    ground_truth_frame: str = ""
    static_tf: TransformTree = field(default_factory=TransformTree)
    frames: int = 0
    """Images of the first camera read."""
    stopped: str = ""
    damage: str = ""
    problems: Counter[str] = field(default_factory=Counter)
    keyframe_rejections: dict[str, int] = field(default_factory=dict)
    tf_skipped: int = 0
    wall_s: float = 0.0

    @property
    def poses(self) -> list[LocalizationResult]:
        """The windows that produced a pose."""
        return [r for r in self.results if r.pose is not None]

    def categories(self) -> Counter[str]:
        """Window outcomes by category ('ok' or the rejection kind)."""
        return Counter(r.category for r in self.results)


def check_topics(reader: BagReader, config: ReplayConfig) -> None:
    """Every configured topic exists with a usable type; else `MissingTopicError`."""
    inputs = config.inputs
    for camera in inputs.cameras:
        reader.require(
            camera.image_topic,
            (messages.IMAGE, messages.COMPRESSED_IMAGE),
            f"camera '{camera.name}' image",
        )
        reader.require(camera.info_topic, (messages.CAMERA_INFO,), f"camera '{camera.name}' info")
    if inputs.navsat_topic:
        reader.require(inputs.navsat_topic, (messages.NAVSAT_FIX,), "NavSatFix")
    if inputs.odom_topic:
        reader.require(inputs.odom_topic, (messages.ODOMETRY,), "odometry")
    if config.ground_truth_topic:
        reader.require(config.ground_truth_topic, GROUND_TRUTH_TYPES, "ground truth")


def replay(
    reader: BagReader,
    model: SkyNet | Predictor,
    tiles: TileProvider,
    config: ReplayConfig,
    output: str | Path,
    progress: bool = True,
) -> ReplayOutcome:
    """Localize every window of the bag and write the output bag (see the module docstring).

    ``model`` is a loaded SkyNet or any `Predictor` (the oracle, the classical matcher).
    """
    check_topics(reader, config)
    start = time.perf_counter()
    outcome = ReplayOutcome(Path(output), damage=reader.damage)
    outcome.static_tf = _static_transforms(reader)
    bag_origin = _bag_map_origin(outcome.static_tf, config.frames)
    origin = _map_origin(config.origin, bag_origin)
    if isinstance(model, SkyNet):
        localizer = Localizer(model, tiles, config.localizer, origin)
    else:
        localizer = Localizer(None, tiles, config.localizer, origin, predictor=model)
    inputs = LocalizerInputs(config.inputs, outcome.static_tf, localizer.reset)
    first_camera = config.inputs.cameras[0].image_topic
    total = reader.topics[first_camera].count
    with (
        BagWriter(output, config.storage) as writer,
        tqdm(
            total=total, unit="frame", desc="replay", file=sys.stderr, disable=not progress
        ) as bar,
    ):
        for info in reader.topics.values():
            writer.copy_topic(info)
        publisher = _Publisher(writer, config.frames, inputs, outcome, bag_origin is None)
        consumed = set(inputs.topics) | {config.ground_truth_topic} - {""}
        for message in reader.messages(reader.topics):
            if message.topic in writer.topics:
                writer.write_raw(message.topic, message.timestamp, message.data)
            if message.topic not in consumed:
                continue
            msg = messages.deserialize(message.data, message.msgtype)
            _collect(message.topic, msg, config, outcome)
            request = inputs.on_message(message.topic, msg)
            if message.topic == first_camera:
                outcome.frames += 1
                bar.update()
            if request is not None:
                result = _process(localizer, request)
                outcome.results.append(result)
                publisher.publish(result, localizer.origin, message.timestamp)
                bar.set_postfix(poses=len(outcome.poses), refresh=False)
    outcome.origin = localizer.origin
    outcome.stopped = reader.stopped
    outcome.problems = inputs.problems.reasons
    outcome.keyframe_rejections = inputs.keyframe_rejections
    outcome.wall_s = time.perf_counter() - start
    return outcome


def _process(
    localizer: Localizer, request: WindowRequest | LocalizationResult
) -> LocalizationResult:
    return request if isinstance(request, LocalizationResult) else localizer.process(request)


def _collect(topic: str, msg: Any, config: ReplayConfig, outcome: ReplayOutcome) -> None:
    """Keep the input fixes and the ground truth for the evaluation."""
    if topic == config.inputs.navsat_topic:
        geodetic = (float(msg.latitude), float(msg.longitude), float(msg.altitude))
        outcome.fixes.append((stamp_seconds(msg.header.stamp), geodetic))
    if topic == config.ground_truth_topic:
        pose = msg.pose.pose if hasattr(msg.pose, "pose") else msg.pose
        outcome.ground_truth_frame = msg.header.frame_id
        outcome.ground_truth.append(StampedPose(stamp_seconds(msg.header.stamp), pose_matrix(pose)))


class _Publisher:
    """Writes a result as the node publishes it: TF, ~/pose, ~/fix, earth → map once."""

    def __init__(
        self,
        writer: BagWriter,
        frames: FrameNames,
        inputs: LocalizerInputs,
        outcome: ReplayOutcome,
        send_earth: bool,
    ) -> None:
        self._writer = writer
        self._frames = frames
        self._inputs = inputs
        self._outcome = outcome
        self._earth_pending = send_earth
        writer.add_topic("/tf", messages.TF_MESSAGE)
        writer.add_topic("/tf_static", messages.TF_MESSAGE)
        writer.add_topic(POSE_TOPIC, messages.POSE_WITH_COVARIANCE_STAMPED)
        writer.add_topic(FIX_TOPIC, messages.NAVSAT_FIX)

    def publish(self, result: LocalizationResult, origin: LocalENU | None, bag_ns: int) -> None:
        if self._earth_pending and origin is not None:
            earth = messages.transform_stamped(
                self._frames.earth, self._frames.map, enu_in_ecef(origin), result.stamp
            )
            self._writer.write("/tf_static", bag_ns, messages.tf_message([earth]))
            self._earth_pending = False
        self._inputs.record_result(result)
        pose = result.pose
        if pose is None or result.geodetic is None:
            return
        self._send_transform(result.stamp, from_xyz_quat(pose.position, pose.quaternion), bag_ns)
        self._writer.write(
            POSE_TOPIC, bag_ns, messages.pose_with_covariance(self._frames.map, pose)
        )
        fix = messages.navsat_fix(
            self._frames.base, result.stamp, result.geodetic, pose.covariance[:3, :3]
        )
        self._writer.write(FIX_TOPIC, bag_ns, fix)

    def _send_transform(self, stamp: float, map_base: np.ndarray, bag_ns: int) -> None:
        """REP-105: map → odom when odometry is known at the stamp, else map → base."""
        frames = self._frames
        odometry = self._inputs.odometry
        if odometry is None:
            tf = messages.transform_stamped(frames.map, frames.base, map_base, stamp)
        else:
            odom_base = odometry.at(stamp)
            if odom_base is None:
                self._outcome.tf_skipped += 1
                return
            tf = messages.transform_stamped(
                frames.map, frames.odom, map_base @ inverse(odom_base), stamp
            )
        self._writer.write("/tf", bag_ns, messages.tf_message([tf]))


def _static_transforms(reader: BagReader) -> TransformTree:
    """Every transform on /tf_static (read first, as a latched subscription would see it)."""
    tree = TransformTree()
    info = reader.topics.get("/tf_static")
    if info is None or info.msgtype != messages.TF_MESSAGE:
        return tree
    for message in reader.messages(["/tf_static"]):
        for t in messages.deserialize(message.data, message.msgtype).transforms:
            tree.set(t.header.frame_id, t.child_frame_id, pose_matrix(t.transform))
    return tree


def _map_origin(given: LocalENU | None, in_bag: LocalENU | None) -> LocalENU | None:
    """The configured origin, else the bag's; both must agree when both exist."""
    if given is not None and in_bag is not None:
        offset = np.linalg.norm(np.stack(in_bag.from_geodetic(given.lat0, given.lon0, given.alt0)))
        if offset > 0.01:
            raise BagError(
                f"the bag's /tf_static already places the map frame at {in_bag}, "
                f"{offset:.2f} m from the configured origin {given}"
            )
    return given or in_bag


def _bag_map_origin(tree: TransformTree, frames: FrameNames) -> LocalENU | None:
    """The geodetic origin of the bag's own map frame, when /tf_static places it in ECEF."""
    earth_map = tree.lookup(frames.earth, frames.map)
    if earth_map is None:
        return None
    lat, lon, alt = (float(v) for v in ecef_to_geodetic(*earth_map[:3, 3]))
    origin = LocalENU(lat, lon, alt)
    difference = enu_in_ecef(origin)[:3, :3].T @ earth_map[:3, :3]
    angle = np.arccos(np.clip((np.trace(difference) - 1.0) / 2.0, -1.0, 1.0))
    if angle > ENU_TOLERANCE_RAD:
        raise BagError(
            f"/tf_static {frames.earth} → {frames.map} is not an ENU frame "
            f"(rotated {np.degrees(angle):.3f} deg from ENU axes)"
        )
    return origin
