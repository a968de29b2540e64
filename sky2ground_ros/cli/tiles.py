"""`sky2ground tiles`: inspect a tile source and prefetch an area into the disk cache.

``tiles info SOURCE`` prints what a source (XYZ directory, .mbtiles, .pmtiles, GeoTIFF, URL
template) serves. ``tiles prefetch`` reads every tile of a bounding box from a local source
or, with ``--url``, downloads it (the only place the network is used, and only when asked),
into ``<cache>/<source namespace>/z/x/y.<ext>`` — the layout the tile server reads offline.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `tiles` command with its `info` and `prefetch` subcommands."""
    parser = subparsers.add_parser("tiles", help="satellite tile sources and the offline cache")
    commands = parser.add_subparsers(dest="tiles_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)

    info = commands.add_parser("info", help="describe a tile source (type, zooms, coverage)")
    info.add_argument("source", help="directory of z/x/y tiles, .mbtiles, .pmtiles, .tif or URL")
    info.set_defaults(func=run_info)

    prefetch = commands.add_parser("prefetch", help="fill the disk cache for a bounding box")
    prefetch.add_argument(
        "--bbox",
        nargs=4,
        type=float,
        required=True,
        metavar=("WEST", "SOUTH", "EAST", "NORTH"),
        help="area in WGS84 degrees",
    )
    prefetch.add_argument(
        "--zoom", nargs="+", type=int, required=True, help="one or more XYZ zoom levels"
    )
    origin = prefetch.add_mutually_exclusive_group(required=True)
    origin.add_argument("--source", help="local source to copy tiles from")
    origin.add_argument(
        "--url", help="XYZ/WMTS URL template to download from (enables the network)"
    )
    prefetch.add_argument("--cache", required=True, help="cache root directory")
    prefetch.add_argument(
        "--max-tiles", type=int, default=10_000, help="refuse larger requests (default 10000)"
    )
    prefetch.add_argument(
        "--timeout", type=float, default=10.0, help="seconds per HTTP request (default 10)"
    )
    prefetch.set_defaults(func=run_prefetch)


def run_info(args: argparse.Namespace) -> int:
    """Print the source description as JSON; exit 1 when it cannot be opened."""
    from sky2ground_ros.tiles.sources import open_tile_source
    from sky2ground_ros.tiles.tile import TileSourceError

    try:
        with open_tile_source(args.source) as source:
            print(json.dumps(source.info(), indent=2))
    except TileSourceError as error:
        print(f"tiles info: {error}", file=sys.stderr)
        return 1
    return 0


def run_prefetch(args: argparse.Namespace) -> int:
    """Read every tile of the box through the disk cache; exit 1 if any tile failed."""
    import mercantile
    from tqdm import tqdm

    from sky2ground_ros.tiles.cache import CachedTileSource
    from sky2ground_ros.tiles.http_fetcher import HttpTileSource
    from sky2ground_ros.tiles.selection import MAX_LATITUDE, box_tile_count
    from sky2ground_ros.tiles.sources import open_tile_source
    from sky2ground_ros.tiles.tile import MAX_ZOOM, TileError, TileKey

    west, south, east, north = args.bbox
    if not (
        -180 <= west <= 180 and -180 <= east <= 180 and -MAX_LATITUDE < south < north < MAX_LATITUDE
    ):
        print("tiles prefetch: --bbox must be WEST SOUTH EAST NORTH in degrees", file=sys.stderr)
        return 2
    if any(not 0 <= z <= MAX_ZOOM for z in args.zoom):
        print(f"tiles prefetch: zoom levels must be in [0, {MAX_ZOOM}]", file=sys.stderr)
        return 2
    zooms = sorted(set(args.zoom))
    count = sum(box_tile_count(west, south, east, north, z) for z in zooms)
    if count > args.max_tiles:
        print(f"tiles prefetch: {count} tiles exceed --max-tiles {args.max_tiles}", file=sys.stderr)
        return 2
    keys = [TileKey(t.z, t.x, t.y) for t in mercantile.tiles(west, south, east, north, zooms)]
    try:
        source = (
            HttpTileSource(args.url, allow_network=True, timeout_s=args.timeout)
            if args.url
            else open_tile_source(args.source)
        )
        cached = CachedTileSource(source, None, args.cache, persist=True)
    except (TileError, OSError) as error:
        print(f"tiles prefetch: {error}", file=sys.stderr)
        return 1
    missing, failed = 0, []
    with cached:
        for key in tqdm(keys, desc="prefetch", unit="tile", file=sys.stderr):
            try:
                if cached.read(key) is None:
                    missing += 1
            except TileError as error:
                failed.append(str(error))
        stats = cached.stats
        print(
            f"{len(keys)} tiles: {stats.disk_hits} already cached, "
            f"{stats.source_reads - missing - len(failed)} added, {missing} not in the source, "
            f"{len(failed)} failed"
        )
        print(f"cache: {cached.disk.root if cached.disk else args.cache}")
    for line in failed:
        print(f"failed {line}", file=sys.stderr)
    return 1 if failed else 0
