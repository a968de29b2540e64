"""Camera messages become RGB frames, and bad ones are rejected with a reason."""

import struct
import time
import zlib

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


def png_bomb(width: int, height: int) -> bytes:
    """A valid all-black PNG of this size, compressed without ever holding its pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    rows = bytes(1 + 3 * width) * 100
    idat = b"".join(compressor.compress(rows) for _ in range(height // 100)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_huge_image_is_refused_from_its_header() -> None:
    """A ~290 kB PNG of 10000x10000 pixels (1 GB decoded) is refused without decoding it."""
    bomb = png_bomb(10_000, 10_000)
    assert len(bomb) < 400_000
    started = time.perf_counter()
    with pytest.raises(BadFrameError, match="10000x10000 = 100000000 pixels, over max_image_pix"):
        decode_rgb(CompressedImage(format="png", data=bomb))
    assert time.perf_counter() - started < 0.5  # decoding it takes seconds
    raw = Image(height=8000, width=8000, encoding="rgb8", step=24000, data=bytes(10))
    with pytest.raises(BadFrameError, match="over max_image_pixels 1000000"):
        decode_rgb(raw, max_pixels=1_000_000)
    small = png_bomb(1000, 1000)
    assert decode_rgb(CompressedImage(format="png", data=small)).shape == (1000, 1000, 3)
    with pytest.raises(BadFrameError, match="over max_image_pixels 999999"):
        decode_rgb(CompressedImage(format="png", data=small), max_pixels=999_999)
