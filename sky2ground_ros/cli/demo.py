"""`sky2ground demo`: record a synthetic bag, cut a tile cache, replay it and print the errors.

A seeded synthetic town (held out from the shipped model's training scenes) is recorded as a
rosbag (camera, noisy GNSS, odometry, ground truth), its orthophoto becomes an XYZ tile
cache, and the bag is replayed with the shipped checkpoint and the node's default
registration and confidence gate. The printed report (error table, how many windows passed
the gate and why the others did not) is the text of ``<out>/replay/report.md``; the GNSS
fix row is the input prior, the baseline to beat. Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sky2ground_ros.cli.make_bag import DEFAULT_ORTHO_GSD_M, add_bag_arguments, bag_spec
from sky2ground_ros.cli.replay import (
    add_localizer_arguments,
    load_localizer_model,
    localizer_options,
)

DEFAULT_OUT = Path("runs/demo")
DEMO_DURATION_S = 20.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="synthetic bag + tile cache → replay with the shipped model → error table and plot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})"
    )
    add_bag_arguments(parser, duration_s=DEMO_DURATION_S)
    parser.add_argument(
        "--ortho-gsd",
        type=float,
        default=DEFAULT_ORTHO_GSD_M,
        help=f"orthophoto metres per pixel (default {DEFAULT_ORTHO_GSD_M:g})",
    )
    add_localizer_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 1 when it cannot (message on stderr), 0 otherwise."""
    from sky2ground_ros.model.weights import WeightsError
    from sky2ground_ros.replay.bag_types import BagError
    from sky2ground_ros.replay.demo import run_demo
    from sky2ground_ros.tiles.tile import TileError
    from sky2ground_ros.views import ViewType

    start = time.perf_counter()
    view = ViewType.AERIAL if args.platform == "flight" else ViewType.GROUND
    try:
        spec = bag_spec(args)
        options = localizer_options(args, view_type=view, storage=args.storage)
        model, label = load_localizer_model(args)
        result = run_demo(
            args.out,
            args.seed,
            spec,
            options,
            model,
            label,
            args.ortho_gsd,
            progress=not args.no_progress,
        )
    except (BagError, TileError, WeightsError, FileNotFoundError, FileExistsError) as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"demo: {error}", file=sys.stderr)
        return 1
    bag = result.bag
    print(
        f"scene seed {args.seed}: {args.platform}, {bag.frames} frames over {bag.duration_s:g} s "
        f"in {bag.path}; {result.tile_count} tiles at zoom {result.zoom} in {result.tiles}"
    )
    print(result.report.to_markdown())
    print(f"demo finished in {time.perf_counter() - start:.1f} s")
    return 0
