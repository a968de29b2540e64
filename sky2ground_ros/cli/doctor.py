"""`sky2ground doctor`: report what is installed and fail when a required piece is missing."""

from __future__ import annotations

import argparse

from sky2ground_ros.cli.environment_checks import format_results, run_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `doctor` subcommand."""
    parser = subparsers.add_parser(
        "doctor", help="report installed components (torch, device, rclpy, rmw, tf2_msgs, ...)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per component; exit 1 if a required component is missing."""
    results = run_checks()
    print(format_results(results))
    missing = [r.name for r in results if r.required and not r.ok]
    if missing:
        print(f"\nrequired but missing: {', '.join(missing)} (run `make env`)")
        return 1
    return 0
