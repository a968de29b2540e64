"""Tile priors: NavSatFix validation and the fix / last pose / initial pose precedence."""

import math

import pytest

from sky2ground_ros.localizer.prior import BadFixError, GeoPrior, PriorSelector, validate_fix


@pytest.mark.parametrize(
    ("lat", "lon", "status", "reason"),
    [
        (math.nan, 8.5, 0, "non-finite"),
        (47.0, math.inf, 0, "non-finite"),
        (47.0, 8.5, -1, "no fix"),
        (47.0, 8.5, -2, "no fix"),  # STATUS_UNKNOWN, the message default
        (91.0, 8.5, 0, "out of range"),
    ],
)
def test_bad_fixes_are_refused_with_a_reason(
    lat: float, lon: float, status: int, reason: str
) -> None:
    with pytest.raises(BadFixError, match=reason):
        validate_fix(lat, lon, status, 1.0)


def test_valid_fix() -> None:
    assert validate_fix(47.0, 8.5, 2, 3.0) == GeoPrior(47.0, 8.5, 3.0, "gnss")


def test_a_fix_with_a_known_covariance_gives_its_horizontal_sigma() -> None:
    covariance = [4.0, 0, 0, 0, 9.0, 0, 0, 0, 25.0]
    assert validate_fix(47.0, 8.5, 0, 1.0, 400.0, covariance, 2).sigma_m == pytest.approx(3.0)
    assert validate_fix(47.0, 8.5, 0, 1.0, 400.0, covariance, 0).sigma_m is None  # unknown type
    assert validate_fix(47.0, 8.5, 0, 1.0, 400.0, [math.nan] * 9, 1).sigma_m is None


def test_precedence_fix_then_last_pose_then_initial() -> None:
    selector = PriorSelector(max_fix_age_s=2.0, initial=(47.0, 8.0))
    assert selector.select(10.0) == GeoPrior(47.0, 8.0, 10.0, "initial pose")
    selector.last_pose = GeoPrior(47.1, 8.1, 11.0, "last pose")
    assert selector.select(10.0).source == "last pose"
    selector.fix = validate_fix(47.2, 8.2, 0, 9.5)
    assert selector.select(10.0).source == "gnss"
    assert selector.select(12.0).source == "last pose"  # the fix is too old by then
    assert selector.select(20.0).source == "initial pose"  # and so is the pose
    selector.reset()
    assert selector.select(20.0).source == "initial pose"
    assert PriorSelector().select(0.0) is None
