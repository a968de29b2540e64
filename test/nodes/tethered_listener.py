"""Test process: print every pose, camera frame and diagnostics status as JSON lines.

Usage: tethered_listener.py DURATION_S CAMERA_TOPIC NODE...
Each line is {"kind": "pose" | "frame" | "diagnostics", "wall": time.time(), ...}:
poses of /<NODE>/pose (with the node name), the stamps of the camera frames as seen here
(to tell how old a pose's newest frame is), and /diagnostics statuses. Lines are flushed at
once so the test can act while this process runs.
"""

import json
import sys
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseWithCovarianceStamped
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image

from sky2ground_ros.localizer.frames import stamp_seconds


def emit(kind: str, **fields: object) -> None:
    print(json.dumps({"kind": kind, "wall": time.time(), **fields}), flush=True)


def main() -> None:
    duration_s, camera_topic, nodes = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
    rclpy.init()
    node = rclpy.create_node("tethered_test_listener")

    def pose_callback(name: str):
        def callback(msg: PoseWithCovarianceStamped) -> None:
            p, q = msg.pose.pose.position, msg.pose.pose.orientation
            emit(
                "pose",
                node=name,
                stamp=stamp_seconds(msg.header.stamp),
                xyz=[p.x, p.y, p.z],
                quat=[q.x, q.y, q.z, q.w],
            )

        return callback

    def diagnostics(msg: DiagnosticArray) -> None:
        for s in msg.status:
            level = s.level if isinstance(s.level, int) else ord(s.level)
            values = {kv.key: kv.value for kv in s.values}
            emit("diagnostics", name=s.name, level=level, message=s.message, values=values)

    for name in nodes:
        node.create_subscription(
            PoseWithCovarianceStamped, f"/{name}/pose", pose_callback(name), 10
        )
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics, 50)
    node.create_subscription(
        Image,
        camera_topic,
        lambda msg: emit("frame", stamp=stamp_seconds(msg.header.stamp)),
        qos_profile_sensor_data,
    )
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
