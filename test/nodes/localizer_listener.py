"""Test process: record what the localizer publishes and print it as one JSON line.

Usage: localizer_listener.py DURATION_S MIN_POSES
Subscribes to /tf, /tf_static, /sky2ground_localizer/pose, /sky2ground_localizer/fix and
/diagnostics; stops after DURATION_S or once MIN_POSES poses arrived (and a diagnostics
message after the last of them).
"""

import json
import sys
import time

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseWithCovarianceStamped
from rclpy.qos import DurabilityPolicy, QoSProfile
from sensor_msgs.msg import NavSatFix
from tf2_msgs.msg import TFMessage

from sky2ground_ros.localizer.frames import stamp_seconds


def main() -> None:
    duration_s, min_poses = float(sys.argv[1]), int(sys.argv[2])
    rclpy.init()
    node = rclpy.create_node("localizer_test_listener")
    got: dict[str, list] = {"tf": [], "tf_static": [], "pose": [], "fix": [], "diagnostics": []}

    def transforms(key: str):
        def callback(msg: TFMessage) -> None:
            for t in msg.transforms:
                v, q = t.transform.translation, t.transform.rotation
                got[key].append(
                    {
                        "parent": t.header.frame_id,
                        "child": t.child_frame_id,
                        "stamp": stamp_seconds(t.header.stamp),
                        "xyz": [v.x, v.y, v.z],
                        "quat": [q.x, q.y, q.z, q.w],
                    }
                )

        return callback

    def pose(msg: PoseWithCovarianceStamped) -> None:
        p, q = msg.pose.pose.position, msg.pose.pose.orientation
        got["pose"].append(
            {
                "frame": msg.header.frame_id,
                "stamp": stamp_seconds(msg.header.stamp),
                "xyz": [p.x, p.y, p.z],
                "quat": [q.x, q.y, q.z, q.w],
                "covariance": list(msg.pose.covariance),
            }
        )

    def fix(msg: NavSatFix) -> None:
        got["fix"].append(
            {
                "stamp": stamp_seconds(msg.header.stamp),
                "lla": [msg.latitude, msg.longitude, msg.altitude],
                "covariance": list(msg.position_covariance),
                "covariance_type": msg.position_covariance_type,
            }
        )

    def diagnostics(msg: DiagnosticArray) -> None:
        got["diagnostics"].append(
            {
                s.name: {
                    "level": s.level if isinstance(s.level, int) else ord(s.level),
                    "message": s.message,
                    "values": {kv.key: kv.value for kv in s.values},
                }
                for s in msg.status
            }
        )

    node.create_subscription(TFMessage, "/tf", transforms("tf"), 100)
    latched = QoSProfile(depth=10, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(TFMessage, "/tf_static", transforms("tf_static"), latched)
    node.create_subscription(PoseWithCovarianceStamped, "/sky2ground_localizer/pose", pose, 10)
    node.create_subscription(NavSatFix, "/sky2ground_localizer/fix", fix, 10)
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics, 10)
    end = time.monotonic() + duration_s
    diagnostics_seen = 0
    while time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
        if len(got["pose"]) < min_poses:
            diagnostics_seen = len(got["diagnostics"])
        elif len(got["diagnostics"]) > diagnostics_seen:
            break
    got["diagnostics"] = got["diagnostics"][-1:]
    print(json.dumps(got), flush=True)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
