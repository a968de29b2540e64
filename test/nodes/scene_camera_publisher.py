"""Test process: play one camera of a synthetic scene as Image + CameraInfo.

Usage: scene_camera_publisher.py SCENE_DIR TOPIC_PREFIX T0 DURATION_S [RIG_CAMERA]
Frames are the aerial rig camera's views in helix order (ground views when RIG_CAMERA is
'ground'); frame k is stamped T0 + k * PERIOD_S and sent every PERIOD_S of wall time,
looping, once the localizer's subscriptions are matched. Only images and intrinsics are
sent: the poses in the scene files stay with the test.
"""

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image

from sky2ground_ros.data.scene_format import Scene
from sky2ground_ros.ros.messages import stamp_message
from sky2ground_ros.views import ViewType

PERIOD_S = 0.25


def scene_frames(scene: Scene, rig_camera: str) -> list:
    """The frames to play, in order."""
    if rig_camera == "ground":
        return scene.select(ViewType.GROUND)
    aerial = [f for f in scene.select(ViewType.AERIAL) if f.extra["rig_camera"] == int(rig_camera)]
    return sorted(aerial, key=lambda f: f.extra["rig_position"])


def main() -> None:
    scene_dir, prefix, t0, duration_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    rig_camera = sys.argv[5] if len(sys.argv) > 5 else "0"
    scene = Scene.load(scene_dir)
    frames = scene_frames(scene, rig_camera)
    images = [Scene.load_image(f) for f in frames]
    rclpy.init()
    node = rclpy.create_node("scene_camera_publisher")
    image_pub = node.create_publisher(Image, f"{prefix}/image_raw", qos_profile_sensor_data)
    info_pub = node.create_publisher(CameraInfo, f"{prefix}/camera_info", qos_profile_sensor_data)
    end = time.monotonic() + float(duration_s)
    while min(image_pub.get_subscription_count(), info_pub.get_subscription_count()) == 0:
        if time.monotonic() > end:
            break
        rclpy.spin_once(node, timeout_sec=0.05)
    k = 0
    while time.monotonic() < end:
        frame, rgb = frames[k % len(frames)], images[k % len(frames)]
        stamp = stamp_message(t0 + k * PERIOD_S)
        info = CameraInfo(width=frame.width, height=frame.height)
        info.header.stamp, info.header.frame_id = stamp, "camera_optical"
        info.k = [float(v) for v in np.asarray(frame.intrinsics).reshape(9)]
        info_pub.publish(info)
        image = Image(height=rgb.shape[0], width=rgb.shape[1], encoding="rgb8")
        image.header.stamp, image.header.frame_id = stamp, "camera_optical"
        image.step, image.data = rgb.shape[1] * 3, rgb.tobytes()
        image_pub.publish(image)
        k += 1
        deadline = time.monotonic() + PERIOD_S
        while time.monotonic() < deadline:
            rclpy.spin_once(node, timeout_sec=0.05)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
