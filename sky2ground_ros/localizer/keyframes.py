"""Keyframe selection: keep a short window of distinct, sharp camera frames for SkyNet.

SkyNet sees a handful of frames per inference, so each must add information: a frame set
is accepted when enough time has passed, the robot moved (if odometry is known) and every
image is sharp enough (variance of the Laplacian, the usual blur measure).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np


def sharpness(rgb: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image; low values mean motion blur or defocus."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


@dataclass
class FrameSet:
    """Synchronised frames of all cameras at one instant."""

    stamp: float
    images: list[np.ndarray]
    intrinsics: list[np.ndarray]
    camera_names: list[str]
    odom: np.ndarray | None = None
    """The odometry pose ``odom → base`` (4x4) at the stamp, when known."""

    @property
    def position(self) -> np.ndarray | None:
        """The odometry position (metres), when known."""
        return None if self.odom is None else self.odom[:3, 3]


@dataclass
class KeyframePolicy:
    """Thresholds for accepting a frame set as a keyframe."""

    min_interval_s: float = 0.5
    min_translation_m: float = 0.0
    min_sharpness: float = 10.0


@dataclass
class KeyframeWindow:
    """Sliding window of the last `size` keyframe sets; counts why frames were skipped."""

    size: int
    policy: KeyframePolicy = field(default_factory=KeyframePolicy)
    rejected: dict[str, int] = field(default_factory=dict)
    _window: deque[FrameSet] = field(init=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("window size must be >= 1")
        self._window = deque(maxlen=self.size)

    def offer(self, frames: FrameSet) -> bool:
        """Add the frame set if it passes the policy; returns whether it was kept."""
        reason = self._rejection(frames)
        if reason:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
            return False
        self._window.append(frames)
        return True

    def _rejection(self, frames: FrameSet) -> str | None:
        last = self._window[-1] if self._window else None
        if last is not None:
            if frames.stamp <= last.stamp:
                return "out of order"
            if frames.stamp - last.stamp < self.policy.min_interval_s:
                return "too soon"
            if (
                self.policy.min_translation_m > 0
                and frames.position is not None
                and last.position is not None
                and np.linalg.norm(frames.position - last.position) < self.policy.min_translation_m
            ):
                return "no motion"
        if min(sharpness(image) for image in frames.images) < self.policy.min_sharpness:
            return "blurry"
        return None

    @property
    def full(self) -> bool:
        """True once the window holds `size` keyframe sets."""
        return len(self._window) == self.size

    def frames(self) -> list[FrameSet]:
        """The keyframe sets, oldest first."""
        return list(self._window)

    def clear(self) -> None:
        """Forget all keyframes (e.g. after a relocalisation failure or a time jump)."""
        self._window.clear()
