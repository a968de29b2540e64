"""The tile server node and a GetTiles client run as two real processes over local DDS."""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest

LAT, LON, ZOOM = 48.8584, 2.2945, 17

CLIENT = textwrap.dedent(
    """
    import json, math, sys, hashlib
    import rclpy
    from sky2ground_interfaces.srv import GetTiles

    rclpy.init()
    node = rclpy.create_node("tile_test_client")
    client = node.create_client(GetTiles, "/satellite_tile_server/get_tiles")
    if not client.wait_for_service(timeout_sec=30.0):
        print(json.dumps({"error": "service never appeared"}), flush=True)
        sys.exit(1)
    answers = []
    for lat, lon, radius, zoom in json.loads(sys.argv[1]):
        request = GetTiles.Request(latitude=lat, longitude=lon, radius_m=radius, zoom=zoom)
        future = client.call_async(request)
        rclpy.spin_until_future_complete(node, future, timeout_sec=20.0)
        response = future.result()
        answers.append({
            "status": response.status,
            "message": response.message,
            "skipped": list(response.skipped),
            "tiles": [{
                "id": t.id, "zoom": t.zoom, "format": t.image.format,
                "sha256": hashlib.sha256(bytes(t.image.data)).hexdigest(),
                "size": [t.width, t.height], "crs": t.crs, "gsd_m": t.gsd_m,
                "wgs84": [t.west, t.south, t.east, t.north],
                "xy": [t.min_x, t.min_y, t.max_x, t.max_y],
            } for t in response.tiles],
        })
    print(json.dumps(answers), flush=True)
    rclpy.shutdown()
    """
)


@pytest.mark.ros
def test_server_and_client_in_separate_processes(ros_env: dict[str, str], tmp_path: Path) -> None:
    from sky2ground_interfaces.srv import GetTiles

    root = tmp_path / "tiles"
    centre = mercantile.tile(LON, LAT, ZOOM)
    digests = {}
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            x, y = centre.x + i, centre.y + j
            data = cv2.imencode(".png", np.full((256, 256, 3), 30 * (i + 2) + j, np.uint8))[1]
            (root / str(ZOOM) / str(x)).mkdir(parents=True, exist_ok=True)
            (root / str(ZOOM) / str(x) / f"{y}.png").write_bytes(data.tobytes())
            digests[f"xyz:tiles/{ZOOM}/{x}/{y}"] = hashlib.sha256(data.tobytes()).hexdigest()
    corrupt = root / str(ZOOM) / str(centre.x + 1) / f"{centre.y}.png"
    corrupt.write_bytes(b"truncated")
    (root / "24").mkdir()  # a zoom level whose 1999 m circle spans millions of tiles
    (tmp_path / "client.py").write_text(CLIENT)

    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sky2ground_ros.ros.tile_server_node",
            "--ros-args",
            "-p",
            f"source:={root}",
            "-p",
            f"default_zoom:={ZOOM}",
            "-p",
            "max_radius_m:=2000.0",
        ],
        env=ros_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    requests = [
        [LAT, LON, 200.0, 0],  # default zoom
        [LAT + 1.0, LON, 100.0, ZOOM],  # elsewhere
        [float("nan"), LON, 100.0, 0],  # bad request
        [LAT, LON, 5000.0, 0],  # radius above the node's limit
        [LAT, LON, 100.0, 12],  # zoom the source lacks
        [LAT, LON, 1999.0, 24],  # refused before its tiles are listed
        [LAT, LON, 200.0, 0],  # and the server still answers
    ]
    try:
        client = subprocess.run(
            [sys.executable, str(tmp_path / "client.py"), json.dumps(requests)],
            env=ros_env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    finally:
        server.terminate()
        try:
            server_log, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server_log = server.communicate()[0] + "\n(tile server ignored SIGTERM)"
    assert client.returncode == 0, client.stdout + client.stderr + server_log
    assert server.returncode == 0, server_log  # clean shutdown on SIGTERM
    answers = json.loads(client.stdout.strip().splitlines()[-1])
    ok, elsewhere, bad, too_far, wrong_zoom, too_many, after = answers

    assert ok["status"] == GetTiles.Response.STATUS_PARTIAL, ok["message"]
    assert ok["skipped"] == [
        f"xyz:tiles/{ZOOM}/{centre.x + 1}/{centre.y}: not a PNG/JPEG/WebP image (9 bytes)"
    ]
    assert len(ok["tiles"]) >= 3
    for tile in ok["tiles"]:
        assert tile["sha256"] == digests[tile["id"]]  # bytes pass through unchanged
        assert tile["format"] == "png" and tile["size"] == [256, 256] and tile["zoom"] == ZOOM
        assert tile["crs"] == "EPSG:3857" and 0.5 < tile["gsd_m"] < 1.0
        west, south, east, north = tile["wgs84"]
        assert west < east and south < north and tile["xy"][0] < tile["xy"][2]
    assert ok["tiles"][0]["id"] == f"xyz:tiles/{ZOOM}/{centre.x}/{centre.y}"

    assert elsewhere["status"] == GetTiles.Response.STATUS_NO_COVERAGE
    assert "no coverage" in elsewhere["message"]
    assert bad["status"] == GetTiles.Response.STATUS_ERROR and "non-finite" in bad["message"]
    assert too_far["status"] == GetTiles.Response.STATUS_ERROR and "limit" in too_far["message"]
    assert wrong_zoom["status"] == GetTiles.Response.STATUS_NO_COVERAGE
    assert too_many["status"] == GetTiles.Response.STATUS_ERROR
    assert "tiles at zoom 24, limit 64" in too_many["message"]
    assert after == ok
    assert "serving xyz tiles" in server_log


def test_status_values_match_the_service_definition() -> None:
    from sky2ground_interfaces.srv import GetTiles

    from sky2ground_ros.tiles.service import TileStatus

    for status in TileStatus:
        assert getattr(GetTiles.Response, f"STATUS_{status.name}") == status.value
