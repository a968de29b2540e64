"""What `evaluate-geo --model` names: a SkyNet checkpoint, ``oracle`` or ``classical``.

Checkpoints are loaded (and so checked) before anything is rendered or written. Each method
gives, per scenario, the backend the localizer runs (a SkyNet or a `Predictor`) and the node
parameters it runs with: the node's defaults, except the classical matcher's image size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sky2ground_ros.geo.elevation import ElevationModel
from sky2ground_ros.geo_evaluation.scenarios import Scenario
from sky2ground_ros.localizer.pipeline import Predictor
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.model.weights import WeightsError, load_model
from sky2ground_ros.predictors import CLASSICAL, ORACLE
from sky2ground_ros.predictors.classical import CLASSICAL_IMAGE_SIZE, ClassicalPredictor
from sky2ground_ros.predictors.oracle import OraclePredictor


@dataclass
class Method:
    """One row group of the report."""

    label: str
    kind: str
    """'oracle', 'classical' or 'model'."""
    model: SkyNet | None = field(default=None, repr=False)
    mode: str = "auto"
    """The localizer's localization_mode for a model (sim3 forces the Sim(3) path)."""

    def backend(self, scenario: Scenario) -> SkyNet | Predictor:
        """What the localizer runs on this scenario."""
        if self.kind == ORACLE:
            return OraclePredictor(scenario.camera_pose, scenario.origin)
        if self.kind == CLASSICAL:
            return ClassicalPredictor(ElevationModel(scenario.dem))
        if self.model is None:
            raise RuntimeError(f"{self.label}: no model loaded")
        return self.model

    def parameters(self, base: dict[str, Any]) -> dict[str, Any]:
        """The node parameters this method runs with."""
        if self.kind == CLASSICAL:
            return {**base, "image_size": CLASSICAL_IMAGE_SIZE}
        if self.model is not None and self.model.config.location_head:
            size = self.model.config.location_image_size
            return {**base, "image_size": size, "localization_mode": self.mode}
        return dict(base)


def parse_methods(
    names: list[str], device: str = "cpu", sim3: list[str] | None = None
) -> list[Method]:
    """Methods from ``--model`` (and ``--sim3``) values; ValueError (one line) for a missing
    or bad checkpoint, or a --sim3 checkpoint without a location head."""
    if not names:
        raise ValueError("name at least one --model (a checkpoint, oracle or classical)")
    methods = []
    for name in names:
        if name in (ORACLE, CLASSICAL):
            methods.append(Method(name, name))
            continue
        path = Path(name)
        methods.append(Method(path.name, "model", _load(path, device)))
    for name in sim3 or []:
        path = Path(name)
        model = _load(path, device)
        if not model.config.location_head:
            raise ValueError(f"{path} has no location head: it runs the Sim(3) path already")
        methods.append(Method(f"{path.name} (sim3)", "model", model, mode="sim3"))
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        raise ValueError(f"--model names the same method twice: {labels}")
    return methods


def _load(path: Path, device: str) -> SkyNet:
    """A checkpoint, or ValueError in one line."""
    if not path.is_file():
        raise ValueError(f"no model file {path}")
    try:
        return load_model(path, device)
    except WeightsError as error:
        raise ValueError(str(error).splitlines()[0]) from error
