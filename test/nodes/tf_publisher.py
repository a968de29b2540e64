"""Test process: publish map->base_link on /tf (10 Hz) and earth->map once on /tf_static."""

import sys

import rclpy
from geometry_msgs.msg import TransformStamped

from sky2ground_ros.ros.tf_broadcaster import StaticTransformBroadcaster, TransformBroadcaster


def transform(parent: str, child: str, x: float) -> TransformStamped:
    msg = TransformStamped()
    msg.header.frame_id, msg.child_frame_id = parent, child
    msg.transform.translation.x = x
    msg.transform.rotation.w = 1.0
    return msg


def main() -> None:
    duration_s = float(sys.argv[1])
    rclpy.init()
    node = rclpy.create_node("tf_test_publisher")
    StaticTransformBroadcaster(node).send_transform(transform("earth", "map", 6.4e6))
    dynamic = TransformBroadcaster(node)
    count = [0]

    def tick() -> None:
        count[0] += 1
        dynamic.send_transform(transform("map", "base_link", float(count[0])))

    node.create_timer(0.1, tick)
    end = node.get_clock().now().nanoseconds + int(duration_s * 1e9)
    while rclpy.ok() and node.get_clock().now().nanoseconds < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    rclpy.shutdown()


if __name__ == "__main__":
    main()
