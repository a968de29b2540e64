"""Calibration of the location head's covariance on a held-out calibration split.

A map's spread near its peak has the shape of the error, not its size. The scale that puts
68 % of the read-out's east / north error components within one sigma, over the windows whose
peak mass passes the localizer's gate (those it would publish), becomes the model's
``location_sigma_scale``, which the localizer applies to every published covariance.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from sky2ground_ros.model.location_head import LocationPrior, read_location
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.training.batches import location_geometry
from sky2ground_ros.training.location_metrics import PLATFORMS
from sky2ground_ros.views import ViewType

ONE_SIGMA = math.erf(1.0 / math.sqrt(2.0))
"""Share of a normal variable within one standard deviation (0.683)."""


@dataclass(frozen=True)
class Calibration:
    """The fitted scale and how the covariance covers the errors before and after it."""

    scale: float
    windows: dict[str, int]
    """Per platform, the windows whose peak mass passed the gate."""
    within_1sigma_before: dict[str, float]
    within_1sigma: dict[str, float]
    within_2sigma: dict[str, float]

    def markdown(self) -> str:
        """A table of coverage per platform, unscaled and scaled."""
        lines = [
            f"location_sigma_scale = {self.scale:.3f}",
            "",
            "| platform | windows | within 1σ unscaled | within 1σ / 2σ scaled |",
            "|---|---:|---:|---:|",
        ]
        for name, count in self.windows.items():
            lines.append(
                f"| {name} | {count} | {100 * self.within_1sigma_before[name]:.0f} % | "
                f"{100 * self.within_1sigma[name]:.0f} % / {100 * self.within_2sigma[name]:.0f} % |"
            )
        return "\n".join(lines) + "\n"


@torch.no_grad()
def normalised_errors(
    model: SkyNet, batches: Iterable[Mapping[str, Any]], min_mass: float
) -> dict[str, np.ndarray]:
    """Per platform, |east| and |north| error of each gated anchor read-out over its sigma."""
    model.eval()
    found: dict[str, list[float]] = {}
    for batch in batches:
        outputs = model(
            batch["images"], batch["view_types"], geometry=location_geometry(batch, model.config)
        )
        logits = outputs["location_logits"]
        for b in range(logits.shape[0]):
            if not bool(outputs["location_valid"][b, 0]):
                continue
            prior = LocationPrior(
                float(batch["prior_sigma_m"][b]),
                float(batch["heading_prior"][b, 0]),
                float(batch["heading_prior_sigma"][b]),
            )
            reading = read_location(logits[b, 0], float(outputs["location_cell_m"][b]), prior)
            if reading.peak_mass < min_mass:
                continue
            truth = batch["nadir_m"][b, 0].double().numpy()
            error = np.array([reading.east_m - truth[0], reading.south_m - truth[1]])
            sigma = np.sqrt(np.diag(reading.covariance))
            platform = PLATFORMS[ViewType(int(batch["view_types"][b, 0]))]
            found.setdefault(platform, []).extend(np.abs(error) / sigma)
    return {name: np.asarray(values) for name, values in found.items()}


def fit_scale(errors: Mapping[str, np.ndarray]) -> Calibration:
    """The scale whose sigma covers 68 % of all platforms' normalised error components."""
    errors = {name: values for name, values in errors.items() if values.size}
    pooled = np.concatenate([np.empty(0), *errors.values()])
    if not pooled.size:
        raise ValueError("no window passed the gate: nothing to calibrate on")
    scale = float(np.quantile(pooled, ONE_SIGMA))
    return Calibration(
        scale,
        {name: len(v) // 2 for name, v in errors.items()},
        {name: float(np.mean(v <= 1.0)) for name, v in errors.items()},
        {name: float(np.mean(v <= scale)) for name, v in errors.items()},
        {name: float(np.mean(v <= 2.0 * scale)) for name, v in errors.items()},
    )


def calibrated(model: SkyNet, calibration: Calibration) -> SkyNet:
    """The model with its config's ``location_sigma_scale`` set to the calibration's."""
    model.config = replace(model.config, location_sigma_scale=calibration.scale)
    return model
