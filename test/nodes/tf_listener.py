"""Test process: print the first /tf and /tf_static transforms received, with the type hash."""

import json
import sys
import time

import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile
from tf2_msgs.msg import TFMessage


def main() -> None:
    timeout_s = float(sys.argv[1])
    rclpy.init()
    node = rclpy.create_node("tf_test_listener")
    got: dict[str, list] = {}

    def keep(topic: str):
        def callback(msg: TFMessage) -> None:
            got.setdefault(
                topic,
                [
                    [t.header.frame_id, t.child_frame_id, t.transform.translation.x]
                    for t in msg.transforms
                ],
            )

        return callback

    node.create_subscription(TFMessage, "/tf", keep("/tf"), 10)
    latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
    node.create_subscription(TFMessage, "/tf_static", keep("/tf_static"), latched)
    start = time.monotonic()
    while len(got) < 2 and time.monotonic() - start < timeout_s:
        rclpy.spin_once(node, timeout_sec=0.1)
    infos = node.get_publishers_info_by_topic("/tf")
    got["type_hash"] = [str(info.topic_type_hash) for info in infos]
    print(json.dumps(got), flush=True)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
