"""The tile record every source returns, its address, its errors and the source interface.

All sources serve XYZ-aligned web-mercator tiles (a GeoTIFF is cut into them), so a tile is
addressed by `TileKey` (z, x, y; y counted from the north as in slippy maps) and carries its
image, its encoded bytes exactly as stored, its bounds in EPSG:3857 and WGS84 and its true
ground sample distance.
"""

from __future__ import annotations

import abc
import hashlib
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import mercantile
import numpy as np

from sky2ground_ros.geo.tile_camera import ground_gsd

WEB_MERCATOR = "EPSG:3857"
MAX_ZOOM = 24
MAX_TILE_PIXELS = 4096
"""Largest accepted tile edge; bigger images are refused before they are decoded."""

_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"WEBP", 8, "webp"),
)


class TileError(Exception):
    """Base of every tile-service error."""


class TileSourceError(TileError):
    """A source cannot be opened or used (missing file, wrong format, network off)."""


class UnsafePathError(TileError):
    """A request would touch a path outside the tile/cache root."""


class CorruptTileError(TileError):
    """A stored tile exists but cannot be used; the message is ``"<tile id>: <reason>"``."""

    def __init__(self, tile_id: str, reason: str) -> None:
        super().__init__(f"{tile_id}: {reason}")
        self.tile_id = tile_id
        self.reason = reason


