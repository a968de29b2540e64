"""Find the replay's topics in a bag by message type (or check the named ones) and configure it.

The pipeline is configured from the localizer node's own parameters (defaults, or a params
YAML such as config/sky2ground.yaml) through the node's `localizer.parameters` functions, so a
replay and the node given the same file run the same thresholds, sizes and codec.

Each optional input is ``auto`` (the single topic of its type, if there is exactly one),
``none`` or a topic name. A camera's CameraInfo is found as image_transport places it: the
``camera_info`` sibling of the image topic, looking up the namespace
(``/cam/image_raw/compressed`` → ``/cam/image_raw/camera_info``, ``/cam/camera_info``, ...).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sky2ground_ros.localizer.inputs import input_config
from sky2ground_ros.localizer.parameters import CameraSettings, localizer_config, map_origin
from sky2ground_ros.replay import messages
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.bag_types import VIEW_TYPE_KEY, BagError, MissingTopicError
from sky2ground_ros.replay.node_parameters import node_parameters
from sky2ground_ros.replay.replay import (
    FIX_TOPIC,
    GROUND_TRUTH_TYPES,
    POSE_TOPIC,
    FrameNames,
    ReplayConfig,
)
from sky2ground_ros.views import ViewType

AUTO = "auto"
NONE = "none"
IMAGE_TYPES = (messages.IMAGE, messages.COMPRESSED_IMAGE)
GROUND_TRUTH_WORDS = ("ground_truth", "groundtruth")
OWN_OUTPUTS = (FIX_TOPIC, POSE_TOPIC)
"""Topics a previous replay wrote: never inputs of a new one."""


def image_topics(reader: BagReader, requested: list[str]) -> list[str]:
    """The requested image topics (checked), else the bag's only one."""
    if requested:
        for topic in requested:
            reader.require(topic, IMAGE_TYPES, "camera image")
        return requested
    found = reader.topics_of_type(*IMAGE_TYPES)
    if not found:
        raise MissingTopicError(
            f"{reader.path} has no camera images (sensor_msgs/msg/Image or CompressedImage)",
            reader.topics,
        )
    if len(found) > 1:
        raise MissingTopicError(
            f"{reader.path} has {len(found)} image topics: choose with --camera-topic "
            "(repeat it for a multi-camera rig)",
            reader.topics,
        )
    return found


def info_topic(reader: BagReader, image_topic: str) -> str:
    """The CameraInfo topic of an image topic, looking up its namespace."""
    parts = image_topic.strip("/").split("/")
    for depth in range(len(parts), -1, -1):
        candidate = "/" + "/".join([*parts[:depth], "camera_info"])
        info = reader.topics.get(candidate)
        if info is not None and info.msgtype == messages.CAMERA_INFO:
            return candidate
    raise MissingTopicError(
        f"no sensor_msgs/msg/CameraInfo topic next to {image_topic}: name it with --info-topic",
        reader.topics,
    )


def optional_topic(
    reader: BagReader, choice: str, msgtypes: Collection[str], role: str, exclude: Collection[str]
) -> str:
    """A topic for an optional input: '' for none, the only candidate for auto, or checked."""
    if choice == NONE:
        return ""
    if choice != AUTO:
        reader.require(choice, msgtypes, role)
        return choice
    found = [t for t in reader.topics_of_type(*msgtypes) if t not in exclude]
    if len(found) > 1:
        raise MissingTopicError(
            f"several {role} topics ({', '.join(found)}): choose one or 'none'", reader.topics
        )
    return found[0] if found else ""


def ground_truth_topic(reader: BagReader, choice: str) -> str:
    """Ground truth; auto picks the one pose/odometry topic named like it (``gt`` etc.)."""
    if choice != AUTO:
        return optional_topic(reader, choice, GROUND_TRUTH_TYPES, "ground truth", ())
    named = [t for t in reader.topics_of_type(*GROUND_TRUTH_TYPES) if is_ground_truth_name(t)]
    return named[0] if len(named) == 1 else ""


def is_ground_truth_name(topic: str) -> bool:
    """'/ground_truth/odom', '/groundtruth', '/vehicle/gt/pose', ..."""
    name = topic.lower()
    return any(word in name for word in GROUND_TRUTH_WORDS) or "gt" in name.strip("/").split("/")


@dataclass(frozen=True)
class ReplayOptions:
    """What the user chose (CLI flags, the demo); the node's parameters for the pipeline."""

    camera_topics: tuple[str, ...] = ()
    """Image topics; empty: the bag's only one."""
    info_topics: tuple[str, ...] = ()
    """CameraInfo topics, one per camera; empty: found next to each image topic."""
    view_type: ViewType | None = None
    """The cameras' view type; None: what the bag records (`make-bag` does), else an error."""
    navsat_topic: str = AUTO
    odom_topic: str = AUTO
    ground_truth_topic: str = AUTO
    parameters: Mapping[str, Any] = field(default_factory=node_parameters)
    """The localizer node's parameter values (`node_parameters`): image size, window,
    keyframes, tiles, registration, gate, smoothing, codec, frames, origin, initial pose."""
    storage: str = "mcap"


def recorded_view_type(reader: BagReader) -> ViewType:
    """The view type the bag records in its metadata; `BagError` asks for it when absent."""
    recorded = reader.custom_data.get(VIEW_TYPE_KEY)
    if recorded is None:
        raise BagError(
            f"{reader.path} does not record whether its camera is ground or aerial: "
            "pass --view-type ground|aerial"
        )
    view_type = ViewType.parse(recorded)
    if view_type == ViewType.SATELLITE:
        raise BagError(f"{reader.path} records view type {recorded!r}: pass --view-type")
    return view_type


def resolve(reader: BagReader, options: ReplayOptions) -> ReplayConfig:
    """The replay configuration for this bag; `MissingTopicError` names what is missing."""
    images = image_topics(reader, list(options.camera_topics))
    infos = list(options.info_topics) or [info_topic(reader, topic) for topic in images]
    if len(infos) != len(images):
        raise ValueError(f"{len(images)} camera topics but {len(infos)} CameraInfo topics")
    view_type = recorded_view_type(reader) if options.view_type is None else options.view_type
    names = ["camera"] if len(images) == 1 else [f"camera{i}" for i in range(len(images))]
    cameras = tuple(
        CameraSettings(name, image, info, view_type=view_type)
        for name, image, info in zip(names, images, infos, strict=True)
    )
    truth = ground_truth_topic(reader, options.ground_truth_topic)
    navsat = optional_topic(
        reader, options.navsat_topic, (messages.NAVSAT_FIX,), "NavSatFix", OWN_OUTPUTS
    )
    odom = optional_topic(reader, options.odom_topic, (messages.ODOMETRY,), "odometry", {truth})
    values = dict(options.parameters)
    frames = FrameNames(
        values["frames.map"], values["frames.odom"], values["frames.base"], values["frames.earth"]
    )
    inputs = input_config({**values, "navsat_topic": navsat, "odom_topic": odom}, cameras)
    return ReplayConfig(
        inputs,
        localizer_config(values),
        map_origin(values),
        frames,
        ground_truth_topic=truth,
        storage=options.storage,
    )
