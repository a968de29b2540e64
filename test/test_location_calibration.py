"""Map calibration: the temperature that puts 68 % of the gated errors within one sigma."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.location_head import LocationPrior
from sky2ground_ros.training.location_calibration import (
    CalibrationWindow,
    Coverage,
    calibrated,
    fit_temperature,
    sharpest_covering,
)
from sky2ground_ros.views import ViewType

CELLS, CELL_M = 40, 2.0


def overconfident_windows(
    count: int, rng: np.random.Generator, drive_miss: float = 2.0
) -> list[CalibrationWindow]:
    """Maps peaked with a 1-cell spread at a place the truth misses by 2 cells per axis
    (drives: by ``drive_miss``)."""
    rows, cols = torch.meshgrid(
        torch.arange(CELLS, dtype=torch.float64),
        torch.arange(CELLS, dtype=torch.float64),
        indexing="ij",
    )
    windows = []
    for i in range(count):
        peak = 20.0 + rng.uniform(-3, 3, 2)
        logits = (-0.5 * ((rows - peak[0]) ** 2 + (cols - peak[1]) ** 2)).expand(4, CELLS, CELLS)
        platform = "drive" if i % 2 else "flight"
        truth_cells = peak + rng.normal(0.0, drive_miss if platform == "drive" else 2.0, 2)
        truth = (truth_cells[::-1] + 0.5) * CELL_M  # (east, south) from (row, col)
        windows.append(CalibrationWindow(platform, logits, CELL_M, LocationPrior(1e3), truth))
    return windows


def test_the_fitted_temperature_covers_68_percent_of_the_errors() -> None:
    calibration = fit_temperature(overconfident_windows(120, np.random.default_rng(0)), 0.0)
    assert calibration.temperature == pytest.approx(4.0, rel=0.3)  # the spread widened 2x
    assert calibration.before.windows == calibration.after.windows == {"flight": 60, "drive": 60}
    assert calibration.before.pooled_1sigma < 0.5
    assert calibration.after.pooled_1sigma == pytest.approx(0.683, abs=0.04)
    for name in ("drive", "flight"):
        assert calibration.after.within_2sigma[name] > 0.85
    assert f"location_temperature = {calibration.temperature:.4g}" in calibration.markdown()
    assert calibration.temperatures["drive"] == pytest.approx(4.0, rel=0.3)


def test_each_platform_gets_the_temperature_of_its_own_errors() -> None:
    windows = overconfident_windows(240, np.random.default_rng(2), drive_miss=1.0)
    calibration = fit_temperature(windows, 0.0)
    own = calibration.temperatures
    assert own["flight"] == pytest.approx(4.0, rel=0.3)
    assert own["drive"] == pytest.approx(1.0, rel=0.4)
    for name in ("drive", "flight"):  # one shared temperature covers neither
        assert calibration.after.within_1sigma[name] == pytest.approx(0.683, abs=0.05)
    model = calibrated(SkyNet(get_config("tiny", location_head=True)), calibration)
    config = SkyNetConfig.from_json(model.config.to_json())  # as the weight file keeps it
    assert config.location_temperature == calibration.temperature
    assert config.location_temperature_for(ViewType.AERIAL) == own["flight"]
    assert config.location_temperature_for(ViewType.GROUND) == own["drive"]
    shared = get_config("tiny", location_head=True, location_temperature=0.7)
    assert shared.location_temperature_for(ViewType.GROUND) == 0.7
    with pytest.raises(ValueError, match="temperatures must be > 0"):
        get_config("tiny", location_head=True, location_temperature_ground=0.0)


def test_the_sharpest_temperature_reaching_68_percent_wins_over_a_nearer_broad_one() -> None:
    """Broad maps fail the gate; the confident few left can cover 68 % again (drives got
    T = 7 that way): the lowest temperature that reaches 68 % is the calibration."""

    def at(share: float, windows: int) -> Coverage:
        return Coverage({"drive": windows}, {"drive": share}, {"drive": 0.9}, share)

    tried = [(0.5, at(0.60, 95)), (1.0, at(0.695, 95)), (3.0, at(0.66, 70)), (7.0, at(0.68, 56))]
    temperature, found = sharpest_covering(tried, lambda c: c.pooled_1sigma)
    assert (temperature, found.windows["drive"]) == (1.0, 95)
    short = [(t, c) for t, c in tried if c.pooled_1sigma < 0.683]
    assert sharpest_covering(short, lambda c: c.pooled_1sigma)[0] == 7.0  # none reach: best


def test_nothing_to_calibrate_on_is_an_error() -> None:
    windows = overconfident_windows(4, np.random.default_rng(1))
    with pytest.raises(ValueError, match="no window"):
        fit_temperature(windows, min_mass=1.1)
    with pytest.raises(ValueError, match="no window"):
        fit_temperature([], min_mass=0.0)
