"""Pose-accuracy evaluation (RRA/RTA/AUC per view group) and its tables and charts."""

from sky2ground_ros.evaluation.plots import plot_pose_evaluation
from sky2ground_ros.evaluation.pose_metrics import (
    PairErrors,
    PoseMetrics,
    auc,
    pair_errors,
    summarize,
)
from sky2ground_ros.evaluation.report import PoseEvaluation, macro_average, window_setting

__all__ = [
    "PairErrors",
    "PoseEvaluation",
    "PoseMetrics",
    "auc",
    "macro_average",
    "pair_errors",
    "plot_pose_evaluation",
    "summarize",
    "window_setting",
]
