"""The tile/cache root is a security boundary; bad and corrupt input fails safely."""

import os
import sqlite3
import threading
import time
from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest

from sky2ground_ros.tiles.cache import CachedTileSource, MemoryTileCache
from sky2ground_ros.tiles.mbtiles import MBTilesSource
from sky2ground_ros.tiles.paths import path_inside, resolve_root
from sky2ground_ros.tiles.service import TileService, TileStatus
from sky2ground_ros.tiles.tile import (
    CorruptTileError,
    TileKey,
    UnsafePathError,
    cache_namespace,
)
from sky2ground_ros.tiles.xyz_dir import XYZDirectory

LAT, LON, ZOOM = -22.95, -43.21, 16


def png_tile(value: int) -> bytes:
    return cv2.imencode(".png", np.full((256, 256, 3), value, np.uint8))[1].tobytes()


def block() -> list[TileKey]:
    t = mercantile.tile(LON, LAT, ZOOM)
    return [TileKey(ZOOM, t.x + i, t.y + j) for i in (-1, 0, 1) for j in (-1, 0, 1)]


@pytest.fixture
def xyz_root(tmp_path: Path) -> Path:
    root = tmp_path / "tiles"
    for n, key in enumerate(block()):
        folder = root / str(key.z) / str(key.x)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{key.y}.png").write_bytes(png_tile(10 * n))
    return root


@pytest.mark.parametrize(
    "address",
    [
        ("../../etc", "passwd", "0"),
        ("16", "..", "passwd"),
        ("16", "1/../../x", "2"),
        ("-1", "0", "0"),
        ("16", "0x10", "3"),
        ("16", "1e3", "3"),
        ("16", "", "3"),
        ("16", "3\x00", "3"),
        ("99", "0", "0"),
        ("16", "65536", "0"),
    ],
)
def test_malformed_tile_addresses_are_refused(address: tuple[str, str, str]) -> None:
    with pytest.raises(ValueError):
        TileKey.parse(*address)


def test_tile_keys_validate_types_and_ranges() -> None:
    with pytest.raises(ValueError):
        TileKey(16, "../../etc/passwd", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TileKey(3, 8, 0)
    with pytest.raises(ValueError):
        TileKey(True, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TileKey(2.0, 0, 0)  # type: ignore[arg-type]
    assert TileKey(np.int64(3), 7, 0) == TileKey(3, 7, 0)
    assert TileKey(3, 7, 0).tms_y == 7


def test_path_components_cannot_leave_the_root(tmp_path: Path) -> None:
    root = resolve_root(tmp_path)
    for bad in ("..", ".", "../etc", "a/b", "/etc", "", ".hidden", "a\x00b", "x" * 200):
        with pytest.raises(UnsafePathError):
            path_inside(root, bad)
    assert path_inside(root, "16", "3", "4.png") == root / "16" / "3" / "4.png"


def test_symlinks_out_of_the_root_are_refused(xyz_root: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "0.png").write_bytes(png_tile(255))
    key = block()[4]
    tile_file = xyz_root / str(key.z) / str(key.x) / f"{key.y}.png"
    tile_file.unlink()
    os.symlink(secret / "0.png", tile_file)
    source = XYZDirectory(xyz_root)
    with pytest.raises(UnsafePathError):
        source.read(key)
    # a whole zoom directory linked elsewhere
    other = TileKey(ZOOM + 1, 0, 0)
    os.symlink(secret, xyz_root / str(other.z))
    with pytest.raises(UnsafePathError):
        source.read(other)
    with pytest.raises(UnsafePathError):
        source.write(TileKey(ZOOM + 1, 0, 1), png_tile(1), "png")
    assert sorted(p.name for p in secret.iterdir()) == ["0.png"]

    response = TileService(source, default_zoom=ZOOM).get_tiles(LAT, LON, 50.0)
    assert response.status == TileStatus.PARTIAL
    assert any("refusing" in s for s in response.skipped)
    assert not any(str(tmp_path) in s for s in response.skipped)  # relative to the source
    assert all(t.image.max() < 255 for t in response.tiles)


def test_corrupt_and_truncated_tiles_are_skipped_and_reported(xyz_root: Path) -> None:
    keys = block()
    centre, east = keys[4], keys[7]
    path = xyz_root / str(centre.z) / str(centre.x) / f"{centre.y}.png"
    path.write_bytes(path.read_bytes()[:300])  # truncated
    east_path = xyz_root / str(east.z) / str(east.x) / f"{east.y}.png"
    east_path.write_bytes(b"<html>not a tile</html>")
    source = XYZDirectory(xyz_root)
    with pytest.raises(CorruptTileError, match="truncated"):
        source.read(centre)
    response = TileService(source, default_zoom=ZOOM).get_tiles(LAT, LON, 300.0)
    assert response.status == TileStatus.PARTIAL
    skipped = "\n".join(response.skipped)
    assert f"xyz:tiles/{centre}: " in skipped and f"xyz:tiles/{east}: " in skipped
    assert {t.key for t in response.tiles}.isdisjoint({centre, east})
    assert len(response.tiles) >= 2 and len(response.tiles) + len(response.skipped) >= 4


def test_corrupt_mbtiles_rows_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bad.mbtiles"
    keys = block()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute("CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data)")
        db.execute("INSERT INTO metadata VALUES ('format', 'png')")
        rows = [(k.z, k.x, k.tms_y, png_tile(50)) for k in keys]
        rows[4] = (*rows[4][:3], "text, not a blob")
        rows[1] = (*rows[1][:3], png_tile(50)[:-40])
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows)
    source = MBTilesSource(path)
    response = TileService(source).get_tiles(LAT, LON, 700.0)  # all nine tiles
    assert response.status == TileStatus.PARTIAL
    assert len(response.skipped) == 2
    assert any("not a blob" in s for s in response.skipped)


def test_only_unusable_tiles_is_an_error_and_nothing_is_no_coverage(xyz_root: Path) -> None:
    for file in xyz_root.rglob("*.png"):
        file.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    service = TileService(XYZDirectory(xyz_root), default_zoom=ZOOM)
    response = service.get_tiles(LAT, LON, 50.0)
    assert response.status == TileStatus.ERROR and response.tiles == ()
    assert len(response.skipped) >= 4
    elsewhere = service.get_tiles(LAT + 1.0, LON, 50.0)
    assert elsewhere.status == TileStatus.NO_COVERAGE
    assert "no coverage" in elsewhere.message


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "zoom", "words"),
    [
        (float("nan"), 0.0, 10.0, None, "non-finite"),
        (89.0, 0.0, 10.0, None, "latitude"),
        (0.0, 181.0, 10.0, None, "longitude"),
        (LAT, LON, -5.0, None, "radius"),
        (LAT, LON, 1e7, None, "limit"),
        (LAT, LON, 1900.0, None, "limit"),
        (LAT, LON, 10.0, 99, "zoom"),
    ],
)
def test_bad_requests_get_an_error_status(
    xyz_root: Path, lat: float, lon: float, radius: float, zoom: int | None, words: str
) -> None:
    service = TileService(XYZDirectory(xyz_root), max_radius_m=2000.0, max_tiles=16)
    response = service.get_tiles(lat, lon, radius, zoom)
    assert response.status in (TileStatus.ERROR, TileStatus.NO_COVERAGE)
    assert words in response.message


