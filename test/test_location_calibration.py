"""Covariance calibration: the scale puts 68 % of the errors within one sigma, per platform."""

from __future__ import annotations

import numpy as np
import pytest

from sky2ground_ros.training.location_calibration import fit_scale


def test_the_fitted_scale_covers_68_percent_of_the_errors() -> None:
    rng = np.random.default_rng(0)
    errors = {  # |error| / unscaled sigma: the map's spread is 3x too narrow on drives
        "drive": np.abs(rng.normal(0.0, 3.0, 4000)),
        "flight": np.abs(rng.normal(0.0, 3.0, 2000)),
    }
    calibration = fit_scale(errors)
    assert calibration.scale == pytest.approx(3.0, rel=0.05)
    assert calibration.windows == {"drive": 2000, "flight": 1000}
    assert calibration.within_1sigma_before["drive"] == pytest.approx(0.26, abs=0.03)
    for name in errors:
        assert calibration.within_1sigma[name] == pytest.approx(0.683, abs=0.03)
        assert calibration.within_2sigma[name] == pytest.approx(0.954, abs=0.02)
    assert "location_sigma_scale = 3." in calibration.markdown()


def test_nothing_to_calibrate_on_is_an_error() -> None:
    with pytest.raises(ValueError, match="no window"):
        fit_scale({"drive": np.empty(0)})
    with pytest.raises(ValueError, match="no window"):
        fit_scale({})
