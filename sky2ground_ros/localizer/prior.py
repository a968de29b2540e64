"""Where to look for satellite tiles: a GNSS fix, else the last localized pose, else a parameter.

A prior only chooses the tiles around it; the published pose comes from geo-registration.
NavSatFix values are validated here so bad fixes are reported, not used. Fixes and poses
expire after ``max_fix_age_s``, so a localizer that stops localizing falls back to the
initial pose instead of searching forever around a stale (or wrong) position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NAVSAT_STATUS_NO_FIX = -1
"""sensor_msgs/NavSatStatus.STATUS_NO_FIX; STATUS_UNKNOWN (-2, the default) is below it."""
NAVSAT_COVARIANCE_UNKNOWN = 0
"""sensor_msgs/NavSatFix.COVARIANCE_TYPE_UNKNOWN."""


class BadFixError(ValueError):
    """A position fix that cannot be used; `reason` is short and user-facing."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class GeoPrior:
    """An approximate position (degrees) and what it came from."""

    latitude: float
    longitude: float
    stamp: float
    source: str
    """'gnss', 'last pose' or 'initial pose'."""
    altitude: float | None = None
    """Ellipsoidal height (m) when the source gives one (a fix, a localized pose)."""
    sigma_m: float | None = None
    """Horizontal standard deviation (m, per axis) when the source reports one."""


def validate_fix(
    latitude: float,
    longitude: float,
    status: int,
    stamp: float,
    altitude: float = math.nan,
    covariance: Sequence[float] = (),
    covariance_type: int = NAVSAT_COVARIANCE_UNKNOWN,
) -> GeoPrior:
    """A GNSS prior from NavSatFix fields; raises `BadFixError` for no-fix or invalid values.

    A non-finite altitude (NavSatFix's "unknown") leaves the prior without one; a known
    position covariance (ENU, row-major) gives its horizontal sigma.
    """
    if status <= NAVSAT_STATUS_NO_FIX:
        raise BadFixError(f"NavSatFix status {status}: no fix (or unknown)")
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        raise BadFixError(f"NavSatFix has non-finite position (lat={latitude}, lon={longitude})")
    if abs(latitude) > 90.0 or abs(longitude) > 180.0:
        raise BadFixError(f"NavSatFix position out of range (lat={latitude}, lon={longitude})")
    return GeoPrior(
        latitude,
        longitude,
        stamp,
        "gnss",
        float(altitude) if math.isfinite(altitude) else None,
        horizontal_sigma(covariance, covariance_type),
    )


def horizontal_sigma(covariance: Sequence[float], covariance_type: int) -> float | None:
    """The larger horizontal standard deviation of a NavSatFix covariance; None if unknown."""
    if covariance_type <= NAVSAT_COVARIANCE_UNKNOWN or len(covariance) != 9:
        return None
    variance = max(float(covariance[0]), float(covariance[4]))
    return math.sqrt(variance) if math.isfinite(variance) and variance > 0 else None


@dataclass
class PriorSelector:
    """Keeps the latest fix and pose and picks the prior for a window at a given stamp."""

    max_fix_age_s: float = 5.0
    initial: tuple[float, float] | None = None
    fix: GeoPrior | None = None
    last_pose: GeoPrior | None = None

    def select(self, stamp: float) -> GeoPrior | None:
        """The fix, else the last localized pose (each if recent enough), else the initial pose."""
        for prior in (self.fix, self.last_pose):
            if prior is not None and abs(stamp - prior.stamp) <= self.max_fix_age_s:
                return prior
        if self.initial is not None:
            return GeoPrior(self.initial[0], self.initial[1], stamp, "initial pose")
        return None

    def reset(self) -> None:
        """Forget fixes and poses (time jumped backwards, e.g. a bag restarted)."""
        self.fix = None
        self.last_pose = None
