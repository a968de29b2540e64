"""Pose metrics (RRA/RTA/AUC) against hand-computed cases."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from sky2ground_ros.evaluation.pose_metrics import auc, pair_errors, summarize

G, A, S = 0, 1, 2


def _extrinsics(rotations: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """(S, 3, 4) world-to-camera extrinsics from rotations (S, 3, 3) and translations (S, 3)."""
    return np.concatenate([rotations, translations[:, :, None]], axis=2)


def _rz(deg: float) -> np.ndarray:
    return Rotation.from_euler("z", deg, degrees=True).as_matrix()


def _errors_by_pair(errors, values: np.ndarray) -> dict[tuple[int, int], float]:
    return {
        (int(i), int(j)): float(v)
        for i, j, v in zip(errors.first, errors.second, values, strict=True)
    }


def test_rotation_errors_of_4_and_6_degree_perturbations() -> None:
    common = Rotation.random(random_state=3).as_matrix()
    gt_rot = np.stack([common] * 3)
    translations = np.array([[0.0, 0.0, 0.0], [1.0, 0.2, 0.0], [0.3, -1.0, 0.5]])
    pred_rot = np.stack([common, _rz(4.0) @ common, _rz(6.0) @ common])
    errors = pair_errors(
        _extrinsics(pred_rot, translations), _extrinsics(gt_rot, translations), [G, G, G]
    )
    rot = _errors_by_pair(errors, errors.rotation_deg)
    expected = {(0, 1): 4, (1, 0): 4, (0, 2): 6, (2, 0): 6, (1, 2): 2, (2, 1): 2}
    assert rot.keys() == expected.keys()  # every ordered pair, i != j
    for pair, deg in expected.items():
        assert rot[pair] == pytest.approx(deg, abs=1e-9)
    metrics = summarize(errors)
    assert metrics.n_pairs == 6
    assert metrics.rra[5] == pytest.approx(100.0 * 4 / 6)
    assert metrics.rra[15] == pytest.approx(100.0)


def test_single_camera_perturbation_with_random_poses() -> None:
    rng = np.random.default_rng(0)
    gt_rot = Rotation.random(4, random_state=1).as_matrix()
    translations = rng.normal(size=(4, 3))
    pred_rot = gt_rot.copy()
    axis = np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5])
    pred_rot[2] = Rotation.from_rotvec(np.radians(4.0) * axis).as_matrix() @ gt_rot[2]
    errors = pair_errors(
        _extrinsics(pred_rot, translations), _extrinsics(gt_rot, translations), [G, S, A, G]
    )
    involves_2 = (errors.first == 2) | (errors.second == 2)
    assert np.allclose(errors.rotation_deg[involves_2], 4.0, atol=1e-9)
    assert np.allclose(errors.rotation_deg[~involves_2], 0.0, atol=1e-6)
    assert summarize(errors).rra[5] == pytest.approx(100.0)


def test_translation_direction_error_matches_hand_computed_angle() -> None:
    rot = np.stack([np.eye(3)] * 2)
    gt = _extrinsics(rot, np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    # t_01 = t_0 - t_1: gt (-1, 0, 0), prediction 7 * (-3, -4, 0) / 5 → acos(3/5) = 53.13°.
    pred = _extrinsics(rot, np.array([[0.0, 0.0, 0.0], [4.2, 5.6, 0.0]]))
    errors = pair_errors(pred, gt, [G, A])
    assert np.allclose(errors.translation_deg, np.degrees(np.arccos(0.6)))
    assert np.allclose(errors.rotation_deg, 0.0)
    # a reversed direction is 174.29° apart; VGGT folds the sign ambiguity down to 5.71°
    reversed_pred = _extrinsics(rot, np.array([[0.0, 0.0, 0.0], [-1.0, 0.0, 0.1]]))
    unfolded = pair_errors(reversed_pred, gt, [G, A], fold_sign=False).translation_deg
    folded = pair_errors(reversed_pred, gt, [G, A]).translation_deg
    assert np.allclose(unfolded, 180.0 - np.degrees(np.arctan(0.1)))
    assert np.allclose(folded, np.degrees(np.arctan(0.1)))
    assert summarize(pair_errors(reversed_pred, gt, [G, A])).rta[5] == 0.0
    assert summarize(pair_errors(reversed_pred, gt, [G, A])).rta[15] == 100.0


def test_translation_error_uses_relative_rotation() -> None:
    # t_ij = t_i - R_i R_j^T t_j: camera 1 rotated 90° about z, both centres known by hand.
    gt = _extrinsics(np.stack([np.eye(3), _rz(90.0)]), np.array([[0.0, 0, 0], [0.0, 1.0, 0]]))
    pred = gt.copy()
    pred[1, :3, 3] = [1.0, 1.0, 0.0]
    errors = pair_errors(pred, gt, [G, G], fold_sign=False)
    by_pair = _errors_by_pair(errors, errors.translation_deg)
    # (0, 1): gt -Rz(-90)(0,1,0) = (-1, 0, 0), pred -Rz(-90)(1,1,0) = (-1, 1, 0) → 45°
    assert by_pair[(0, 1)] == pytest.approx(45.0)
    # (1, 0): t_1 itself, (0, 1, 0) vs (1, 1, 0) → 45°
    assert by_pair[(1, 0)] == pytest.approx(45.0)


def test_scale_and_world_frame_do_not_change_errors() -> None:
    gt_rot = Rotation.random(5, random_state=4).as_matrix()
    gt_t = np.random.default_rng(4).normal(size=(5, 3))
    pred_rot = Rotation.random(5, random_state=5).as_matrix()
    pred_t = np.random.default_rng(5).normal(size=(5, 3))
    base = pair_errors(_extrinsics(pred_rot, pred_t), _extrinsics(gt_rot, gt_t), [G] * 5)
    # another world frame for the prediction (x_w = Q x_w' + c) and another scale
    q = Rotation.random(random_state=6).as_matrix()
    c = np.array([3.0, -2.0, 10.0])
    moved = _extrinsics(pred_rot @ q, 2.5 * (pred_t + np.einsum("sab,b->sa", pred_rot, c)))
    other = pair_errors(moved, _extrinsics(gt_rot, gt_t), [G] * 5)
    assert np.allclose(base.rotation_deg, other.rotation_deg, atol=1e-8)
    assert np.allclose(base.translation_deg, other.translation_deg, atol=1e-8)


def test_zero_length_translations_are_reported_not_nan() -> None:
    rot = np.stack([np.eye(3)] * 3)
    # frames 0 and 1 share a centre (e.g. a camera rig): their gt direction is undefined
    gt = _extrinsics(rot, np.array([[0.0, 0, 0], [0.0, 0, 0], [1.0, 0, 0]]))
    pred = _extrinsics(rot, np.array([[0.0, 0, 0], [0.5, 0, 0], [1.0, 0, 0]]))
    errors = pair_errors(pred, gt, [G, A, S])
    assert not np.isnan(errors.translation_deg).any()
    metrics = summarize(errors)
    assert metrics.gt_degenerate == 2
    assert metrics.n_translation_pairs == 4
    assert metrics.pred_degenerate == 0
    assert metrics.rta[5] == pytest.approx(100.0)  # remaining 4 pairs are exact
    assert metrics.rra[5] == pytest.approx(100.0)  # RRA still counts all 6 pairs

    # a prediction that puts every camera at the same centre fails every RTA
    collapsed = _extrinsics(rot, np.zeros((3, 3)))
    failed = summarize(pair_errors(collapsed, gt, [G, A, S]))
    assert failed.pred_degenerate == 4
    assert failed.rta[30] == 0.0
    assert failed.auc == 0.0
    assert not np.isnan(pair_errors(collapsed, gt, [G, A, S]).translation_deg).any()


def test_all_translations_zero_in_ground_truth() -> None:
    rot = Rotation.random(3, random_state=2).as_matrix()
    gt = _extrinsics(rot, np.zeros((3, 3)))
    metrics = summarize(pair_errors(gt, gt, [G, G, G]))
    assert metrics.gt_degenerate == 6
    assert metrics.rta[5] is None
    assert metrics.auc is None
    assert metrics.rra[5] == 100.0


def test_auc_on_constructed_errors() -> None:
    rot = np.array([0.5, 10.0, 40.0])
    trans = np.array([2.5, 0.0, 0.0])
    # max errors 2.5, 10, 40 → below threshold t for t = 3..30 (28), 11..30 (20), never
    assert auc(rot, trans, 30) == pytest.approx(100.0 * (28 + 20) / 90)
    # VGGT's histogram form of the same quantity
    worst = np.maximum(rot, trans)
    histogram, _ = np.histogram(worst, bins=np.arange(31))
    assert auc(rot, trans, 30) == pytest.approx(100.0 * np.mean(np.cumsum(histogram) / 3))
    assert auc(np.zeros(4), np.zeros(4), 30) == 100.0
    assert auc(np.zeros(0), np.zeros(0), 30) is None


def test_accepts_torch_tensors_and_4x4() -> None:
    rot = Rotation.random(3, random_state=8).as_matrix()
    ext = _extrinsics(rot, np.random.default_rng(8).normal(size=(3, 3)))
    homogeneous = np.concatenate([ext, np.tile([[[0.0, 0, 0, 1]]], (3, 1, 1))], axis=1)
    errors = pair_errors(
        torch.tensor(homogeneous, requires_grad=True), torch.tensor(ext), torch.tensor([G, A, S])
    )
    assert np.allclose(errors.rotation_deg, 0.0, atol=1e-6)
    assert np.allclose(errors.translation_deg, 0.0, atol=1e-6)
    assert list(errors.group) == [G, G, A, A, S, S]


def test_mismatched_inputs_are_rejected() -> None:
    ext = np.zeros((3, 3, 4))
    with pytest.raises(ValueError):
        pair_errors(ext, ext[:2], [G, G, G])
    with pytest.raises(ValueError):
        pair_errors(ext, ext, [G, G])
