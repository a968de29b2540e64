"""Training configuration: YAML files in config/train/ parsed into validated dataclasses.

Every key is checked: unknown keys, wrong types and inconsistent settings raise `ConfigError`
naming the file and the dotted key, so a typo never silently falls back to a default.
Relative paths are kept as written and resolved against the working directory when used.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sky2ground_ros.data.seeds import GEO_CURVE_SEEDS, check_geo_eval_seeds
from sky2ground_ros.model.configs import CONFIG_NAMES, get_config
from sky2ground_ros.model.location_head import LIFTS
from sky2ground_ros.views import ViewType

DEVICES = ("auto", "cpu", "cuda")
CAMERA_LOSS_TYPES = ("l1", "huber")


class ConfigError(ValueError):
    """A training configuration that cannot be used (message names the key and the fix)."""


@dataclass(frozen=True)
class ModelSection:
    """Architecture and initialisation: named SkyNet config with the two SkyNet switches."""

    config: str = "tiny"
    msa: bool = True
    sat_stream: bool = True
    init_from: str | None = None
    """Local VGGT or SkyNet weights (.safetensors / .pt); nothing is ever downloaded."""
    freeze_gas_encoder: bool = False
    """Freeze the GAS encoder (paper: when initialised from VGGT); needs init_from."""
    location_head: bool = False
    """Add the location head; training samples are then location windows (see data)."""
    location_lift: str = "depth"
    """How the location head lifts camera pixels to the bird's-eye view: depth or ground."""


@dataclass(frozen=True)
class DataSection:
    """Scenes and the make-up of one training sample."""

    train_scenes: str = "data_out/synthetic/train"
    val_scenes: str | None = None
    num_frames: int = 4
    image_size: int | tuple[int, int] = 56
    """Square side, or [height, width]; multiples of the 14 px patch."""
    view_counts: dict[str, int] = field(
        default_factory=lambda: {"ground": 1, "aerial": 2, "satellite": 1}
    )
    """Frames per view type when P-VS is off (satellite 0 = trained without satellite)."""
    random_crop: bool = False
    num_workers: int = 0
    val_windows_per_scene: int = 2
    location_cameras: int = 2
    """Location windows: camera frames per window (num_frames = these + the crops)."""
    flight_fraction: float = 0.5
    """Location windows: share of flights (aerial cameras) among the windows."""
    prior_gnss_sigma_m: float = 4.0
    prior_drift_m: float = 50.0
    """Location windows: the prior is off by GNSS noise, or (half the windows) by drift."""
    geo_seeds: tuple[int, ...] = GEO_CURVE_SEEDS
    """Held-out bags (one flight, one drive per seed) of the run's evaluate-geo curve."""
    geo_data: str = "data_out/geo_eval"
    """Where those bags are rendered once and cached (shared with evaluate-geo)."""
    geo_duration_s: float = 20.0
    """Length of each of those bags (evaluate-geo's default: 38 windows)."""

    @property
    def image_hw(self) -> tuple[int, int]:
        """(height, width) of the model input."""
        if isinstance(self.image_size, int):
            return self.image_size, self.image_size
        return self.image_size

    def counts(self) -> dict[ViewType, int]:
        """view_counts keyed by ViewType."""
        return {ViewType.parse(name): n for name, n in self.view_counts.items()}


@dataclass(frozen=True)
class CurriculumSection:
    """P-VS (aerial count N -> 0 over training) and CA-CS (near camera pairs first)."""

    pvs: bool = False
    cacs: bool = False
    pvs_ground_share: float = 0.5
    cacs_start_width: float = 0.25


@dataclass(frozen=True)
class LossSection:
    """Weights of L = L_cam,sat + 0.4 L_cam,ground/aerial + L_depth and the camera error type."""

    weight_camera_satellite: float = 1.0
    weight_camera_ground_aerial: float = 0.4
    weight_depth: float = 1.0
    camera_loss_type: str = "l1"
    weight_location: float = 1.0
    """Weight of the location head's NLL (location-head models only)."""


@dataclass(frozen=True)
class OptimSection:
    """AdamW with linear warmup then cosine decay to min_lr_ratio * lr (VGGT's recipe)."""

    lr: float = 2e-4
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.95)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.01
    grad_clip: float = 1.0
    """Max global gradient norm; 0 disables clipping."""
    amp: bool = True
    """Mixed precision on CUDA (bf16, or fp16 with loss scaling); ignored on CPU."""


