"""SkyNet training loss: L = L_cam,sat + 0.4·L_cam,ground/aerial + L_depth (Sky2Ground, VGGT).

Camera loss (VGGT): on the 9-D ``absT_quaR_FoV`` encoding, an L1 (or Huber) error per part —
translation (3), quaternion (4), field of view (2) — averaged over elements and frames, for
every output of the camera head's iterative refinement weighted by ``gamma ** (n − 1 − k)``
(the last iteration weighs 1, VGGT uses gamma = 0.6), then averaged over iterations; parts are
combined with VGGT's weights (translation 1, rotation 1, FoV 0.5; translation error clamped at
100). It is computed separately over satellite frames and over ground/aerial frames; a group
without frames contributes an exact, graph-connected 0.

Depth loss (VGGT paper, aleatoric): over valid pixels, mean of ``c·|D̂ − D| − α·log c`` plus
the confidence-weighted finite-difference gradient term ``c·|∇(D̂ − D)|`` (c: mean of the two
neighbours' confidences; pairs need both pixels valid; averaged over ``grad_scales`` pixel
strides 1, 2, 4, … as VGGT's multi-scale gradient loss; scales without pairs skipped) plus, as
in VGGT's code, the unweighted ``|D̂ − D|`` term; α = 0.2. Ground truth is expected already
normalised (VGGT: by the mean distance of valid points to the first camera).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from sky2ground_ros.model.location_head import INVALID_LOGIT
from sky2ground_ros.views import ViewType

POSE_ENCODING_DIM = 9


@dataclass(frozen=True)
class CameraLossConfig:
    """Camera-loss settings; defaults are VGGT's (training/loss.py, L1 rather than Huber)."""

    gamma: float = 0.6
    loss_type: Literal["l1", "huber"] = "l1"
    huber_delta: float = 1.0
    weight_translation: float = 1.0
    weight_rotation: float = 1.0
    weight_fov: float = 0.5
    translation_clamp: float = 100.0


@dataclass(frozen=True)
class DepthLossConfig:
    """Depth-loss settings; alpha and the 4 gradient scales are VGGT's."""

    alpha: float = 0.2
    grad_weight: float = 1.0
    reg_weight: float = 1.0
    grad_scales: int = 4


@dataclass(frozen=True)
class LossConfig:
    """Weights of the three terms of the Sky2Ground loss and the settings of each."""

    weight_camera_satellite: float = 1.0
    weight_camera_ground_aerial: float = 0.4
    weight_depth: float = 1.0
    camera: CameraLossConfig = field(default_factory=CameraLossConfig)
    depth: DepthLossConfig = field(default_factory=DepthLossConfig)


@dataclass(frozen=True)
class CameraLoss:
    """Camera loss of one frame group and its (iteration-averaged) parts."""

    total: Tensor
    translation: Tensor
    rotation: Tensor
    fov: Tensor


@dataclass(frozen=True)
class DepthLoss:
    """Depth loss and its parts: confidence-weighted, gradient and plain L1 terms."""

    total: Tensor
    confidence: Tensor
    gradient: Tensor
    regression: Tensor


@dataclass(frozen=True)
class SkyNetLoss:
    """Total loss (to backpropagate) with every component for logging."""

    total: Tensor
    camera_satellite: CameraLoss
    camera_ground_aerial: CameraLoss
    depth: DepthLoss

    def scalars(self) -> dict[str, float]:
        """Flat name -> float of every component (for CSV / TensorBoard logs)."""
        out = {"loss": float(self.total.detach())}
        for name, part in (
            ("cam_sat", self.camera_satellite),
            ("cam_ground_aerial", self.camera_ground_aerial),
            ("depth", self.depth),
        ):
            for item in fields(part):
                out[f"{name}_{item.name}"] = float(getattr(part, item.name).detach())
        return out


def _zero(like: Tensor) -> Tensor:
    """An exact scalar 0 connected to like's graph (DDP-safe; NaN in like cannot leak in)."""
    return like.reshape(-1)[:0].sum()


def _elementwise(pred: Tensor, target: Tensor, config: CameraLossConfig) -> Tensor:
    """Per-element L1 or Huber error."""
    if config.loss_type == "l1":
        return (pred - target).abs()
    return F.huber_loss(pred, target, reduction="none", delta=config.huber_delta)


