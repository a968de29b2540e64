"""Per-window errors of published poses against exact truth, and their summary.

A window either published a pose (it passed the gate and the smoother) or was refused with a
category. A published pose's errors are horizontal (metres), height (metres) and heading (the
base x axis's yaw, degrees). Calibration compares each horizontal error component (east,
north) with the published standard deviation of that axis: for a calibrated covariance,
68.3 % lie within 1σ and 95.4 % within 2σ.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import from_xyz_quat
from sky2ground_ros.localizer.pipeline import LocalizationResult

PIPELINE_STAGES = ("decode", "preprocess", "tiles+batch", "model", "registration")
"""The timings (ms) that add up to a window's cost."""


@dataclass(frozen=True)
class WindowError:
    """One window's outcome; error fields are NaN when no pose was published."""

    stamp: float
    category: str
    horizontal_m: float = float("nan")
    height_m: float = float("nan")
    heading_deg: float = float("nan")
    east_sigmas: float = float("nan")
    """|east error| / published east sigma."""
    north_sigmas: float = float("nan")
    ms: float = float("nan")

    @property
    def published(self) -> bool:
        return self.category == "ok"


def window_error(result: LocalizationResult, truth_map_base: np.ndarray) -> WindowError:
    """The result's errors against the true ``map → base`` at its stamp."""
    ms = float(sum(result.timings.get(stage, 0.0) for stage in PIPELINE_STAGES))
    pose = result.pose
    if pose is None:
        return WindowError(result.stamp, result.category, ms=ms)
    estimate = from_xyz_quat(pose.position, pose.quaternion)
    error = estimate[:3, 3] - truth_map_base[:3, 3]
    sigma = np.sqrt(np.maximum(np.diag(pose.covariance)[:2], 1e-300))
    return WindowError(
        result.stamp,
        result.category,
        horizontal_m=float(np.hypot(error[0], error[1])),
        height_m=float(abs(error[2])),
        heading_deg=_heading_difference(estimate, truth_map_base),
        east_sigmas=float(abs(error[0]) / sigma[0]),
        north_sigmas=float(abs(error[1]) / sigma[1]),
        ms=ms,
    )


def prior_error(
    result: LocalizationResult, truth_map_base: np.ndarray, origin: LocalENU
) -> WindowError:
    """What staying at the window's prior would publish (the baseline the pose must beat):
    its position against the truth in ``origin``'s map frame, with the prior's own sigma."""
    prior = result.prior
    if prior is None:
        return WindowError(result.stamp, "prior", ms=0.0)
    altitude = math.nan if prior.altitude is None else prior.altitude
    position = np.asarray(origin.from_geodetic(prior.latitude, prior.longitude, altitude))
    error = position - truth_map_base[:3, 3]
    sigma = math.nan if prior.sigma_m is None else prior.sigma_m
    return WindowError(
        result.stamp,
        "ok",
        horizontal_m=float(np.hypot(error[0], error[1])),
        height_m=float(abs(error[2])),
        east_sigmas=float(abs(error[0]) / sigma),
        north_sigmas=float(abs(error[1]) / sigma),
        ms=0.0,
    )


def _heading_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Absolute difference (deg) of the yaw of two poses' x axes."""
    yaw_a = np.arctan2(a[1, 0], a[0, 0])
    yaw_b = np.arctan2(b[1, 0], b[0, 0])
    return float(abs(np.degrees(np.angle(np.exp(1j * (yaw_a - yaw_b))))))


def summarise(errors: list[WindowError]) -> dict[str, Any]:
    """Published fraction, error percentiles, calibration and cost of a set of windows."""
    published = [e for e in errors if e.published]
    summary: dict[str, Any] = {
        "windows": len(errors),
        "published": len(published),
        "published_fraction": len(published) / len(errors) if errors else float("nan"),
        "refused": dict(Counter(e.category for e in errors if not e.published)),
        "ms_per_window": _percentile([e.ms for e in errors], 50),
    }
    for name in ("horizontal_m", "height_m", "heading_deg"):
        values = [getattr(e, name) for e in published]
        summary[name] = {
            "median": _percentile(values, 50),
            "p90": _percentile(values, 90),
            "max": float(np.max(values)) if values else float("nan"),
        }
    components = np.array([v for e in published for v in (e.east_sigmas, e.north_sigmas)])
    summary["within_1sigma"] = float(np.mean(components <= 1.0)) if components.size else np.nan
    summary["within_2sigma"] = float(np.mean(components <= 2.0)) if components.size else np.nan
    return summary


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def as_records(errors: list[WindowError]) -> list[dict[str, Any]]:
    """JSON-ready per-window records."""
    return [asdict(e) for e in errors]