@dataclass(frozen=True)
class RunSection:
    """Length, batch, seed, logging / checkpoint cadence and where outputs go."""

    steps: int = 1000
    batch_size: int = 2
    """Samples per process and step (the global batch is batch_size * world size)."""
    seed: int = 0
    log_every: int = 10
    val_every: int = 0
    """Validation loss every N steps (0: only at the end; needs data.val_scenes)."""
    geo_every: int = 0
    """evaluate-geo on data.geo_seeds every N steps and at the end (0: never; location head)."""
    checkpoint_every: int = 500
    checkpoint_minutes: float = 5.0
    """Also checkpoint after this many minutes since the last one: a run stopped at any
    moment (killed, or out of its budget) loses at most this much work."""
    keep_checkpoints: int = 2
    out_dir: str = "runs/train"
    device: str = "auto"
    threads: int = 0
    """torch intra-op threads per process (0: torch's default)."""


@dataclass(frozen=True)
class TrainConfig:
    """A whole training run."""

    name: str
    description: str = ""
    model: ModelSection = field(default_factory=ModelSection)
    data: DataSection = field(default_factory=DataSection)
    curriculum: CurriculumSection = field(default_factory=CurriculumSection)
    loss: LossSection = field(default_factory=LossSection)
    optim: OptimSection = field(default_factory=OptimSection)
    run: RunSection = field(default_factory=RunSection)

    def to_dict(self) -> dict[str, Any]:
        """Plain YAML-serialisable dict (tuples as lists) that `config_from_dict` reads back."""
        return _plain(dataclasses.asdict(self))

    def to_yaml(self) -> str:
        """The config as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a YAML config and apply `key.path=value` overrides (values parsed as YAML)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return config_from_dict(apply_overrides(raw, overrides), source=str(path))


def apply_overrides(raw: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Copy of raw with each `a.b.c=value` set (intermediate mappings created as needed)."""
    result = _plain(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"override {item!r}: expected key.path=value")
        *parents, leaf = key.strip().split(".")
        node = result
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part} is not a section")
            node = child
        node[leaf] = yaml.safe_load(text)
    return result


def config_from_dict(raw: Mapping[str, Any], source: str = "<config>") -> TrainConfig:
    """Build and validate a TrainConfig from a mapping."""
    config = dataclass_from_mapping(TrainConfig, raw, source)
    _validate(config, source)
    return config