@dataclass(frozen=True, order=True)
class TileKey:
    """XYZ tile address; construction validates the integers and their ranges."""

    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        for name in ("z", "x", "y"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ValueError(f"tile {name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if not 0 <= self.z <= MAX_ZOOM:
            raise ValueError(f"zoom {self.z} outside [0, {MAX_ZOOM}]")
        side = 1 << self.z
        if not (0 <= self.x < side and 0 <= self.y < side):
            raise ValueError(f"tile x={self.x} y={self.y} outside [0, {side}) at zoom {self.z}")

    @classmethod
    def parse(cls, z: str, x: str, y: str) -> TileKey:
        """Key from decimal strings (path components); anything else is a ValueError."""
        parts = (z, x, y)
        if not all(re.fullmatch(r"[0-9]{1,10}", p) for p in parts):
            raise ValueError(f"tile address {parts!r} is not three decimal integers")
        return cls(int(z), int(x), int(y))

    @property
    def tms_y(self) -> int:
        """Row counted from the south (MBTiles / TMS)."""
        return (1 << self.z) - 1 - self.y

    def __str__(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


@dataclass(frozen=True, eq=False)
class Tile:
    """One georeferenced, orthorectified tile."""

    id: str
    key: TileKey
    image: np.ndarray
    """H x W x 3 uint8 RGB."""
    data: bytes
    """Encoded image exactly as stored (no re-encoding on the way out)."""
    format: str
    """'png', 'jpeg' or 'webp'."""
    crs: str
    bounds: tuple[float, float, float, float]
    """min x, min y, max x, max y in ``crs``."""
    bounds_wgs84: tuple[float, float, float, float]
    """west, south, east, north in degrees."""
    gsd_m: float
    """True ground metres per pixel at the tile centre (geometric mean of x and y)."""

    @property
    def zoom(self) -> int:
        return self.key.z

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


def sniff_format(data: bytes) -> str | None:
    """Image format from the leading bytes, or None when it is not a supported image."""
    for signature, offset, name in _SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return name
    return None


def decode_image(data: bytes, tile_id: str) -> tuple[np.ndarray, str]:
    """Decode PNG/JPEG/WebP bytes to square RGB uint8; `CorruptTileError` on any problem."""
    fmt = sniff_format(data)
    if fmt is None:
        raise CorruptTileError(tile_id, f"not a PNG/JPEG/WebP image ({len(data)} bytes)")
    bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or bgr.ndim != 3 or bgr.shape[2] != 3:
        raise CorruptTileError(tile_id, f"undecodable or truncated {fmt} ({len(data)} bytes)")
    height, width = bgr.shape[:2]
    if height != width or not 0 < width <= MAX_TILE_PIXELS:
        raise CorruptTileError(tile_id, f"tile image is {width}x{height}, expected square")
    return np.ascontiguousarray(bgr[..., ::-1]), fmt


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of an RGB uint8 image."""
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buffer.tobytes()


def web_mercator_tile(tile_id: str, key: TileKey, data: bytes) -> Tile:
    """Build a `Tile` for an XYZ web-mercator tile from its encoded bytes (decoded here)."""
    image, fmt = decode_image(data, tile_id)
    return make_web_mercator_tile(tile_id, key, image, data, fmt)


def make_web_mercator_tile(
    tile_id: str, key: TileKey, image: np.ndarray, data: bytes, fmt: str
) -> Tile:
    """Build a `Tile` for an XYZ web-mercator tile from an already decoded image.

    The image is made read-only: tiles are shared through the memory cache.
    """
    image.setflags(write=False)
    xy = mercantile.xy_bounds(key.x, key.y, key.z)
    ll = mercantile.bounds(key.x, key.y, key.z)
    bounds = (xy.left, xy.bottom, xy.right, xy.top)
    gsd_x, gsd_y = ground_gsd(WEB_MERCATOR, bounds, image.shape[1], image.shape[0])
    return Tile(
        id=tile_id,
        key=key,
        image=image,
        data=data,
        format=fmt,
        crs=WEB_MERCATOR,
        bounds=bounds,
        bounds_wgs84=(ll.west, ll.south, ll.east, ll.north),
        gsd_m=float(np.sqrt(gsd_x * gsd_y)),
    )


def cache_namespace(kind: str, identity: str) -> str:
    """A filesystem-safe, stable directory name for one source's disk cache."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "_", identity.rsplit("/", 1)[-1])[:40].strip("_")
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return f"{kind}-{slug or 'source'}-{digest}"


class TileSource(abc.ABC):
    """A read-only store of XYZ web-mercator tiles."""

    kind: str = ""
    """Short source type used in tile ids ('xyz', 'mbtiles', 'pmtiles', 'geotiff', 'http')."""
    persist_in_disk_cache: bool = False
    """Whether a disk cache in front of this source saves work (computed or remote tiles)."""

    def __init__(self, identity: str, name: str) -> None:
        self.identity = identity
        self.name = name

    @property
    def cache_namespace(self) -> str:
        """Directory name of this source inside a shared disk cache."""
        return cache_namespace(self.kind, self.identity)

    def tile_id(self, key: TileKey) -> str:
        return f"{self.kind}:{self.name}/{key}"

    @abc.abstractmethod
    def read(self, key: TileKey) -> Tile | None:
        """The tile at ``key``; None when the source has none there.

        Raises `CorruptTileError` when the tile exists but is unusable.
        """

    @property
    @abc.abstractmethod
    def zoom_range(self) -> tuple[int, int]:
        """Lowest and highest zoom this source can serve."""

    @property
    def default_zoom(self) -> int:
        """The zoom to serve when a request names none: the finest the source holds."""
        return self.zoom_range[1]

    @property
    @abc.abstractmethod
    def bounds_wgs84(self) -> tuple[float, float, float, float] | None:
        """Coverage (west, south, east, north) in degrees, or None when unknown."""

    def info(self) -> dict[str, Any]:
        """A JSON-serialisable summary for `sky2ground tiles info`."""
        return {
            "kind": self.kind,
            "source": self.identity,
            "crs": WEB_MERCATOR,
            "zoom_range": list(self.zoom_range),
            "default_zoom": self.default_zoom,
            "bounds_wgs84": None if self.bounds_wgs84 is None else list(self.bounds_wgs84),
        }

    def close(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing open
        """Release files or connections."""

    def __enter__(self) -> TileSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
