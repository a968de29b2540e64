"""Build the model of a training run: named config, optional local init weights, freezing."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open

from sky2ground_ros.model import SkyNet, SkyNetConfig, get_config
from sky2ground_ros.model.weights import FORMAT, WeightsError, load_model, load_vggt_checkpoint
from sky2ground_ros.training.config import ModelSection, TrainConfig

SAT_PREFIX = "sat_encoder."


def is_skynet_file(path: str | Path) -> bool:
    """Whether a weight file was written by `save_weights` (else it is taken as VGGT)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(path, "no such file")
    try:
        if path.suffix == ".pt":
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
            return isinstance(payload, dict) and payload.get("format") == FORMAT
        with safe_open(str(path), framework="pt", device="cpu") as f:
            return (f.metadata() or {}).get("format") == FORMAT
    except (SafetensorError, OSError, RuntimeError, ValueError) as error:
        raise WeightsError(path, f"cannot read: {error}") from error


def init_from_skynet(model: SkyNet, path: str | Path) -> str:
    """Copy a SkyNet file's tensors; a Sat stream the file lacks starts as a copy of the GAS."""
    source = load_model(path).state_dict()
    own = model.state_dict()
    wanted = {k for k in own if not k.startswith(SAT_PREFIX) or model.config.sat_stream}
    missing = sorted(k for k in wanted if k not in source and not k.startswith(SAT_PREFIX))
    if missing:
        raise WeightsError(path, f"architecture differs: missing {missing[:3]}")
    shapes = [k for k in wanted if k in source and source[k].shape != own[k].shape]
    if shapes:
        raise WeightsError(path, f"architecture differs: shapes of {shapes[:3]}")
    model.load_state_dict({k: source[k] for k in wanted if k in source}, strict=False)
    has_sat = any(k.startswith(SAT_PREFIX) for k in source)
    if model.sat_encoder is not None and not has_sat:
        model.init_sat_encoder_from_gas()
        return f"SkyNet weights {path} (Sat stream initialised from the GAS encoder)"
    return f"SkyNet weights {path}"


def model_config(section: ModelSection, image_size: int) -> SkyNetConfig:
    """The run's architecture; a location head runs at the training image size."""
    extra: dict[str, object] = {}
    if section.location_head:
        extra = {
            "location_head": True,
            "location_image_size": image_size,
            "location_lift": section.location_lift,
        }
    return get_config(section.config, msa=section.msa, sat_stream=section.sat_stream, **extra)


def build_model(config: TrainConfig) -> tuple[SkyNet, str]:
    """The run's model (random init from the current torch seed, or init_from) and a summary."""
    section = config.model
    model = SkyNet(model_config(section, config.data.image_hw[0]))
    origin = "random initialisation"
    if section.init_from:
        if is_skynet_file(section.init_from):
            origin = init_from_skynet(model, section.init_from)
        else:
            report = load_vggt_checkpoint(model, section.init_from)
            origin = f"VGGT weights {section.init_from} ({len(report.loaded)} tensors)"
    if section.freeze_gas_encoder:
        model.freeze_gas_encoder()
        origin += ", GAS encoder frozen"
    return model, origin
