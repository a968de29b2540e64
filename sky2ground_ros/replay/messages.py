"""ROS 2 messages as rosbags objects (no ROS install): construction, CDR bytes, poses, stamps.

All messages come from the ROS 2 Kilted typestore (wire-compatible with rclpy's messages:
`rclpy.serialization.deserialize_message` reads what `serialize` writes).
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from rosbags.typesys import Stores, get_typestore

from sky2ground_ros.localizer.geometry import from_xyz_quat, to_xyz_quat
from sky2ground_ros.localizer.smoothing import PoseEstimate

TYPESTORE = get_typestore(Stores.ROS2_KILTED)
_T = TYPESTORE.types

IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
NAVSAT_FIX = "sensor_msgs/msg/NavSatFix"
ODOMETRY = "nav_msgs/msg/Odometry"
POSE_STAMPED = "geometry_msgs/msg/PoseStamped"
POSE_WITH_COVARIANCE_STAMPED = "geometry_msgs/msg/PoseWithCovarianceStamped"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"

NAVSAT_STATUS_FIX = 0
NAVSAT_SERVICE_GPS = 1
COVARIANCE_TYPE_DIAGONAL_KNOWN = 2
COVARIANCE_TYPE_KNOWN = 3


def serialize(msg: Any) -> bytes:
    """CDR bytes of a message (its type is the message's ``__msgtype__``)."""
    return bytes(TYPESTORE.serialize_cdr(msg, msg.__msgtype__))


def deserialize(data: bytes, msgtype: str) -> Any:
    """A message from its CDR bytes."""
    return TYPESTORE.deserialize_cdr(data, msgtype)


def stamp(seconds: float) -> Any:
    """builtin_interfaces/Time of float seconds (nanosecond rounding)."""
    nanoseconds = round(seconds * 1e9)
    return _T["builtin_interfaces/msg/Time"](
        sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000
    )


def header(seconds: float, frame_id: str) -> Any:
    return _T["std_msgs/msg/Header"](stamp=stamp(seconds), frame_id=frame_id)


def _vector(xyz: np.ndarray, kind: str = "geometry_msgs/msg/Vector3") -> Any:
    x, y, z = (float(v) for v in xyz)
    return _T[kind](x=x, y=y, z=z)


def _quaternion(quat_xyzw: np.ndarray) -> Any:
    x, y, z, w = (float(v) for v in quat_xyzw)
    return _T["geometry_msgs/msg/Quaternion"](x=x, y=y, z=z, w=w)


def _pose(pose: np.ndarray) -> Any:
    xyz, quat = to_xyz_quat(pose)
    return _T["geometry_msgs/msg/Pose"](
        position=_vector(xyz, "geometry_msgs/msg/Point"), orientation=_quaternion(quat)
    )


def transform_stamped(parent: str, child: str, pose: np.ndarray, seconds: float) -> Any:
    """TransformStamped ``parent → child`` (the child's pose in the parent)."""
    xyz, quat = to_xyz_quat(pose)
    transform = _T["geometry_msgs/msg/Transform"](
        translation=_vector(xyz), rotation=_quaternion(quat)
    )
    return _T["geometry_msgs/msg/TransformStamped"](
        header=header(seconds, parent), child_frame_id=child, transform=transform
    )


def tf_message(transforms: list[Any]) -> Any:
    return _T[TF_MESSAGE](transforms=transforms)


def pose_with_covariance(frame_id: str, estimate: PoseEstimate) -> Any:
    """PoseWithCovarianceStamped of a smoothed pose (covariance x, y, z, rot X, Y, Z)."""
    pose = _T["geometry_msgs/msg/PoseWithCovariance"](
        pose=_pose(from_xyz_quat(estimate.position, estimate.quaternion)),
        covariance=np.asarray(estimate.covariance, dtype=np.float64).reshape(36),
    )
    return _T[POSE_WITH_COVARIANCE_STAMPED](header=header(estimate.stamp, frame_id), pose=pose)


def navsat_fix(
    frame_id: str,
    seconds: float,
    geodetic: tuple[float, float, float],
    covariance: np.ndarray,
    covariance_type: int = COVARIANCE_TYPE_KNOWN,
) -> Any:
    """NavSatFix with an ENU position covariance (3x3, m²), status FIX."""
    status = _T["sensor_msgs/msg/NavSatStatus"](
        status=NAVSAT_STATUS_FIX, service=NAVSAT_SERVICE_GPS
    )
    latitude, longitude, altitude = (float(v) for v in geodetic)
    return _T[NAVSAT_FIX](
        header=header(seconds, frame_id),
        status=status,
        latitude=latitude,
        longitude=longitude,
        altitude=altitude,
        position_covariance=np.asarray(covariance, dtype=np.float64).reshape(9),
        position_covariance_type=covariance_type,
    )


def odometry(
    frame_id: str, child_frame_id: str, seconds: float, pose: np.ndarray, covariance: np.ndarray
) -> Any:
    """nav_msgs/Odometry with a pose, its 6x6 covariance and zero twist."""
    with_covariance = _T["geometry_msgs/msg/PoseWithCovariance"](
        pose=_pose(pose), covariance=np.asarray(covariance, dtype=np.float64).reshape(36)
    )
    zero = _vector(np.zeros(3))
    twist = _T["geometry_msgs/msg/TwistWithCovariance"](
        twist=_T["geometry_msgs/msg/Twist"](linear=zero, angular=zero),
        covariance=np.zeros(36),
    )
    return _T[ODOMETRY](
        header=header(seconds, frame_id),
        child_frame_id=child_frame_id,
        pose=with_covariance,
        twist=twist,
    )


def image_rgb8(rgb: np.ndarray, frame_id: str, seconds: float) -> Any:
    """sensor_msgs/Image (rgb8) of an RGB uint8 array."""
    height, width = rgb.shape[:2]
    return _T[IMAGE](
        header=header(seconds, frame_id),
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=3 * width,
        data=np.ascontiguousarray(rgb, dtype=np.uint8).reshape(-1),
    )


def compressed_jpeg(rgb: np.ndarray, frame_id: str, seconds: float, quality: int = 90) -> Any:
    """sensor_msgs/CompressedImage (JPEG) of an RGB uint8 array."""
    ok, data = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return _T[COMPRESSED_IMAGE](
        header=header(seconds, frame_id), format="rgb8; jpeg compressed bgr8", data=data.reshape(-1)
    )


def camera_info(
    intrinsics: np.ndarray, width: int, height: int, frame_id: str, seconds: float
) -> Any:
    """CameraInfo of an undistorted pinhole camera (plumb_bob with zero distortion)."""
    K = np.asarray(intrinsics, dtype=np.float64)
    P = np.zeros((3, 4))
    P[:, :3] = K
    roi = _T["sensor_msgs/msg/RegionOfInterest"](
        x_offset=0, y_offset=0, height=0, width=0, do_rectify=False
    )
    return _T[CAMERA_INFO](
        header=header(seconds, frame_id),
        height=height,
        width=width,
        distortion_model="plumb_bob",
        d=np.zeros(5),
        k=K.reshape(9),
        r=np.eye(3).reshape(9),
        p=P.reshape(12),
        binning_x=0,
        binning_y=0,
        roi=roi,
    )
