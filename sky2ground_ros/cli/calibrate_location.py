"""`sky2ground calibrate-location`: fit a location-head checkpoint's map temperature on a
held-out calibration split and write the calibrated checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `calibrate-location` subcommand."""
    parser = subparsers.add_parser(
        "calibrate-location",
        help="fit location_temperature of a location-head checkpoint on calibration scenes",
        description=(
            "Read the location head's maps, given the windows' priors, on location windows of "
            "held-out calibration scenes (drawn as the training config draws them). The "
            "temperature of the logits at which 68 % of the east / north errors of the windows "
            "passing the localizer's gate fall within one sigma becomes the checkpoint's "
            "location_temperature; the coverage table is printed and written beside --out."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="the model's training config")
    parser.add_argument("--weights", type=Path, required=True, help="checkpoint to calibrate")
    parser.add_argument(
        "--scenes", type=Path, required=True, help="calibration scenes (neither train nor test)"
    )
    parser.add_argument("--windows-per-scene", type=int, default=8)
    parser.add_argument(
        "--min-mass",
        type=float,
        help="peak mass a window needs to count (default: the localizer's gate.min_location_mass)",
    )
    parser.add_argument("--out", type=Path, required=True, help="calibrated .safetensors")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Calibrate and save; 2 for a bad config, checkpoint or an empty calibration."""
    from dataclasses import replace

    from sky2ground_ros.localizer.pipeline import LocalizerConfig
    from sky2ground_ros.model.weights import WeightsError, load_model, save_weights
    from sky2ground_ros.training.batches import validation_batches
    from sky2ground_ros.training.config import ConfigError, load_config
    from sky2ground_ros.training.distributed import init_distributed
    from sky2ground_ros.training.location_calibration import (
        calibrated,
        calibration_windows,
        fit_temperature,
    )

    try:
        config = load_config(args.config)
        model = load_model(args.weights)
    except (ConfigError, WeightsError) as error:
        print(f"cannot calibrate: {error}")
        return 2
    if not model.config.location_head:
        print(f"cannot calibrate: {args.weights} has no location head")
        return 2
    data = replace(
        config.data, val_scenes=str(args.scenes), val_windows_per_scene=args.windows_per_scene
    )
    config = replace(config, data=data)
    batches = validation_batches(config, init_distributed("cpu"), model.config)
    min_mass = LocalizerConfig().min_location_mass if args.min_mass is None else args.min_mass
    windows = calibration_windows(model, batches)
    try:
        calibration = fit_temperature(windows, min_mass)
    except ValueError as error:
        print(f"cannot calibrate: {error}")
        return 2
    save_weights(calibrated(model, calibration), args.out)
    table = calibration.markdown()
    args.out.with_suffix(".calibration.md").write_text(table, encoding="utf-8")
    print(table, end="")
    print(f"wrote {args.out}")
    return 0
