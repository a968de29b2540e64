"""`sky2ground train`: train SkyNet (or a VGGT-style baseline) from a config/train/*.yaml file.

Multi-GPU / multi-node: launch the same command under `torchrun --nproc-per-node N ...`.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="train SkyNet / baselines on multi-altitude scenes (torchrun for DDP)",
        description=(
            "Train with L = L_cam,sat + 0.4 L_cam,ground/aerial + L_depth, AdamW + warmup/cosine, "
            "optional P-VS / CA-CS curricula, AMP on CUDA and gradient clipping. Writes "
            "metrics.csv, val.csv, TensorBoard logs, checkpoints/ and model.safetensors under "
            "run.out_dir. Under torchrun every process trains on its own share of each batch "
            "(gloo on CPU, nccl on CUDA); only rank 0 writes."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="config/train/<name>.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. --set run.steps=200 (value parsed as YAML; repeatable)",
    )
    parser.add_argument("--out", help="output directory (overrides run.out_dir)")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="resume from a checkpoint file, or (no value) from <out>/checkpoints/last.pt when "
        "there is one (else start the run)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="train at most this long, then checkpoint and stop (continue with --resume)",
    )
    parser.set_defaults(func=run)


def stop_on_signals(trainer: Any) -> None:
    """SIGTERM or a first Ctrl-C checkpoint after the current step and stop; a second Ctrl-C
    interrupts at once."""

    def request_stop(signum: int, _frame: object) -> None:
        trainer.stop_requested = True
        print(f"\n{signal.Signals(signum).name}: checkpointing after this step, then stopping")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def run(args: argparse.Namespace) -> int:
    """Load and validate the config, then train; returns 2 on configuration errors."""
    from sky2ground_ros.training.checkpoint import LAST_NAME, CheckpointError
    from sky2ground_ros.training.config import ConfigError, load_config
    from sky2ground_ros.training.distributed import init_distributed, shutdown
    from sky2ground_ros.training.trainer import CHECKPOINT_DIR, Trainer

    overrides = list(args.overrides) + ([f"run.out_dir={args.out}"] if args.out else [])
    try:
        config = load_config(args.config, overrides)
    except ConfigError as error:
        print(f"invalid training config: {error}")
        return 2
    resume = args.resume
    context = init_distributed(config.run.device)
    if resume == "auto":
        resume = Path(config.run.out_dir) / CHECKPOINT_DIR / LAST_NAME
        if not resume.is_file():  # the first segment of a run that is resumed every time
            if context.is_main:
                print(f"no checkpoint at {resume} yet: starting the run")
            resume = None
    try:
        trainer = Trainer(config, context)
        if context.is_main:
            print(
                f"{config.name}: {trainer.origin}; {context.world_size} process(es) on "
                f"{context.device}; {config.run.steps} steps of batch "
                f"{config.run.batch_size * context.world_size}; outputs in {config.run.out_dir}"
            )
        stop_on_signals(trainer)
        budget = None if args.minutes is None else 60.0 * args.minutes
        result = trainer.fit(resume, budget)
    except (CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"training failed: {error}")
        shutdown(context, barrier=False)
        return 1
    shutdown(context)
    if context.is_main and not result.finished:
        print(
            f"stopped at step {result.steps} of {config.run.steps} after "
            f"{result.train_seconds / 60:.1f} training minutes; checkpoint in "
            f"{Path(config.run.out_dir) / CHECKPOINT_DIR}; continue with --resume"
        )
    if context.is_main:
        val = ", ".join(f"{k}={v:.4f}" for k, v in result.last_val.items())
        print(
            f"done: {result.steps} steps in {result.train_seconds:.1f} s; last train loss "
            f"{result.last_train.get('loss', float('nan')):.4f}; val {val or '(no val_scenes)'}; "
            f"weights {result.weights}"
        )
    return 0