def camera_loss(
    pose_enc_list: Sequence[Tensor],
    gt_pose_enc: Tensor,
    frame_mask: Tensor,
    config: CameraLossConfig | None = None,
) -> CameraLoss:
    """Iteration-weighted camera loss over the frames where frame_mask [B, S] is True."""
    config = config or CameraLossConfig()
    if not pose_enc_list:
        raise ValueError("pose_enc_list is empty")
    if gt_pose_enc.shape[-1] != POSE_ENCODING_DIM or frame_mask.shape != gt_pose_enc.shape[:-1]:
        raise ValueError(
            f"bad shapes: gt {tuple(gt_pose_enc.shape)}, mask {tuple(frame_mask.shape)}"
        )
    n_iters = len(pose_enc_list)
    parts = {"translation": slice(0, 3), "rotation": slice(3, 7), "fov": slice(7, 9)}
    sums = {name: _zero(pose_enc_list[-1]) for name in parts}
    if frame_mask.any():
        target = gt_pose_enc[frame_mask]
        for k, pred_enc in enumerate(pose_enc_list):
            error = _elementwise(pred_enc[frame_mask], target, config)
            weight = config.gamma ** (n_iters - 1 - k)
            for name, part in parts.items():
                part_error = error[:, part]
                if name == "translation":
                    part_error = part_error.clamp(max=config.translation_clamp)
                sums[name] = sums[name] + weight * part_error.mean()
    translation, rotation, fov = (sums[name] / n_iters for name in parts)
    total = (
        config.weight_translation * translation
        + config.weight_rotation * rotation
        + config.weight_fov * fov
    )
    return CameraLoss(total=total, translation=translation, rotation=rotation, fov=fov)


def _gradient_term(diff: Tensor, conf: Tensor, mask: Tensor, scales: int) -> Tensor:
    """c·|∇(D̂ − D)| on valid neighbour pairs ([N, H, W]), averaged over scales that have any.

    Only valid pairs are ever indexed, so NaN/inf at invalid pixels reach neither value nor grad.
    """
    per_scale = []
    for scale in range(scales):
        step = 2**scale
        d, c, m = diff[:, ::step, ::step], conf[:, ::step, ::step], mask[:, ::step, ::step]
        terms = []
        for axis in (1, 2):
            n = d.shape[axis]
            d0, c0, m0 = (t.narrow(axis, 0, n - 1) for t in (d, c, m))
            d1, c1, m1 = (t.narrow(axis, 1, n - 1) for t in (d, c, m))
            pair = m0 & m1
            terms.append(0.5 * (c0 + c1)[pair] * (d1 - d0)[pair].abs())
        values = torch.cat(terms)
        if values.numel():
            per_scale.append(values.mean())
    return torch.stack(per_scale).mean() if per_scale else _zero(diff)


def depth_loss(
    depth: Tensor,
    depth_conf: Tensor,
    gt_depth: Tensor,
    valid_mask: Tensor | None = None,
    config: DepthLossConfig | None = None,
) -> DepthLoss:
    """Aleatoric depth loss of depth [B, S, H, W(, 1)], confidence and GT [B, S, H, W].

    valid_mask defaults to finite, positive ground-truth depth; other pixels never contribute.
    """
    config = config or DepthLossConfig()
    pred = depth.squeeze(-1) if depth.dim() == gt_depth.dim() + 1 else depth
    if pred.shape != gt_depth.shape or depth_conf.shape != gt_depth.shape:
        raise ValueError(
            f"shapes differ: depth {tuple(depth.shape)}, conf {tuple(depth_conf.shape)}, "
            f"gt {tuple(gt_depth.shape)}"
        )
    mask = torch.isfinite(gt_depth) & (gt_depth > 0)
    if valid_mask is not None:
        mask = mask & valid_mask.bool()
    zero = _zero(pred) + _zero(depth_conf)
    if not mask.any():
        return DepthLoss(total=zero, confidence=zero, gradient=zero, regression=zero)
    residual = (pred[mask] - gt_depth[mask]).abs()
    conf = depth_conf[mask]
    confidence = (conf * residual - config.alpha * torch.log(conf)).mean()
    regression = residual.mean()
    h, w = gt_depth.shape[-2:]
    gradient = _gradient_term(
        (pred - gt_depth).reshape(-1, h, w),
        depth_conf.reshape(-1, h, w),
        mask.reshape(-1, h, w),
        config.grad_scales,
    )
    total = confidence + config.grad_weight * gradient + config.reg_weight * regression
    return DepthLoss(total=total, confidence=confidence, gradient=gradient, regression=regression)


