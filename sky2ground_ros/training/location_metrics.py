"""Held-out location errors of a batch: the read-out nadir against the truth and the prior."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sky2ground_ros.model.location_head import LocationPrior, read_location
from sky2ground_ros.views import ViewType

PLATFORMS = {ViewType.GROUND: "drive", ViewType.AERIAL: "flight"}


def located_errors(outputs: Mapping[str, Any], batch: Mapping[str, Any]) -> dict[str, list[float]]:
    """Horizontal errors (m) of the anchor camera of every window, keyed by platform.

    ``<platform>`` is the location head's read-out of its map alone; ``<platform>_posterior``
    the read-out given the window's priors (position and heading, as the localizer reads it);
    ``<platform>_prior`` the crop centre's (the prior), the baseline a location head must beat.
    """
    errors: dict[str, list[float]] = {}
    logits = outputs["location_logits"]
    for b in range(logits.shape[0]):
        platform = PLATFORMS[ViewType(int(batch["view_types"][b, 0]))]
        cell_m = float(outputs["location_cell_m"][b])
        truth = batch["nadir_m"][b, 0].double().cpu().numpy()
        prior_error = float(batch["prior_error_m"][b])
        valid = bool(outputs["location_valid"][b, 0])
        for name, given in ((platform, None), (f"{platform}_posterior", window_prior(batch, b))):
            error = prior_error  # no map: the localizer would stay at the prior
            if valid:
                reading = read_location(logits[b, 0].detach().cpu(), cell_m, given)
                error = float(np.hypot(reading.east_m - truth[0], reading.south_m - truth[1]))
            errors.setdefault(name, []).append(error)
        errors.setdefault(f"{platform}_prior", []).append(prior_error)
    return errors


def window_prior(batch: Mapping[str, Any], b: int) -> LocationPrior:
    """The priors of window ``b``'s anchor camera: the prior's sigma and the heading prior."""
    return LocationPrior(
        float(batch["prior_sigma_m"][b]),
        float(batch["heading_prior"][b, 0]),
        float(batch["heading_prior_sigma"][b]),
    )
