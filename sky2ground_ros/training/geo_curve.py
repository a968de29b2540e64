"""`evaluate-geo` while training: the product metric of the current weights, every N steps.

The same replay as `sky2ground evaluate-geo` (the node's defaults and gate, the smoother) on a
small fixed set of held-out bags: one flight and one drive per seed (`data.geo_seeds`, by
default `seeds.GEO_CURVE_SEEDS`, never the bags a report is made from).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from sky2ground_ros.data.seeds import check_geo_eval_seeds
from sky2ground_ros.geo_evaluation.methods import Method
from sky2ground_ros.geo_evaluation.metrics import summarise
from sky2ground_ros.geo_evaluation.run import evaluate_scenario
from sky2ground_ros.geo_evaluation.scenarios import PLATFORMS, ScenarioSpec, load_or_build
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.replay.node_parameters import node_parameters


def geo_point(
    model: SkyNet, seeds: Sequence[int], data_root: str | Path, duration_s: float
) -> dict[str, float]:
    """Per platform: published fraction, median horizontal error and share within 1 sigma of
    ``model`` (evaluation mode during the call) on the seeds' bags of ``duration_s``, rendered
    once and cached under ``data_root``."""
    check_geo_eval_seeds(seeds)
    method = Method("training", "model", model)
    parameters = node_parameters()
    was_training = model.training
    model.eval()
    point: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="geo_curve_") as work:
            for platform in PLATFORMS:
                errors = []
                for seed in seeds:
                    scenario = load_or_build(data_root, ScenarioSpec(platform, seed, duration_s))
                    run_dir = Path(work) / f"{platform}_{seed}"
                    errors += evaluate_scenario(scenario, method, parameters, run_dir)[0]
                summary = summarise(errors)
                point[f"{platform}_published"] = summary["published_fraction"]
                point[f"{platform}_median_m"] = summary["horizontal_m"]["median"]
                point[f"{platform}_within_1sigma"] = summary["within_1sigma"]
    finally:
        model.train(was_training)
    return point