def _plain(value: Any) -> Any:
    """Deep copy with tuples turned into lists and mappings into dicts."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def dataclass_from_mapping(cls: type, raw: Any, source: str, prefix: str = "") -> Any:
    """Instantiate dataclass cls from raw, checking keys and value types recursively."""
    where = prefix.rstrip(".") or "top level"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: {where}: expected a mapping, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + str(k) for k in unknown)}; "
            f"{where} accepts: {', '.join(known)}"
        )
    values = {}
    for name, spec in known.items():
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{source}: missing required key {prefix}{name}")
            continue
        hint = hints[name]
        item = typing.get_args(hint)[0] if typing.get_origin(hint) is list else None
        if dataclasses.is_dataclass(hint):
            values[name] = dataclass_from_mapping(hint, raw[name], source, f"{prefix}{name}.")
        elif dataclasses.is_dataclass(item):
            if not isinstance(raw[name], list):
                raise ConfigError(f"{source}: {prefix}{name}: expected a list of mappings")
            values[name] = [
                dataclass_from_mapping(item, entry, source, f"{prefix}{name}[{i}].")
                for i, entry in enumerate(raw[name])
            ]
        else:
            values[name] = _coerce(raw[name], hint, f"{source}: {prefix}{name}")
    return cls(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check value against a type hint (bool, int, float, str, None, unions, tuple, dict)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where)
            except ConfigError as error:
                errors.append(str(error).rsplit(": ", 1)[-1])
        raise ConfigError(f"{where}: {' or '.join(errors)}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected null, got {value!r}")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true/false, got {value!r}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis and isinstance(value, list | tuple):
            args = (args[0],) * len(value)
        if not isinstance(value, list | tuple) or len(value) != len(args):
            raise ConfigError(f"{where}: expected a list of {len(args)} values, got {value!r}")
        pairs = enumerate(zip(value, args, strict=True))
        return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in pairs)
    if origin is dict:
        key_type, value_type = typing.get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return {
            _coerce(k, key_type, where): _coerce(v, value_type, f"{where}.{k}")
            for k, v in value.items()
        }
    raise TypeError(f"unsupported config type {hint!r}")


def _validate(config: TrainConfig, source: str) -> None:
    """Cross-field checks; raises ConfigError with every problem found."""
    problems: list[str] = []
    model, data, cur, loss, optim, run = (
        config.model,
        config.data,
        config.curriculum,
        config.loss,
        config.optim,
        config.run,
    )
    if model.config not in CONFIG_NAMES:
        problems.append(f"model.config {model.config!r} is not one of {', '.join(CONFIG_NAMES)}")
        patch = 14
    else:
        patch = get_config(model.config).patch_size
    if model.freeze_gas_encoder and not model.init_from:
        problems.append("model.freeze_gas_encoder needs model.init_from (pretrained weights)")
    height, width = data.image_hw
    if min(height, width) <= 0 or height % patch or width % patch:
        problems.append(f"data.image_size {data.image_size} must be positive multiples of {patch}")
    if data.num_frames < 2:
        problems.append("data.num_frames must be >= 2")
    try:
        counts = data.counts()
    except ValueError as error:
        problems.append(f"data.view_counts: {error}")
        counts = {}
    if any(n < 0 for n in counts.values()):
        problems.append("data.view_counts must be >= 0")
    if not cur.pvs and not model.location_head:
        if sum(counts.values()) != data.num_frames:
            problems.append(
                f"data.view_counts {data.view_counts} must sum to data.num_frames "
                f"({data.num_frames}) when curriculum.pvs is off"
            )
        if counts.get(ViewType.GROUND, 0) + counts.get(ViewType.AERIAL, 0) < 1:
            problems.append("data.view_counts needs a ground or aerial frame (the world frame)")
    trains_satellite = cur.pvs or counts.get(ViewType.SATELLITE, 0) > 0 or model.location_head
    if model.location_head:
        if model.location_lift not in LIFTS:
            problems.append(f"model.location_lift must be one of {LIFTS}")
        if height != width:
            problems.append("location windows need a square data.image_size")
        if data.location_cameras < 1 or not 0.0 <= data.flight_fraction <= 1.0:
            problems.append("need data.location_cameras >= 1 and 0 <= data.flight_fraction <= 1")
        if cur.pvs or cur.cacs:
            problems.append("location windows choose their own cameras: turn off pvs and cacs")
    if model.sat_stream and not trains_satellite:
        problems.append("model.sat_stream needs satellite frames in training (view_counts/pvs)")
    if data.num_workers < 0 or data.val_windows_per_scene < 1:
        problems.append("data.num_workers must be >= 0 and data.val_windows_per_scene >= 1")
    if not 0.0 <= cur.pvs_ground_share <= 1.0 or not 0.0 < cur.cacs_start_width <= 1.0:
        problems.append("need 0 <= pvs_ground_share <= 1 and 0 < cacs_start_width <= 1")
    if loss.camera_loss_type not in CAMERA_LOSS_TYPES:
        problems.append(f"loss.camera_loss_type must be one of {CAMERA_LOSS_TYPES}")
    weights = (
        loss.weight_camera_satellite,
        loss.weight_camera_ground_aerial,
        loss.weight_depth,
        loss.weight_location,
    )
    if min(weights) < 0:
        problems.append("loss weights must be >= 0")
    if optim.lr <= 0 or optim.weight_decay < 0 or optim.grad_clip < 0:
        problems.append("need optim.lr > 0, optim.weight_decay >= 0, optim.grad_clip >= 0")
    if not all(0.0 <= b < 1.0 for b in optim.betas) or not 0.0 <= optim.min_lr_ratio <= 1.0:
        problems.append("optim.betas must lie in [0, 1) and optim.min_lr_ratio in [0, 1]")
    if run.steps < 1 or run.batch_size < 1:
        problems.append("run.steps and run.batch_size must be >= 1")
    if not 0 <= optim.warmup_steps <= run.steps:
        problems.append(f"optim.warmup_steps must lie in [0, run.steps={run.steps}]")
    if run.log_every < 1 or run.checkpoint_every < 1 or run.keep_checkpoints < 1:
        problems.append("run.log_every, run.checkpoint_every, run.keep_checkpoints must be >= 1")
    if not run.checkpoint_minutes > 0:
        problems.append("run.checkpoint_minutes must be > 0")
    if run.val_every < 0 or run.threads < 0 or run.geo_every < 0:
        problems.append("run.val_every, run.geo_every and run.threads must be >= 0")
    if run.geo_every and not model.location_head:
        problems.append("run.geo_every needs model.location_head (the Sim(3) path publishes 0)")
    if not data.geo_duration_s > 0:
        problems.append("data.geo_duration_s must be > 0")
    if run.geo_every:
        try:
            check_geo_eval_seeds(data.geo_seeds)
        except ValueError as error:
            problems.append(f"data.geo_seeds: {error}")
    if run.val_every and not data.val_scenes:
        problems.append("run.val_every needs data.val_scenes")
    if run.device not in DEVICES:
        problems.append(f"run.device must be one of {DEVICES}")
    if problems:
        raise ConfigError(f"{source}: " + "; ".join(problems))
