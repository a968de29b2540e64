"""Camera models and camera placement for the multi-altitude scenes.

Conventions (shared with every other sub-package):

* World frame = local ENU at the scene's geo-reference (x East, y North, z Up, metres).
* Extrinsics are world-to-camera ``[R|t]`` (3x4), OpenCV camera axes (x right, y down,
  z forward); intrinsics ``K`` are 3x3 in pixels with pixel centres at integer coordinates,
  so the image centre is ``((W - 1) / 2, (H - 1) / 2)``.
* Depth is z-depth (distance along the camera z axis), not ray length.

Satellite views use the project's satellite tile camera: an orthorectified tile of ground
sample distance ``g`` is a nadir pinhole at altitude ``H`` with ``f = H / g`` pixels, image x
pointing East and image y pointing South (camera z points down).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NADIR_ROTATION = np.diag([1.0, -1.0, -1.0])
"""World-to-camera rotation of a north-up nadir camera (x East, y South, z Down)."""


def intrinsics_from_hfov(width: int, height: int, hfov_deg: float) -> np.ndarray:
    """Square-pixel pinhole intrinsics with the given horizontal field of view."""
    f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    return intrinsics(f, f, width, height)


def intrinsics(fx: float, fy: float, width: int, height: int) -> np.ndarray:
    """Pinhole intrinsics with the principal point at the image centre."""
    return np.array([[fx, 0.0, (width - 1) / 2.0], [0.0, fy, (height - 1) / 2.0], [0.0, 0.0, 1.0]])


def compose_extrinsics(rotation: np.ndarray, center: np.ndarray) -> np.ndarray:
    """World-to-camera ``[R|t]`` from a world-to-camera rotation and the camera centre."""
    rotation = np.asarray(rotation, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    return np.concatenate([rotation, (-rotation @ center)[:, None]], axis=1)


def camera_center(extrinsics: np.ndarray) -> np.ndarray:
    """Camera centre in world coordinates of a world-to-camera ``[R|t]`` (any leading dims)."""
    rotation = extrinsics[..., :3, :3]
    translation = extrinsics[..., :3, 3]
    return -np.einsum("...ji,...j->...i", rotation, translation)


def look_at(eye: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """World-to-camera extrinsics of a camera at ``eye`` looking at ``target`` with no roll."""
    eye = np.asarray(eye, dtype=np.float64)
    forward = np.asarray(target, dtype=np.float64) - eye
    forward /= np.linalg.norm(forward)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64)
    right = np.cross(forward, up)
    norm = np.linalg.norm(right)
    if norm < 1e-9:
        raise ValueError("look_at: viewing direction is parallel to the up vector")
    right /= norm
    down = np.cross(forward, right)
    return compose_extrinsics(np.stack([right, down, forward]), eye)


def heading_pitch_direction(heading: float, pitch: float) -> np.ndarray:
    """Unit ENU direction for a heading (radians, counter-clockwise from East) and pitch."""
    return np.array(
        [np.cos(pitch) * np.cos(heading), np.cos(pitch) * np.sin(heading), np.sin(pitch)]
    )


def roll_about_optical_axis(extrinsics: np.ndarray, roll: float) -> np.ndarray:
    """Rotate a camera about its own z axis by ``roll`` radians (centre unchanged)."""
    c, s = np.cos(roll), np.sin(roll)
    delta = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    rotation = delta @ extrinsics[:3, :3]
    return compose_extrinsics(rotation, camera_center(extrinsics))


def rotation_about_axis(axis: np.ndarray, angle: float) -> np.ndarray:
    """Rodrigues rotation matrix about a unit ``axis`` by ``angle`` radians."""
    axis = np.asarray(axis, dtype=np.float64)
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


@dataclass(frozen=True)
class PinholeCamera:
    """A perspective camera; rays are parameterised by z-depth (camera-z of ``d`` is 1)."""

    intrinsics: np.ndarray
    extrinsics: np.ndarray
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        """Camera centre in world coordinates."""
        return camera_center(self.extrinsics)

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Origins and directions of the rays through every pixel centre (row-major).

        Directions are ``R^T K^-1 [u, v, 1]``, so the ray parameter of a hit is its z-depth.
        """
        u, v = np.meshgrid(np.arange(self.width), np.arange(self.height))
        pix = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1).astype(np.float64)
        cam = pix @ np.linalg.inv(self.intrinsics).T
        directions = cam @ self.extrinsics[:3, :3]
        origins = np.broadcast_to(self.center, directions.shape)
        return origins, directions

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) in camera coordinates."""
        return points @ self.extrinsics[:3, :3].T + self.extrinsics[:3, 3]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (..., 2) and z-depth (...) of world points."""
        cam = self.to_camera(points)
        z = cam[..., 2]
        uv = (cam @ self.intrinsics.T)[..., :2] / z[..., None]
        return uv, z

    def pixel_footprint(self, depth: np.ndarray | float) -> np.ndarray | float:
        """Approximate metres per pixel at a z-depth (for texture level of detail)."""
        return depth / float(self.intrinsics[0, 0])

    def box_pixel_bounds(self, corners: np.ndarray, near: float = 1e-3) -> np.ndarray:
        """Integer pixel rectangles ``[x0, x1, y0, y1)`` covering boxes given by 8 corners.

        ``corners`` is (M, 8, 3) in world coordinates; the part of each box behind the
        ``near`` plane is clipped away first, so the rectangle of a box that straddles the
        camera is still tight. Boxes fully behind the camera get an empty rectangle.
        """
        cam = self.to_camera(corners)
        z = cam[..., 2]
        edges = _BOX_EDGES
        za, zb = z[:, edges[:, 0]], z[:, edges[:, 1]]
        ca, cb = cam[:, edges[:, 0]], cam[:, edges[:, 1]]
        crossing = (za - near) * (zb - near) < 0
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(crossing, (near - za) / (zb - za), 0.0)
        clipped = ca + s[..., None] * (cb - ca)
        pts = np.concatenate([cam, clipped], axis=1)
        valid = np.concatenate([z >= near, crossing], axis=1)
        zc = np.where(valid, np.maximum(pts[..., 2], near), 1.0)
        uv = (pts[..., :2] * self.intrinsics[[0, 1], [0, 1]] / zc[..., None]) + self.intrinsics[
            [0, 1], [2, 2]
        ]
        return _rectangles(uv, valid, self.width, self.height)


