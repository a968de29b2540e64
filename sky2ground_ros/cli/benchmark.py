"""`sky2ground benchmark-baselines`: the README eval table (SkyNet vs VGGT-style baselines)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `benchmark-baselines` subcommand."""
    parser = subparsers.add_parser(
        "benchmark-baselines",
        help="evaluate the shipped checkpoints and the VGGT-style baselines in one table",
        description=(
            "Renders the seeded held-out synthetic scenes if missing, evaluates every method of "
            "the spec (shipped weights; trained first with --retrain or when missing) on the "
            "same GAS and G+S windows, writes report.md/.csv/.png to --out and prints the table."
        ),
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=Path("config/train/benchmark.yaml"),
        help="benchmark spec (default config/train/benchmark.yaml)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/benchmark"), help="report / training directory"
    )
    parser.add_argument(
        "--retrain", action="store_true", help="train every method from its config first"
    )
    parser.add_argument("--device", default="cpu", help="torch device for evaluation")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print its Markdown tables."""
    import time

    from sky2ground_ros.evaluation.benchmark import load_spec, run_benchmark
    from sky2ground_ros.model.weights import WeightsError
    from sky2ground_ros.training.config import ConfigError

    start = time.perf_counter()
    try:
        spec = load_spec(args.spec)
        evaluation = run_benchmark(spec, args.out, retrain=args.retrain, device=args.device)
    except (ConfigError, WeightsError, FileNotFoundError, ValueError) as error:
        print(f"benchmark failed: {error}")
        return 2
    print(evaluation.to_markdown())
    print(f"report in {args.out}/report.md (.csv, .png); {time.perf_counter() - start:.0f} s")
    return 0
