"""The training loop of `sky2ground train`: SkyNet loss, AdamW + warmup/cosine, AMP, clipping,
DDP, exact resume, CSV / TensorBoard logs and a tqdm progress bar.

Outputs in run.out_dir: config.yaml, metrics.csv (train), val.csv, geo.csv (evaluate-geo on a
few held-out bags every run.geo_every steps), location_curve.png, tensorboard/,
checkpoints/step_N.pt + last.pt (resume state), model.safetensors (final weights, rank 0).
"""

from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from sky2ground_ros.evaluation.pose_metrics import pair_errors
from sky2ground_ros.model import SkyNet
from sky2ground_ros.model.pose_encoding import pose_encoding_to_extri_intri
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.training.batches import (
    gt_pose_encoding,
    location_geometry,
    to_device,
    train_loader,
    validation_batches,
)
from sky2ground_ros.training.checkpoint import (
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from sky2ground_ros.training.config import TrainConfig
from sky2ground_ros.training.distributed import (
    DistContext,
    init_distributed,
    mean_over_ranks,
    sum_over_ranks,
)
from sky2ground_ros.training.geo_curve import geo_point
from sky2ground_ros.training.initialise import build_model
from sky2ground_ros.training.location_curve import plot_location_curve
from sky2ground_ros.training.location_metrics import located_errors
from sky2ground_ros.training.losses import (
    CameraLossConfig,
    LossConfig,
    location_loss,
    loss_from_outputs,
)
from sky2ground_ros.training.metrics_log import MetricsLogger
from sky2ground_ros.training.schedule import build_optimizer, build_scheduler
from sky2ground_ros.views import ViewType

WEIGHTS_NAME = "model.safetensors"
CHECKPOINT_DIR = "checkpoints"
VAL_KEYS = ("loss", "cam_sat_total", "cam_ground_aerial_total", "depth_total")


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced (weights only on rank 0)."""

    steps: int
    weights: Path | None
    last_train: dict[str, float]
    last_val: dict[str, float]
    train_seconds: float
    """Wall-clock training time summed over every (resumed) segment of the run."""
    finished: bool = True
    """False when the run stopped before run.steps (its budget, or a stop request)."""


def loss_config(config: TrainConfig) -> LossConfig:
    """The SkyNet loss settings of a run."""
    section = config.loss
    return LossConfig(
        weight_camera_satellite=section.weight_camera_satellite,
        weight_camera_ground_aerial=section.weight_camera_ground_aerial,
        weight_depth=section.weight_depth,
        camera=CameraLossConfig(loss_type=section.camera_loss_type),  # type: ignore[arg-type]
    )


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all ranks alike: identical initial weights)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _autocast(device: torch.device, enabled: bool) -> tuple[Any, torch.dtype | None]:
    """Autocast context and its dtype on CUDA (bf16 if supported, else fp16); off elsewhere."""
    if not enabled or device.type != "cuda":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype


def pair_hits(outputs: dict[str, Any], batch: dict[str, Any]) -> tuple[float, ...]:
    """Pairs within 5 degrees over a batch's windows, as (rotation hits, rotation pairs,
    translation hits, translation pairs): the paper's RRA@5 and RTA@5 once summed."""
    image_hw = (int(batch["images"].shape[-2]), int(batch["images"].shape[-1]))
    predicted, _ = pose_encoding_to_extri_intri(outputs["pose_enc"].detach().float(), image_hw)
    hits = np.zeros(4)
    for b in range(predicted.shape[0]):
        errors = pair_errors(
            predicted[b].cpu(), batch["extrinsics"][b].cpu(), batch["view_types"][b].cpu()
        )
        translation = errors.translation_deg[errors.translation_valid]
        hits += (
            float((errors.rotation_deg < 5.0).sum()),
            float(errors.rotation_deg.size),
            float((translation < 5.0).sum()),
            float(translation.size),
        )
    return tuple(hits.tolist())


