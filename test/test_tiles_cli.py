"""`sky2ground tiles info` and `sky2ground tiles prefetch`."""

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from sky2ground_ros.cli.main import main
from sky2ground_ros.tiles.service import TileService, TileStatus
from sky2ground_ros.tiles.sources import open_tile_source

LAT, LON = 40.4168, -3.7038
PNG = cv2.imencode(".png", np.full((256, 256, 3), 77, np.uint8))[1].tobytes()


@pytest.fixture
def orthophoto(tmp_path: Path) -> Path:
    path = tmp_path / "ortho.tif"
    x, y = mercantile.xy(LON, LAT)
    profile = {"driver": "GTiff", "width": 500, "height": 500, "count": 3, "dtype": "uint8"}
    transform = Affine(1.2, 0.0, x - 300.0, 0.0, -1.2, y + 300.0)
    with rasterio.open(path, "w", crs="EPSG:3857", transform=transform, **profile) as out:
        out.write(np.random.default_rng(0).integers(0, 255, (3, 500, 500), dtype=np.uint8))
    return path


def test_info_prints_json(orthophoto: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tiles", "info", str(orthophoto)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "geotiff" and info["native_zoom"] == 17
    assert info["bounds_wgs84"][0] < LON < info["bounds_wgs84"][2]
    assert main(["tiles", "info", str(orthophoto.with_suffix(".mbtiles"))]) == 1
    assert "no MBTiles file" in capsys.readouterr().err


def test_prefetch_from_geotiff_builds_an_offline_cache(
    orthophoto: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    bbox = [str(v) for v in (LON - 0.001, LAT - 0.001, LON + 0.001, LAT + 0.001)]
    args = ["tiles", "prefetch", "--bbox", *bbox, "--zoom", "16", "17"]
    assert main([*args, "--source", str(orthophoto), "--cache", str(cache)]) == 0
    out = capsys.readouterr().out
    expected = len(list(mercantile.tiles(*map(float, bbox), [16, 17])))
    assert f"{expected} tiles: 0 already cached, {expected} added" in out
    (cached_dir,) = cache.iterdir()
    assert len(list(cached_dir.rglob("*.png"))) == expected

    service = TileService(open_tile_source(cached_dir), default_zoom=17)
    assert service.get_tiles(LAT, LON, 30.0).status in (TileStatus.OK, TileStatus.PARTIAL)

    assert main([*args, "--source", str(orthophoto), "--cache", str(cache)]) == 0
    assert f"{expected} already cached, 0 added" in capsys.readouterr().out


def test_prefetch_refuses_bad_requests(
    orthophoto: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["tiles", "prefetch", "--source", str(orthophoto), "--cache", str(tmp_path)]
    assert main([*base, "--bbox", "1", "2", "0", "1", "--zoom", "10"]) == 2
    assert main([*base, "--bbox", "0", "0", "1", "1", "--zoom", "30"]) == 2
    assert main([*base, "--bbox", "0", "0", "1", "1", "--zoom", "16", "--max-tiles", "5"]) == 2
    assert "exceed --max-tiles" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tiles", "prefetch", "--bbox", "0", "0", "1", "1", "--zoom", "3", "--cache", "x"])


def test_prefetch_of_the_world_at_zoom_20_is_refused_with_its_count(
    orthophoto: Path, tmp_path: Path
) -> None:
    """The count comes from the box, not from listing 2^39 tiles (which never ended)."""
    argv = ["prefetch", "--bbox", "-180", "-85", "180", "85", "--zoom", "20"]
    cache = ["--source", str(orthophoto), "--cache", str(tmp_path / "cache")]
    done = subprocess.run(
        [sys.executable, "-m", "sky2ground_ros.cli.main", "tiles", *argv, *cache],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    expected = len(range(1 << 20)) * (
        mercantile.tile(0, -85, 20).y - mercantile.tile(0, 85, 20).y + 1
    )
    assert done.stderr.strip() == f"tiles prefetch: {expected} tiles exceed --max-tiles 10000"
    assert not (tmp_path / "cache").exists()


@pytest.fixture
def local_server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png", seen
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_prefetch_from_url_downloads_once(
    local_server: tuple[str, list[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, seen = local_server
    bbox = [str(v) for v in (LON - 0.002, LAT - 0.002, LON + 0.002, LAT + 0.002)]
    args = ["tiles", "prefetch", "--bbox", *bbox, "--zoom", "17", "--url", url]
    assert main([*args, "--cache", str(tmp_path)]) == 0
    count = len(seen)
    assert count == len(list(mercantile.tiles(*map(float, bbox), 17))) > 0
    assert main([*args, "--cache", str(tmp_path)]) == 0
    assert len(seen) == count  # second run served from the cache
    offline = TileService.open(url, tmp_path, default_zoom=17)
    assert offline.get_tiles(LAT, LON, 50.0).status == TileStatus.OK
    assert len(seen) == count
    capsys.readouterr()


def test_ros_free_packages_import_without_rclpy() -> None:
    code = (
        "import sys\n"
        "import sky2ground_ros.geo.registration, sky2ground_ros.tiles.service\n"
        "import sky2ground_ros.localizer.pipeline, sky2ground_ros.localizer.parameters\n"
        "import sky2ground_ros.localizer.inputs\n"
        "import sky2ground_ros.replay.run, sky2ground_ros.replay.demo\n"
        "import sky2ground_ros.training.trainer, sky2ground_ros.evaluation.benchmark\n"
        "import sky2ground_ros.predictors.classical, sky2ground_ros.predictors.oracle\n"
        "import sky2ground_ros.geo_evaluation.run, sky2ground_ros.geo_evaluation.report\n"
        "import sky2ground_ros.cli.main as m\n"
        "m.build_parser()\n"
        "assert 'rclpy' not in sys.modules, 'rclpy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
