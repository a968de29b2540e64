"""DistributedDataParallel on CPU: 2 gloo processes on 127.0.0.1 end a step with identical weights;
`sky2ground train` runs under torchrun with only rank 0 writing."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from test_training_support import make_scenes, tiny_config

from sky2ground_ros.training.batches import RankBatchSampler, build_curriculum
from sky2ground_ros.training.distributed import DistContext, shutdown
from sky2ground_ros.training.trainer import Trainer

LOOPBACK = {"MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, port: int, scenes: Path, out: Path) -> None:
    """One DDP rank: a single training step, then dump its weights before and after."""
    os.environ.update(LOOPBACK)
    os.environ.update(MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    config = tiny_config(
        scenes,
        out / "run",
        optim={"warmup_steps": 0},
        run={"steps": 1, "batch_size": 1, "device": "cpu", "threads": 1},
    )
    trainer = Trainer(config)
    initial = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.fit()
    torch.save({"initial": initial, "final": trainer.model.state_dict()}, out / f"rank{rank}.pt")
    shutdown(trainer.context)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scenes(tmp_path_factory.mktemp("ddp_scenes"))


def test_ranks_train_on_different_samples(scenes: Path, tmp_path: Path) -> None:
    config = tiny_config(scenes, tmp_path, run={"steps": 3, "batch_size": 1})
    batches = []
    for rank in range(2):
        context = DistContext(rank=rank, world_size=2, local_rank=rank, device=torch.device("cpu"))
        curriculum = build_curriculum(config, num_scenes=2, world_size=2)
        batches.append([b[0] for b in RankBatchSampler(curriculum, 1, context)])
    assert len(batches[0]) == len(batches[1]) == 3
    assert all(a.seed != b.seed for a, b in zip(*batches, strict=True))


def test_two_gloo_processes_end_a_step_with_identical_weights(scenes: Path, tmp_path: Path) -> None:
    mp.spawn(_rank_main, args=(_free_port(), scenes, tmp_path), nprocs=2, join=True)
    rank0, rank1 = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    assert rank0["final"].keys() == rank1["final"].keys()
    for name, value in rank0["final"].items():
        assert torch.equal(value, rank1["final"][name]), name
    changed = [k for k, v in rank0["final"].items() if not torch.equal(v, rank0["initial"][k])]
    assert len(changed) > 10  # the step did update the (identical) weights
    assert (tmp_path / "run" / "model.safetensors").is_file()


def test_train_cli_under_torchrun(scenes: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: ddp\n"
        f"data: {{train_scenes: {scenes}, image_size: 56}}\n"
        "optim: {warmup_steps: 1}\n"
        "run: {steps: 2, batch_size: 1, log_every: 1, device: cpu, threads: 1}\n"
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["--master-addr", "127.0.0.1", "--master-port", str(_free_port())]
    command += ["-m", "sky2ground_ros.cli.main", "train", "--config", str(config)]
    command += ["--out", str(out)]
    env = {**os.environ, **LOOPBACK, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 process(es) on cpu" in done.stdout
    assert done.stdout.count("done: 2 steps") == 1  # only rank 0 reports and writes
    with (out / "metrics.csv").open(newline="") as f:
        assert [row["step"] for row in csv.DictReader(f)] == ["1", "2"]
    assert (out / "model.safetensors").is_file()
