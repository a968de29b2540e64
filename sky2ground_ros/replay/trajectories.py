"""Synthetic platform motion in a procedural scene: a street drive or a drone orbit.

Poses are ``map → base_link`` (REP-103 body axes: x forward, y left, z up) in the scene's
ENU frame, as smooth functions of time, so ground truth, odometry and camera frames can be
sampled at any rate. Each platform also carries its camera mount (``base_link → optical``)
and field of view, close to the synthetic training views of its kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy.spatial.transform import Rotation

from sky2ground_ros.data.procedural_scene import ProceduralScene
from sky2ground_ros.localizer.geometry import OPTICAL_IN_BODY, transform
from sky2ground_ros.views import ViewType


class Platform(Protocol):
    """A moving base with one camera."""

    view_type: ViewType
    camera_in_base: np.ndarray
    hfov_deg: float

    def pose(self, t: float) -> np.ndarray:
        """``T_map_base`` at ``t`` seconds after the start."""
        ...


def _mount(pitch_down_deg: float, position: list[float]) -> np.ndarray:
    """Optical frame pitched down (negative: up) about the base's y axis."""
    pitch = Rotation.from_euler("y", pitch_down_deg, degrees=True).as_matrix()
    return transform(pitch @ OPTICAL_IN_BODY, position)


@dataclass(frozen=True)
class StreetDrive:
    """A car in the right-hand lane of a street, following the terrain, camera 1.6 m up."""

    scene: ProceduralScene
    start: np.ndarray
    velocity: np.ndarray
    view_type: ViewType = ViewType.GROUND
    camera_in_base: np.ndarray = field(default_factory=lambda: _mount(-2.0, [1.2, 0.0, 1.6]))
    hfov_deg: float = 70.0

    def pose(self, t: float) -> np.ndarray:
        x, y = self.start + t * self.velocity
        terrain = self.scene.terrain
        heading = float(np.arctan2(self.velocity[1], self.velocity[0]))
        gx, gy = terrain.gradient(np.array(x), np.array(y))
        slope = float(gx) * np.cos(heading) + float(gy) * np.sin(heading)
        rotation = Rotation.from_euler("ZY", [heading, -np.arctan(slope)]).as_matrix()
        return transform(rotation, [x, y, float(terrain.height(np.array(x), np.array(y)))])


@dataclass(frozen=True)
class DroneOrbit:
    """A drone circling the town centre counter-clockwise, camera pitched 50° down."""

    radius_m: float
    altitude_m: float
    speed_mps: float
    view_type: ViewType = ViewType.AERIAL
    camera_in_base: np.ndarray = field(default_factory=lambda: _mount(50.0, [0.1, 0.0, -0.1]))
    hfov_deg: float = 50.0

    def pose(self, t: float) -> np.ndarray:
        angle = self.speed_mps * t / self.radius_m
        position = [self.radius_m * np.cos(angle), self.radius_m * np.sin(angle), self.altitude_m]
        heading = angle + np.pi / 2  # the velocity is tangential
        return transform(Rotation.from_euler("z", heading).as_matrix(), position)


def street_drive(scene: ProceduralScene, speed_mps: float, duration_s: float) -> StreetDrive:
    """Drive along the widest town street, from 10 % of its length."""
    count = scene.core_road_count
    k = int(np.argmax(scene.road_widths[:count]))
    a, b = scene.road_segments[k]
    length = float(np.linalg.norm(b - a))
    if speed_mps * duration_s > 0.8 * length:
        raise ValueError(
            f"a {speed_mps * duration_s:.0f} m drive does not fit on the {length:.0f} m main "
            "street: lower the speed or the duration"
        )
    direction = (b - a) / length
    right = np.array([direction[1], -direction[0]])
    start = a + 0.1 * length * direction + 0.3 * scene.road_widths[k] * right
    return StreetDrive(scene, start, speed_mps * direction)
