"""The localizer's GetTiles client against the real satellite_tile_server node (one process).

`tile_source: service:/satellite_tile_server/get_tiles` must give the pipeline the same
tiles as the in-process TileService, and an absent server must be an ERROR answer.
"""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rclpy
from nodes.localizer_fixtures import write_orthophoto
from rclpy.executors import MultiThreadedExecutor
from rclpy.parameter import Parameter

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.ros.tile_client import ServiceTileProvider
from sky2ground_ros.ros.tile_server_node import SatelliteTileServer
from sky2ground_ros.tiles.service import TileService, TileStatus

GEOREF = GeoReference(47.3769, 8.5417, 408.0)


@pytest.fixture
def spinning(
    ros_domain_id: int,
) -> Iterator[tuple[rclpy.Context, MultiThreadedExecutor, threading.Thread]]:
    """A context whose executor spins in a background thread, as the node's does."""
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = MultiThreadedExecutor(context=context)
    thread = threading.Thread(target=executor.spin, daemon=True)
    yield context, executor, thread
    executor.shutdown()
    rclpy.shutdown(context=context)
    thread.join(5.0)


@pytest.mark.ros
def test_service_tiles_match_in_process_tiles(
    spinning: tuple[rclpy.Context, MultiThreadedExecutor, threading.Thread], tmp_path: Path
) -> None:
    context, executor, thread = spinning
    ortho = write_orthophoto(tmp_path / "ortho.tif", GEOREF)
    server = SatelliteTileServer(
        context=context, parameter_overrides=[Parameter("source", value=str(ortho))]
    )
    client_node = rclpy.create_node("tile_client_test", context=context)
    provider = ServiceTileProvider(client_node, "/satellite_tile_server/get_tiles", 10.0)
    missing = ServiceTileProvider(client_node, "/nobody/get_tiles", 1.0)
    executor.add_node(server)
    executor.add_node(client_node)
    thread.start()
    deadline = time.monotonic() + 15.0
    via_service = provider(GEOREF.latitude, GEOREF.longitude, 150.0, 17)
    while "not available" in via_service.message and time.monotonic() < deadline:
        time.sleep(0.1)  # discovery of the server
        via_service = provider(GEOREF.latitude, GEOREF.longitude, 150.0, 17)
    local = TileService.open(ortho).get_tiles(GEOREF.latitude, GEOREF.longitude, 150.0, 17)
    assert via_service.status == local.status == TileStatus.OK, via_service.message
    assert [t.id for t in via_service.tiles] == [t.id for t in local.tiles]
    for remote, tile in zip(via_service.tiles, local.tiles, strict=True):
        assert remote.key == tile.key and remote.crs == tile.crs
        np.testing.assert_array_equal(remote.image, tile.image)
        np.testing.assert_allclose(remote.bounds, tile.bounds)
        assert remote.gsd_m == pytest.approx(tile.gsd_m)

    far = provider(GEOREF.latitude + 1.0, GEOREF.longitude, 150.0, 17)
    assert far.status == TileStatus.NO_COVERAGE and not far.tiles
    absent = missing(GEOREF.latitude, GEOREF.longitude, 150.0, 17)
    assert absent.status == TileStatus.ERROR and "not available" in absent.message
    provider.close()
    server.destroy_node()
    client_node.destroy_node()
