"""Sky2Ground training loss: camera terms per view group, iteration weighting, depth loss."""

import pytest
import torch

from sky2ground_ros.training.losses import (
    CameraLossConfig,
    DepthLossConfig,
    LossConfig,
    camera_loss,
    depth_loss,
    loss_from_outputs,
    skynet_loss,
)
from sky2ground_ros.views import ViewType

G, A, S = int(ViewType.GROUND), int(ViewType.AERIAL), int(ViewType.SATELLITE)
GAMMA_WEIGHTS_4 = (0.6**3 + 0.6**2 + 0.6 + 1.0) / 4  # VGGT: gamma^(n-1-k), averaged


def _gt_pose(b: int = 2, s: int = 4) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(b, s, 9, generator=gen, dtype=torch.float64)


def _depth_inputs(b: int = 1, s: int = 2, h: int = 8, w: int = 8):
    gen = torch.Generator().manual_seed(1)
    gt = 1.0 + torch.rand(b, s, h, w, generator=gen, dtype=torch.float64)
    conf = 1.0 + torch.rand(b, s, h, w, generator=gen, dtype=torch.float64)
    noise = torch.randn(b, s, h, w, 1, generator=gen, dtype=torch.float64)
    return gt, conf, noise


def _loss(pose_list, gt_pose, view_types, **kwargs):
    gt_depth, conf, _ = _depth_inputs(*gt_pose.shape[:2])
    return skynet_loss(
        pose_list, gt_pose, view_types, gt_depth[..., None].clone(), conf, gt_depth, **kwargs
    )


def test_camera_loss_is_zero_for_exact_prediction() -> None:
    gt = _gt_pose()
    pred = [gt.clone().requires_grad_(True) for _ in range(4)]
    out = camera_loss(pred, gt, torch.ones(2, 4, dtype=torch.bool))
    assert out.total.item() == 0.0
    assert out.translation.item() == out.rotation.item() == out.fov.item() == 0.0


def test_ground_aerial_weighted_by_0_4_relative_to_satellite() -> None:
    gt = _gt_pose()
    view_types = torch.tensor([[G, A, S, S], [S, G, G, A]])
    satellite = view_types == S
    off_ga = gt + 0.5 * (~satellite)[..., None]  # error 0.5 on every entry of G/A frames
    off_sat = gt + 0.5 * satellite[..., None]
    per_group = 0.5 * (1.0 + 1.0 + 0.5) * GAMMA_WEIGHTS_4  # T, R, 0.5·FoV parts
    ga = _loss([off_ga] * 4, gt, view_types)
    sat = _loss([off_sat] * 4, gt, view_types)
    depth_only = ga.depth.total.item()  # exact depth: just the −α·log c term
    assert ga.camera_ground_aerial.total.item() == pytest.approx(per_group)
    assert ga.camera_satellite.total.item() == 0.0
    assert ga.total.item() - depth_only == pytest.approx(0.4 * per_group)
    assert sat.total.item() - depth_only == pytest.approx(1.0 * per_group)
    weights = LossConfig(weight_camera_ground_aerial=1.0, weight_depth=0.0)
    assert _loss([off_ga] * 4, gt, view_types, config=weights).total.item() == pytest.approx(
        per_group
    )


def test_later_refinement_iterations_weigh_more() -> None:
    gt = _gt_pose()
    mask = torch.ones(2, 4, dtype=torch.bool)
    off = gt + 1.0
    first_only = camera_loss([off, gt, gt, gt], gt, mask).total.item()
    last_only = camera_loss([gt, gt, gt, off], gt, mask).total.item()
    assert last_only == pytest.approx(2.5 / 4)
    assert first_only == pytest.approx(0.6**3 * 2.5 / 4)


def test_translation_error_is_clamped_and_huber_is_available() -> None:
    gt = _gt_pose()
    mask = torch.ones(2, 4, dtype=torch.bool)
    far = gt.clone()
    far[..., :3] += 1e6
    assert camera_loss([far], gt, mask).translation.item() == pytest.approx(100.0)
    small = gt + 0.1
    huber = camera_loss([small], gt, mask, CameraLossConfig(loss_type="huber"))
    assert huber.rotation.item() == pytest.approx(0.5 * 0.1**2)


def test_empty_group_contributes_exact_zero_and_keeps_the_graph() -> None:
    gt = _gt_pose()
    view_types = torch.full((2, 4), G)  # no satellite frame
    pred = (gt + 0.3).requires_grad_(True)
    out = _loss([pred], gt, view_types)
    assert out.camera_satellite.total.item() == 0.0
    assert torch.isfinite(out.total)
    out.camera_satellite.total.backward()
    assert pred.grad is not None
    assert torch.count_nonzero(pred.grad) == 0
    assert all(v == v for v in out.scalars().values())  # no NaN anywhere
    with pytest.raises(ValueError):
        camera_loss([], gt, view_types == S)


def test_depth_loss_decreases_as_prediction_approaches_gt() -> None:
    gt, conf, noise = _depth_inputs()
    values = [
        depth_loss(gt[..., None] + scale * noise, conf, gt).total.item()
        for scale in (1.0, 0.5, 0.1, 0.0)
    ]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == 4
    exact = depth_loss(gt[..., None], conf, gt)
    assert exact.regression.item() == 0.0
    assert exact.gradient.item() == 0.0
    assert exact.confidence.item() == pytest.approx((-0.2 * torch.log(conf)).mean().item())


