"""The localizer as a managed node, with odometry: REP-105 map → odom, cleanup and reconfigure,
and simulated time as under `ros2 bag play --clock` with `use_sim_time`.

One process: the node (autostart off, driven through its lifecycle transitions) and a probe
node publishing a camera, odometry and /clock and reading /tf, /tf_static and ~/pose.
Registration thresholds are opened so the test-made model's windows reach TF: this checks
the frames, the transform algebra and the clocks, not accuracy.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import rclpy
import torch
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from nodes.localizer_fixtures import OPEN_THRESHOLDS, write_orthophoto
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.frames import stamp_seconds
from sky2ground_ros.localizer.geometry import (
    enu_in_ecef,
    from_xyz_quat,
    inverse,
    to_xyz_quat,
    transform,
)
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.ros.localizer_node import NOT_CONFIGURED, LocalizerNode
from sky2ground_ros.ros.messages import stamp_message

GEOREF = GeoReference(47.3769, 8.5417, 408.0)
OPEN = {f"{group}.{name}": v for group, d in OPEN_THRESHOLDS.items() for name, v in d.items()}
"""The shared open thresholds as the node's dotted parameter names."""


def odom_base(stamp: float) -> np.ndarray:
    """A robot driving along odom x at 2 m/s while turning at 0.1 rad/s."""
    yaw = 0.1 * (stamp % 100.0)
    return transform(Rotation.from_euler("z", yaw).as_matrix(), [2.0 * (stamp % 100.0), 1.0, 0.0])


