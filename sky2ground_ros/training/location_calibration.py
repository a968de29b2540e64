"""Calibration of the location head's maps on a held-out calibration split.

A map's spread has the shape of the error, not its size. Its logits are divided by a
temperature (Guo et al.'s temperature scaling): the one whose read-outs, given the windows'
priors and over the windows whose peak mass passes the localizer's gate (those it would
publish), put 68 % of the east / north error components within one published sigma. Each
platform gets its own (a drive's 2 m cells and a flight's 8 m ones spread differently: one
shared temperature left drives at 60 % and flights at 75 %); the pooled one stays the
model's ``location_temperature``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from sky2ground_ros.model.location_head import LocationPrior, read_location
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.training.batches import location_geometry
from sky2ground_ros.training.location_metrics import PLATFORMS, window_prior
from sky2ground_ros.views import ViewType

ONE_SIGMA = math.erf(1.0 / math.sqrt(2.0))
"""Share of a normal variable within one standard deviation (0.683)."""
TEMPERATURES = np.geomspace(0.01, 10.0, 61)
"""The temperatures tried (a grid: coverage need not be monotonic once the gate moves)."""


@dataclass(frozen=True)
class CalibrationWindow:
    """One held-out window's anchor map and what the read-out is given and must find."""

    platform: str
    logits: torch.Tensor
    cell_m: float
    prior: LocationPrior
    truth: np.ndarray
    """Nadir in canvas metres (east, south)."""


@dataclass(frozen=True)
class Coverage:
    """How the published sigma covers the errors at one temperature, per platform."""

    windows: dict[str, int]
    """Windows whose peak mass passed the gate."""
    within_1sigma: dict[str, float]
    within_2sigma: dict[str, float]
    pooled_1sigma: float


@dataclass(frozen=True)
class Calibration:
    """The fitted temperatures and the coverage before (temperature 1) and after them."""

    temperature: float
    """Pooled over the platforms."""
    temperatures: dict[str, float]
    """Per platform ('drive', 'flight')."""
    before: Coverage
    after: Coverage
    """Each platform at its own temperature."""

    def markdown(self) -> str:
        """A table of coverage per platform, before and after."""
        own = ", ".join(f"{name} {t:.4g}" for name, t in self.temperatures.items())
        lines = [
            f"location_temperature = {self.temperature:.4g} (pooled); per platform: {own}",
            "",
            "| platform | temperature | windows passing the gate | within 1σ / 2σ |",
            "|---|---:|---:|---:|",
        ]
        for coverage, temperatures in ((self.before, None), (self.after, self.temperatures)):
            for name, count in coverage.windows.items():
                temperature = 1.0 if temperatures is None else temperatures[name]
                within = f"{100 * coverage.within_1sigma[name]:.1f} % / "
                within += f"{100 * coverage.within_2sigma[name]:.1f} %"
                lines.append(f"| {name} | {temperature:.4g} | {count} | {within} |")
        return "\n".join(lines) + "\n"


@torch.no_grad()
def calibration_windows(
    model: SkyNet, batches: Iterable[Mapping[str, Any]]
) -> list[CalibrationWindow]:
    """The anchor camera's map of every window that has one."""
    model.eval()
    windows = []
    for batch in batches:
        geometry = location_geometry(batch, model.config)
        outputs = model(batch["images"], batch["view_types"], geometry=geometry)
        for b in range(outputs["location_logits"].shape[0]):
            if not bool(outputs["location_valid"][b, 0]):
                continue
            windows.append(
                CalibrationWindow(
                    PLATFORMS[ViewType(int(batch["view_types"][b, 0]))],
                    outputs["location_logits"][b, 0].double(),
                    float(outputs["location_cell_m"][b]),
                    window_prior(batch, b),
                    batch["nadir_m"][b, 0].double().numpy(),
                )
            )
    return windows


def coverage(windows: list[CalibrationWindow], temperature: float, min_mass: float) -> Coverage:
    """Read every window at ``temperature``; coverage of the gated ones' error components."""
    found: dict[str, list[float]] = {}
    for w in windows:
        reading = read_location(w.logits, w.cell_m, w.prior, temperature)
        if reading.peak_mass < min_mass:
            continue
        error = np.array([reading.east_m - w.truth[0], reading.south_m - w.truth[1]])
        found.setdefault(w.platform, []).extend(
            np.abs(error) / np.sqrt(np.diag(reading.covariance))
        )
    ratios = {name: np.asarray(values) for name, values in found.items()}
    pooled = np.concatenate([np.empty(0), *ratios.values()])
    return Coverage(
        {name: len(r) // 2 for name, r in ratios.items()},
        {name: float(np.mean(r <= 1.0)) for name, r in ratios.items()},
        {name: float(np.mean(r <= 2.0)) for name, r in ratios.items()},
        float(np.mean(pooled <= 1.0)) if pooled.size else math.nan,
    )


def fit_temperature(windows: list[CalibrationWindow], min_mass: float) -> Calibration:
    """The sharpest grid temperatures whose gated 1-sigma coverage reaches 68 %, pooled and
    per platform.

    Sharpest, not nearest: broader maps fail the gate's peak mass, and the few confident
    windows left can cover 68 % again at a temperature that would refuse most of them.
    """
    tried = [(float(t), coverage(windows, float(t), min_mass)) for t in TEMPERATURES]
    usable = [(t, c) for t, c in tried if math.isfinite(c.pooled_1sigma)]
    if not usable:
        raise ValueError("no window passed the gate at any temperature: nothing to calibrate on")
    pooled, _ = sharpest_covering(usable, lambda c: c.pooled_1sigma)
    temperatures, after = {}, {}
    for name in dict.fromkeys(w.platform for w in windows):
        passing = [(t, c) for t, c in usable if name in c.windows]
        temperatures[name], after[name] = sharpest_covering(
            passing, lambda c, name=name: c.within_1sigma[name]
        )
    return Calibration(pooled, temperatures, coverage(windows, 1.0, min_mass), _merged(after))


def sharpest_covering(
    tried: list[tuple[float, Coverage]], share: Callable[[Coverage], float]
) -> tuple[float, Coverage]:
    """The lowest temperature whose coverage ``share`` reaches 68 % (else the best one)."""
    for temperature, found in tried:  # TEMPERATURES ascend
        if share(found) >= ONE_SIGMA:
            return temperature, found
    return max(tried, key=lambda tc: share(tc[1]))


def _merged(by_platform: dict[str, Coverage]) -> Coverage:
    """One Coverage of each platform's entries at its own temperature."""
    windows = {name: c.windows[name] for name, c in by_platform.items()}
    one = {name: c.within_1sigma[name] for name, c in by_platform.items()}
    two = {name: c.within_2sigma[name] for name, c in by_platform.items()}
    pooled = sum(one[n] * windows[n] for n in windows) / max(sum(windows.values()), 1)
    return Coverage(windows, one, two, pooled)


def calibrated(model: SkyNet, calibration: Calibration) -> SkyNet:
    """The model with its config's location temperatures set to the calibration's."""
    own = calibration.temperatures
    model.config = replace(
        model.config,
        location_temperature=calibration.temperature,
        location_temperature_ground=own.get(PLATFORMS[ViewType.GROUND]),
        location_temperature_aerial=own.get(PLATFORMS[ViewType.AERIAL]),
    )
    return model
