"""`sky2ground evaluate-geo`: what the localizer publishes on held-out flights and drives.

For each platform and held-out scene seed, the scene's bag, orthophoto and DEM are recorded
(as `make-bag --seed S --orthophoto` would; cached in --data) and replayed through the
localizer's own path with the node's default parameters and gate, once per --model: a SkyNet
checkpoint, ``oracle`` (ground-truth poses: the pipeline's upper bound) or ``classical``
(SIFT + PnP against the tiles: the baseline). The report gives, per platform and method, the
fraction of windows that published a pose, its horizontal / height / heading error,
calibration against the published covariance and the cost per window.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sky2ground_ros.data.seeds import GEO_EVAL_SEED_BASE, GEO_EVAL_SEEDS, seed_span

DEFAULT_DATA = Path("data_out/geo_eval")
EXIT_BAD_INPUT = 2
MIN_DURATION_S = 2.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `evaluate-geo` subcommand."""
    parser = subparsers.add_parser(
        "evaluate-geo",
        help="published fraction and metres of error on held-out flights/drives (the product)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        nargs="+",
        required=True,
        metavar="M",
        help="checkpoint path, 'oracle' or 'classical' (several: one side-by-side table)",
    )
    parser.add_argument(
        "--sim3",
        nargs="+",
        default=[],
        metavar="M",
        help="checkpoint(s) with a location head to run also through the Sim(3) path "
        "(localization_mode sim3, the paper's mode), as extra rows",
    )
    parser.add_argument("--platform", default="both", choices=["flight", "drive", "both"])
    parser.add_argument("--scenes", type=int, default=4, help="held-out scenes per platform")
    parser.add_argument(
        "--seed-base",
        type=int,
        default=GEO_EVAL_SEED_BASE,
        help=f"first scene seed (held-out seeds: {seed_span(GEO_EVAL_SEEDS)})",
    )
    parser.add_argument(
        "--duration", type=float, default=20.0, help="seconds per recorded bag (default 20)"
    )
    parser.add_argument("--out", type=Path, required=True, help="report directory")
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"scenario cache (default {DEFAULT_DATA})"
    )
    parser.add_argument("--device", default="cpu", help="torch device of the checkpoints")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check every input, then evaluate; bad input exits 2 with one line and writes nothing."""
    from sky2ground_ros.data.seeds import check_geo_eval_seeds
    from sky2ground_ros.geo_evaluation.methods import parse_methods
    from sky2ground_ros.geo_evaluation.report import markdown, write_report
    from sky2ground_ros.geo_evaluation.run import evaluate_geo
    from sky2ground_ros.geo_evaluation.scenarios import PLATFORMS, ScenarioSpec, check_spec
    from sky2ground_ros.predictors.classical import CLASSICAL_IMAGE_SIZE
    from sky2ground_ros.replay.node_parameters import node_parameters

    try:
        if args.scenes < 1:
            raise ValueError(f"--scenes must be at least 1, got {args.scenes}")
        if not args.duration >= MIN_DURATION_S:
            raise ValueError(f"--duration must be at least {MIN_DURATION_S:g} s (one window)")
        seeds = list(range(args.seed_base, args.seed_base + args.scenes))
        check_geo_eval_seeds(seeds)
        methods = parse_methods(args.model, args.device, args.sim3)
        platforms = PLATFORMS if args.platform == "both" else (args.platform,)
        specs = [ScenarioSpec(p, seed, args.duration) for p in platforms for seed in seeds]
        for spec in specs:
            check_spec(spec)
    except ValueError as error:
        print(f"evaluate-geo: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    evaluation = evaluate_geo(
        methods, specs, args.data, node_parameters(), progress=not args.no_progress
    )
    context = {
        "models": list(args.model) + [f"{m} (sim3)" for m in args.sim3],
        "seeds": seeds,
        "platforms": list(platforms),
        "duration_s": args.duration,
        "classical_image_size": CLASSICAL_IMAGE_SIZE,
    }
    report = write_report(evaluation, context, args.out)
    print(markdown(report))
    print(
        f"report: {args.out / 'report.md'}, {args.out / 'report.json'}, {args.out / 'report.png'}"
    )
    return 0
