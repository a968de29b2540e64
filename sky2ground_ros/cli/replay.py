"""`sky2ground replay BAG --tiles SOURCE`: localize a recorded bag without ROS.

Runs the localizer node's pipeline on the bag's camera frames (bag time as the clock) and
writes a new bag with /tf and the node's ~/pose and ~/fix added, a TUM trajectory, a
GeoJSON / KML track and, when the bag has ground truth, APE/RPE and a plot over the tiles.
Topics are found by type unless named; every option defaults to the node's parameter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sky2ground_ros.predictors import CLASSICAL
from sky2ground_ros.resources import SHIPPED_MODEL

if TYPE_CHECKING:
    from sky2ground_ros.localizer.pipeline import Predictor
    from sky2ground_ros.model.skynet import SkyNet
    from sky2ground_ros.replay.discovery import ReplayOptions

NODE_DEFAULTS = {"image_size": 84, "window_size": 4, "tiles.zoom": 17, "tiles.max_tiles": 4}
"""For --help only (no rclpy import there); the values come from the node's parameter table."""


def add_localizer_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by `replay` and `demo`: model, device and the pipeline's settings."""
    parser.add_argument(
        "--model",
        type=Path,
        help=f"SkyNet weights (default: {SHIPPED_MODEL}), or 'classical' for the model-free "
        "SIFT + PnP matcher (image size 224 unless --image-size)",
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="CPU threads for inference (0: torch's)"
    )
    parser.add_argument(
        "--params-file",
        type=Path,
        help="the localizer node's parameter YAML (default: the node's defaults)",
    )
    for flag, name, kind in (
        ("--image-size", "image_size", int),
        ("--window-size", "window_size", int),
        ("--zoom", "tiles.zoom", int),
        ("--max-tiles", "tiles.max_tiles", int),
    ):
        default = NODE_DEFAULTS[name]
        parser.add_argument(flag, type=kind, help=f"node parameter {name} (default {default})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `replay` subcommand."""
    parser = subparsers.add_parser(
        "replay",
        help="localize a rosbag2 (mcap/sqlite3) offline: new bag with /tf + poses, tracks, APE",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("bag", type=Path, help="rosbag2 directory, .mcap or .db3 file")
    parser.add_argument("--tiles", required=True, help="tile source: GeoTIFF, MBTiles, z/x/y dir")
    parser.add_argument("--tile-cache", type=Path, help="disk cache for the tile source")
    parser.add_argument(
        "--out", type=Path, help="output directory (default: <bag>_sky2ground next to the bag)"
    )
    parser.add_argument(
        "--camera-topic", action="append", default=[], help="image topic (repeat for a rig)"
    )
    parser.add_argument(
        "--info-topic", action="append", default=[], help="CameraInfo topic per camera topic"
    )
    parser.add_argument(
        "--view-type",
        choices=["ground", "aerial"],
        help="the cameras' view type (default: what the bag records; make-bag records it)",
    )
    for name, what in (
        ("navsat-topic", "NavSatFix prior"),
        ("odom-topic", "Odometry (TF becomes map → odom)"),
        ("ground-truth", "ground truth Odometry/PoseStamped"),
    ):
        parser.add_argument(f"--{name}", default="auto", help=f"{what}: auto, none or a topic")
    parser.add_argument(
        "--initial-position", nargs=2, type=float, metavar=("LAT", "LON"), help="prior before GNSS"
    )
    parser.add_argument(
        "--origin", nargs=3, type=float, metavar=("LAT", "LON", "ALT"), help="map frame origin"
    )
    parser.add_argument("--storage", default="mcap", choices=["mcap", "sqlite3"])
    parser.add_argument(
        "--dem",
        type=Path,
        help="DEM GeoTIFF for --model classical (heights of the tiles' ground; default flat)",
    )
    add_localizer_arguments(parser)
    parser.set_defaults(func=run)


def uses_classical(args: argparse.Namespace) -> bool:
    """Whether ``--model classical`` was chosen."""
    return args.model is not None and str(args.model) == CLASSICAL


def load_localizer_model(args: argparse.Namespace) -> tuple[SkyNet | Predictor, str]:
    """The model of ``--model`` (default: the shipped checkpoint) and its label."""
    import torch

    from sky2ground_ros.localizer.pipeline import select_device
    from sky2ground_ros.model.weights import load_model
    from sky2ground_ros.resources import find_share_file

    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)
    if uses_classical(args):
        from sky2ground_ros.geo.elevation import ElevationModel
        from sky2ground_ros.predictors.classical import ClassicalPredictor

        dem = getattr(args, "dem", None)
        elevation = None if dem is None else ElevationModel(dem)
        where = "flat ground" if dem is None else f"DEM {dem}"
        return ClassicalPredictor(elevation), f"classical SIFT + PnP matcher ({where})"
    path = args.model
    if path is None:
        try:
            path = find_share_file("sky2ground_ros", SHIPPED_MODEL)
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"the shipped checkpoint {SHIPPED_MODEL} is missing ({error}); "
                "train it (make train) or pass --model"
            ) from error
    if not Path(path).is_file():
        raise FileNotFoundError(f"no model file {path}")
    return load_model(path, select_device(args.device)), str(path)


