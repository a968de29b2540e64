"""Bar chart of a pose evaluation: per setting, RRA/RTA at one threshold and AUC per view group.

Uses matplotlib's object API (no pyplot), so it needs no display and keeps no global state.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from sky2ground_ros.evaluation.pose_metrics import PoseMetrics
    from sky2ground_ros.evaluation.report import PoseEvaluation


def _panel_value(metrics: PoseMetrics | None, panel: int, threshold: int) -> float:
    """RRA@τ (panel 0), RTA@τ (1) or AUC (2) of a group; NaN (no bar) where undefined."""
    if metrics is None:
        return float("nan")
    value = (metrics.rra[threshold], metrics.rta[threshold], metrics.auc)[panel]
    return float("nan") if value is None else value


def plot_pose_evaluation(
    evaluation: PoseEvaluation, path: str | Path, threshold: int | None = None
) -> Path:
    """Save a PNG with one row per setting and panels RRA@τ, RTA@τ, AUC (bars = methods)."""
    threshold = evaluation.thresholds[0] if threshold is None else threshold
    settings = evaluation.settings() or ["(no data)"]
    panels = (f"RRA@{threshold}", f"RTA@{threshold}", f"AUC@{evaluation.auc_max_threshold}")
    figure = Figure(figsize=(4.2 * len(panels), 3.2 * len(settings)), layout="constrained")
    axes = figure.subplots(len(settings), len(panels), squeeze=False)
    for row, setting in enumerate(settings):
        columns = evaluation.columns(setting)
        metrics = {m: evaluation.group_metrics(setting, m) for m in evaluation.methods(setting)}
        width = 0.8 / max(len(metrics), 1)
        x = np.arange(len(columns))
        for panel, ax in enumerate(axes[row]):
            for k, (method, groups) in enumerate(metrics.items()):
                values = [_panel_value(groups.get(c), panel, threshold) for c in columns]
                ax.bar(x + (k - (len(metrics) - 1) / 2) * width, values, width, label=method)
            ax.set_xticks(x, columns)
            ax.set_ylim(0.0, 100.0)
            ax.set_title(f"{setting}: {panels[panel]} (%)")
            ax.grid(axis="y", alpha=0.3)
        if metrics:
            axes[row][0].legend(fontsize="small")
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path
