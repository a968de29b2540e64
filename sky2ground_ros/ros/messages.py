"""rclpy messages from the localizer's numpy poses and stamps (reading them back:
`sky2ground_ros.localizer.frames`, which also takes rosbags messages)."""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import (
    PoseWithCovarianceStamped,
    Quaternion,
    Transform,
    TransformStamped,
    Vector3,
)
from sensor_msgs.msg import NavSatFix, NavSatStatus

from sky2ground_ros.localizer.smoothing import PoseEstimate


def stamp_message(seconds: float) -> Time:
    """Float seconds as a header stamp (nanosecond rounding)."""
    nanoseconds = round(seconds * 1e9)
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def transform_message(
    parent: str, child: str, xyz: np.ndarray, quat_xyzw: np.ndarray, stamp: Time
) -> TransformStamped:
    """TransformStamped ``parent → child``: the child's position and orientation in the parent."""
    msg = TransformStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = parent
    msg.child_frame_id = child
    x, y, z = (float(v) for v in xyz)
    qx, qy, qz, qw = (float(v) for v in quat_xyzw)
    msg.transform = Transform(
        translation=Vector3(x=x, y=y, z=z), rotation=Quaternion(x=qx, y=qy, z=qz, w=qw)
    )
    return msg


def pose_message(frame: str, estimate: PoseEstimate, stamp: Time) -> PoseWithCovarianceStamped:
    """PoseWithCovarianceStamped in the map frame (covariance order x, y, z, rotation X, Y, Z)."""
    msg = PoseWithCovarianceStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = frame
    position, q = estimate.position, estimate.quaternion
    msg.pose.pose.position.x, msg.pose.pose.position.y, msg.pose.pose.position.z = (
        float(v) for v in position
    )
    orientation = msg.pose.pose.orientation
    orientation.x, orientation.y, orientation.z, orientation.w = (float(v) for v in q)
    msg.pose.covariance = [float(v) for v in np.asarray(estimate.covariance).reshape(36)]
    return msg


def navsat_message(
    frame: str, geodetic: tuple[float, float, float], covariance: np.ndarray, stamp: Time
) -> NavSatFix:
    """NavSatFix of the base with its ENU position covariance (as NavSatFix defines it)."""
    latitude, longitude, altitude = geodetic
    msg = NavSatFix(latitude=latitude, longitude=longitude, altitude=altitude)
    msg.header.stamp = stamp
    msg.header.frame_id = frame
    msg.status.status = NavSatStatus.STATUS_FIX
    msg.status.service = NavSatStatus.SERVICE_UNKNOWN
    msg.position_covariance = [float(v) for v in np.asarray(covariance)[:3, :3].reshape(9)]
    msg.position_covariance_type = NavSatFix.COVARIANCE_TYPE_KNOWN
    return msg
