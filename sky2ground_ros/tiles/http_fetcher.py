"""Optional HTTP(S) XYZ / RESTful-WMTS tile fetcher; the network is off unless asked for.

With ``allow_network=False`` (the default everywhere) `read` never opens a socket and
answers "no tile", so a `CachedTileSource` in front of it serves only what a previous
prefetch put in the disk cache. With the network allowed, each instance is bounded in the
number of requests, the seconds per request and the bytes per tile, and a response is only
returned (and so cached) after it decodes as an image.

URL templates use ``{z}/{x}/{y}`` (XYZ) or ``{TileMatrix}/{TileRow}/{TileCol}`` (WMTS in
the GoogleMapsCompatible matrix set, which is the XYZ grid). The standard library's
`urllib` is used: one GET per tile needs no extra dependency.
"""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.request
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

from sky2ground_ros import __version__
from sky2ground_ros.tiles.tile import (
    MAX_ZOOM,
    CorruptTileError,
    Tile,
    TileKey,
    TileSource,
    TileSourceError,
    web_mercator_tile,
)

_XYZ_FIELDS = {"z", "x", "y"}
_WMTS_FIELDS = {"TileMatrix", "TileRow", "TileCol"}
_NO_TILE_STATUSES = (204, 404)


class HttpTileSource(TileSource):
    """Tiles fetched from an XYZ/WMTS URL template (network off by default)."""

    kind = "http"
    persist_in_disk_cache = True

    def __init__(
        self,
        url_template: str,
        *,
        allow_network: bool = False,
        timeout_s: float = 10.0,
        max_requests: int = 1000,
        max_tile_bytes: int = 8 * 1024 * 1024,
        zoom_range: tuple[int, int] = (0, 19),
    ) -> None:
        parts = urlsplit(url_template)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TileSourceError(f"tile URL must be http(s)://host/..., got {url_template!r}")
        fields = {name for _, name, _, _ in Formatter().parse(url_template) if name is not None}
        if fields != _XYZ_FIELDS and fields != _WMTS_FIELDS:
            raise TileSourceError(
                f"tile URL must use exactly {{z}}/{{x}}/{{y}} or {{TileMatrix}}/{{TileRow}}/"
                f"{{TileCol}} placeholders, got {sorted(fields)}"
            )
        if not 0 <= zoom_range[0] <= zoom_range[1] <= MAX_ZOOM:
            raise TileSourceError(f"invalid zoom range {zoom_range}")
        if timeout_s <= 0 or max_requests < 0 or max_tile_bytes <= 0:
            raise TileSourceError("timeout, request budget and tile size limit must be positive")
        super().__init__(url_template, parts.hostname)
        self.url_template = url_template
        self.allow_network = allow_network
        self.timeout_s = timeout_s
        self.max_requests = max_requests
        self.max_tile_bytes = max_tile_bytes
        self._zoom_range = zoom_range
        self._lock = threading.Lock()
        self.requests_made = 0

    def url(self, key: TileKey) -> str:
        """The URL of one tile."""
        return self.url_template.format(
            z=key.z, x=key.x, y=key.y, TileMatrix=key.z, TileRow=key.y, TileCol=key.x
        )

    def read(self, key: TileKey) -> Tile | None:
        if not self.allow_network:
            return None
        with self._lock:
            if self.requests_made >= self.max_requests:
                raise TileSourceError(f"request budget of {self.max_requests} exhausted")
            self.requests_made += 1
        tile_id = self.tile_id(key)
        request = urllib.request.Request(
            self.url(key), headers={"User-Agent": f"sky2ground_ros/{__version__} tile-prefetch"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                if response.status in _NO_TILE_STATUSES:
                    return None
                data = response.read(self.max_tile_bytes + 1)
        except urllib.error.HTTPError as error:
            if error.code in _NO_TILE_STATUSES:
                return None
            raise CorruptTileError(tile_id, f"HTTP {error.code} {error.reason}") from error
        except (http.client.HTTPException, OSError) as error:  # URLError, timeouts, resets
            raise TileSourceError(f"{tile_id}: fetch failed: {error}") from error
        if len(data) > self.max_tile_bytes:
            raise CorruptTileError(tile_id, f"response larger than {self.max_tile_bytes} bytes")
        return web_mercator_tile(tile_id, key, data)

    @property
    def zoom_range(self) -> tuple[int, int]:
        return self._zoom_range

    @property
    def bounds_wgs84(self) -> None:
        return None

    def info(self) -> dict[str, Any]:
        return {**super().info(), "network": "allowed" if self.allow_network else "off"}