class Trainer:
    """One training run; `fit()` trains to run.steps, resuming from a checkpoint if given."""

    def __init__(self, config: TrainConfig, context: DistContext | None = None) -> None:
        self.config = config
        self.context = context or init_distributed(config.run.device)
        if config.run.threads:
            torch.set_num_threads(config.run.threads)
        seed_everything(config.run.seed)
        self.out_dir = Path(config.run.out_dir)
        model, self.origin = build_model(config)
        self.model: SkyNet = model.to(self.context.device).train()
        self.network: nn.Module = self.model
        if self.context.distributed:
            ids = [self.context.device.index] if self.context.device.type == "cuda" else None
            self.network = DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_optimizer(self.model, config.optim)
        self.scheduler = build_scheduler(self.optimizer, config.optim, config.run.steps)
        self.autocast, amp_dtype = _autocast(self.context.device, config.optim.amp)
        self.scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
        self.loss_config = loss_config(config)
        self.stop_requested = False
        """Set (e.g. by a signal handler) to checkpoint after the current step and stop."""

    def state(self, sampler: dict[str, int], train_seconds: float) -> dict[str, Any]:
        """Everything needed to resume exactly (sampler: the curriculum's consumed state)."""
        return {
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "sampler": sampler,
            "rng": capture_rng_state(),
            "train_seconds": train_seconds,
        }

    def _restore(self, path: str | Path) -> tuple[int, dict[str, int], float]:
        """Load a checkpoint; returns (step, curriculum sampler state, train seconds so far)."""
        payload = load_checkpoint(path)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        self.scheduler.load_state_dict(payload["scheduler"])
        self.scaler.load_state_dict(payload["scaler"])
        restore_rng_state(payload["rng"])
        return int(payload["step"]), payload["sampler"], float(payload["train_seconds"])

    def _losses(
        self, network: nn.Module, batch: dict[str, Any]
    ) -> tuple[torch.Tensor, dict[str, float], dict[str, Any]]:
        """Total loss, its scalars and the outputs of one batch (already on the device).

        Location windows add the location head's NLL (weighted) to the Sky2Ground loss.
        """
        geometry = location_geometry(batch, self.model.config)
        with self.autocast:
            outputs = network(batch["images"], batch["view_types"], geometry=geometry)
        loss = loss_from_outputs(outputs, batch, gt_pose_encoding(batch), self.loss_config)
        total, scalars = loss.total, loss.scalars()
        if geometry is not None:
            located = location_loss(
                outputs["location_logits"],
                outputs["location_valid"],
                outputs["location_cell_m"],
                batch["nadir_m"],
                batch["heading"],
            )
            total = total + self.config.loss.weight_location * located.total
            scalars["location"] = float(located.total.detach())
            scalars["loss"] = float(total.detach())
        return total, scalars, outputs

    def train_step(self, batch: dict[str, Any]) -> tuple[dict[str, float], float]:
        """One optimiser step; returns the loss scalars and the pre-clipping gradient norm."""
        batch = to_device(batch, self.context.device)
        total, scalars, _ = self._losses(self.network, batch)
        if not torch.isfinite(total):
            raise FloatingPointError(f"non-finite loss {scalars}")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        self.scaler.unscale_(self.optimizer)
        params = [p for p in self.model.parameters() if p.requires_grad]
        clip = self.config.optim.grad_clip or float("inf")
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, clip))
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        aerial = batch["view_types"] == int(ViewType.AERIAL)
        scalars["aerial_frames"] = float(aerial.sum(dim=1).float().mean())
        return scalars, grad_norm

    @torch.no_grad()
    def validate(self, batches: list[dict[str, Any]]) -> dict[str, float]:
        """Mean validation loss terms over every rank's windows (sample-weighted).

        For location windows also the location NLL and the median horizontal error of the
        read-out nadir next to the prior's ("the crop centre"), per platform.
        """
        self.model.eval()
        keys = VAL_KEYS + (("location",) if self.model.config.location_head else ())
        totals = torch.zeros(len(keys) + 1, dtype=torch.float64, device=self.context.device)
        pairs = torch.zeros(4, dtype=torch.float64, device=self.context.device)
        errors: dict[str, list[float]] = {}
        for batch in batches:
            batch = to_device(batch, self.context.device)
            _, scalars, outputs = self._losses(self.model, batch)
            n = batch["images"].shape[0]
            totals += torch.tensor([*(scalars[k] * n for k in keys), n], device=totals.device)
            pairs += torch.tensor(pair_hits(outputs, batch), device=pairs.device)
            if "location_logits" in outputs:
                for name, values in located_errors(outputs, batch).items():
                    errors.setdefault(name, []).extend(values)
        self.model.train()
        totals = sum_over_ranks(totals, self.context)
        pairs = sum_over_ranks(pairs, self.context)
        count = float(totals[-1])
        if not count:
            return {}
        summary = {k: v / count for k, v in zip(keys, totals[:-1].tolist(), strict=True)}
        rotation, rotation_pairs, translation, translation_pairs = pairs.tolist()
        summary["rra_5"] = 100.0 * rotation / max(rotation_pairs, 1.0)
        summary["rta_5"] = 100.0 * translation / max(translation_pairs, 1.0)
        medians = {f"{name}_median_m": float(np.median(v)) for name, v in errors.items() if v}
        return {**summary, **mean_over_ranks(medians, self.context)}

    def _should_stop(self, segment_start: float, budget_s: float | None) -> bool:
        """Whether to stop now: a stop request or the spent budget on any rank."""
        stop = self.stop_requested or (
            budget_s is not None and time.perf_counter() - segment_start >= budget_s
        )
        if not self.context.distributed:
            return stop
        flag = torch.tensor([float(stop)], device=self.context.device)
        return bool(sum_over_ranks(flag, self.context).item() > 0)

    def fit(self, resume: str | Path | None = None, budget_s: float | None = None) -> TrainResult:
        """Train to run.steps (from `resume` if given), or until ``budget_s`` seconds of this
        segment or a stop request, then checkpoint; rank 0 writes logs and checkpoints."""
        run, ctx = self.config.run, self.context
        step, curriculum_state, train_seconds = 0, None, 0.0
        if resume is not None:
            step, curriculum_state, train_seconds = self._restore(resume)
        loader, batches = train_loader(self.config, ctx, self.model.config, curriculum_state)
        val_batches = validation_batches(self.config, ctx, self.model.config)
        logger = None
        if ctx.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / "config.yaml").write_text(self.config.to_yaml(), encoding="utf-8")
            logger = MetricsLogger(self.out_dir, resume_step=step)
        bar = tqdm(total=run.steps, initial=step, desc=self.config.name, disable=not ctx.is_main)
        last_train: dict[str, float] = {}
        last_val: dict[str, float] = {}
        segment_start = time.perf_counter()
        window_start, window_samples = segment_start, 0
        last_checkpoint = segment_start
        stopped = False
        for batch in loader:
            scalars, grad_norm = self.train_step(batch)
            step += 1
            window_samples += batch["images"].shape[0] * ctx.world_size
            bar.update(1)
            if step % run.log_every == 0 or step == run.steps:
                now = time.perf_counter()
                last_train = mean_over_ranks(scalars, ctx)
                row = {
                    **last_train,
                    "grad_norm": grad_norm,
                    "lr": self.scheduler.get_last_lr()[0],
                    "progress": step / run.steps,
                    "samples_per_s": window_samples / max(now - window_start, 1e-9),
                    "elapsed_s": train_seconds + now - segment_start,
                }
                window_start, window_samples = now, 0
                bar.set_postfix(
                    loss=f"{last_train['loss']:.3f}",
                    cam_sat=f"{last_train['cam_sat_total']:.3f}",
                    cam_ga=f"{last_train['cam_ground_aerial_total']:.3f}",
                    lr=f"{row['lr']:.1e}",
                )
                if logger is not None:
                    logger.log("metrics", step, row)
            if val_batches and ((run.val_every and step % run.val_every == 0) or step == run.steps):
                last_val = self.validate(val_batches)
                if logger is not None:
                    logger.log("val", step, last_val)
                    if self.model.config.location_head:
                        plot_location_curve(self.out_dir)
            geo_due = run.geo_every and (step % run.geo_every == 0 or step == run.steps)
            if geo_due and logger is not None:  # rank 0; the others wait at the next step
                data = self.config.data
                point = geo_point(self.model, data.geo_seeds, data.geo_data, data.geo_duration_s)
                logger.log("geo", step, point)
                plot_location_curve(self.out_dir)
            stopped = self._should_stop(segment_start, budget_s) and step < run.steps
            overdue = time.perf_counter() - last_checkpoint >= 60.0 * run.checkpoint_minutes
            if step % run.checkpoint_every == 0 or step == run.steps or stopped or overdue:
                last_checkpoint = time.perf_counter()
                elapsed = train_seconds + last_checkpoint - segment_start
                if ctx.is_main:
                    sampler = batches.curriculum.state_dict(consumed=step * batches.global_batch)
                    save_checkpoint(
                        self.out_dir / CHECKPOINT_DIR,
                        step,
                        self.state(sampler, elapsed),
                        run.keep_checkpoints,
                    )
            if stopped:
                break
        bar.close()
        train_seconds += time.perf_counter() - segment_start
        weights = None
        if ctx.is_main:
            weights = save_weights(self.model, self.out_dir / WEIGHTS_NAME)
            if logger is not None:
                logger.close()
        return TrainResult(step, weights, last_train, last_val, train_seconds, not stopped)
