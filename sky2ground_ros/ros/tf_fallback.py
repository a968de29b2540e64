"""TF broadcasters with tf2_ros semantics, for installs where tf2_ros is missing.

tf2_ros has no wheel on PyPI; its broadcasters only publish tf2_msgs/TFMessage on /tf
(keep-last 100) and /tf_static (transient-local, keep-last 1), which this module reproduces
so pip-only installs publish TF that every ROS 2 node can read.
"""

from __future__ import annotations

from collections.abc import Iterable

from geometry_msgs.msg import TransformStamped
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile
from tf2_msgs.msg import TFMessage

TF_QOS = QoSProfile(depth=100)
TF_STATIC_QOS = QoSProfile(
    depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, history=HistoryPolicy.KEEP_LAST
)


class TransformBroadcaster:
    """Publish dynamic transforms on /tf."""

    def __init__(self, node: Node, topic: str = "/tf") -> None:
        self._publisher = node.create_publisher(TFMessage, topic, TF_QOS)

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        """Publish one transform or several in a single TFMessage."""
        items = [transforms] if isinstance(transforms, TransformStamped) else list(transforms)
        self._publisher.publish(TFMessage(transforms=items))


class StaticTransformBroadcaster:
    """Publish latched transforms on /tf_static; re-sends the full set on every update."""

    def __init__(self, node: Node, topic: str = "/tf_static") -> None:
        self._publisher = node.create_publisher(TFMessage, topic, TF_STATIC_QOS)
        self._by_child: dict[str, TransformStamped] = {}

    def send_transform(self, transforms: TransformStamped | Iterable[TransformStamped]) -> None:
        """Add or replace transforms (keyed by child frame) and publish the whole set."""
        items = [transforms] if isinstance(transforms, TransformStamped) else list(transforms)
        for transform in items:
            self._by_child[transform.child_frame_id] = transform
        self._publisher.publish(TFMessage(transforms=list(self._by_child.values())))
