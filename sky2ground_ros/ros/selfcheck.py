"""Functional self-check of the ROS layer: a TFMessage goes through DDS and comes back intact."""

from __future__ import annotations

import os
import random
import time

from sky2ground_ros.ros.dds import ensure_local_dds


def tf_loopback_roundtrip(timeout_s: float = 10.0) -> float:
    """Publish a transform on /tf in-process and receive it; returns the latency in seconds.

    Runs on a random private ROS domain unless ROS_DOMAIN_ID is set, on the loopback-only
    DDS profile, so it never disturbs a robot's graph or the network.
    """
    ensure_local_dds()
    os.environ.setdefault("ROS_DOMAIN_ID", str(random.randint(150, 200)))
    import rclpy
    from geometry_msgs.msg import TransformStamped
    from rclpy.executors import SingleThreadedExecutor
    from tf2_msgs.msg import TFMessage

    from sky2ground_ros.ros.tf_broadcaster import TransformBroadcaster

    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("sky2ground_selfcheck", context=context)
        received: list[TFMessage] = []
        node.create_subscription(TFMessage, "/tf", received.append, 10)
        broadcaster = TransformBroadcaster(node)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        sent = TransformStamped()
        sent.header.frame_id, sent.child_frame_id = "map", "base_link"
        sent.transform.translation.x = 1.25
        sent.transform.rotation.w = 1.0
        start = time.monotonic()
        while not received and time.monotonic() - start < timeout_s:
            broadcaster.send_transform(sent)
            executor.spin_once(timeout_sec=0.05)
        if not received:
            raise RuntimeError(f"no TFMessage received on /tf within {timeout_s:.0f} s")
        got = received[0].transforms[0]
        if got.child_frame_id != "base_link" or got.transform.translation.x != 1.25:
            raise RuntimeError(f"TFMessage corrupted in transit: {got}")
        return time.monotonic() - start
    finally:
        rclpy.shutdown(context=context)
