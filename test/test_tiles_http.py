"""The optional HTTP fetcher, only ever against a local server on 127.0.0.1 started here."""

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest

from sky2ground_ros.tiles.cache import CachedTileSource, MemoryTileCache
from sky2ground_ros.tiles.http_fetcher import HttpTileSource
from sky2ground_ros.tiles.service import TileService, TileStatus
from sky2ground_ros.tiles.sources import open_tile_source
from sky2ground_ros.tiles.tile import CorruptTileError, TileKey, TileSourceError

LAT, LON, ZOOM = 52.52, 13.40, 17
CENTRE = mercantile.tile(LON, LAT, ZOOM)
GOOD = {
    (ZOOM, CENTRE.x + i, CENTRE.y + j): cv2.imencode(
        ".jpg", np.full((256, 256, 3), 40 * (i + 2) + 10 * j, np.uint8)
    )[1].tobytes()
    for i in (-1, 0, 1)
    for j in (-1, 0, 1)
}
GARBAGE = (ZOOM, 5, 5)
SLOW = (ZOOM, 6, 6)


class TileServer(ThreadingHTTPServer):
    requests: list[str]


class Handler(BaseHTTPRequestHandler):
    server: TileServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        parts = self.path.strip("/").split("?")[0].removesuffix(".jpg").split("/")
        try:
            key = tuple(int(p) for p in parts[-3:])
        except ValueError:
            key = ()
        if key == SLOW:
            time.sleep(0.6)
        body = GOOD.get(key) or (b"<html>rate limited</html>" if key == GARBAGE else None)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[TileServer]:
    httpd = TileServer(("127.0.0.1", 0), Handler)
    httpd.requests = []
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def url(server: TileServer, template: str = "tiles/{z}/{x}/{y}.jpg") -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{template}"


def test_network_is_off_by_default(server: TileServer, tmp_path: Path) -> None:
    source = open_tile_source(url(server))
    assert isinstance(source, HttpTileSource) and not source.allow_network
    assert source.read(TileKey(*next(iter(GOOD)))) is None
    service = TileService.open(url(server), cache_dir=tmp_path / "cache", default_zoom=ZOOM)
    response = service.get_tiles(LAT, LON, 100.0)
    assert response.status == TileStatus.NO_COVERAGE
    assert "network fetching is off" in response.message
    assert server.requests == []


def test_fetcher_fills_the_disk_cache_for_offline_use(server: TileServer, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    online = TileService.open(url(server), cache, default_zoom=ZOOM, allow_network=True)
    fetched = online.get_tiles(LAT, LON, 100.0)
    assert fetched.status == TileStatus.OK, fetched.message
    count = len(server.requests)
    assert count == len(fetched.tiles) >= 4
    for tile in fetched.tiles:
        assert tile.format == "jpeg" and tile.data == GOOD[(tile.key.z, tile.key.x, tile.key.y)]
        assert tile.id.startswith("http:127.0.0.1/")
    assert len(list(cache.rglob("*.jpg"))) == len(fetched.tiles)

    offline = TileService.open(url(server), cache, default_zoom=ZOOM)
    served = offline.get_tiles(LAT, LON, 100.0)
    assert served.status == TileStatus.OK
    assert [t.data for t in served.tiles] == [t.data for t in fetched.tiles]
    assert len(server.requests) == count


def test_fetcher_is_bounded_and_validates_responses(server: TileServer) -> None:
    keys = [TileKey(*k) for k in GOOD]
    source = HttpTileSource(url(server), allow_network=True, max_requests=3, timeout_s=0.3)
    assert source.read(keys[0]) is not None
    assert source.read(TileKey(ZOOM, 1, 1)) is None  # 404: no tile there
    with pytest.raises(CorruptTileError, match="not a PNG/JPEG/WebP"):
        source.read(TileKey(*GARBAGE))
    with pytest.raises(TileSourceError, match="budget"):
        source.read(keys[1])
    assert len(server.requests) == 3

    slow = HttpTileSource(url(server), allow_network=True, timeout_s=0.2)
    start = time.monotonic()
    with pytest.raises(TileSourceError, match="fetch failed"):
        slow.read(TileKey(*SLOW))
    assert time.monotonic() - start < 0.5

    small = HttpTileSource(url(server), allow_network=True, max_tile_bytes=100)
    with pytest.raises(CorruptTileError, match="larger than"):
        small.read(keys[0])


def test_wmts_template_and_refused_templates(server: TileServer) -> None:
    wmts = HttpTileSource(
        url(server, "wmts/layer/GoogleMapsCompatible/{TileMatrix}/{TileRow}/{TileCol}"),
        allow_network=True,
    )
    key = TileKey(ZOOM, CENTRE.x, CENTRE.y)
    assert wmts.url(key).endswith(f"/{ZOOM}/{CENTRE.y}/{CENTRE.x}")
    assert wmts.read(key) is None  # served rows/cols swap: our server has no such tile
    for bad in (
        "ftp://127.0.0.1/{z}/{x}/{y}.png",
        "http:///{z}/{x}/{y}.png",
        "http://127.0.0.1/{z}/{x}.png",
        "http://127.0.0.1/{z}/{x}/{y}/{s}.png",
        "file:///etc/{z}/{x}/{y}",
    ):
        with pytest.raises(TileSourceError):
            HttpTileSource(bad)
    assert server.requests == [f"/wmts/layer/GoogleMapsCompatible/{ZOOM}/{CENTRE.y}/{CENTRE.x}"]


def test_cached_http_source_keeps_offline_tiles_separate_per_url(tmp_path: Path) -> None:
    first = HttpTileSource("http://127.0.0.1:9/a/{z}/{x}/{y}.png")
    second = HttpTileSource("http://127.0.0.1:9/b/{z}/{x}/{y}.png")
    assert first.cache_namespace != second.cache_namespace
    cached = CachedTileSource(first, MemoryTileCache(), tmp_path)
    assert cached.read(TileKey(ZOOM, CENTRE.x, CENTRE.y)) is None
    assert cached.info()["network"] == "off"
