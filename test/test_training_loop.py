"""Training on tiny rendered scenes: the camera loss falls, resume is exact, logs are written."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_training_support import make_scenes, tiny_config

from sky2ground_ros.cli.main import main
from sky2ground_ros.model.weights import load_model
from sky2ground_ros.training.checkpoint import CheckpointError, load_checkpoint
from sky2ground_ros.training.metrics_log import tensorboard_available
from sky2ground_ros.training.trainer import Trainer

LOSS_STEPS = 300


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scenes(tmp_path_factory.mktemp("train_scenes"))


def _rows(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def test_camera_loss_falls_clearly_within_a_few_hundred_steps(scenes: Path, tmp_path: Path) -> None:
    config = tiny_config(
        scenes,
        tmp_path / "run",
        data={"view_counts": {"ground": 1, "aerial": 2, "satellite": 1}},
        optim={"lr": 1e-3, "warmup_steps": 20},
        run={"steps": LOSS_STEPS, "checkpoint_every": LOSS_STEPS},
    )
    start = time.perf_counter()
    result = Trainer(config).fit()
    elapsed = time.perf_counter() - start
    rows = _rows(tmp_path / "run" / "metrics.csv")
    assert [int(r["step"]) for r in rows] == list(range(1, LOSS_STEPS + 1))
    camera = np.array([r["cam_sat_total"] + 0.4 * r["cam_ground_aerial_total"] for r in rows])
    first, last = camera[:20].mean(), camera[-50:].mean()
    assert last < 0.6 * first, f"camera loss {first:.3f} -> {last:.3f}"  # measured: ~0.45
    assert np.isfinite([r["loss"] for r in rows]).all()
    assert elapsed < 180, f"{LOSS_STEPS} steps took {elapsed:.0f} s"
    assert result.steps == LOSS_STEPS and result.weights is not None
    assert load_model(result.weights).config.msa


def test_resume_from_half_way_gives_identical_weights(scenes: Path, tmp_path: Path) -> None:
    sections = {
        "curriculum": {"pvs": True, "cacs": True},
        "run": {"steps": 6, "checkpoint_every": 3, "keep_checkpoints": 5},
    }
    straight = Trainer(tiny_config(scenes, tmp_path / "straight", **sections)).fit()
    half = tmp_path / "straight" / "checkpoints" / "step_00000003.pt"
    assert load_checkpoint(half)["sampler"]["position"] == 6  # 3 steps x batch 2
    resumed = Trainer(tiny_config(scenes, tmp_path / "resumed", **sections)).fit(resume=half)

    a, b = load_file(straight.weights), load_file(resumed.weights)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    at_half = load_checkpoint(half)["model"]
    assert not all(torch.equal(at_half[k], a[k]) for k in a)  # the last 3 steps did change them
    rows_a = _rows(tmp_path / "straight" / "metrics.csv")[3:]
    rows_b = _rows(tmp_path / "resumed" / "metrics.csv")
    assert [r["loss"] for r in rows_a] == [r["loss"] for r in rows_b]


def test_a_run_stopped_by_its_budget_resumes_to_identical_weights(
    scenes: Path, tmp_path: Path
) -> None:
    """A spent budget checkpoints after the step it ends in, off the checkpoint_every grid."""
    sections = {"run": {"steps": 5, "checkpoint_every": 100}}
    straight = Trainer(tiny_config(scenes, tmp_path / "straight", **sections)).fit()
    stopped = Trainer(tiny_config(scenes, tmp_path / "split", **sections)).fit(budget_s=0.0)
    assert not stopped.finished and stopped.steps == 1
    last = tmp_path / "split" / "checkpoints" / "last.pt"
    assert load_checkpoint(last)["step"] == 1
    resumed = Trainer(tiny_config(scenes, tmp_path / "split", **sections)).fit(resume=last)
    assert resumed.finished and resumed.steps == 5
    a, b = load_file(straight.weights), load_file(resumed.weights)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_checkpoints_and_stops_the_train_command(scenes: Path, tmp_path: Path) -> None:
    """`sky2ground train` under SIGTERM (a scheduler, a shutdown) keeps its work and exits 0;
    --resume then carries on from where it stopped."""
    out = tmp_path / "out"
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: sig\n"
        f"data: {{train_scenes: {scenes}, image_size: 56}}\n"
        "optim: {warmup_steps: 1}\n"
        "run: {steps: 100000, batch_size: 1, log_every: 1, checkpoint_every: 100000, threads: 1}\n"
    )
    command = [sys.executable, "-m", "sky2ground_ros.cli.main", "train", "--config", str(config)]
    command += ["--out", str(out), "--resume"]  # no checkpoint yet: the run starts
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (out / "metrics.csv").is_file() or len(_rows(out / "metrics.csv")) < 2:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "no checkpoint at" in output
    step = load_checkpoint(out / "checkpoints" / "last.pt")["step"]
    assert 2 <= step < 100000 and f"stopped at step {step} of 100000" in output
    assert (out / "model.safetensors").is_file()
    argv = ["train", "--config", str(config), "--out", str(out), "--resume", "--minutes", "0"]
    assert main(argv) == 0  # a budget of 0 minutes: one more step, then stop again
    assert load_checkpoint(out / "checkpoints" / "last.pt")["step"] == step + 1


def test_train_cli_writes_logs_checkpoints_and_resumes(scenes: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: cli\n"
        f"data: {{train_scenes: {scenes}, val_scenes: {scenes}, image_size: 56}}\n"
        "optim: {warmup_steps: 1}\n"
        "run: {steps: 4, batch_size: 1, log_every: 2, checkpoint_every: 2, threads: 1}\n"
    )
    out = tmp_path / "out"
    argv = ["train", "--config", str(config), "--out", str(out)]
    assert main([*argv, "--set", "run.steps=0"]) == 2
    assert main([*argv, "--set", "optim.warmup_stepz=1"]) == 2
    assert main(argv) == 0
    assert [int(r["step"]) for r in _rows(out / "metrics.csv")] == [2, 4]
    assert [int(r["step"]) for r in _rows(out / "val.csv")] == [4]
    assert (out / "model.safetensors").is_file() and (out / "config.yaml").is_file()
    assert (out / "checkpoints" / "last.pt").is_file()
    assert tensorboard_available() and any((out / "tensorboard").glob("events.out.tfevents.*"))
    assert main([*argv, "--resume"]) == 0  # already at the last step: nothing left to do
    assert [int(r["step"]) for r in _rows(out / "metrics.csv")] == [2, 4]
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "missing.pt")


def test_training_refuses_a_scene_held_out_for_evaluate_geo(tmp_path: Path) -> None:
    """A training set rendered from an evaluate-geo seed would leak the yardstick's scenes."""
    from sky2ground_ros.data.seeds import GEO_EVAL_SEED_BASE

    held_out = make_scenes(tmp_path / "scenes", scenes=1, seed=GEO_EVAL_SEED_BASE)
    with pytest.raises(ValueError, match="held out for evaluate-geo"):
        Trainer(tiny_config(held_out, tmp_path / "run")).fit()