class Harness:
    """The node under test and a probe node on one executor in a private context."""

    def __init__(self, tmp_path: Path, **parameters: object) -> None:
        torch.manual_seed(0)
        model = save_weights(SkyNet(get_config("tiny")), tmp_path / "tiny.safetensors")
        overrides = {
            "autostart": False,
            "model_path": str(model),
            "torch_threads": 1,
            "image_size": 28,
            "window_size": 1,
            "keyframe.min_interval_s": 0.1,
            "keyframe.min_sharpness": 0.0,
            "cameras": ["cam"],
            "cam.view_type": "aerial",
            "tile_source": str(write_orthophoto(tmp_path / "ortho.tif", GEOREF)),
            "origin": [GEOREF.latitude, GEOREF.longitude, GEOREF.altitude],
            "initial_pose": [GEOREF.latitude, GEOREF.longitude],
            "odom_topic": "/odom",
            "tf_republish_period_s": 0.05,
            **OPEN,
            **parameters,
        }
        overrides = {k: v for k, v in overrides.items() if v is not None}  # None: unset
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = LocalizerNode(
            context=self.context,
            parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()],
        )
        self.probe = rclpy.create_node("lifecycle_probe", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.executor.add_node(self.probe)
        probe = self.probe
        self.image_pub = probe.create_publisher(Image, "/cam/image_raw", qos_profile_sensor_data)
        self.info_pub = probe.create_publisher(
            CameraInfo, "/cam/camera_info", qos_profile_sensor_data
        )
        self.odom_pub = probe.create_publisher(Odometry, "/odom", qos_profile_sensor_data)
        self.clock_pub = probe.create_publisher(Clock, "/clock", 10)
        self.transforms: list = []
        self.static_transforms: list = []
        self.poses: list[PoseWithCovarianceStamped] = []
        probe.create_subscription(
            TFMessage, "/tf", lambda m: self.transforms.extend(m.transforms), 100
        )
        latched = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        probe.create_subscription(
            TFMessage, "/tf_static", lambda m: self.static_transforms.extend(m.transforms), latched
        )
        probe.create_subscription(
            PoseWithCovarianceStamped, "/sky2ground_localizer/pose", self.poses.append, 10
        )

    def close(self) -> None:
        self.node.release()
        self.executor.shutdown()
        self.probe.destroy_node()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)

    def spin_until(self, done: Callable[[], bool], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < end, "timed out"
            self.executor.spin_once(timeout_sec=0.05)

    def start(self) -> None:
        assert self.node.configuration_problem == NOT_CONFIGURED
        assert self.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert self.node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert self.node.configuration_problem == ""
        self.spin_until(lambda: self.image_pub.get_subscription_count() > 0)

    def send_odometry(self, stamp: float) -> None:
        xyz, quat = to_xyz_quat(odom_base(stamp))
        msg = Odometry(child_frame_id="base_link")
        msg.header.stamp, msg.header.frame_id = stamp_message(stamp), "odom"
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        p.x, p.y, p.z = (float(v) for v in xyz)
        q.x, q.y, q.z, q.w = (float(v) for v in quat)
        self.odom_pub.publish(msg)

    def send_frame(self, stamp: float) -> None:
        self.send_odometry(stamp - 0.05)
        self.send_odometry(stamp + 0.05)  # the image stamp lies between two odometry messages
        info = CameraInfo(width=64, height=48, k=[60.0, 0, 31.5, 0, 60.0, 23.5, 0, 0, 1.0])
        info.header.stamp = stamp_message(stamp)
        self.info_pub.publish(info)
        rgb = np.random.default_rng(int(stamp) % 1000).integers(0, 255, (48, 64, 3), np.uint8)
        image = Image(width=64, height=48, encoding="rgb8", step=192, data=rgb.tobytes())
        image.header.stamp = info.header.stamp
        self.image_pub.publish(image)

    def frames_until_pose(self, stamps: Iterator[float], clock: bool = False) -> float:
        """Send frames (and /clock first when ``clock``) until a new pose; its frame's stamp."""
        count = len(self.poses)
        deadline = time.monotonic() + 30.0
        while len(self.poses) == count:  # best-effort QoS: send frames until one is localized
            assert time.monotonic() < deadline, "no pose"
            stamp = next(stamps)
            if clock:
                self.clock_pub.publish(Clock(clock=stamp_message(stamp)))
            self.send_frame(stamp)
            end = time.monotonic() + 1.0
            while len(self.poses) == count and time.monotonic() < end:
                self.executor.spin_once(timeout_sec=0.05)
        return stamp_seconds(self.poses[-1].header.stamp)


def every_half_second(start: float) -> Iterator[float]:
    k = 0
    while True:
        k += 1
        yield start + 0.5 * k


@pytest.mark.ros
def test_lifecycle_and_map_to_odom(ros_domain_id: int, tmp_path: Path) -> None:
    h = Harness(tmp_path)
    try:
        h.start()
        pose_stamp = h.frames_until_pose(every_half_second(round(time.time(), 3)))
        pose = h.poses[-1]
        at_stamp = [
            t for t in h.transforms if abs(stamp_seconds(t.header.stamp) - pose_stamp) < 1e-6
        ]
        (map_odom,) = at_stamp
        assert (map_odom.header.frame_id, map_odom.child_frame_id) == ("map", "odom")
        assert not [t for t in h.transforms if t.child_frame_id == "base_link"]  # REP-105
        t, r = map_odom.transform.translation, map_odom.transform.rotation
        T_map_odom = from_xyz_quat([t.x, t.y, t.z], [r.x, r.y, r.z, r.w])
        p, q = pose.pose.pose.position, pose.pose.pose.orientation
        T_map_base = from_xyz_quat([p.x, p.y, p.z], [q.x, q.y, q.z, q.w])
        # map -> odom -> base at the image stamp reproduces the localized base pose
        expected = T_map_base @ inverse(odom_base(pose_stamp))
        np.testing.assert_allclose(T_map_odom, expected, atol=1e-6)
        # and the last map -> odom keeps being re-sent with fresh stamps
        h.spin_until(lambda: stamp_seconds(h.transforms[-1].header.stamp) > time.time() - 1.0)
        assert h.transforms[-1].child_frame_id == "odom"

        assert h.node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert h.node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert h.node.configuration_problem == NOT_CONFIGURED  # model freed, unsubscribed
        h.spin_until(lambda: h.image_pub.get_subscription_count() == 0)
        assert h.node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        h.spin_until(lambda: h.image_pub.get_subscription_count() > 0)
    finally:
        h.close()


SIM_START = 1000.0
"""Simulated seconds: far from wall time (~1.8e9 s), so a wall-clock stamp cannot pass."""


@pytest.mark.ros
def test_sim_time_follows_clock_and_bag_restart(ros_domain_id: int, tmp_path: Path) -> None:
    h = Harness(tmp_path, use_sim_time=True)
    try:
        h.start()
        first = h.frames_until_pose(every_half_second(SIM_START), clock=True)
        assert SIM_START < first < SIM_START + 30.0
        # stamps from the node's own clock are /clock's, never wall time: earth -> map (static,
        # so timeless for tf2; it may be sent before the first /clock, at 0) and the map -> odom
        # re-sends between windows
        (earth_map,) = [t for t in h.static_transforms if t.child_frame_id == "map"]
        assert stamp_seconds(earth_map.header.stamp) <= first
        resent = [stamp_seconds(t.header.stamp) for t in h.transforms]
        assert resent and all(SIM_START < s <= first + 1e-6 for s in resent)

        # the bag restarts: time jumps back, the window is reset, poses follow the new stamps
        again = h.frames_until_pose(every_half_second(SIM_START - 50.0), clock=True)
        assert SIM_START - 50.0 < again < first - 1.0
    finally:
        h.close()


@pytest.mark.ros
def test_without_sim_time_tf_keeps_the_images_clock(ros_domain_id: int, tmp_path: Path) -> None:
    """Frames stamped like a bag played without --clock: re-sent TF follows them, not wall time."""
    h = Harness(tmp_path)
    try:
        h.start()
        first = h.frames_until_pose(every_half_second(SIM_START))
        count = len(h.transforms)
        h.spin_until(lambda: len(h.transforms) > count + 3)  # a few re-sends between frames
        stamps = [stamp_seconds(t.header.stamp) for t in h.transforms]
        assert all(SIM_START < s < first + 30.0 for s in stamps), stamps
    finally:
        h.close()


@pytest.mark.ros
def test_earth_to_map_is_sent_once_the_origin_is_fixed(ros_domain_id: int, tmp_path: Path) -> None:
    """No configured origin and a gate nothing passes: /tf_static still places the map."""
    h = Harness(tmp_path, origin=None, **{"gate.min_inlier_tiles": 99})
    try:
        h.start()
        assert not h.static_transforms
        stamps = every_half_second(round(time.time(), 3))
        deadline = time.monotonic() + 20.0
        while not h.static_transforms:
            assert time.monotonic() < deadline, "no earth -> map"
            h.send_frame(next(stamps))
            end = time.monotonic() + 0.5
            while not h.static_transforms and time.monotonic() < end:
                h.executor.spin_once(timeout_sec=0.05)
        (earth_map,) = h.static_transforms
        assert (earth_map.header.frame_id, earth_map.child_frame_id) == ("earth", "map")
        t = earth_map.transform.translation
        prior = LocalENU(GEOREF.latitude, GEOREF.longitude, 0.0)  # initial_pose, ground at 0 m
        np.testing.assert_allclose([t.x, t.y, t.z], enu_in_ecef(prior)[:3, 3], atol=1e-3)
        assert not h.poses
    finally:
        h.close()
