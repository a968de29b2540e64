"""Recent odometry poses, interpolated at a camera stamp (for REP-105 ``map → odom``).

With odometry the localizer publishes ``map → odom = map → base(t) · (odom → base(t))⁻¹``,
so the odometry pose must be known at the image stamp ``t``: it is interpolated between the
two bracketing messages, or refused when the gap is too large or ``t`` is outside the buffer.
"""

from __future__ import annotations

import bisect
from collections import deque

import numpy as np

from sky2ground_ros.localizer.geometry import interpolate


class OdometryBuffer:
    """``odom → base`` poses by stamp (seconds), oldest dropped beyond ``capacity``."""

    def __init__(self, capacity: int = 500, max_gap_s: float = 0.5) -> None:
        self.max_gap_s = max_gap_s
        self._stamps: deque[float] = deque(maxlen=capacity)
        self._poses: deque[np.ndarray] = deque(maxlen=capacity)

    def add(self, stamp: float, odom_base: np.ndarray) -> None:
        """Append a pose; an older stamp than the last (time jumped back) clears the buffer."""
        if self._stamps and stamp < self._stamps[-1]:
            self.clear()
        self._stamps.append(stamp)
        self._poses.append(odom_base)

    def at(self, stamp: float) -> np.ndarray | None:
        """The pose at ``stamp``, or None when the buffer does not cover it closely enough."""
        stamps = list(self._stamps)
        if not stamps or stamp < stamps[0] - self.max_gap_s or stamp > stamps[-1] + self.max_gap_s:
            return None
        i = bisect.bisect_left(stamps, stamp)
        if i == 0:
            return self._poses[0]
        if i == len(stamps):
            return self._poses[-1]
        t0, t1 = stamps[i - 1], stamps[i]
        if t1 - t0 > self.max_gap_s:
            return None
        fraction = 0.0 if t1 == t0 else (stamp - t0) / (t1 - t0)
        return interpolate(self._poses[i - 1], self._poses[i], fraction)

    def clear(self) -> None:
        """Forget every pose."""
        self._stamps.clear()
        self._poses.clear()
