"""Encoding of the window's model-size images, applied identically in local and remote mode.

Remote inference sends every image of a window encoded (JPEG by default, to save tether
bandwidth); the local model sees the same images encoded and decoded in-process. Both modes
therefore feed the model the same pixels and give the same poses, and switching between
them never changes an answer. PNG is lossless: its round trip is the identity, so the local
mode skips it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

FORMATS = ("jpeg", "png")


@dataclass(frozen=True)
class ImageCodec:
    """How window images travel: ``jpeg`` at ``jpeg_quality`` (1-100) or lossless ``png``."""

    format: str = "jpeg"
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"image format must be one of {FORMATS}, got {self.format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")

    @property
    def lossless(self) -> bool:
        return self.format == "png"

    def encode(self, rgb: np.ndarray) -> bytes:
        """RGB uint8 image to encoded bytes."""
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        if self.format == "jpeg":
            ok, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        else:
            ok, data = cv2.imencode(".png", bgr)
        if not ok:
            raise ValueError(f"cannot encode a {rgb.shape} image as {self.format}")
        return data.tobytes()

    def roundtrip(self, rgb: np.ndarray) -> np.ndarray:
        """What the model sees after encoding and decoding (the image itself for png)."""
        return rgb if self.lossless else decode_image(self.encode(rgb))


def decode_image(data: bytes) -> np.ndarray:
    """Encoded bytes (JPEG or PNG) to an RGB uint8 image; ValueError when undecodable."""
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise ValueError("cannot decode image bytes")
    return np.ascontiguousarray(bgr[..., ::-1])


class EncodedImages:
    """Encodes each image object once and remembers its bytes and decoded pixels.

    A keyframe stays in the window for ``window_size`` windows and a tile for as long as the
    robot is near it, so without this every window would re-encode (and, for JPEG, re-decode)
    the same arrays. Entries are keyed by object identity and hold a reference to the image,
    so an id can never be reused while its entry lives.
    """

    def __init__(self, codec: ImageCodec, capacity: int = 128) -> None:
        self.codec = codec
        self.capacity = capacity
        self._entries: OrderedDict[int, tuple[np.ndarray, bytes, np.ndarray]] = OrderedDict()

    def get(self, image: np.ndarray) -> tuple[bytes, np.ndarray]:
        """The image's encoded bytes and what the model sees after decoding them."""
        entry = self._entries.get(id(image))
        if entry is not None and entry[0] is image:
            self._entries.move_to_end(id(image))
            return entry[1], entry[2]
        data = self.codec.encode(image)
        seen = image if self.codec.lossless else decode_image(data)
        self._entries[id(image)] = (image, data, seen)
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return data, seen
