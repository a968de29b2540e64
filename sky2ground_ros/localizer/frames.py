"""Turn camera messages (rclpy or rosbags objects alike) into validated RGB frames.

Raw images are converted by rosbags-image (correct for rgb8/bgr8/mono8/16-bit), compressed
ones by OpenCV; this module adds the checks that keep bad input from reaching the model:
every problem becomes a `BadFrameError` with a reason that the node reports in /diagnostics.
An image over ``max_pixels`` is refused from its header (Pillow reads only that), before a
small PNG that inflates to gigabytes is ever decoded.
Header stamps and geometry_msgs poses are read here too, so ingest needs no ROS types.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError
from rosbags.image import ImageConversionError, ImageError, ImageFormatError, message_to_cvimage

from sky2ground_ros.localizer.geometry import from_xyz_quat

DEFAULT_MAX_PIXELS = 40_000_000
"""Largest camera image accepted (a 20 MP drone camera has room; 10000x10000 has not)."""
COLOR_ENCODINGS = frozenset(
    {"rgb8", "bgr8", "rgba8", "bgra8", "mono8", "rgb16", "bgr16", "rgba16", "bgra16", "mono16"}
)


class BadFrameError(ValueError):
    """A camera message that cannot be used; `reason` is short and user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one camera stream, in pixels of its image."""

    K: np.ndarray  # 3x3
    width: int
    height: int


def decode_rgb(msg: Any, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode sensor_msgs/Image or CompressedImage to an HxWx3 uint8 RGB array."""
    if hasattr(msg, "format") and not hasattr(msg, "encoding"):
        return _decode_compressed(msg, max_pixels)
    if msg.width == 0 or msg.height == 0:
        raise BadFrameError(f"zero-size image {msg.width}x{msg.height}")
    _check_pixels(msg.width, msg.height, max_pixels)
    if msg.encoding not in COLOR_ENCODINGS:
        raise BadFrameError(f"unsupported encoding '{msg.encoding}' (need a colour/mono image)")
    if msg.step < msg.width or len(msg.data) < msg.step * msg.height:
        raise BadFrameError(
            f"image data of {len(msg.data)} bytes does not fill {msg.height} rows of step "
            f"{msg.step}"
        )
    try:
        image = message_to_cvimage(msg, "rgb8")
    except (ImageError, ImageConversionError, ImageFormatError, TypeError, ValueError) as error:
        raise BadFrameError(f"cannot convert image: {error}") from error
    return np.ascontiguousarray(image, dtype=np.uint8)


def _decode_compressed(msg: Any, max_pixels: int) -> np.ndarray:
    """JPEG/PNG bytes to RGB; OpenCV reports undecodable data as None, not an exception."""
    if len(msg.data) == 0:
        raise BadFrameError("empty compressed image")
    data = bytes(msg.data)
    _check_pixels(*_header_size(data, msg.format), max_pixels)
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise BadFrameError(f"cannot decode compressed image (format '{msg.format}')")
    return np.ascontiguousarray(bgr[..., ::-1])


def _header_size(data: bytes, fmt: str) -> tuple[int, int]:
    """(width, height) from the encoded image's header, without decoding its pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as header:
                return header.size
    except Image.DecompressionBombError as error:
        raise BadFrameError(f"compressed image too large to decode: {error}") from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise BadFrameError(f"cannot decode compressed image (format '{fmt}')") from error


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise BadFrameError(
            f"image is {width}x{height} = {width * height} pixels, over max_image_pixels "
            f"{max_pixels}"
        )


def parse_camera_info(msg: Any) -> CameraIntrinsics:
    """Validate sensor_msgs/CameraInfo and return its intrinsics matrix."""
    K = np.asarray(msg.k, dtype=np.float64).reshape(3, 3)
    if not np.all(np.isfinite(K)):
        raise BadFrameError("CameraInfo K has non-finite entries")
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if fx <= 0 or fy <= 0:
        raise BadFrameError(f"CameraInfo K has no focal length (fx={fx}, fy={fy})")
    if msg.width == 0 or msg.height == 0:
        raise BadFrameError("CameraInfo has zero image size")
    if not (0 <= cx <= msg.width and 0 <= cy <= msg.height):
        raise BadFrameError(
            f"principal point ({cx}, {cy}) outside the {msg.width}x{msg.height} image"
        )
    return CameraIntrinsics(K=K, width=int(msg.width), height=int(msg.height))


def stamp_seconds(stamp: Any) -> float:
    """A header stamp as float seconds."""
    return stamp.sec + stamp.nanosec * 1e-9


def pose_matrix(pose: Any) -> np.ndarray:
    """4x4 matrix of a geometry_msgs Pose or Transform."""
    xyz = pose.translation if hasattr(pose, "translation") else pose.position
    q = pose.rotation if hasattr(pose, "rotation") else pose.orientation
    return from_xyz_quat([xyz.x, xyz.y, xyz.z], [q.x, q.y, q.z, q.w])
