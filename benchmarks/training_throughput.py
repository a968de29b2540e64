"""Training throughput on this machine: 1 thread, 2 threads, and 2 DDP processes x 1 thread.

Each variant runs the trainer's own step (`Trainer.train_step`, data loading included) on the
same config and scenes, round-robin `--repeats` times; the table gives the median samples/s
and its ratio to 1 thread, run in this same process. The DDP variant is two gloo processes on
127.0.0.1 (nothing leaves the machine), each with one thread and its own share of the batch.
Usage:

    .venv/bin/python benchmarks/training_throughput.py                 # the location recipe
    .venv/bin/python benchmarks/training_throughput.py --sizes 84 112 140  # image-size sweep
    .venv/bin/python benchmarks/training_throughput.py --models tiny small    # model-size sweep
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.multiprocessing as mp

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.synthetic import SyntheticConfig, generate_dataset
from sky2ground_ros.training.batches import train_loader
from sky2ground_ros.training.config import TrainConfig, load_config
from sky2ground_ros.training.distributed import init_distributed, shutdown
from sky2ground_ros.training.trainer import Trainer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("config/train/location_tiny.yaml"))
    parser.add_argument("--scenes", type=Path, help="training scenes (default: render 4 small)")
    parser.add_argument("--sizes", type=int, nargs="+", help="image sides (default: config's)")
    parser.add_argument("--models", nargs="+", help="named SkyNet configs (default: config's)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per variant and run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=2, help="round-robin rounds")
    return parser.parse_args()


def variant_config(
    base: Path, scenes: Path, model: str, size: int, threads: int, steps: int, out: Path
) -> TrainConfig:
    """The benchmarked config: the recipe's data with the named ``model`` at ``size``, from
    random weights, no validation."""
    overrides = [
        f"model.config={model}",
        "model.init_from=null",
        f"data.train_scenes={scenes}",
        "data.val_scenes=null",
        "run.val_every=0",
        "optim.warmup_steps=0",
        f"data.image_size={size}",
        f"run.steps={steps}",
        f"run.threads={threads}",
        f"run.out_dir={out}",
        "run.batch_size=1",
        "run.device=cpu",
    ]
    return load_config(base, overrides)


def samples_per_second(config: TrainConfig, warmup: int, world_size: int = 1) -> float:
    """Global samples per second of the timed steps (the first ``warmup`` are not timed)."""
    trainer = Trainer(config, init_distributed("cpu"))
    loader, _ = train_loader(config, trainer.context, trainer.model.config)
    start, timed = 0.0, 0
    for step, batch in enumerate(loader):
        if step == warmup:
            start = time.perf_counter()
        trainer.train_step(batch)
        timed += step >= warmup
    elapsed = time.perf_counter() - start
    return timed * config.run.batch_size * world_size / elapsed


def _ddp_worker(rank: int, port: int, config: TrainConfig, warmup: int, queue) -> None:
    """One gloo rank on the loopback; rank 0 reports the global samples/s."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2"
    )
    os.environ["LOCAL_RANK"] = str(rank)
    rate = samples_per_second(config, warmup, world_size=2)
    shutdown(init_distributed("cpu"))
    if rank == 0:
        queue.put(rate)


def ddp_samples_per_second(config: TrainConfig, warmup: int) -> float:
    """Two processes x 1 thread, gloo over 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    mp.start_processes(
        _ddp_worker, args=(port, config, warmup, queue), nprocs=2, start_method="spawn"
    )
    return float(queue.get())


def render_scenes(root: Path) -> Path:
    """Four small location scenes (flights and drives), rendered on the spot."""
    config = SyntheticConfig(
        size=128,
        satellite=0,
        ground=30,
        helix=replace(HelixConfig(), positions=20),
        orthophoto_gsd=1.0,
    )
    generate_dataset(root, 4, 7, config, workers=2)
    return root


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="throughput_") as work:
        work_dir = Path(work)
        scenes = args.scenes or render_scenes(work_dir / "scenes")
        base = load_config(args.config)
        sizes = args.sizes or [base.data.image_hw[0]]
        models = args.models or [base.model.config]
        steps = args.warmup + args.steps
        variants = {
            "1 thread": lambda c: samples_per_second(replace_threads(c, 1), args.warmup),
            "2 threads": lambda c: samples_per_second(replace_threads(c, 2), args.warmup),
            "2 DDP x 1 thread (gloo)": lambda c: ddp_samples_per_second(
                replace_threads(c, 1), args.warmup
            ),
        }
        cases = [(model, size) for model in models for size in sizes]
        rates: dict[tuple[str, int, str], list[float]] = {}
        for _ in range(args.repeats):
            for model, size in cases:
                out = work_dir / "run"
                config = variant_config(args.config, scenes, model, size, 1, steps, out)
                for name, measure in variants.items():
                    rates.setdefault((model, size, name), []).append(measure(config))
        print(
            f"{base.name}, batch 1 per process, {args.steps} timed steps x {args.repeats} "
            f"rounds, torch {torch.__version__}, {os.cpu_count()} CPUs"
        )
        print("| model | image px | variant | samples/s | vs 1 thread |")
        print("|---|---:|---|---:|---:|")
        for model, size in cases:
            baseline = statistics.median(rates[(model, size, "1 thread")])
            for name in variants:
                rate = statistics.median(rates[(model, size, name)])
                print(f"| {model} | {size} | {name} | {rate:.2f} | {rate / baseline:.2f}x |")


def replace_threads(config: TrainConfig, threads: int) -> TrainConfig:
    """The config with ``threads`` intra-op threads per process."""
    return replace(config, run=replace(config.run, threads=threads))


if __name__ == "__main__":
    main()
