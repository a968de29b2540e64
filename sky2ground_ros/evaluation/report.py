"""Accumulate pose errors over many windows and report them like the paper's main table.

Grouping: an ordered pair (i, j) belongs to the view group of its first frame i (the camera in
whose frame the relative pose is expressed), and within a (setting, method) the pairs of all
windows are pooled per group. The "Avg." column is the unweighted mean of the group columns
that have pairs, which reproduces the paper's Avg. (e.g. SkyNet RRA@5: (76.7 + 88.9 + 84.0) / 3
= 83.2). A window's setting follows the view types it contains: "GAS" when ground, aerial and
satellite frames are all present, "G+S" without aerial frames, otherwise the "+"-joined letters.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from sky2ground_ros.evaluation.plots import plot_pose_evaluation
from sky2ground_ros.evaluation.pose_metrics import (
    DEFAULT_AUC_MAX_THRESHOLD,
    DEFAULT_REL_TOL,
    DEFAULT_THRESHOLDS,
    PairErrors,
    PoseMetrics,
    pair_errors,
    summarize,
    to_numpy,
)
from sky2ground_ros.views import ViewType

GROUP_ORDER: tuple[ViewType, ...] = (ViewType.GROUND, ViewType.SATELLITE, ViewType.AERIAL)
GROUP_NAMES: dict[ViewType, str] = {
    ViewType.GROUND: "Ground",
    ViewType.SATELLITE: "Satellite",
    ViewType.AERIAL: "Aerial",
}
AVERAGE = "Avg."
_LETTERS: dict[ViewType, str] = {
    ViewType.GROUND: "G",
    ViewType.AERIAL: "A",
    ViewType.SATELLITE: "S",
}


def window_setting(view_types: ArrayLike) -> str:
    """Setting of a window from its view types: "GAS", "G+S", or e.g. "G+A", "G"."""
    present = {ViewType(int(v)) for v in np.asarray(to_numpy(view_types)).reshape(-1)}
    if present == set(ViewType):
        return "GAS"
    return "+".join(
        _LETTERS[v] for v in (ViewType.GROUND, ViewType.AERIAL, ViewType.SATELLITE) if v in present
    )


def macro_average(metrics: Sequence[PoseMetrics]) -> PoseMetrics:
    """Unweighted mean of the percentages over groups (None entries skipped); counts summed."""
    if not metrics:
        raise ValueError("nothing to average")

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return float(np.mean(present)) if present else None

    thresholds = list(metrics[0].rra)
    return PoseMetrics(
        n_pairs=sum(m.n_pairs for m in metrics),
        n_translation_pairs=sum(m.n_translation_pairs for m in metrics),
        gt_degenerate=sum(m.gt_degenerate for m in metrics),
        pred_degenerate=sum(m.pred_degenerate for m in metrics),
        rra={t: mean([m.rra[t] for m in metrics]) for t in thresholds},
        rta={t: mean([m.rta[t] for m in metrics]) for t in thresholds},
        auc=mean([m.auc for m in metrics]),
        auc_max_threshold=metrics[0].auc_max_threshold,
    )


def _percent(value: float | None) -> str:
    """One-decimal percentage, or an en dash where undefined."""
    return "–" if value is None else f"{value:.1f}"


class PoseEvaluation:
    """Pose errors of several methods over many windows, reported per setting and view group."""

    def __init__(
        self,
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
        auc_max_threshold: int = DEFAULT_AUC_MAX_THRESHOLD,
        fold_sign: bool = True,
        rel_tol: float = DEFAULT_REL_TOL,
    ) -> None:
        self.thresholds = tuple(thresholds)
        self.auc_max_threshold = auc_max_threshold
        self.fold_sign = fold_sign
        self.rel_tol = rel_tol
        self._errors: dict[tuple[str, str], list[PairErrors]] = {}

    def add_window(
        self,
        method: str,
        pred_extrinsics: ArrayLike,
        gt_extrinsics: ArrayLike,
        view_types: ArrayLike,
    ) -> PairErrors:
        """Evaluate one window (S, 3|4, 4) of a method and keep its pair errors."""
        errors = pair_errors(
            pred_extrinsics, gt_extrinsics, view_types, self.fold_sign, self.rel_tol
        )
        self._errors.setdefault((window_setting(view_types), method), []).append(errors)
        return errors

    def add_batch(
        self,
        method: str,
        pred_extrinsics: ArrayLike,
        gt_extrinsics: ArrayLike,
        view_types: ArrayLike,
    ) -> None:
        """Evaluate every window of a batch (B, S, 3|4, 4) with view types (B, S)."""
        pred, gt, types = to_numpy(pred_extrinsics), to_numpy(gt_extrinsics), to_numpy(view_types)
        for window in range(pred.shape[0]):
            self.add_window(method, pred[window], gt[window], types[window])

    def settings(self) -> list[str]:
        """Settings seen so far, "GAS" then "G+S" then the others alphabetically."""
        seen = {setting for setting, _ in self._errors}
        rank = {"GAS": 0, "G+S": 1}
        return sorted(seen, key=lambda s: (rank.get(s, 2), s))

    def methods(self, setting: str) -> list[str]:
        """Methods evaluated in a setting, in the order they were first added."""
        return [method for s, method in self._errors if s == setting]

    def n_windows(self, setting: str, method: str) -> int:
        """Number of windows of a method in a setting."""
        return len(self._errors.get((setting, method), []))

    def group_metrics(self, setting: str, method: str) -> dict[str, PoseMetrics]:
        """Metrics per view group present (paper order) plus the "Avg." column."""
        pooled = PairErrors.concatenate(self._errors.get((setting, method), []))
        columns = {
            GROUP_NAMES[group]: summarize(
                pooled.select(pooled.group == int(group)),
                self.thresholds,
                self.auc_max_threshold,
            )
            for group in GROUP_ORDER
            if np.any(pooled.group == int(group))
        }
        if columns:
            columns[AVERAGE] = macro_average(list(columns.values()))
        return columns

    def columns(self, setting: str) -> list[str]:
        """View-group columns of a setting's table (groups any method has pairs in) and Avg."""
        present = {
            name for method in self.methods(setting) for name in self.group_metrics(setting, method)
        }
        return [name for name in [*GROUP_NAMES.values(), AVERAGE] if name in present]

    def to_markdown(self) -> str:
        """Tables in the paper's layout: one per threshold (cells RRA/RTA) and one of AUC."""
        lines: list[str] = []
        for setting in self.settings():
            columns = self.columns(setting)
            metrics = {m: self.group_metrics(setting, m) for m in self.methods(setting)}
            header = ["| Method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
            for threshold in self.thresholds:
                lines += [f"### {setting} setting: RRA@{threshold} / RTA@{threshold} (%)", ""]
                lines += header
                for method, groups in metrics.items():
                    cells = [
                        f"{_percent(groups[c].rra[threshold])}/{_percent(groups[c].rta[threshold])}"
                        if c in groups
                        else "–"
                        for c in columns
                    ]
                    lines.append(f"| {method} | " + " | ".join(cells) + " |")
                lines.append("")
            lines += [f"### {setting} setting: AUC@{self.auc_max_threshold} (%)", "", *header]
            for method, groups in metrics.items():
                cells = [_percent(groups[c].auc) if c in groups else "–" for c in columns]
                lines.append(f"| {method} | " + " | ".join(cells) + " |")
            lines.append("")
            notes = [
                f"{method}: {total.gt_degenerate} of {total.n_pairs} pairs with a zero-length "
                f"ground-truth translation (left out of RTA/AUC), {total.pred_degenerate} with a "
                "zero-length predicted one (failures)."
                for method, total in ((m, g[AVERAGE]) for m, g in metrics.items())
                if total.gt_degenerate or total.pred_degenerate
            ]
            if notes:
                lines += [*notes, ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_csv(self) -> str:
        """One row per (setting, method, view group) with counts and every percentage."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        rates = [f"{name}@{t}" for t in self.thresholds for name in ("RRA", "RTA")]
        writer.writerow(
            [
                "setting",
                "method",
                "group",
                "n_windows",
                "n_pairs",
                "n_translation_pairs",
                "gt_degenerate",
                "pred_degenerate",
                *rates,
                f"AUC@{self.auc_max_threshold}",
            ]
        )
        for setting in self.settings():
            for method in self.methods(setting):
                for group, m in self.group_metrics(setting, method).items():
                    values = [v for t in self.thresholds for v in (m.rra[t], m.rta[t])]
                    writer.writerow(
                        [
                            setting,
                            method,
                            group,
                            self.n_windows(setting, method),
                            m.n_pairs,
                            m.n_translation_pairs,
                            m.gt_degenerate,
                            m.pred_degenerate,
                            *("" if v is None else f"{v:.4f}" for v in [*values, m.auc]),
                        ]
                    )
        return out.getvalue()

    def save(self, directory: str | Path, stem: str = "pose_metrics") -> dict[str, Path]:
        """Write <stem>.md, <stem>.csv and the <stem>.png bar chart; returns their paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = {ext: directory / f"{stem}.{ext}" for ext in ("md", "csv", "png")}
        paths["md"].write_text(self.to_markdown(), encoding="utf-8")
        paths["csv"].write_text(self.to_csv(), encoding="utf-8")
        plot_pose_evaluation(self, paths["png"])
        return paths
