"""The README eval table in one command: held-out scenes, baseline checkpoints, one report.

A benchmark spec (config/train/benchmark.yaml) names the synthetic train / held-out datasets
(generated with the `make-synthetic` renderer when missing), the evaluation windows and the
methods (label, training config, shipped weights). Shipped weights are evaluated as they are;
with `retrain` (or when a weights file is missing) the method is first trained from its config
on the spec's training scenes, and the new weights are evaluated instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.scene_format import discover_scenes
from sky2ground_ros.data.synthetic import SyntheticConfig, generate_dataset
from sky2ground_ros.evaluation.report import PoseEvaluation
from sky2ground_ros.evaluation.run_eval import SETTINGS, build_windows, evaluate_checkpoints
from sky2ground_ros.training.config import ConfigError, dataclass_from_mapping, load_config
from sky2ground_ros.training.trainer import Trainer


@dataclass(frozen=True)
class DatasetSpec:
    """A seeded synthetic dataset, as `sky2ground make-synthetic` options."""

    out: str
    scenes: int
    seed: int
    size: int = 96
    satellite: int = 8
    aerial_positions: int = 6
    ground: int = 16

    def synthetic_config(self) -> SyntheticConfig:
        """The renderer settings of this dataset."""
        helix = replace(HelixConfig(), positions=self.aerial_positions)
        return SyntheticConfig(
            size=self.size, satellite=self.satellite, ground=self.ground, helix=helix
        )


@dataclass(frozen=True)
class WindowSpec:
    """Evaluation windows (see run_eval.build_windows)."""

    frames: int = 6
    windows_per_scene: int = 4
    image_size: int = 84
    seed: int = 0
    settings: tuple[str, ...] = SETTINGS


@dataclass(frozen=True)
class MethodSpec:
    """One table row: its training config and the shipped weights file."""

    label: str
    config: str
    weights: str


@dataclass(frozen=True)
class BenchmarkSpec:
    """Datasets, windows and methods of the benchmark."""

    train_data: DatasetSpec
    heldout_data: DatasetSpec
    methods: list[MethodSpec]
    windows: WindowSpec = field(default_factory=WindowSpec)


def load_spec(path: str | Path) -> BenchmarkSpec:
    """Read and validate a benchmark spec YAML file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
    spec = dataclass_from_mapping(BenchmarkSpec, raw, str(path))
    labels = [m.label for m in spec.methods]
    if not labels or len(set(labels)) != len(labels):
        raise ConfigError(f"{path}: methods need unique labels, got {labels}")
    return spec


def ensure_dataset(spec: DatasetSpec, log: Callable[[str], None] = print) -> Path:
    """Generate the dataset unless its directory already holds `spec.scenes` scenes."""
    root = Path(spec.out)
    if root.is_dir() and len(discover_scenes(root)) == spec.scenes:
        return root
    log(f"rendering {spec.scenes} synthetic scenes (seed {spec.seed}) into {root}")
    generate_dataset(root, spec.scenes, spec.seed, spec.synthetic_config())
    return root


def train_method(method: MethodSpec, spec: BenchmarkSpec, out_dir: Path) -> Path:
    """Train a method's config on the spec's scenes; returns its final weights."""
    overrides = [
        f"data.train_scenes={spec.train_data.out}",
        f"data.val_scenes={spec.heldout_data.out}",
        f"run.out_dir={out_dir}",
    ]
    result = Trainer(load_config(method.config, overrides)).fit()
    if result.weights is None:
        raise RuntimeError("benchmark training must run as a single process (rank 0)")
    return result.weights


def run_benchmark(
    spec: BenchmarkSpec,
    out_dir: str | Path,
    retrain: bool = False,
    device: str = "cpu",
    log: Callable[[str], None] = print,
) -> PoseEvaluation:
    """Evaluate (training first where asked or needed) every method; writes report.* to out_dir."""
    out_dir = Path(out_dir)
    heldout = ensure_dataset(spec.heldout_data, log)
    checkpoints: dict[str, Path] = {}
    for method in spec.methods:
        weights = Path(method.weights)
        if retrain or not weights.is_file():
            ensure_dataset(spec.train_data, log)
            log(f"training {method.label} from {method.config}")
            weights = train_method(method, spec, out_dir / "train" / Path(method.config).stem)
        checkpoints[method.label] = weights
    windows = build_windows(
        heldout,
        num_frames=spec.windows.frames,
        image_size=(spec.windows.image_size, spec.windows.image_size),
        windows_per_scene=spec.windows.windows_per_scene,
        seed=spec.windows.seed,
        settings=spec.windows.settings,
    )
    evaluation = evaluate_checkpoints(checkpoints, windows, device)
    evaluation.save(out_dir, stem="report")
    return evaluation
