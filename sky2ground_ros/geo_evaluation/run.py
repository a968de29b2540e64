"""Run every method over every held-out scenario through the localizer's own replay path.

For each scenario and method the scenario's bag is replayed exactly as `sky2ground replay`
does (the node's ingest, tiles from the orthophoto GeoTIFF, registration, default gate,
smoother), and every window's result is compared with the platform's exact pose.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from sky2ground_ros.geo_evaluation.methods import Method
from sky2ground_ros.geo_evaluation.metrics import (
    WindowError,
    prior_error,
    summarise,
    window_error,
)
from sky2ground_ros.geo_evaluation.scenarios import Scenario, ScenarioSpec, load_or_build
from sky2ground_ros.localizer.geometry import enu_in_enu
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.discovery import ReplayOptions, resolve
from sky2ground_ros.replay.replay import replay
from sky2ground_ros.tiles.service import TileService

PRIOR = "prior"
"""The report's row of the windows' priors (the GNSS fix): the baseline to beat."""


@dataclass
class ScenarioRun:
    """One method on one scenario."""

    scenario: str
    platform: str
    seed: int
    method: str
    errors: list[WindowError]


@dataclass
class GeoEvaluation:
    """Every run, grouped for the report by (platform, method label)."""

    methods: list[str]
    platforms: list[str]
    seeds: list[int]
    runs: list[ScenarioRun] = field(default_factory=list)

    def errors(self, platform: str, method: str) -> list[WindowError]:
        """Every window of one platform and method, over all scenarios."""
        return [
            e
            for run in self.runs
            if (run.platform, run.method) == (platform, method)
            for e in run.errors
        ]

    def summary(self, platform: str, method: str) -> dict[str, Any]:
        return summarise(self.errors(platform, method))


def evaluate_scenario(
    scenario: Scenario, method: Method, parameters: dict[str, Any], work_dir: Path
) -> tuple[list[WindowError], list[WindowError]]:
    """Replay the scenario's bag with the method; one `WindowError` per window, of the
    published pose and of the window's prior."""
    backend = method.backend(scenario)
    service = TileService.open(scenario.orthophoto)
    try:
        with BagReader(scenario.bag) as reader:
            config = resolve(reader, ReplayOptions(parameters=method.parameters(parameters)))
            outcome = replay(
                reader, backend, service.get_tiles, config, work_dir / "bag", progress=False
            )
    finally:
        service.close()
    origin = outcome.origin or scenario.origin
    map_truth = enu_in_enu(scenario.origin, origin)
    truths = [map_truth @ scenario.base_pose(r.stamp) for r in outcome.results]
    return (
        [window_error(r, t) for r, t in zip(outcome.results, truths, strict=True)],
        [prior_error(r, t, origin) for r, t in zip(outcome.results, truths, strict=True)],
    )


def evaluate_geo(
    methods: Sequence[Method],
    specs: Sequence[ScenarioSpec],
    data_root: str | Path,
    parameters: dict[str, Any],
    progress: bool = True,
) -> GeoEvaluation:
    """Render (or reuse) each scenario and run every method on it."""
    evaluation = GeoEvaluation(
        [PRIOR, *(m.label for m in methods)],
        list(dict.fromkeys(s.platform for s in specs)),
        list(dict.fromkeys(s.seed for s in specs)),
    )
    total = len(specs) * (1 + len(methods))
    with (
        tempfile.TemporaryDirectory(prefix="evaluate_geo_") as work,
        tqdm(total=total, desc="evaluate-geo", file=sys.stderr, disable=not progress) as bar,
    ):
        for spec in specs:
            bar.set_postfix_str(f"rendering {spec.name}")
            scenario = load_or_build(data_root, spec)
            bar.update()
            for method in methods:
                bar.set_postfix_str(f"{method.label} on {spec.name}")
                run_dir = Path(work) / f"{spec.name}_{len(evaluation.runs)}"
                errors, priors = evaluate_scenario(scenario, method, parameters, run_dir)
                if method is methods[0]:  # every method meets the same priors
                    evaluation.runs.append(
                        ScenarioRun(spec.name, spec.platform, spec.seed, PRIOR, priors)
                    )
                evaluation.runs.append(
                    ScenarioRun(spec.name, spec.platform, spec.seed, method.label, errors)
                )
                bar.update()
    return evaluation
