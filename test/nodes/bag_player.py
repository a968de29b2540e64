"""Test process: play a rosbag2 into ROS 2 in real time, as `ros2 bag play` would.

Usage: bag_player.py BAG_DIR WAIT_TOPIC [SKIP_TOPIC ...]
Waits until WAIT_TOPIC has a subscriber, then publishes every recorded message (CDR bytes
deserialised into the rclpy type) at its recorded pace; /tf_static is latched. SKIP_TOPICs
(the ground truth) stay in the bag. Exits after the last message.
"""

import importlib
import sys
import time

import rclpy
from rclpy.qos import DurabilityPolicy, QoSProfile
from rclpy.serialization import deserialize_message

from sky2ground_ros.replay.bag_reader import BagReader

LATCHED = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)


def message_class(msgtype: str) -> type:
    """'sensor_msgs/msg/Image' → sensor_msgs.msg.Image."""
    package, kind, name = msgtype.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), name)


def main() -> None:
    bag, wait_topic, skip = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    rclpy.init()
    node = rclpy.create_node("bag_player")
    with BagReader(bag) as reader:
        topics = {t: info for t, info in reader.topics.items() if t not in skip}
        publishers = {
            topic: node.create_publisher(
                message_class(info.msgtype), topic, LATCHED if topic == "/tf_static" else 10
            )
            for topic, info in topics.items()
        }
        waiting = time.monotonic() + 60
        while publishers[wait_topic].get_subscription_count() == 0:
            if time.monotonic() > waiting:
                raise SystemExit(f"nobody subscribed to {wait_topic}")
            rclpy.spin_once(node, timeout_sec=0.05)
        start_wall, start_bag = time.monotonic(), None
        for message in reader.messages(topics):
            start_bag = message.timestamp if start_bag is None else start_bag
            due = start_wall + (message.timestamp - start_bag) * 1e-9
            while time.monotonic() < due:
                rclpy.spin_once(node, timeout_sec=max(min(due - time.monotonic(), 0.05), 0.0))
            cls = message_class(topics[message.topic].msgtype)
            publishers[message.topic].publish(deserialize_message(message.data, cls))
    time.sleep(1.0)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
