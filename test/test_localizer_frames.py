"""Camera messages become RGB frames, and bad ones are rejected with a reason."""

import cv2
import numpy as np
import pytest
from sensor_msgs.msg import CameraInfo, CompressedImage, Image

from sky2ground_ros.localizer.frames import BadFrameError, decode_rgb, parse_camera_info


def image_msg(array: np.ndarray, encoding: str) -> Image:
    height, width = array.shape[:2]
    return Image(
        height=height,
        width=width,
        encoding=encoding,
        step=array.strides[0],
        data=array.tobytes(),
    )


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (6, 8, 3), dtype=np.uint8)


def test_rgb8_and_bgr8_decode_to_the_same_rgb(rgb: np.ndarray) -> None:
    assert np.array_equal(decode_rgb(image_msg(rgb, "rgb8")), rgb)
    assert np.array_equal(decode_rgb(image_msg(rgb[..., ::-1].copy(), "bgr8")), rgb)


def test_png_compressed_image_is_lossless(rgb: np.ndarray) -> None:
    ok, png = cv2.imencode(".png", rgb[..., ::-1])
    assert ok
    assert np.array_equal(decode_rgb(CompressedImage(format="png", data=png.tobytes())), rgb)


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (Image(height=0, width=0, encoding="rgb8"), "zero-size"),
        (
            Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16)),
            "unsupported encoding",
        ),
        (Image(height=4, width=4, encoding="rgb8", step=12, data=bytes(20)), "does not fill"),
        (CompressedImage(format="jpeg", data=b""), "empty compressed"),
        (CompressedImage(format="jpeg", data=b"\xff\xd8garbage"), "cannot decode"),
    ],
)
def test_bad_images_are_rejected_with_a_reason(msg: object, reason: str) -> None:
    with pytest.raises(BadFrameError, match=reason):
        decode_rgb(msg)


def camera_info(k: list[float], width: int = 640, height: int = 480) -> CameraInfo:
    return CameraInfo(width=width, height=height, k=k)


def test_camera_info_intrinsics() -> None:
    info = parse_camera_info(camera_info([500.0, 0, 320, 0, 500.0, 240, 0, 0, 1]))
    assert info.K[0, 0] == 500.0 and (info.width, info.height) == (640, 480)


@pytest.mark.parametrize(
    ("k", "reason"),
    [
        ([0.0] * 9, "no focal length"),
        ([float("nan"), 0, 320, 0, 500, 240, 0, 0, 1], "non-finite"),
        ([500.0, 0, 900, 0, 500, 240, 0, 0, 1], "outside"),
    ],
)
def test_bad_camera_info_is_rejected(k: list[float], reason: str) -> None:
    with pytest.raises(BadFrameError, match=reason):
        parse_camera_info(camera_info(k))
