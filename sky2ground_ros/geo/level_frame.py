"""A camera's heading-free level frame: gravity fixes roll and pitch, the heading is searched.

The level frame has z up and x along the camera's horizontal forward direction, taken as the
horizontal part of ``optical axis + image up`` so it is defined at every pitch (for a nadir
camera, image up; for a horizontal one, the optical axis). Its heading is the ENU angle of
that x axis, counter-clockwise from East; ``R_world_camera = Rz(heading) @ R_level_camera``.
The localizer builds it from odometry and mounts, training from the true camera poses.
"""

from __future__ import annotations

import math

import numpy as np


def level_frame(world_from_camera: np.ndarray) -> tuple[float, np.ndarray]:
    """(heading rad, R_level_camera 3x3) of a camera rotation in any z-up world frame."""
    rotation = np.asarray(world_from_camera, dtype=np.float64)[:3, :3]
    forward = rotation[:, 2] - rotation[:, 1]  # optical axis + image up (-y)
    if math.hypot(forward[0], forward[1]) < 1e-9:
        raise ValueError("camera forward and image-up axes are both vertical (rolled 90 deg)")
    heading = math.atan2(forward[1], forward[0])
    return heading, yaw_rotation(-heading) @ rotation


def yaw_rotation(angle: float) -> np.ndarray:
    """Rotation about z by ``angle`` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
