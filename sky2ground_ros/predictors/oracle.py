"""The oracle: a `Predictor` that returns the ground-truth poses of a window.

It answers in SkyNet's output convention (world-to-camera OpenCV extrinsics with frame 0 as
the world, translations divided by the window's scale as the training data normalises
them), so the rest of the localizer (Sim(3) registration, gate, smoother, outputs) runs
exactly as it does for the model. Fed through the full path it measures what the code
around the model can reach: ≈0 m when the pipeline is right.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sky2ground_ros.data.transforms import normalize_views
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import enu_in_enu, inverse
from sky2ground_ros.localizer.pipeline import PreparedWindow, WindowPrediction

CameraTruth = Callable[[float, str], np.ndarray]
"""``(stamp, camera name) -> T_truth_camera``: the camera's optical-frame pose (4x4) in the
ground truth's ENU frame."""


class OraclePredictor:
    """Ground-truth camera poses (and the tiles' known cameras) as a model prediction."""

    def __init__(self, camera_pose: CameraTruth, truth_origin: LocalENU) -> None:
        self._camera_pose = camera_pose
        self._truth_origin = truth_origin

    def __call__(self, prepared: PreparedWindow) -> WindowPrediction:
        map_truth = enu_in_enu(self._truth_origin, prepared.origin)
        cameras = [
            inverse(map_truth @ self._camera_pose(stamp, name))[:3]
            for stamp, name in prepared.frames
        ]
        extrinsics = np.stack(cameras + [tile.extrinsic for tile in prepared.tiles])
        intrinsics = np.stack(prepared.intrinsics)
        no_depth = np.zeros((len(extrinsics), 1, 1))
        views = normalize_views(extrinsics, intrinsics, no_depth)
        return WindowPrediction(views.extrinsics, intrinsics, np.ones(len(extrinsics)))
