"""Keyframe window: time, motion and sharpness gates, bounded size."""

import cv2
import numpy as np
import pytest

from sky2ground_ros.localizer.keyframes import FrameSet, KeyframePolicy, KeyframeWindow, sharpness

RNG = np.random.default_rng(1)
SHARP = RNG.integers(0, 255, (64, 64, 3), dtype=np.uint8)
BLURRY = cv2.GaussianBlur(SHARP, (0, 0), 6)
K = np.array([[50.0, 0, 32], [0, 50.0, 32], [0, 0, 1]])


def frame_set(stamp: float, image: np.ndarray = SHARP, position: float | None = None) -> FrameSet:
    odom = None
    if position is not None:
        odom = np.eye(4)
        odom[0, 3] = position
    return FrameSet(stamp, [image], [K], ["front"], odom)


def test_blur_lowers_sharpness() -> None:
    assert sharpness(BLURRY) < 0.05 * sharpness(SHARP)


def test_window_keeps_the_latest_keyframes_only() -> None:
    window = KeyframeWindow(size=3, policy=KeyframePolicy(min_interval_s=0.5))
    for i in range(5):
        assert window.offer(frame_set(float(i)))
    assert window.full
    assert [f.stamp for f in window.frames()] == [2.0, 3.0, 4.0]


@pytest.mark.parametrize(
    ("second", "reason"),
    [
        (frame_set(1.1), "too soon"),
        (frame_set(0.5), "out of order"),
        (frame_set(3.0, image=BLURRY), "blurry"),
        (frame_set(3.0, position=0.2), "no motion"),
    ],
)
def test_rejections_are_counted_by_reason(second: FrameSet, reason: str) -> None:
    window = KeyframeWindow(size=4, policy=KeyframePolicy(0.5, 1.0, 10.0))
    assert window.offer(frame_set(1.0, position=0.0))
    assert not window.offer(second)
    assert window.rejected == {reason: 1}
    assert len(window.frames()) == 1


def test_clear_empties_the_window() -> None:
    window = KeyframeWindow(size=2)
    window.offer(frame_set(0.0))
    window.clear()
    assert window.frames() == [] and not window.full
