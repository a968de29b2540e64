"""`sky2ground selfcheck`: environment checks plus a live TF round trip over local DDS."""

from __future__ import annotations

import argparse

from sky2ground_ros.cli.environment_checks import format_results, run_checks


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `selfcheck` subcommand."""
    parser = subparsers.add_parser(
        "selfcheck", help="check the environment and send a TFMessage through local DDS"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 only if every required component works."""
    results = run_checks()
    print(format_results(results))
    if any(r.required and not r.ok for r in results):
        print("\nselfcheck FAILED: required components missing (run `make env`)")
        return 1
    from sky2ground_ros.ros.selfcheck import tf_loopback_roundtrip

    try:
        latency = tf_loopback_roundtrip()
    except RuntimeError as error:
        print(f"\nselfcheck FAILED: {error}")
        return 1
    print(f"\nTF round trip over local DDS: ok ({latency * 1000:.1f} ms)")
    print("selfcheck passed")
    return 0
