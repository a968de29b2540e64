"""`sky2ground make-synthetic` end to end: scenes, contact sheet, geo-referenced orthophoto."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pyproj import Transformer

from sky2ground_ros.cli.main import main
from sky2ground_ros.data.orthophoto import enu_crs_proj4, render_orthophoto
from sky2ground_ros.data.procedural_scene import generate_scene
from sky2ground_ros.data.raycast_renderer import Renderer
from sky2ground_ros.data.scene_format import Scene, discover_scenes
from sky2ground_ros.data.synthetic import scene_seed
from sky2ground_ros.views import ViewType


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("make_synthetic")
    argv = ["make-synthetic", "--out", str(out), "--scenes", "2", "--seed", "5", "--size", "32"]
    argv += ["--satellite", "2", "--aerial-positions", "2", "--ground", "3", "--preview"]
    argv += ["--orthophoto", "--ortho-gsd", "6", "--workers", "2"]
    assert main(argv) == 0
    return out


def test_scenes_are_written_in_the_scene_format(dataset: Path) -> None:
    roots = discover_scenes(dataset)
    assert [r.name for r in roots] == ["synth_0000", "synth_0001"]
    for root in roots:
        scene = Scene.load(root)
        assert {vt: len(scene.select(vt)) for vt in ViewType} == {
            ViewType.GROUND: 3,
            ViewType.AERIAL: 6,
            ViewType.SATELLITE: 2,
        }
        assert scene.source == "synthetic" and scene.metadata["dataset_seed"] == 5
        assert all(f.width == f.height == 32 and f.depth_path for f in scene.frames)
    a, b = (Scene.load(r) for r in roots)
    assert a.georef != b.georef  # every scene is its own site


def test_generation_is_deterministic(dataset: Path, tmp_path: Path) -> None:
    argv = ["make-synthetic", "--out", str(tmp_path), "--scenes", "1", "--seed", "5"]
    argv += ["--size", "32", "--satellite", "2", "--aerial-positions", "2", "--ground", "3"]
    argv += ["--workers", "1"]  # in-process; the fixture used two worker processes
    assert main(argv) == 0
    again = Scene.load(tmp_path / "synth_0000")
    first = Scene.load(dataset / "synth_0000")
    for x, y in zip(again.frames, first.frames, strict=True):
        np.testing.assert_array_equal(x.extrinsics, y.extrinsics)
        np.testing.assert_array_equal(Scene.load_image(x), Scene.load_image(y))
        np.testing.assert_array_equal(Scene.load_depth(x), Scene.load_depth(y))


def test_a_dataset_grows_by_its_next_indices(dataset: Path, tmp_path: Path) -> None:
    """--first-index renders the scenes a bigger run of the same seed would have."""
    argv = ["make-synthetic", "--out", str(tmp_path), "--scenes", "1", "--seed", "5"]
    argv += ["--size", "32", "--satellite", "2", "--aerial-positions", "2", "--ground", "3"]
    assert main([*argv, "--first-index", "1", "--workers", "1"]) == 0
    assert [r.name for r in discover_scenes(tmp_path)] == ["synth_0001"]
    grown, whole = Scene.load(tmp_path / "synth_0001"), Scene.load(dataset / "synth_0001")
    assert grown.metadata["scene_seed"] == whole.metadata["scene_seed"]
    np.testing.assert_array_equal(
        Scene.load_image(grown.frames[0]), Scene.load_image(whole.frames[0])
    )
    assert main([*argv, "--first-index", "-1"]) == 2


def test_rerun_replaces_synthetic_scenes_only(tmp_path: Path) -> None:
    argv = ["make-synthetic", "--out", str(tmp_path), "--scenes", "1", "--size", "16"]
    argv += ["--satellite", "1", "--aerial-positions", "1", "--workers", "1"]
    assert main([*argv, "--ground", "3"]) == 0
    assert main([*argv, "--ground", "1"]) == 0
    ground = tmp_path / "synth_0000" / "ground"
    assert sorted(p.name for p in (ground / "images").iterdir()) == ["gnd_000.png"]
    (tmp_path / "synth_0000" / "scene.json").unlink()
    assert main(argv) == 1  # not a synthetic scene any more: left alone


def test_contact_sheet_is_written(dataset: Path) -> None:
    sheet = cv2.imread(str(dataset / "synth_0000" / "preview.png"))
    assert sheet is not None and sheet.shape[0] > 600 and sheet.shape[1] > 600
    assert sheet.std() > 20  # not blank


def test_orthophoto_geotiff_is_georeferenced(dataset: Path) -> None:
    import rasterio

    scene = Scene.load(dataset / "synth_0000")
    with rasterio.open(dataset / "synth_0000" / "orthophoto.tif") as src:
        assert src.count == 3 and src.dtypes[0] == "uint8"
        gsd = src.transform.a
        assert gsd == 6.0 and src.transform.e == -6.0
        # the ENU origin is the centre of the raster, and CRS x/y are ENU east/north
        west, north = src.transform.c, src.transform.f
        np.testing.assert_allclose([west + src.width * gsd / 2, north - src.height * gsd / 2], 0)
        to_geo = Transformer.from_crs(src.crs.to_wkt(), "EPSG:4979", always_xy=True)
        lon, lat = to_geo.transform(0.0, 0.0)
        np.testing.assert_allclose([lat, lon], [scene.georef.latitude, scene.georef.longitude])
        image = src.read()
    assert image.std() > 10
    enu = Transformer.from_pipeline(
        f"+proj=pipeline +step +inv +proj=topocentric +lat_0={scene.georef.latitude} "
        f"+lon_0={scene.georef.longitude} +h_0=0 +ellps=WGS84 +step +inv +proj=cart "
        "+ellps=WGS84 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )
    tmerc = Transformer.from_crs("EPSG:4979", enu_crs_proj4(scene.georef), always_xy=True)
    for east, north_ in [(300.0, 150.0), (-420.0, 380.0)]:
        lon, lat, _ = enu.transform(east, north_, 0.0)
        np.testing.assert_allclose(tmerc.transform(lon, lat), [east, north_], atol=1e-3)


def test_orthophoto_pixels_sit_at_their_enu_positions() -> None:
    scene = generate_scene(scene_seed(5, 0), "ortho")
    ortho = render_orthophoto(Renderer(scene), west=-40.0, north=25.0, width=20, height=12, gsd=4.0)
    cols, rows = np.meshgrid(np.arange(20), np.arange(12))
    east = -40.0 + (cols + 0.5) * 4.0
    north = 25.0 - (rows + 0.5) * 4.0
    terrain = scene.terrain.height(east, north)
    on_ground = np.abs(ortho.surface_height - terrain) < 1e-3
    assert on_ground.mean() > 0.3  # roads and yards; the rest are roofs and trees
    above = ortho.surface_height[~on_ground] > terrain[~on_ground]
    assert above.all()
    shifted = scene.terrain.height(east + 4.0, north)
    assert (np.abs(ortho.surface_height - shifted) < 1e-3).mean() < 0.05
