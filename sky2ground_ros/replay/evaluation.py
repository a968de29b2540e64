"""Compare a replay with the bag's ground truth in the localizer's geo-referenced map frame.

Ground truth may be recorded in any frame that /tf_static places in ``earth`` (ECEF), or in
``earth`` itself: it is brought into the map frame the localizer used (its ENU origin), so
the errors are geo-localization errors. The input GNSS fixes are evaluated the same way, as
the baseline the localizer should beat.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import TransformTree, enu_in_ecef, from_xyz_quat, inverse
from sky2ground_ros.replay.replay import FrameNames, ReplayOutcome
from sky2ground_ros.replay.trajectory_metrics import (
    GNSS_HORIZONTAL,
    POSE_METRICS,
    ErrorStats,
    Trajectory,
    horizontal_errors,
    pose_errors,
)


@dataclass
class Evaluation:
    """The trajectories in the map frame and their errors (empty with a note when impossible)."""

    estimate: Trajectory
    ground_truth: Trajectory | None = None
    fixes: Trajectory | None = None
    errors: dict[str, ErrorStats | None] = field(default_factory=dict)
    """By metric; None where it could not be computed (e.g. no pose to compare)."""
    note: str = ""


def map_from_frame(
    frame: str, origin: LocalENU, static_tf: TransformTree, frames: FrameNames
) -> np.ndarray:
    """``T_map_frame`` of a geo-referenced frame; ValueError when it is not tied to earth."""
    map_earth = inverse(enu_in_ecef(origin))
    if frame == frames.earth:
        return map_earth
    earth_frame = static_tf.lookup(frames.earth, frame)
    if earth_frame is None:
        raise ValueError(
            f"ground truth frame '{frame}' is not connected to '{frames.earth}' by /tf_static, "
            "so it cannot be compared with geo-referenced poses"
        )
    return map_earth @ earth_frame


def evaluate(outcome: ReplayOutcome, frames: FrameNames) -> Evaluation:
    """Trajectories and APE/RPE of a replay (metrics only with ground truth and poses)."""
    poses = outcome.poses
    estimate = Trajectory.from_poses(
        [r.stamp for r in poses],
        [from_xyz_quat(r.pose.position, r.pose.quaternion) for r in poses if r.pose is not None],
    )
    evaluation = Evaluation(estimate)
    origin = outcome.origin
    if origin is None:
        evaluation.note = "no map origin: no window had a position prior"
        return evaluation
    if outcome.fixes:
        lla = np.array([geodetic for _, geodetic in outcome.fixes])
        enu = origin.points_from_geodetic(lla)
        stamps = [stamp for stamp, _ in outcome.fixes]
        evaluation.fixes = Trajectory.from_poses(
            stamps, [from_xyz_quat(p, [0, 0, 0, 1]) for p in enu]
        )
    if not outcome.ground_truth:
        evaluation.note = "the bag has no ground truth"
        return evaluation
    try:
        map_truth = map_from_frame(outcome.ground_truth_frame, origin, outcome.static_tf, frames)
    except ValueError as error:
        evaluation.note = str(error)
        return evaluation
    evaluation.ground_truth = Trajectory.from_poses(
        [p.stamp for p in outcome.ground_truth], [map_truth @ p.T for p in outcome.ground_truth]
    )
    evaluation.errors = dict.fromkeys(POSE_METRICS)
    notes = []
    if len(estimate):
        try:
            evaluation.errors.update(pose_errors(evaluation.ground_truth, estimate))
        except ValueError as error:
            notes.append(f"poses: {error}")
    else:
        notes.append("no window produced a pose")
    if evaluation.fixes is not None:
        evaluation.errors[GNSS_HORIZONTAL] = None
        try:
            evaluation.errors[GNSS_HORIZONTAL] = horizontal_errors(
                evaluation.ground_truth, evaluation.fixes
            )
        except ValueError as error:
            notes.append(f"GNSS fixes: {error}")
    evaluation.note = "; ".join(notes)
    return evaluation
