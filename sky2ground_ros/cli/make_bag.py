"""`sky2ground make-bag`: record a rosbag2 from a seeded synthetic scene (no ROS needed).

A drive along the town's main street or a drone orbit, rendered by the project's ray caster:
camera images with CameraInfo, a GNSS fix with correlated noise, drifting wheel odometry,
/tf, /tf_static (``earth → map`` and the mounts) and exact ground truth. ``--orthophoto``
also writes the scene's GeoTIFF, a tile source for `sky2ground replay`, and its DEM
(``<stem>_dem.tif``) for the classical matcher (`replay --model classical --dem`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sky2ground_ros.replay.make_bag import BagSpec

DEFAULT_ORTHO_GSD_M = 1.0


def add_bag_arguments(parser: argparse.ArgumentParser, duration_s: float) -> None:
    """Options shared by `make-bag` and `demo`: the scene, the platform and the sensors."""
    parser.add_argument("--seed", type=int, default=1000, help="scene seed (default 1000)")
    parser.add_argument("--platform", default="drive", choices=["drive", "flight"])
    parser.add_argument(
        "--duration", type=float, default=duration_s, help=f"seconds (default {duration_s:g})"
    )
    parser.add_argument("--speed", type=float, help="m/s (default: 8 driving, 12 flying)")
    parser.add_argument("--camera-rate", type=float, default=2.0, help="images per second")
    parser.add_argument("--width", type=int, default=160, help="image width (px)")
    parser.add_argument("--height", type=int, default=120, help="image height (px)")
    parser.add_argument("--compressed", action="store_true", help="JPEG CompressedImage")
    parser.add_argument("--gnss-sigma", type=float, default=3.0, help="GNSS noise sigma (m)")
    parser.add_argument("--storage", default="mcap", choices=["mcap", "sqlite3"])


def bag_spec(args: argparse.Namespace) -> BagSpec:
    """The `BagSpec` of the parsed options."""
    from sky2ground_ros.replay.make_bag import BagSpec

    return BagSpec(
        platform=args.platform,
        duration_s=args.duration,
        speed_mps=args.speed,
        camera_rate_hz=args.camera_rate,
        width=args.width,
        height=args.height,
        compressed=args.compressed,
        gnss_sigma_m=args.gnss_sigma,
        storage=args.storage,
        seed=args.seed,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `make-bag` subcommand."""
    parser = subparsers.add_parser(
        "make-bag",
        help="write a rosbag2 (camera, GNSS, odometry, TF, ground truth) from a synthetic scene",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, required=True, help="bag directory to create")
    add_bag_arguments(parser, duration_s=20.0)
    parser.add_argument(
        "--orthophoto",
        type=Path,
        help="also write the scene's GeoTIFF here, and its DEM as <stem>_dem.tif beside it",
    )
    parser.add_argument(
        "--ortho-gsd",
        type=float,
        default=DEFAULT_ORTHO_GSD_M,
        help=f"orthophoto metres per pixel (default {DEFAULT_ORTHO_GSD_M:g})",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Render and record; exit 1 when the bag cannot be written (message on stderr)."""
    from sky2ground_ros.data.orthophoto import dem_path_for, write_orthophoto
    from sky2ground_ros.replay.make_bag import make_bag, scene_renderer

    if args.out.exists():
        print(f"make-bag: {args.out} exists: choose another path", file=sys.stderr)
        return 1
    try:
        spec = bag_spec(args)
        renderer = scene_renderer(args.seed)
        summary = make_bag(renderer, args.out, spec, progress=True)
    except ValueError as error:
        print(f"make-bag: {error}", file=sys.stderr)
        return 1
    print(f"{summary.path}: {summary.frames} camera frames over {summary.duration_s:g} s")
    origin = summary.origin
    print(f"map origin (lat, lon, alt): {origin.lat0:.7f}, {origin.lon0:.7f}, {origin.alt0:.1f}")
    for topic, msgtype in sorted(summary.topics.items()):
        print(f"  {topic} [{msgtype}]")
    if args.orthophoto:
        args.orthophoto.parent.mkdir(parents=True, exist_ok=True)
        dem = dem_path_for(args.orthophoto)
        print(f"orthophoto: {write_orthophoto(renderer, args.orthophoto, args.ortho_gsd, dem=dem)}")
        print(f"DEM (surface heights): {dem}")
    return 0
