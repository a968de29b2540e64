"""`sky2ground eval`: RRA/RTA@5/15/30 and AUC@30 of checkpoints on held-out scenes.

Every checkpoint sees the same deterministic GAS and G+S windows; the report (Markdown, CSV,
PNG chart) has the layout of the paper's main table, one row per checkpoint.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """Options that define the evaluation windows (shared with `benchmark-baselines`)."""
    parser.add_argument("--frames", type=int, default=6, help="frames per window (default 6)")
    parser.add_argument(
        "--windows-per-scene", type=int, default=4, help="windows per scene and setting"
    )
    parser.add_argument(
        "--image-size", type=int, default=56, help="square model input side, multiple of 14"
    )
    parser.add_argument("--seed", type=int, default=0, help="window sampling seed (default 0)")
    parser.add_argument(
        "--settings", nargs="+", default=["GAS", "G+S"], choices=["GAS", "G+S"], help="settings"
    )
    parser.add_argument("--batch-size", type=int, default=4, help="windows per forward pass")
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` subcommand."""
    parser = subparsers.add_parser(
        "eval",
        help="pose accuracy (RRA/RTA/AUC per view group) of checkpoints on held-out scenes",
        description=(
            "Evaluates one or several SkyNet weight files on the same held-out windows: GAS "
            "(ground, aerial, satellite) and G+S (no aerial frames). Metrics over all ordered "
            "frame pairs as in VGGT: RRA@5/15/30, RTA@5/15/30, AUC@30, per view group and "
            "averaged. Writes report.md, report.csv and report.png to --out."
        ),
    )
    parser.add_argument(
        "--weights", action="append", required=True, type=Path, help="weights file (repeatable)"
    )
    parser.add_argument(
        "--label", action="append", help="table row name per --weights (default: file stem)"
    )
    parser.add_argument("--scenes", type=Path, required=True, help="held-out scene directory")
    parser.add_argument("--out", type=Path, required=True, help="report directory")
    add_window_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the windows, evaluate every checkpoint, write and print the report."""
    from sky2ground_ros.evaluation.run_eval import (
        build_windows,
        evaluate_checkpoints,
        method_labels,
    )
    from sky2ground_ros.model.weights import WeightsError

    try:
        methods = method_labels(args.weights, args.label)
        windows = build_windows(
            args.scenes,
            num_frames=args.frames,
            image_size=(args.image_size, args.image_size),
            windows_per_scene=args.windows_per_scene,
            seed=args.seed,
            settings=args.settings,
        )
        evaluation = evaluate_checkpoints(methods, windows, args.device, args.batch_size)
    except (WeightsError, ValueError, FileNotFoundError) as error:
        print(f"evaluation failed: {error}")
        return 2
    paths = evaluation.save(args.out, stem="report")
    print(evaluation.to_markdown())
    counts = ", ".join(f"{w.setting}: {len(w)}" for w in windows)
    print(
        f"windows ({counts}) of {args.frames} frames; report: {', '.join(map(str, paths.values()))}"
    )
    return 0
