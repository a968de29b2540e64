"""Depth / pose consistency between two views (validates generated and converted scenes).

View A's depth is lifted to 3D with its camera, projected into view B, and compared with B's
depth at the landing point. ``1 / z`` is affine in pixel coordinates on a plane, so B's
inverse depth is fitted with an affine function on the 4x4 pixels around the landing point:
where that fit is exact (a planar patch, no depth edge, no curved canopy) the predicted and
observed depth must agree to float precision. Points that B sees behind a nearer surface are
occlusions, not errors; points predicted *in front of* B's surface are violations (B would
have to see them), which is what wrong poses or depth maps produce. Colours are compared
only at consistent points that both views resolve alike (pixel footprints within a factor of
2), since a 2 cm street-level pixel and a 2 m aerial pixel of the same asphalt legitimately
differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sky2ground_ros.data.transforms import camera_points


@dataclass(frozen=True)
class PairConsistency:
    """Statistics of reprojecting view A into view B."""

    lifted: int
    """Valid-depth pixels of A."""
    compared: int
    """Of those, how many land on a planar patch of B (4x4 affine inverse-depth fit)."""
    consistent: int
    """Compared points whose depth agrees with B within ``rel_tol``."""
    occluded: int
    """Compared points hidden behind a nearer surface in B."""
    median_rel_error: float
    """Median relative depth error over consistent + violating points."""
    photometric_points: int
    """Consistent points seen at a similar resolution (pixel footprints within 2x)."""
    photometric_error: float
    """Median absolute RGB difference (0-1 scale) over the photometric points."""
    photometric_correlation: float
    """Pearson correlation of the brightness of A and B over the photometric points."""

    @property
    def violations(self) -> int:
        """Compared points predicted in front of the surface B sees (impossible if exact)."""
        return self.compared - self.consistent - self.occluded

    @property
    def consistent_fraction(self) -> float:
        """consistent / (consistent + violations); 1.0 for exact depth and poses."""
        total = self.consistent + self.violations
        return self.consistent / total if total else 0.0


def unproject(depth: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """World points (H, W, 3) of every pixel centre of a z-depth map."""
    cam = camera_points(depth, intrinsics)
    return (cam - extrinsics[:, 3]) @ extrinsics[:, :3]


def project(
    points: np.ndarray, intrinsics: np.ndarray, extrinsics: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates (..., 2) and z-depth (...) of world points in a camera."""
    cam = points @ extrinsics[:, :3].T + extrinsics[:, 3]
    z = cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (cam @ intrinsics.T)[..., :2] / z[..., None]
    return uv, z


_OFFSETS = np.array([(dx, dy) for dy in (-1, 0, 1, 2) for dx in (-1, 0, 1, 2)])
_DESIGN = np.concatenate([_OFFSETS, np.ones((16, 1))], axis=1).astype(np.float64)
_FIT = np.linalg.pinv(_DESIGN)


def reprojection_consistency(
    image_a: np.ndarray,
    depth_a: np.ndarray,
    intrinsics_a: np.ndarray,
    extrinsics_a: np.ndarray,
    image_b: np.ndarray,
    depth_b: np.ndarray,
    intrinsics_b: np.ndarray,
    extrinsics_b: np.ndarray,
    rel_tol: float = 1e-4,
    planar_tol: float = 1e-5,
) -> PairConsistency:
    """Reproject A's valid depth into B and compare depth (and colour) on B's planar patches."""
    valid_a = depth_a > 0
    points = unproject(depth_a.astype(np.float64), intrinsics_a, extrinsics_a)[valid_a]
    uv, z_pred = project(points, intrinsics_b, extrinsics_b)
    h, w = depth_b.shape
    x0 = np.floor(uv[:, 0])
    y0 = np.floor(uv[:, 1])
    inside = (z_pred > 0) & (x0 >= 1) & (y0 >= 1) & (x0 < w - 2) & (y0 < h - 2)
    x0, y0 = x0[inside].astype(int), y0[inside].astype(int)
    frac = np.stack([uv[inside, 0] - x0, uv[inside, 1] - y0, np.ones(len(x0))], axis=1)
    z_pred = z_pred[inside]
    patch = depth_b.astype(np.float64)[y0[:, None] + _OFFSETS[:, 1], x0[:, None] + _OFFSETS[:, 0]]
    valid = np.all(patch > 0, axis=1)
    inv = 1.0 / np.where(patch > 0, patch, 1.0)
    coef = inv @ _FIT.T
    residual = np.max(np.abs(inv - coef @ _DESIGN.T), axis=1)
    compared = valid & (residual <= planar_tol * inv.mean(axis=1))
    z_b = 1.0 / np.maximum(np.sum(coef * frac, axis=1), 1e-12)
    rel = (z_pred - z_b) / z_pred
    occluded = compared & (rel > rel_tol)
    consistent = compared & (np.abs(rel) <= rel_tol)
    checked = compared & ~occluded
    footprint_a = depth_a[valid_a][inside] / intrinsics_a[0, 0]
    footprint_b = z_pred / intrinsics_b[0, 0]
    alike = consistent & (np.abs(np.log(footprint_a / footprint_b)) <= np.log(2.0))
    colors_a = image_a[valid_a][inside][alike].astype(np.float64) / 255.0
    xs = np.rint(uv[inside, 0][alike]).astype(int)
    ys = np.rint(uv[inside, 1][alike]).astype(int)
    colors_b = image_b[ys, xs].astype(np.float64) / 255.0
    nan = float("nan")
    photometric = np.median(np.abs(colors_a - colors_b)) if alike.any() else nan
    brightness_a, brightness_b = colors_a.mean(axis=1), colors_b.mean(axis=1)
    textured = alike.sum() > 2 and brightness_a.std() > 0 and brightness_b.std() > 0
    correlation = np.corrcoef(brightness_a, brightness_b)[0, 1] if textured else nan
    return PairConsistency(
        lifted=int(valid_a.sum()),
        compared=int(compared.sum()),
        consistent=int(consistent.sum()),
        occluded=int(occluded.sum()),
        median_rel_error=float(np.median(np.abs(rel[checked]))) if checked.any() else float("nan"),
        photometric_points=int(alike.sum()),
        photometric_error=float(photometric),
        photometric_correlation=float(correlation),
    )