def skynet_loss(
    pose_enc_list: Sequence[Tensor],
    gt_pose_enc: Tensor,
    view_types: Tensor,
    depth: Tensor,
    depth_conf: Tensor,
    gt_depth: Tensor,
    valid_depth_mask: Tensor | None = None,
    config: LossConfig | None = None,
) -> SkyNetLoss:
    """The Sky2Ground loss, camera terms split by per-frame view type [B, S]."""
    config = config or LossConfig()
    satellite = view_types == int(ViewType.SATELLITE)
    cam_sat = camera_loss(pose_enc_list, gt_pose_enc, satellite, config.camera)
    cam_ga = camera_loss(pose_enc_list, gt_pose_enc, ~satellite, config.camera)
    depth_terms = depth_loss(depth, depth_conf, gt_depth, valid_depth_mask, config.depth)
    total = (
        config.weight_camera_satellite * cam_sat.total
        + config.weight_camera_ground_aerial * cam_ga.total
        + config.weight_depth * depth_terms.total
    )
    return SkyNetLoss(
        total=total, camera_satellite=cam_sat, camera_ground_aerial=cam_ga, depth=depth_terms
    )


def loss_from_outputs(
    predictions: Mapping[str, Any],
    batch: Mapping[str, Tensor],
    gt_pose_enc: Tensor,
    config: LossConfig | None = None,
) -> SkyNetLoss:
    """skynet_loss on the model's output dict and a dataset batch (point_masks used if given)."""
    return skynet_loss(
        pose_enc_list=predictions["pose_enc_list"],
        gt_pose_enc=gt_pose_enc,
        view_types=batch["view_types"],
        depth=predictions["depth"],
        depth_conf=predictions["depth_conf"],
        gt_depth=batch["depths"],
        valid_depth_mask=batch.get("point_masks"),
        config=config,
    )


@dataclass(frozen=True)
class LocationLoss:
    """Negative log-likelihood of the true (heading, nadir cell) and how many cameras had one."""

    total: Tensor
    cameras: Tensor


def location_targets(
    nadir_m: Tensor, heading: Tensor, cell_m: Tensor, headings: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Fractional (heading bin, row, column) of each camera's truth on the canvas grid.

    nadir_m [B, N, 2] holds metres east / south of the canvas's north-west corner; cell
    centres sit at (index + 0.5) cells.
    """
    cell = cell_m.reshape(-1, *([1] * (nadir_m.dim() - 2)))
    col = nadir_m[..., 0] / cell - 0.5
    row = nadir_m[..., 1] / cell - 0.5
    bins = torch.remainder(heading / (2 * torch.pi / headings), headings)
    return bins, row, col


def location_loss(
    logits: Tensor, valid: Tensor, cell_m: Tensor, nadir_m: Tensor, heading: Tensor
) -> LocationLoss:
    """NLL of the truth under the location head's distribution, trilinear in (heading, y, x).

    The target spreads over the 8 grid points around the true heading and nadir (headings wrap),
    so sub-cell positions are supervised; cameras whose nadir is off the canvas, whose template
    misses the imagery there, or that saw too little ground to have a map (``valid`` False)
    do not count.
    """
    headings, rows, cols = logits.shape[2:]
    bins, row, col = location_targets(nadir_m, heading, cell_m, headings)
    inside = valid & (row >= 0) & (row <= rows - 1) & (col >= 0) & (col <= cols - 1)
    if not bool(inside.any()):
        return LocationLoss(_zero(logits), inside.sum())
    flat = logits[inside].flatten(1)
    b, r, c = bins[inside], row[inside], col[inside]
    b0, r0, c0 = b.floor(), r.floor().clamp(max=rows - 2), c.floor().clamp(max=cols - 2)
    fb, fr, fc = b - b0, r - r0, c - c0
    corners, weights = [], []
    for db, wb in ((0, 1 - fb), (1, fb)):
        k = torch.remainder(b0 + db, headings).long()
        for dr, wr in ((0, 1 - fr), (1, fr)):
            for dc, wc in ((0, 1 - fc), (1, fc)):
                corners.append((k * rows + (r0 + dr).long()) * cols + (c0 + dc).long())
                weights.append(wb * wr * wc)
    index, weight = torch.stack(corners, 1), torch.stack(weights, 1)
    # a truth whose template misses the imagery (e.g. a footprint off the canvas) has no score
    usable = (flat.gather(1, index) > INVALID_LOGIT / 2).all(1)
    if not bool(usable.any()):
        return LocationLoss(_zero(logits), usable.sum())
    log_p = torch.log_softmax(flat[usable], dim=1)
    nll = -(weight[usable] * log_p.gather(1, index[usable])).sum(1)
    return LocationLoss(nll.mean(), usable.sum())
