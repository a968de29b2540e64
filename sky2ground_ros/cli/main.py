"""Entry point of the `sky2ground` CLI.

Each subcommand lives in its own module under `sky2ground_ros.cli` and exposes
`register(subparsers)`; heavy imports (torch, rclpy) happen inside the command, so
`sky2ground --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sky2ground_ros import __version__

COMMAND_MODULES: tuple[str, ...] = (
    "sky2ground_ros.cli.doctor",
    "sky2ground_ros.cli.selfcheck",
    "sky2ground_ros.cli.export_onnx",
    "sky2ground_ros.cli.tiles",
    "sky2ground_ros.cli.make_synthetic",
    "sky2ground_ros.cli.convert_colmap",
    "sky2ground_ros.cli.train",
    "sky2ground_ros.cli.evaluate",
    "sky2ground_ros.cli.evaluate_geo",
    "sky2ground_ros.cli.calibrate_location",
    "sky2ground_ros.cli.benchmark",
    "sky2ground_ros.cli.replay",
    "sky2ground_ros.cli.make_bag",
    "sky2ground_ros.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="sky2ground",
        description="SkyNet geo-localization of ground/aerial cameras against satellite tiles.",
    )
    parser.add_argument("--version", action="version", version=f"sky2ground {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments and run the chosen subcommand; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