def test_cache_namespaces_are_plain_names(tmp_path: Path) -> None:
    for identity in ("../../etc/passwd", "https://a.b/{z}/{x}/{y}.png?key=..%2F", "/"):
        name = cache_namespace("http", identity)
        assert path_inside(resolve_root(tmp_path), name).parent == resolve_root(tmp_path)
    cached = CachedTileSource(
        XYZDirectory(tmp_path, create=True), MemoryTileCache(), tmp_path / "cache", persist=True
    )
    assert cached.disk is not None and cached.disk.root.parent == (tmp_path / "cache").resolve()


def test_a_cache_folder_linked_outside_the_cache_root_is_refused(
    xyz_root: Path, tmp_path: Path
) -> None:
    """The source's folder inside cache_dir a symlink out: nothing is read or written there."""
    source = XYZDirectory(xyz_root)
    cache = tmp_path / "cache"
    cache.mkdir()
    outside = tmp_path / "outside"
    key = block()[4]
    (outside / str(key.z) / str(key.x)).mkdir(parents=True)
    planted = png_tile(255)
    (outside / str(key.z) / str(key.x) / f"{key.y}.png").write_bytes(planted)
    os.symlink(outside, cache / source.cache_namespace)
    with pytest.raises(UnsafePathError, match="resolves outside"):
        CachedTileSource(source, None, cache, persist=True)  # as for GeoTIFF and HTTP sources

    # linked after the cache opened: tiles come from the source, nothing lands outside
    (cache / source.cache_namespace).unlink()
    cached = CachedTileSource(source, None, cache, persist=True)
    (cache / source.cache_namespace).rmdir()
    os.symlink(outside, cache / source.cache_namespace)
    response = TileService(cached, default_zoom=ZOOM).get_tiles(LAT, LON, 50.0)
    assert response.status == TileStatus.OK
    assert all(t.data != planted for t in response.tiles)
    assert [p.name for p in outside.rglob("*") if p.is_file()] == [f"{key.y}.png"]


def test_a_request_for_millions_of_tiles_is_refused_at_once(xyz_root: Path) -> None:
    """Zoom 24 with a 1999 m radius (under the radius limit): refused before any listing."""
    (xyz_root / "24").mkdir()
    service = TileService(XYZDirectory(xyz_root), default_zoom=ZOOM)
    answers: list = []
    worker = threading.Thread(
        target=lambda: answers.append(service.get_tiles(LAT, LON, 1999.0, 24)), daemon=True
    )
    started = time.perf_counter()
    worker.start()
    worker.join(timeout=10.0)
    assert answers, "the request was still listing tiles after 10 s"
    assert time.perf_counter() - started < 2.0
    (refused,) = answers
    assert refused.status == TileStatus.ERROR
    assert "tiles at zoom 24, limit 64: ask for a smaller radius" in refused.message
    assert service.get_tiles(LAT, LON, 50.0).status == TileStatus.OK  # still serving
