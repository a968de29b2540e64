"""Relative pose errors and accuracy metrics of one window, as in VGGT / PoseDiffusion.

Definitions (extrinsics are world-to-camera ``[R | t]``, OpenCV convention):

* every ordered pair ``(i, j)``, ``i != j``, is evaluated; its relative pose maps camera-j
  coordinates to camera-i coordinates: ``R_ij = R_i R_jᵀ`` and ``t_ij = t_i − R_ij t_j``.
* rotation error: geodesic angle of ``R̂_ij R_ijᵀ`` (degrees).
* translation error: angle between the directions of ``t̂_ij`` and ``t_ij`` (degrees,
  scale-free). As in VGGT's evaluation the sign ambiguity is folded by default
  (``min(θ, 180° − θ)``), so the error lies in [0°, 90°]; pass ``fold_sign=False`` for [0°, 180°].
* zero-length translations: a relative translation is degenerate when its length is at most
  ``rel_tol`` times the longest relative translation of the same window (ground truth and
  prediction measured separately). A pair whose ground-truth direction is degenerate has no
  defined translation error: it is excluded from RTA and AUC (still counted for RRA) and
  reported in ``gt_degenerate``. A pair whose predicted direction is degenerate (while the
  ground truth is not) is a failure: its error is the worst angle (90° folded, 180° not) and
  it is reported in ``pred_degenerate``. No error is ever NaN.
* RRA@τ / RTA@τ: percentage of pairs with error strictly below τ degrees.
* AUC@T: percentage, mean over thresholds 1..T degrees of the fraction of pairs with
  ``max(rotation error, translation error) < threshold`` (VGGT's ``calculate_auc_np``; its
  histogram also counts an error of exactly T in the last bin, a measure-zero difference).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

DEFAULT_THRESHOLDS: tuple[int, ...] = (5, 15, 30)
DEFAULT_AUC_MAX_THRESHOLD = 30
DEFAULT_REL_TOL = 1e-6


@dataclass(frozen=True)
class PairErrors:
    """Per ordered pair errors of one or more windows (all arrays have one entry per pair)."""

    first: np.ndarray  # index of frame i within its window
    second: np.ndarray  # index of frame j within its window
    group: np.ndarray  # view type (int) of frame i: the pair's view group
    rotation_deg: np.ndarray
    translation_deg: np.ndarray  # worst angle where the direction is degenerate
    translation_valid: np.ndarray  # False where the ground-truth direction is undefined
    pred_degenerate: np.ndarray  # predicted direction undefined, ground truth defined

    def __len__(self) -> int:
        return int(self.rotation_deg.shape[0])

    def select(self, keep: np.ndarray) -> PairErrors:
        """The pairs where the boolean mask ``keep`` is True."""
        return PairErrors(
            first=self.first[keep],
            second=self.second[keep],
            group=self.group[keep],
            rotation_deg=self.rotation_deg[keep],
            translation_deg=self.translation_deg[keep],
            translation_valid=self.translation_valid[keep],
            pred_degenerate=self.pred_degenerate[keep],
        )

    @staticmethod
    def concatenate(parts: Sequence[PairErrors]) -> PairErrors:
        """All pairs of several windows in one object."""
        if not parts:
            return _empty_pair_errors()
        return PairErrors(
            first=np.concatenate([p.first for p in parts]),
            second=np.concatenate([p.second for p in parts]),
            group=np.concatenate([p.group for p in parts]),
            rotation_deg=np.concatenate([p.rotation_deg for p in parts]),
            translation_deg=np.concatenate([p.translation_deg for p in parts]),
            translation_valid=np.concatenate([p.translation_valid for p in parts]),
            pred_degenerate=np.concatenate([p.pred_degenerate for p in parts]),
        )


@dataclass(frozen=True)
class PoseMetrics:
    """Accuracy summary of a set of pairs; percentages are None where no pair qualifies."""

    n_pairs: int
    n_translation_pairs: int  # pairs with a defined ground-truth direction (RTA, AUC)
    gt_degenerate: int
    pred_degenerate: int
    rra: dict[int, float | None]  # threshold (deg) -> percentage
    rta: dict[int, float | None]
    auc: float | None  # percentage
    auc_max_threshold: int


def to_numpy(array: ArrayLike) -> np.ndarray:
    """float64 numpy copy of an array or a (CPU/GPU, grad-tracking) torch tensor."""
    if hasattr(array, "detach"):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def rotation_angle_deg(rotations: np.ndarray) -> np.ndarray:
    """Geodesic angle (deg) of rotation matrices (..., 3, 3), robust near 0° and 180°."""
    cos = (np.trace(rotations, axis1=-2, axis2=-1) - 1.0) / 2.0
    skew = rotations - np.swapaxes(rotations, -1, -2)
    sin = 0.5 * np.linalg.norm(
        np.stack([skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]], axis=-1), axis=-1
    )
    return np.degrees(np.arctan2(sin, cos))


def direction_angle_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle (deg) between 3-vectors (..., 3); meaningless where either is zero (flag those)."""
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=-1), np.sum(a * b, axis=-1)))


