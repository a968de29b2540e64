"""Every tile source serves the same pixels for the same area (sources written by the test)."""

import sqlite3
from pathlib import Path

import cv2
import mercantile
import numpy as np
import pytest
import rasterio
from pmtiles.convert import mbtiles_to_pmtiles
from pyproj import Transformer
from rasterio.transform import Affine

from sky2ground_ros.tiles.geotiff import GeoTiffSource
from sky2ground_ros.tiles.mbtiles import MBTilesSource
from sky2ground_ros.tiles.pmtiles_source import PMTilesSource
from sky2ground_ros.tiles.service import TileService, TileStatus
from sky2ground_ros.tiles.sources import open_tile_source
from sky2ground_ros.tiles.tile import TileKey, TileSourceError
from sky2ground_ros.tiles.xyz_dir import XYZDirectory

LAT, LON, ZOOM = 46.52, 6.63, 17
CENTRE = mercantile.tile(LON, LAT, ZOOM)
KEYS = [TileKey(ZOOM, CENTRE.x + i, CENTRE.y + j) for j in (-1, 0, 1) for i in (-1, 0, 1)]


def pattern(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth synthetic imagery as a function of web-mercator metres (RGB uint8)."""
    r = 128 + 100 * np.sin(x / 23.0) * np.cos(y / 41.0)
    g = 128 + 100 * np.cos((x + y) / 67.0)
    b = 128 + 90 * np.sin(x / 113.0 - y / 29.0)
    return np.clip(np.stack([r, g, b], -1), 0, 255).round().astype(np.uint8)


def tile_pixels(key: TileKey) -> np.ndarray:
    b = mercantile.xy_bounds(key.x, key.y, key.z)
    res = (b.right - b.left) / 256
    x = b.left + (np.arange(256) + 0.5) * res
    y = b.top - (np.arange(256) + 0.5) * res
    return pattern(*np.meshgrid(x, y))


def png(image: np.ndarray) -> bytes:
    return cv2.imencode(".png", image[..., ::-1])[1].tobytes()


def write_xyz(root: Path) -> Path:
    for key in KEYS:
        (root / str(key.z) / str(key.x)).mkdir(parents=True, exist_ok=True)
        (root / str(key.z) / str(key.x) / f"{key.y}.png").write_bytes(png(tile_pixels(key)))
    return root


def write_mbtiles(path: Path) -> Path:
    west = min(mercantile.bounds(k.x, k.y, k.z).west for k in KEYS)
    east = max(mercantile.bounds(k.x, k.y, k.z).east for k in KEYS)
    south = min(mercantile.bounds(k.x, k.y, k.z).south for k in KEYS)
    north = max(mercantile.bounds(k.x, k.y, k.z).north for k in KEYS)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
            " tile_data BLOB)"
        )
        meta = {
            "name": "test",
            "format": "png",
            "minzoom": str(ZOOM),
            "maxzoom": str(ZOOM),
            "bounds": f"{west},{south},{east},{north}",
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        db.executemany(
            "INSERT INTO tiles VALUES (?, ?, ?, ?)",
            [(k.z, k.x, k.tms_y, png(tile_pixels(k))) for k in KEYS],
        )
    return path


def write_aligned_geotiff(path: Path) -> Path:
    """A web-mercator orthophoto whose pixel grid is the z17 tile grid of the 3x3 block."""
    first = mercantile.xy_bounds(KEYS[0].x, KEYS[0].y, ZOOM)
    last = mercantile.xy_bounds(KEYS[-1].x, KEYS[-1].y, ZOOM)
    image = np.concatenate(
        [np.concatenate([tile_pixels(KEYS[3 * r + c]) for c in range(3)], 1) for r in range(3)]
    )
    transform = Affine(
        (last.right - first.left) / 768,
        0,
        first.left,
        0,
        (last.bottom - first.top) / 768,
        first.top,
    )
    profile = {"driver": "GTiff", "width": 768, "height": 768, "count": 3, "dtype": "uint8"}
    with rasterio.open(path, "w", crs="EPSG:3857", transform=transform, **profile) as out:
        out.write(image.transpose(2, 0, 1))
    return path


def write_local_tm_geotiff(path: Path, gsd: float = 0.5) -> Path:
    """What the synthetic data generator writes: a local transverse-Mercator orthophoto."""
    crs = f"+proj=tmerc +lat_0={LAT} +lon_0={LON} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    half = 320.0
    size = int(2 * half / gsd)
    east = -half + (np.arange(size) + 0.5) * gsd
    north = half - (np.arange(size) + 0.5) * gsd
    ee, nn = np.meshgrid(east, north)
    x, y = Transformer.from_crs(crs, "EPSG:3857", always_xy=True).transform(ee, nn)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8"}
    transform = Affine(gsd, 0.0, -half, 0.0, -gsd, half)
    with rasterio.open(path, "w", crs=crs, transform=transform, **profile) as out:
        out.write(pattern(x, y).transpose(2, 0, 1))
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sources")
    mbtiles = write_mbtiles(root / "area.mbtiles")
    pmtiles = root / "area.pmtiles"
    mbtiles_to_pmtiles(str(mbtiles), str(pmtiles), ZOOM)
    return {
        "xyz": write_xyz(root / "xyz"),
        "mbtiles": mbtiles,
        "pmtiles": pmtiles,
        "geotiff": write_aligned_geotiff(root / "ortho_3857.tif"),
    }


def test_same_area_same_pixels_from_every_source(sources: dict[str, Path]) -> None:
    answers = {}
    for kind, path in sources.items():
        service = TileService(open_tile_source(path), default_zoom=ZOOM)
        response = service.get_tiles(LAT, LON, 150.0)
        assert response.status == TileStatus.OK, (kind, response.message)
        assert response.skipped == ()
        answers[kind] = {t.key: t for t in response.tiles}
        service.close()
    keys = set(answers["xyz"])
    assert len(keys) >= 4 and keys <= set(KEYS)
    for kind, tiles in answers.items():
        assert set(tiles) == keys, kind
        for key, tile in tiles.items():
            assert tile.image.shape == (256, 256, 3) and tile.image.dtype == np.uint8
            assert np.array_equal(tile.image, tile_pixels(key)), (kind, key)
            assert tile.crs == "EPSG:3857" and tile.zoom == ZOOM
            assert tile.id.startswith(f"{kind}:") and tile.id.endswith(f"/{key}")
            assert tile.format == "png" and tile.data[:4] == b"\x89PNG"
            assert tile.gsd_m == pytest.approx(answers["xyz"][key].gsd_m)
            b = mercantile.bounds(key.x, key.y, key.z)
            assert tile.bounds_wgs84 == pytest.approx((b.west, b.south, b.east, b.north))


def test_local_transverse_mercator_orthophoto_is_reprojected(tmp_path: Path) -> None:
    source = GeoTiffSource(write_local_tm_geotiff(tmp_path / "site_tm.tif"))
    assert source.native_zoom == 18  # 0.5 m/px at 46.5°N: z18 is 0.41 m/px, z17 0.82 m/px
    assert source.zoom_range == (12, 20) and source.default_zoom == 18
    info = source.info()
    assert "Transverse_Mercator" in info["raster_crs"] and info["native_gsd_m"] == pytest.approx(
        0.5, rel=1e-3
    )
    service = TileService(source, default_zoom=ZOOM)
    response = service.get_tiles(LAT, LON, 100.0)
    assert response.status == TileStatus.OK, response.message
    for tile in response.tiles:
        diff = np.abs(tile.image.astype(int) - tile_pixels(tile.key).astype(int))
        assert diff.mean() < 1.0 and np.percentile(diff, 99) <= 3, tile.id
    far = service.get_tiles(LAT + 0.02, LON, 100.0)
    assert far.status == TileStatus.NO_COVERAGE and "no coverage" in far.message
    source.close()


def test_geotiff_partial_tiles_are_masked_black(tmp_path: Path) -> None:
    source = GeoTiffSource(write_local_tm_geotiff(tmp_path / "small.tif", gsd=1.0))
    # a tile straddling the raster's eastern edge (320 m east of the centre)
    edge = mercantile.tile(LON + 320.0 / 76_600.0, LAT, ZOOM)
    tile = source.read(TileKey(ZOOM, edge.x, edge.y))
    assert tile is not None
    black = np.all(tile.image == 0, axis=2)
    assert black[:, -1].all() and not black[:, 0].any()  # raster to the west, nothing east
    east_of_edge = mercantile.tile(LON + 0.03, LAT, ZOOM)
    assert source.read(TileKey(ZOOM, east_of_edge.x, east_of_edge.y)) is None
    source.close()


def test_open_tile_source_dispatch_and_info(sources: dict[str, Path], tmp_path: Path) -> None:
    expected = {"xyz": XYZDirectory, "mbtiles": MBTilesSource, "pmtiles": PMTilesSource}
    for kind, path in sources.items():
        with open_tile_source(path) as source:
            assert source.kind == kind
            assert type(source) is expected.get(kind, GeoTiffSource)
            info = source.info()
            assert info["default_zoom"] == ZOOM
            west, south, east, north = info["bounds_wgs84"]
            assert west < LON < east and south < LAT < north
    with open_tile_source(sources["mbtiles"].as_uri()) as source:
        assert source.kind == "mbtiles"
    for bad in (tmp_path / "missing.mbtiles", tmp_path / "notes.txt", "ftp://example.com/a"):
        with pytest.raises(TileSourceError):
            open_tile_source(bad)
    (tmp_path / "fake.pmtiles").write_bytes(b"not an archive at all")
    (tmp_path / "fake.mbtiles").write_bytes(b"SQLite format 3\x00" + b"\x00" * 50)
    (tmp_path / "fake.tif").write_bytes(b"II*\x00garbage")
    for name in ("fake.pmtiles", "fake.mbtiles", "fake.tif"):
        with pytest.raises(TileSourceError):
            open_tile_source(tmp_path / name)


def test_zoom_outside_source_range_is_no_coverage(sources: dict[str, Path]) -> None:
    service = TileService(open_tile_source(sources["mbtiles"]))
    response = service.get_tiles(LAT, LON, 100.0, zoom=ZOOM + 2)
    assert response.status == TileStatus.NO_COVERAGE and "range" in response.message
    assert service.get_tiles(LAT, LON, 100.0, zoom=0).status == TileStatus.OK  # 0 = default
    service.close()
