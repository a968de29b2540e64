"""The demo: a seeded synthetic scene → a rosbag and a tile cache → replay → error table.

Everything a user would otherwise bring is made here, offline: the bag (`make_bag`), the
scene's orthophoto (GeoTIFF) and an XYZ tile cache cut from it at the replay's zoom (the
layout `sky2ground tiles prefetch` writes). The replay then runs exactly as
`sky2ground replay <out>/input_bag --tiles <out>/tiles` would, with the node's default
gate; the printed table is the report's own text.

``<out>/input_bag/``  the recorded bag       ``<out>/orthophoto.tif``  the scene's GeoTIFF
``<out>/tiles/``      the XYZ tile cache     ``<out>/replay/``         the replay's outputs
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import mercantile

from sky2ground_ros.data.orthophoto import write_orthophoto
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.discovery import ReplayOptions, resolve
from sky2ground_ros.replay.make_bag import BagSpec, BagSummary, make_bag, scene_renderer
from sky2ground_ros.replay.report import ReplayReport
from sky2ground_ros.replay.run import run_replay
from sky2ground_ros.tiles.cache import CachedTileSource
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.tiles.sources import open_tile_source
from sky2ground_ros.tiles.tile import TileKey

INPUT_BAG = "input_bag"
ORTHOPHOTO = "orthophoto.tif"
TILES = "tiles"
REPLAY = "replay"
OWNED = (INPUT_BAG, ORTHOPHOTO, TILES, REPLAY)
"""What a demo writes into its directory (and replaces on the next run)."""


@dataclass(frozen=True)
class DemoResult:
    """The demo's inputs and the replay's report."""

    bag: BagSummary
    tiles: Path
    tile_count: int
    zoom: int
    report: ReplayReport


def clear_previous(out_dir: Path) -> None:
    """Remove an earlier demo's outputs; refuse a non-empty directory the demo did not make."""
    if not out_dir.exists():
        return
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in OWNED)
    if foreign:
        raise FileExistsError(
            f"{out_dir} holds files the demo did not write ({', '.join(foreign[:5])}): "
            "choose another --out"
        )
    for name in OWNED:
        path = out_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def build_tile_cache(orthophoto: Path, cache_root: Path, zoom: int) -> tuple[Path, int]:
    """Cut the orthophoto's tiles at ``zoom`` into an XYZ cache; its directory and tile count."""
    with CachedTileSource(open_tile_source(orthophoto), None, cache_root, persist=True) as cached:
        bounds = cached.bounds_wgs84
        if bounds is None or cached.disk is None:
            raise ValueError(f"{orthophoto} has no geographic bounds")
        count = 0
        for tile in mercantile.tiles(*bounds, [zoom]):
            count += cached.read(TileKey(tile.z, tile.x, tile.y)) is not None
        return cached.disk.root, count


def run_demo(
    out_dir: str | Path,
    seed: int,
    spec: BagSpec,
    options: ReplayOptions,
    model: SkyNet,
    model_label: str,
    ortho_gsd_m: float = 1.0,
    progress: bool = True,
) -> DemoResult:
    """Make the bag and the tile cache, replay the bag, save the report; see the module doc."""
    out_dir = Path(out_dir)
    clear_previous(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    renderer = scene_renderer(seed)
    bag = make_bag(renderer, out_dir / INPUT_BAG, spec, progress)
    orthophoto = write_orthophoto(renderer, out_dir / ORTHOPHOTO, ortho_gsd_m)
    zoom = int(options.parameters["tiles.zoom"])
    if zoom <= 0:
        raise ValueError("the demo needs an explicit tile zoom (it cuts its tile cache at it)")
    tiles, tile_count = build_tile_cache(orthophoto, out_dir / TILES, zoom)
    service = TileService.open(tiles)
    try:
        with BagReader(bag.path) as reader:
            config = resolve(reader, options)
        report = run_replay(
            bag.path, model, model_label, service, config, out_dir / REPLAY, progress
        )
    finally:
        service.close()
    return DemoResult(bag, tiles, tile_count, zoom, report)