@dataclass(frozen=True)
class OrthographicCamera:
    """A parallel-projection camera with ``gsd`` metres per pixel (principal point centred).

    Pixel (u, v) sees the ray from ``C + R^T [(u - cx) g, (v - cy) g, 0]`` along the camera
    z axis; the ray parameter is the z-depth from the camera plane.
    """

    extrinsics: np.ndarray
    gsd: float
    width: int
    height: int

    @property
    def center(self) -> np.ndarray:
        """Centre of the image plane in world coordinates."""
        return camera_center(self.extrinsics)

    def pixel_rays(self) -> tuple[np.ndarray, np.ndarray]:
        """Origins and (unit) directions of the rays through every pixel centre."""
        u, v = np.meshgrid(np.arange(self.width), np.arange(self.height))
        x = (u.ravel() - (self.width - 1) / 2.0) * self.gsd
        y = (v.ravel() - (self.height - 1) / 2.0) * self.gsd
        cam = np.stack([x, y, np.zeros_like(x)], axis=1)
        rotation = self.extrinsics[:3, :3]
        origins = cam @ rotation + self.center
        directions = np.broadcast_to(rotation[2], origins.shape)
        return origins, directions

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """World points (..., 3) in camera coordinates."""
        return points @ self.extrinsics[:3, :3].T + self.extrinsics[:3, 3]

    def pixel_footprint(self, depth: np.ndarray | float) -> np.ndarray | float:
        """Metres per pixel (constant for a parallel projection)."""
        return np.zeros_like(depth) + self.gsd

    def box_pixel_bounds(self, corners: np.ndarray, near: float = 0.0) -> np.ndarray:
        """Integer pixel rectangles ``[x0, x1, y0, y1)`` covering boxes (M, 8, 3)."""
        cam = self.to_camera(corners)
        uv = cam[..., :2] / self.gsd + np.array([(self.width - 1) / 2.0, (self.height - 1) / 2.0])
        return _rectangles(uv, cam[..., 2] >= near, self.width, self.height)


_BOX_EDGES = np.array(
    [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]]
)
"""Edges of a box whose corner i has coordinates (i & 1, (i >> 1) & 1, (i >> 2) & 1)."""