def relative_poses(extrinsics: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``R_ij`` (S, S, 3, 3) and ``t_ij`` (S, S, 3) of world-to-camera extrinsics (S, 3|4, 4)."""
    rotation = extrinsics[:, :3, :3]
    translation = extrinsics[:, :3, 3]
    rel_rotation = np.einsum("iab,jcb->ijac", rotation, rotation)
    rel_translation = translation[:, None, :] - np.einsum("ijab,jb->ija", rel_rotation, translation)
    return rel_rotation, rel_translation


def _degenerate(vectors: np.ndarray, rel_tol: float) -> np.ndarray:
    """Vectors whose length is at most rel_tol times the longest one (all, if all are zero)."""
    norms = np.linalg.norm(vectors, axis=-1)
    return norms <= rel_tol * (norms.max() if norms.size else 0.0)


def _is_extrinsics(array: np.ndarray) -> bool:
    """Whether an array is a stack (S, 3|4, 4) of extrinsic matrices."""
    return array.ndim == 3 and array.shape[1:] in ((3, 4), (4, 4))


def pair_errors(
    pred_extrinsics: ArrayLike,
    gt_extrinsics: ArrayLike,
    view_types: ArrayLike,
    fold_sign: bool = True,
    rel_tol: float = DEFAULT_REL_TOL,
) -> PairErrors:
    """Errors of every ordered pair of one window (extrinsics (S, 3, 4) or (S, 4, 4))."""
    pred = to_numpy(pred_extrinsics)
    gt = to_numpy(gt_extrinsics)
    groups = np.asarray(to_numpy(view_types), dtype=np.int64).reshape(-1)
    if not (_is_extrinsics(pred) and _is_extrinsics(gt) and len(pred) == len(gt)):
        raise ValueError(
            f"expected (S, 3|4, 4) extrinsics of equal S, got {pred.shape}, {gt.shape}"
        )
    pred, gt = pred[:, :3], gt[:, :3]
    if groups.shape[0] != pred.shape[0]:
        raise ValueError(f"{groups.shape[0]} view types for {pred.shape[0]} frames")
    n = pred.shape[0]
    first, second = np.nonzero(~np.eye(n, dtype=bool))

    pred_rot, pred_trans = relative_poses(pred)
    gt_rot, gt_trans = relative_poses(gt)
    pred_trans, gt_trans = pred_trans[first, second], gt_trans[first, second]

    rotation_error = rotation_angle_deg(
        pred_rot[first, second] @ np.swapaxes(gt_rot[first, second], -1, -2)
    )
    translation_error = direction_angle_deg(pred_trans, gt_trans)
    worst = 180.0
    if fold_sign:
        translation_error = np.minimum(translation_error, 180.0 - translation_error)
        worst = 90.0
    gt_bad = _degenerate(gt_trans, rel_tol)
    pred_bad = _degenerate(pred_trans, rel_tol) & ~gt_bad
    translation_error = np.where(gt_bad | pred_bad, worst, translation_error)
    return PairErrors(
        first=first,
        second=second,
        group=groups[first],
        rotation_deg=rotation_error,
        translation_deg=translation_error,
        translation_valid=~gt_bad,
        pred_degenerate=pred_bad,
    )


def _empty_pair_errors() -> PairErrors:
    """A PairErrors holding no pair."""
    ints = np.zeros(0, dtype=np.int64)
    floats = np.zeros(0, dtype=np.float64)
    flags = np.zeros(0, dtype=bool)
    return PairErrors(ints, ints, ints, floats, floats, flags, flags)


def accuracy(errors_deg: np.ndarray, threshold: float) -> float | None:
    """Percentage of errors strictly below threshold (None for no error)."""
    if errors_deg.size == 0:
        return None
    return float(100.0 * np.mean(errors_deg < threshold))


def auc(
    rotation_deg: np.ndarray,
    translation_deg: np.ndarray,
    max_threshold: int = DEFAULT_AUC_MAX_THRESHOLD,
) -> float | None:
    """AUC@max_threshold (percentage) of max(rotation, translation) error (None for no pair)."""
    if rotation_deg.size == 0:
        return None
    worst = np.maximum(rotation_deg, translation_deg)
    thresholds = np.arange(1, max_threshold + 1, dtype=np.float64)
    return float(100.0 * np.mean(worst[None, :] < thresholds[:, None]))


def summarize(
    errors: PairErrors,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    auc_max_threshold: int = DEFAULT_AUC_MAX_THRESHOLD,
) -> PoseMetrics:
    """RRA@τ, RTA@τ and AUC of a set of pairs (see the module docstring for definitions)."""
    valid = errors.translation_valid
    rotation_valid = errors.rotation_deg[valid]
    translation_valid = errors.translation_deg[valid]
    return PoseMetrics(
        n_pairs=len(errors),
        n_translation_pairs=int(valid.sum()),
        gt_degenerate=int((~valid).sum()),
        pred_degenerate=int(errors.pred_degenerate.sum()),
        rra={t: accuracy(errors.rotation_deg, t) for t in thresholds},
        rta={t: accuracy(translation_valid, t) for t in thresholds},
        auc=auc(rotation_valid, translation_valid, auc_max_threshold),
        auc_max_threshold=auc_max_threshold,
    )