def test_gradient_term_sees_shape_not_offset() -> None:
    gt, conf, _ = _depth_inputs()
    offset = depth_loss(gt[..., None] + 0.3, conf, gt)
    assert offset.gradient.item() == pytest.approx(0.0, abs=1e-12)
    assert offset.regression.item() == pytest.approx(0.3)
    holes = torch.rand(gt.shape, generator=torch.Generator().manual_seed(2)) > 0.3
    with_holes = depth_loss(gt[..., None] + 0.3, conf, gt, holes)
    assert with_holes.gradient.item() == pytest.approx(0.0, abs=1e-12)  # no pair crosses a hole
    ramp = torch.arange(8, dtype=torch.float64) * 0.1  # d/dx of the error is 0.1
    sloped = depth_loss((gt + ramp)[..., None], torch.ones_like(conf), gt)
    # stride 2^k: x-pairs differ by 0.1·2^k, y-pairs by 0, equal counts → 0.05·2^k; at
    # stride 8 an 8x8 map has no neighbour pair left, so 3 of the 4 scales count
    assert sloped.gradient.item() == pytest.approx(0.05 * (1 + 2 + 4) / 3)
    confident = depth_loss((gt + ramp)[..., None], torch.full_like(conf, 3.0), gt)
    assert confident.gradient.item() == pytest.approx(3.0 * sloped.gradient.item())


def test_gradient_flows_to_confidence_toward_its_optimum() -> None:
    gt, _, _ = _depth_inputs()
    conf = torch.full_like(gt, 1.0, requires_grad=True)
    big_error = depth_loss(gt[..., None] + 2.0, conf, gt, config=DepthLossConfig(grad_weight=0))
    big_error.total.backward()
    assert conf.grad is not None and (conf.grad > 0).all()  # too confident: lower it
    conf2 = torch.full_like(gt, 1.0, requires_grad=True)
    depth_loss(gt[..., None] + 0.01, conf2, gt).total.backward()
    assert (conf2.grad < 0).all()  # nearly exact: raise the confidence


def test_invalid_pixels_are_ignored() -> None:
    gt, conf, noise = _depth_inputs()
    pred = gt[..., None] + 0.2 * noise
    mask = torch.ones_like(gt, dtype=torch.bool)
    mask[..., :3, :] = False
    reference = depth_loss(pred, conf, gt, mask)
    garbage_pred, garbage_gt, garbage_conf = pred.clone(), gt.clone(), conf.clone()
    garbage_pred[..., :3, :, :] = float("nan")
    garbage_gt[..., :3, :] = float("inf")
    garbage_conf[..., :3, :] = 1e9
    garbage_pred.requires_grad_(True)
    out = depth_loss(garbage_pred, garbage_conf, garbage_gt, mask)
    assert out.total.item() == pytest.approx(reference.total.item())
    assert out.gradient.item() == pytest.approx(reference.gradient.item())
    out.total.backward()
    assert torch.isfinite(garbage_pred.grad).all()
    assert torch.count_nonzero(garbage_pred.grad[..., :3, :, :]) == 0
    # without a mask, non-positive / non-finite ground truth is invalid by itself
    zero_gt = gt.clone()
    zero_gt[..., :3, :] = 0.0
    assert depth_loss(pred, conf, zero_gt).total.item() == pytest.approx(reference.total.item())


def test_no_valid_depth_gives_zero() -> None:
    gt, conf, _ = _depth_inputs()
    pred = gt[..., None].clone()
    pred[0, 0, 0, 0] = float("nan")  # predictions at invalid pixels may be anything
    pred.requires_grad_(True)
    out = depth_loss(pred, conf, torch.zeros_like(gt))
    assert out.total.item() == 0.0
    out.total.backward()
    assert pred.grad is not None


def test_loss_from_outputs_reads_model_and_batch_keys() -> None:
    gt_pose = _gt_pose(1, 3)
    gt_depth, conf, noise = _depth_inputs(1, 3)
    pred_list = [gt_pose + 0.1, gt_pose]
    predictions = {
        "pose_enc": pred_list[-1],
        "pose_enc_list": pred_list,
        "depth": gt_depth[..., None] + 0.1 * noise,
        "depth_conf": conf,
    }
    batch = {
        "depths": gt_depth,
        "view_types": torch.tensor([[G, S, A]]),
        "point_masks": torch.ones_like(gt_depth, dtype=torch.bool),
    }
    out = loss_from_outputs(predictions, batch, gt_pose)
    direct = skynet_loss(
        pred_list, gt_pose, batch["view_types"], predictions["depth"], conf, gt_depth
    )
    assert out.total.item() == pytest.approx(direct.total.item())
    scalars = out.scalars()
    assert scalars["loss"] == pytest.approx(
        scalars["cam_sat_total"] + 0.4 * scalars["cam_ground_aerial_total"] + scalars["depth_total"]
    )
    assert {"cam_sat_translation", "depth_confidence", "depth_gradient"} <= set(scalars)