def _rectangles(uv: np.ndarray, valid: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip the pixel bounding rectangles of point sets (M, K, 2) to the image.

    Pixel centres are integers, so pixel c is covered when c lies in [min, max] rounded out.
    Sets without a valid point get an empty rectangle.
    """
    lo = np.where(valid[..., None], uv, np.inf).min(axis=1)
    hi = np.where(valid[..., None], uv, -np.inf).max(axis=1)
    any_valid = valid.any(axis=1)
    lo = np.where(any_valid[:, None], lo, 0.0)
    hi = np.where(any_valid[:, None], hi, -1.0)
    size = np.array([width, height])
    start = np.clip(np.floor(np.clip(lo, -1.0, size)), 0, size)
    stop = np.clip(np.ceil(np.clip(hi, -1.0, size)) + 1, 0, size)
    stop = np.maximum(stop, start)
    return np.stack([start[:, 0], stop[:, 0], start[:, 1], stop[:, 1]], axis=1).astype(np.int64)


def satellite_camera(
    center_en: tuple[float, float],
    altitude: float,
    gsd: float,
    width: int,
    height: int,
    tilt_deg: float = 0.0,
    tilt_azimuth_deg: float = 0.0,
) -> PinholeCamera:
    """The project's satellite tile camera, optionally tilted slightly off nadir.

    Untilted: centre ``(E, N, altitude)``, rotation ``diag(1, -1, -1)`` (image x East,
    y South), ``f = altitude / gsd``; the ground plane z = 0 is imaged at exactly ``gsd``
    metres per pixel and the tile centre ``(E, N, 0)`` lands on the image centre. A tilt
    rotates the camera about that ground point (toward ``tilt_azimuth_deg``, counter-clockwise
    from East) so the tile centre stays on the principal point.
    """
    target = np.array([center_en[0], center_en[1], 0.0])
    rotation = NADIR_ROTATION.copy()
    center = target + np.array([0.0, 0.0, altitude])
    if tilt_deg:
        az = np.radians(tilt_azimuth_deg)
        axis = np.array([-np.sin(az), np.cos(az), 0.0])
        tilt = rotation_about_axis(axis, -np.radians(tilt_deg))
        center = target + tilt @ (center - target)
        rotation = rotation @ tilt.T
    f = altitude / gsd
    K = intrinsics(f, f, width, height)
    return PinholeCamera(K, compose_extrinsics(rotation, center), width, height)


@dataclass(frozen=True)
class HelixConfig:
    """Helical descent of the aerial rig around a site (altitudes above the site's ground)."""

    positions: int = 12
    altitude_start: float = 800.0
    altitude_end: float = 250.0
    turns: float = 1.25
    pitch_deg: tuple[float, float] = (45.0, 60.0)
    hfov_deg: float = 50.0
    rig: tuple[tuple[float, float], ...] = ((0.0, 0.0), (25.0, 5.0), (-25.0, 5.0))
    """(yaw, pitch) offsets in degrees of each rig camera relative to the forward-oblique one."""


def helical_rig_cameras(
    config: HelixConfig,
    site_center: np.ndarray,
    width: int,
    height: int,
    rng: np.random.Generator,
    target_jitter: float = 30.0,
) -> list[tuple[int, int, PinholeCamera]]:
    """Cameras of a three-camera rig on a helical descent looking at ``site_center``.

    Altitude falls geometrically from ``altitude_start`` to ``altitude_end`` while the
    horizontal radius shrinks with it (``radius = altitude / tan(pitch)``). Returns
    ``(position index, rig camera index, camera)`` tuples.
    """
    k = np.arange(config.positions)
    s = k / max(config.positions - 1, 1)
    altitudes = config.altitude_start * (config.altitude_end / config.altitude_start) ** s
    azimuth0 = rng.uniform(0, 2 * np.pi)
    azimuths = azimuth0 + 2 * np.pi * config.turns * s
    pitches = np.radians(rng.uniform(*config.pitch_deg, size=config.positions))
    K = intrinsics_from_hfov(width, height, config.hfov_deg)
    cameras = []
    for i in range(config.positions):
        target = site_center + np.append(rng.uniform(-target_jitter, target_jitter, 2), 0.0)
        radius = altitudes[i] / np.tan(pitches[i])
        eye = target + np.array(
            [radius * np.cos(azimuths[i]), radius * np.sin(azimuths[i]), altitudes[i]]
        )
        forward = target - eye
        heading = np.arctan2(forward[1], forward[0])
        pitch = np.arctan2(forward[2], np.linalg.norm(forward[:2]))
        for j, (dyaw, dpitch) in enumerate(config.rig):
            direction = heading_pitch_direction(
                heading + np.radians(dyaw), pitch + np.radians(dpitch)
            )
            cameras.append((i, j, PinholeCamera(K, look_at(eye, eye + direction), width, height)))
    return cameras
