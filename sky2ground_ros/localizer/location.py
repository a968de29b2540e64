"""The localizer's location-head path: crops around the prior in, camera poses on the map out.

Per window (see `pipeline.Localizer`): the model's crop plan for the window's platform is
rendered around the prior from the tile service's tiles (`geo.satellite_crops`, the generator
training uses); every camera gets its level frame (roll and pitch from odometry or a level
base, through its mount) and its height above the ground (drive: the mount above a base on the
ground; flight: the prior's altitude above the map's ground). Each newest camera's map (at the
model's calibrated temperature) is read with the window's priors, the prior position's sigma
and, while the localizer tracks a pose, the camera's heading carried to the window by
odometry (`location_prior`), at the posterior's peak (`model.location_head.read_location`):
the nadir through the canvas georeference to ENU, the heading with the level frame to an
orientation, and the posterior's spread to a covariance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.level_frame import level_frame, yaw_rotation
from sky2ground_ros.geo.satellite_crops import CropPlan, canvas_origin
from sky2ground_ros.localizer.geometry import transform
from sky2ground_ros.localizer.smoothing import PoseEstimate
from sky2ground_ros.model.location_head import LocationPrior, LocationReading, read_location
from sky2ground_ros.views import ViewType

LEVEL_SIGMA_RAD = math.radians(1.0)
"""Roll / pitch standard deviation of a level frame from odometry or a level base."""
DRIVE_HEIGHT_SIGMA_M = 0.3
FLIGHT_HEIGHT_SIGMA_M = 5.0
"""Vertical standard deviations of a camera on a ground vehicle and on a GNSS-aided drone."""
HEADING_PRIOR_SIGMA_RAD = (math.radians(10.0), math.radians(45.0))
"""A tracked heading's sigma is floored at the first (the heading prior error the model was
validated with, so the map can still correct the track instead of locking onto it); beyond
the second it is no prior."""


@dataclass(frozen=True)
class CameraGeometry:
    """What the location head and the read-out need to know about one camera frame."""

    level_from_camera: np.ndarray
    """3x3: the camera's axes in its level frame (z up)."""
    odom_heading: float
    """Heading of the level frame in the odometry (or base) frame; unused by the read-out."""
    height_m: float
    """Height of the camera above the ground plane."""
    ground_z: float
    """ENU height of that ground plane."""


def camera_geometry(
    view_type: ViewType,
    base_camera: np.ndarray,
    odom: np.ndarray | None,
    prior_z: float | None,
    ground_z: float,
) -> CameraGeometry:
    """Level frame and height of a camera from its mount, the odometry pose and the prior.

    Without odometry the base is taken as level. A ground camera's base stands on the ground;
    an aerial camera's height is the prior's ENU height (the base's) above ``ground_z``.
    """
    odom_base = np.eye(3) if odom is None else np.asarray(odom, dtype=np.float64)[:3, :3]
    level_base = _without_yaw(odom_base)
    heading, level_camera = level_frame(odom_base @ base_camera[:3, :3])
    lever = (level_base @ base_camera[:3, 3])[2]
    if view_type == ViewType.GROUND:
        return CameraGeometry(level_camera, heading, float(lever), ground_z)
    if prior_z is None:
        raise ValueError("an aerial camera needs the prior's altitude (GNSS or a localized pose)")
    height = float(prior_z + lever - ground_z)
    if not height > 0:
        raise ValueError(f"aerial camera {height:.1f} m above the ground: the altitude is wrong")
    return CameraGeometry(level_camera, heading, height, ground_z)


def located_camera(
    reading: LocationReading,
    camera: CameraGeometry,
    plan: CropPlan,
    prior_xy: np.ndarray,
    view_type: ViewType,
) -> tuple[np.ndarray, np.ndarray]:
    """``T_map_camera`` (4x4, ENU) of a read-out and its 6x6 covariance (ROS order).

    Position: the nadir through the canvas georeference, at the camera's height above the
    ground; orientation: the read heading applied to the level frame; horizontal covariance:
    the read-out's.
    """
    west, north = canvas_origin(prior_xy, plan)
    position = np.array(
        [west + reading.east_m, north - reading.south_m, camera.ground_z + camera.height_m]
    )
    rotation = yaw_rotation(reading.heading) @ camera.level_from_camera
    covariance = np.zeros((6, 6))
    covariance[:2, :2] = reading.covariance
    vertical = DRIVE_HEIGHT_SIGMA_M if view_type == ViewType.GROUND else FLIGHT_HEIGHT_SIGMA_M
    covariance[2, 2] = vertical**2
    covariance[3, 3] = covariance[4, 4] = LEVEL_SIGMA_RAD**2
    covariance[5, 5] = reading.heading_sigma**2
    return transform(rotation, position), covariance


def prior_pull(
    logits: torch.Tensor, cell_m: float, prior: LocationPrior, temperature: float
) -> np.ndarray:
    """2x2 (east, north) Jacobian of a read-out's nadir with respect to its prior position.

    Measured by moving the prior one sigma each way along each axis: a fix inherits
    ``J Σ_prior Jᵀ`` of its prior's error, the part it shares with every other window read
    around the same prior (a Gaussian posterior has ``J = Σ_post Λ_prior``).
    """
    step = prior.sigma_m
    jacobian = np.zeros((2, 2))
    for axis in range(2):
        ends = []
        for sign in (-1.0, 1.0):
            offset = np.zeros(2)
            offset[axis] = sign * step
            moved = replace(prior, offset_m=(float(offset[0]), float(offset[1])))
            reading = read_location(logits, cell_m, moved, temperature)
            ends.append(np.array([reading.east_m, -reading.south_m]))
        jacobian[:, axis] = (ends[1] - ends[0]) / (2.0 * step)
    return jacobian


def location_prior(
    sigma_m: float, tracked: PoseEstimate | None, base_camera: np.ndarray
) -> LocationPrior:
    """The read-out's prior for one camera: the prior position's sigma and, from the tracked
    base pose (the smoother's estimate carried to the window), the camera's heading."""
    if tracked is None:
        return LocationPrior(sigma_m)
    low, high = HEADING_PRIOR_SIGMA_RAD
    sigma = max(math.sqrt(max(float(tracked.covariance[5, 5]), 0.0)), low)
    if not sigma <= high:
        return LocationPrior(sigma_m)
    map_base = Rotation.from_quat(tracked.quaternion).as_matrix()
    heading, _ = level_frame(map_base @ np.asarray(base_camera)[:3, :3])
    return LocationPrior(sigma_m, heading, sigma)


def _without_yaw(rotation: np.ndarray) -> np.ndarray:
    """The roll and pitch part of a z-up rotation (its yaw about z removed)."""
    yaw = math.atan2(rotation[1, 0], rotation[0, 0])
    return yaw_rotation(-yaw) @ rotation
