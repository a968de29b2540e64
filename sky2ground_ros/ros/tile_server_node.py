"""ROS 2 node `satellite_tile_server`: the tile service behind ``~/get_tiles`` (GetTiles.srv).

Parameters: ``source`` (path or URL template of the tiles), ``cache_dir`` (disk cache root,
empty for none), ``default_zoom`` (0: the source's finest), ``max_radius_m``, ``max_tiles``,
``allow_network`` (false: never fetch, serve the cache only), ``memory_cache_mb``.
Every request is answered: bad requests and an unusable source get STATUS_ERROR with a
message, tiles that cannot be read are listed in ``skipped``. The same API without ROS is
`sky2ground_ros.tiles.service.TileService` (used by replay).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from rclpy.node import Node
from sensor_msgs.msg import CompressedImage
from sky2ground_interfaces.msg import GeoTile
from sky2ground_interfaces.srv import GetTiles

from sky2ground_ros.ros.node_runner import run_node
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.tiles.tile import Tile, TileError

NODE_NAME = "satellite_tile_server"


def geo_tile_message(tile: Tile, node: Node) -> GeoTile:
    """A GeoTile carrying the tile's encoded bytes unchanged."""
    image = CompressedImage(format=tile.format, data=tile.data)
    image.header.stamp = node.get_clock().now().to_msg()
    image.header.frame_id = tile.id
    west, south, east, north = tile.bounds_wgs84
    min_x, min_y, max_x, max_y = tile.bounds
    return GeoTile(
        id=tile.id,
        zoom=tile.zoom,
        image=image,
        width=tile.width,
        height=tile.height,
        crs=tile.crs,
        min_x=min_x,
        min_y=min_y,
        max_x=max_x,
        max_y=max_y,
        west=west,
        south=south,
        east=east,
        north=north,
        gsd_m=tile.gsd_m,
    )


class SatelliteTileServer(Node):
    """Serves the tiles around a requested point from one configured source."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        source = self.declare_parameter("source", "").value
        cache_dir = self.declare_parameter("cache_dir", "").value
        default_zoom = self.declare_parameter("default_zoom", 0).value
        max_radius_m = self.declare_parameter("max_radius_m", 2000.0).value
        max_tiles = self.declare_parameter("max_tiles", 64).value
        allow_network = self.declare_parameter("allow_network", False).value
        memory_mb = self.declare_parameter("memory_cache_mb", 256).value
        self.service: TileService | None = None
        self.startup_error = ""
        try:
            if not source:
                raise ValueError("parameter 'source' is empty")
            self.service = TileService.open(
                source,
                cache_dir=cache_dir or None,
                default_zoom=default_zoom or None,
                max_radius_m=float(max_radius_m),
                max_tiles=int(max_tiles),
                allow_network=bool(allow_network),
                memory_bytes=int(memory_mb) * 1024 * 1024,
            )
        except (TileError, ValueError, OSError) as error:
            self.startup_error = f"tile source unusable: {error}"
            self.get_logger().error(self.startup_error)
        else:
            info = self.service.source.info()
            self.get_logger().info(
                f"serving {info['kind']} tiles from {info['source']}, zooms {info['zoom_range']}"
                f", network {'allowed' if allow_network else 'off'}"
            )
        self.create_service(GetTiles, "~/get_tiles", self._on_get_tiles)

    def _on_get_tiles(
        self, request: GetTiles.Request, response: GetTiles.Response
    ) -> GetTiles.Response:
        if self.service is None:
            response.status = GetTiles.Response.STATUS_ERROR
            response.message = self.startup_error
            return response
        try:
            result = self.service.get_tiles(
                request.latitude, request.longitude, request.radius_m, int(request.zoom) or None
            )
        except Exception as error:  # a service must answer, whatever a source library raises
            self.get_logger().error(f"GetTiles failed: {error!r}")
            response.status = GetTiles.Response.STATUS_ERROR
            response.message = f"internal error: {error!r}"
            return response
        response.status = int(result.status)
        response.message = result.message
        response.tiles = [geo_tile_message(tile, self) for tile in result.tiles]
        response.skipped = list(result.skipped)
        return response

    def destroy_node(self) -> None:
        if self.service is not None:
            self.service.close()
        super().destroy_node()


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT/SIGTERM or an external shutdown."""
    return run_node(SatelliteTileServer, args)


if __name__ == "__main__":
    sys.exit(main())
