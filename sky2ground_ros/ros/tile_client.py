"""Tiles from the `satellite_tile_server` node (``~/get_tiles``) with the TileService signature.

The localizer's inference thread calls the provider and waits for the answer while the
node's executor (another thread) receives it, so the executor is never blocked.
"""

from __future__ import annotations

import threading

import mercantile
from rclpy.node import Node
from sky2ground_interfaces.msg import GeoTile
from sky2ground_interfaces.srv import GetTiles

from sky2ground_ros.tiles.service import TileResponse, TileStatus
from sky2ground_ros.tiles.tile import Tile, TileError, TileKey, decode_image

SERVICE_PREFIX = "service:"
"""``tile_source`` values starting with this name a GetTiles service instead of a source."""


def tile_from_message(message: GeoTile) -> Tile:
    """Rebuild a `Tile` from a GeoTile (its XYZ key from the centre of its WGS84 bounds)."""
    data = bytes(message.image.data)
    image, fmt = decode_image(data, message.id)
    centre = mercantile.tile(
        (message.west + message.east) / 2.0, (message.south + message.north) / 2.0, message.zoom
    )
    return Tile(
        id=message.id,
        key=TileKey(centre.z, centre.x, centre.y),
        image=image,
        data=data,
        format=fmt,
        crs=message.crs,
        bounds=(message.min_x, message.min_y, message.max_x, message.max_y),
        bounds_wgs84=(message.west, message.south, message.east, message.north),
        gsd_m=message.gsd_m,
    )


class ServiceTileProvider:
    """Calls GetTiles and converts the answer; a timeout or a bad tile becomes a TileResponse."""

    def __init__(self, node: Node, service: str, timeout_s: float = 5.0) -> None:
        self._node = node
        self._client = node.create_client(GetTiles, service)
        self._service = service
        self._timeout_s = timeout_s

    def __call__(
        self, latitude: float, longitude: float, radius_m: float, zoom: int | None
    ) -> TileResponse:
        if not self._client.service_is_ready():
            return TileResponse(TileStatus.ERROR, f"tile service {self._service} is not available")
        request = GetTiles.Request(
            latitude=latitude, longitude=longitude, radius_m=radius_m, zoom=zoom or 0
        )
        done = threading.Event()
        future = self._client.call_async(request)
        future.add_done_callback(lambda _future: done.set())
        if not done.wait(self._timeout_s):
            self._client.remove_pending_request(future)
            silence = f"tile service {self._service} gave no answer in {self._timeout_s} s"
            return TileResponse(TileStatus.ERROR, silence)
        answer = future.result()
        tiles, skipped = [], list(answer.skipped)
        for message in answer.tiles:
            try:
                tiles.append(tile_from_message(message))
            except (TileError, ValueError) as error:
                skipped.append(f"{message.id}: {error}")
        return TileResponse(TileStatus(answer.status), answer.message, tuple(tiles), tuple(skipped))

    def close(self) -> None:
        """Destroy the service client."""
        self._node.destroy_client(self._client)
