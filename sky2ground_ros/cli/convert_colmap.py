"""`sky2ground convert-colmap`: add the images of a COLMAP sparse model to a scene."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `convert-colmap` subcommand."""
    parser = subparsers.add_parser(
        "convert-colmap",
        help="convert a COLMAP sparse model (+ dense depth) into a scene group",
        description=(
            "Write one view group (e.g. real_ground) of a scene from a COLMAP model "
            "(cameras/images .bin or .txt, pinhole cameras). The model must already be in the "
            "scene's ENU metres, or pass --sim3 with the similarity model -> ENU."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, help="COLMAP sparse model folder")
    parser.add_argument("--images", type=Path, required=True, help="folder of the images")
    parser.add_argument("--scene", type=Path, required=True, help="scene directory to write")
    parser.add_argument(
        "--group",
        required=True,
        choices=["real_ground", "real_aerial", "ground", "aerial", "satellite"],
        help="view group the images belong to",
    )
    parser.add_argument("--lat", type=float, help="geo-reference latitude (new scenes)")
    parser.add_argument("--lon", type=float, help="geo-reference longitude (new scenes)")
    parser.add_argument(
        "--alt", type=float, default=0.0, help="geo-reference ellipsoidal height (m)"
    )
    parser.add_argument(
        "--sim3",
        type=Path,
        help='JSON {"scale": s, "rotation": 3x3, "translation": [x, y, z]}: x_enu = s R x + t',
    )
    parser.add_argument("--depth-dir", type=Path, help="COLMAP stereo/depth_maps folder")
    parser.add_argument(
        "--depth-suffix", default=".geometric.bin", help="depth map suffix after the image name"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert; the geo-reference comes from the existing scene or from --lat/--lon/--alt."""
    import numpy as np

    from sky2ground_ros.data.colmap import convert_colmap_model
    from sky2ground_ros.data.scene_format import SCENE_FILE, GeoReference, Scene
    from sky2ground_ros.geo.sim3 import Sim3

    if (args.scene / SCENE_FILE).is_file():
        georef = Scene.load(args.scene).georef
    elif args.lat is None or args.lon is None:
        print("a new scene needs --lat and --lon (and --alt)")
        return 2
    else:
        georef = GeoReference(args.lat, args.lon, args.alt)
    sim = None
    if args.sim3:
        obj = json.loads(args.sim3.read_text())
        sim = Sim3(
            float(obj["scale"]),
            np.asarray(obj["rotation"], dtype=np.float64),
            np.asarray(obj["translation"], dtype=np.float64),
        )
    scene = convert_colmap_model(
        args.model,
        args.images,
        args.scene,
        args.group,
        georef,
        world_from_model=sim,
        depth_dir=args.depth_dir,
        depth_suffix=args.depth_suffix,
    )
    count = len(scene.select(groups=(args.group,)))
    print(f"wrote {count} frames to {args.scene / args.group}")
    return 0
