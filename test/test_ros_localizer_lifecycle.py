"""The localizer as a managed node, with odometry: REP-105 map → odom, cleanup and reconfigure.

One process: the node (autostart off, driven through its lifecycle transitions) and a probe
node publishing a camera and odometry and reading /tf and ~/pose. Registration thresholds
are opened so the test-made model's windows reach TF: this checks the frames and the
transform algebra, not accuracy.
"""

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rclpy
import torch
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from nodes.localizer_fixtures import write_orthophoto
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import qos_profile_sensor_data
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.localizer.geometry import from_xyz_quat, inverse, to_xyz_quat, transform
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.ros.localizer_node import NOT_CONFIGURED, LocalizerNode
from sky2ground_ros.ros.messages import stamp_message, stamp_seconds

GEOREF = GeoReference(47.3769, 8.5417, 408.0)
OPEN = {
    "registration.inlier_spacing_fraction": 1e6,
    "registration.inlier_rotation_deg": 180.0,
    "registration.min_inlier_ratio": 0.0,
    "gate.min_inlier_tiles": 0,
    "gate.max_tile_rms_m": 1e12,
    "gate.max_tile_rms_deg": 1e12,
    "gate.max_position_sigma_m": 1e12,
    "smoothing.position_noise_m2_per_s": 1e12,
}


def odom_base(stamp: float) -> np.ndarray:
    """A robot driving along odom x at 2 m/s while turning at 0.1 rad/s."""
    yaw = 0.1 * (stamp % 100.0)
    return transform(Rotation.from_euler("z", yaw).as_matrix(), [2.0 * (stamp % 100.0), 1.0, 0.0])


@pytest.mark.ros
def test_lifecycle_and_map_to_odom(ros_domain_id: int, tmp_path: Path) -> None:
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
    }
    context = rclpy.Context()
    rclpy.init(context=context)
    node = LocalizerNode(
        context=context, parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()]
    )
    probe = rclpy.create_node("lifecycle_probe", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    executor.add_node(probe)
    image_pub = probe.create_publisher(Image, "/cam/image_raw", qos_profile_sensor_data)
    info_pub = probe.create_publisher(CameraInfo, "/cam/camera_info", qos_profile_sensor_data)
    odom_pub = probe.create_publisher(Odometry, "/odom", qos_profile_sensor_data)
    transforms: list = []
    poses: list[PoseWithCovarianceStamped] = []
    probe.create_subscription(TFMessage, "/tf", lambda m: transforms.extend(m.transforms), 100)
    probe.create_subscription(
        PoseWithCovarianceStamped, "/sky2ground_localizer/pose", poses.append, 10
    )

    def spin_until(done: Callable[[], bool], timeout: float = 20.0) -> None:
        end = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < end, "timed out"
            executor.spin_once(timeout_sec=0.05)

    def send_odometry(stamp: float) -> None:
        xyz, quat = to_xyz_quat(odom_base(stamp))
        msg = Odometry(child_frame_id="base_link")
        msg.header.stamp, msg.header.frame_id = stamp_message(stamp), "odom"
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        p.x, p.y, p.z = (float(v) for v in xyz)
        q.x, q.y, q.z, q.w = (float(v) for v in quat)
        odom_pub.publish(msg)

    def send_frame(stamp: float) -> None:
        send_odometry(stamp - 0.05)
        send_odometry(stamp + 0.05)  # the image stamp lies between two odometry messages
        info = CameraInfo(width=64, height=48, k=[60.0, 0, 31.5, 0, 60.0, 23.5, 0, 0, 1.0])
        info.header.stamp = stamp_message(stamp)
        info_pub.publish(info)
        rgb = np.random.default_rng(int(stamp) % 1000).integers(0, 255, (48, 64, 3), np.uint8)
        image = Image(width=64, height=48, encoding="rgb8", step=192, data=rgb.tobytes())
        image.header.stamp = info.header.stamp
        image_pub.publish(image)

    try:
        assert node.configuration_problem == NOT_CONFIGURED
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        assert node.configuration_problem == ""
        spin_until(lambda: image_pub.get_subscription_count() > 0)

        stamp = round(time.time(), 3)
        deadline = time.monotonic() + 30.0
        while not poses:  # best-effort QoS: send frames until one window is localized
            assert time.monotonic() < deadline, "no pose"
            stamp += 0.5
            send_frame(stamp)
            end = time.monotonic() + 1.0
            while not poses and time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
        pose = poses[0]
        pose_stamp = stamp_seconds(pose.header.stamp)
        at_stamp = [t for t in transforms if abs(stamp_seconds(t.header.stamp) - pose_stamp) < 1e-6]
        (map_odom,) = at_stamp
        assert (map_odom.header.frame_id, map_odom.child_frame_id) == ("map", "odom")
        assert not [t for t in transforms if t.child_frame_id == "base_link"]  # REP-105
        t, r = map_odom.transform.translation, map_odom.transform.rotation
        T_map_odom = from_xyz_quat([t.x, t.y, t.z], [r.x, r.y, r.z, r.w])
        p, q = pose.pose.pose.position, pose.pose.pose.orientation
        T_map_base = from_xyz_quat([p.x, p.y, p.z], [q.x, q.y, q.z, q.w])
        # map -> odom -> base at the image stamp reproduces the localized base pose
        expected = T_map_base @ inverse(odom_base(pose_stamp))
        np.testing.assert_allclose(T_map_odom, expected, atol=1e-6)
        # and the last map -> odom keeps being re-sent with fresh stamps
        spin_until(lambda: stamp_seconds(transforms[-1].header.stamp) > time.time() - 1.0)
        assert transforms[-1].child_frame_id == "odom"

        assert node.trigger_deactivate() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_cleanup() == TransitionCallbackReturn.SUCCESS
        assert node.configuration_problem == NOT_CONFIGURED  # model freed, unsubscribed
        spin_until(lambda: image_pub.get_subscription_count() == 0)
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        spin_until(lambda: image_pub.get_subscription_count() > 0)
    finally:
        node.release()
        executor.shutdown()
        probe.destroy_node()
        node.destroy_node()
        rclpy.shutdown(context=context)
