"""TF broadcasters: tf2_ros's when it imports (real ROS 2 installs), else the fallback."""

from __future__ import annotations

try:
    from tf2_ros import StaticTransformBroadcaster, TransformBroadcaster
except ImportError:  # pip-only environments: tf2_ros has no wheel on PyPI
    from sky2ground_ros.ros.tf_fallback import StaticTransformBroadcaster, TransformBroadcaster

__all__ = ["StaticTransformBroadcaster", "TransformBroadcaster"]