def localizer_options(args: argparse.Namespace, **choices: Any) -> ReplayOptions:
    """`ReplayOptions` from the node's parameters, ``--params-file``, flags and ``choices``."""
    from sky2ground_ros.predictors.classical import CLASSICAL_IMAGE_SIZE
    from sky2ground_ros.replay.discovery import ReplayOptions
    from sky2ground_ros.replay.node_parameters import node_parameters

    image_size = args.image_size
    if image_size is None and uses_classical(args):
        image_size = CLASSICAL_IMAGE_SIZE
    overrides = {
        name: value
        for name, value in (
            ("image_size", image_size),
            ("window_size", args.window_size),
            ("tiles.zoom", args.zoom),
            ("tiles.max_tiles", args.max_tiles),
            ("initial_pose", getattr(args, "initial_position", None)),
            ("origin", getattr(args, "origin", None)),
        )
        if value is not None
    }
    return ReplayOptions(parameters=node_parameters(args.params_file, overrides), **choices)


def run(args: argparse.Namespace) -> int:
    """Replay the bag; exit 1 for unusable input (message on stderr), 0 otherwise."""
    from sky2ground_ros.model.weights import WeightsError
    from sky2ground_ros.replay.bag_reader import BagReader
    from sky2ground_ros.replay.bag_types import BagError
    from sky2ground_ros.replay.discovery import resolve
    from sky2ground_ros.replay.run import run_replay
    from sky2ground_ros.tiles.service import TileService
    from sky2ground_ros.tiles.tile import TileError
    from sky2ground_ros.views import ViewType

    out = args.out or args.bag.with_name(f"{args.bag.stem}_sky2ground")
    try:
        options = localizer_options(
            args,
            camera_topics=tuple(args.camera_topic),
            info_topics=tuple(args.info_topic),
            view_type=ViewType.parse(args.view_type) if args.view_type else None,
            navsat_topic=args.navsat_topic,
            odom_topic=args.odom_topic,
            ground_truth_topic=args.ground_truth,
            storage=args.storage,
        )
        with BagReader(args.bag) as reader:
            config = resolve(reader, options)
        model, label = load_localizer_model(args)
        tiles = TileService.open(args.tiles, cache_dir=args.tile_cache)
    except (BagError, TileError, WeightsError, FileNotFoundError, ValueError) as error:
        print(f"replay: {error}", file=sys.stderr)  # a bad --dem is a ValueError too
        return 1
    try:
        report = run_replay(args.bag, model, label, tiles, config, out, not args.no_progress)
    except (BagError, FileExistsError, ValueError) as error:
        print(f"replay: {error}", file=sys.stderr)
        return 1
    finally:
        tiles.close()
    print(report.to_markdown())
    return 0
