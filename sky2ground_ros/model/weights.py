"""SkyNet weight files (safetensors with the config in the metadata, or .pt) and VGGT import."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.skynet import SkyNet

_log = logging.getLogger(__name__)

FORMAT = "sky2ground-skynet"
VGGT_PREFIXES = ("aggregator.", "camera_head.", "depth_head.")


class WeightsError(RuntimeError):
    """A weight file that cannot be used: unreadable, corrupt, or not matching the model."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class LoadReport:
    """What `load_vggt_checkpoint` did with each parameter name."""

    path: Path
    loaded: tuple[str, ...]
    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    not_in_vggt: tuple[str, ...]

    def summary(self) -> str:
        """One line per category, unexpected keys grouped by top-level module."""
        groups = Counter(key.split(".", 1)[0] for key in self.unexpected)
        unexpected = ", ".join(f"{name}.* ({n})" for name, n in sorted(groups.items()))
        return "\n".join(
            [
                f"{self.path}: loaded {len(self.loaded)} tensors",
                f"missing from the file: {len(self.missing)} {list(self.missing[:10])}",
                f"unused from the file: {len(self.unexpected)} {unexpected}",
                f"SkyNet-only (not in VGGT): {len(self.not_in_vggt)}",
            ]
        )


def save_weights(model: SkyNet, path: str | Path) -> Path:
    """Write the model to `path`: safetensors (config in metadata) or, for .pt, a torch pickle."""
    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if path.suffix == ".pt":
        torch.save({"format": FORMAT, "config": model.config.to_json(), "state_dict": state}, path)
    else:
        save_file(state, str(path), metadata={"format": FORMAT, "config": model.config.to_json()})
    return path


def load_model(path: str | Path, device: str | torch.device = "cpu") -> SkyNet:
    """Build a SkyNet from a file written by `save_weights` (its config comes from the file)."""
    path = Path(path)
    if path.suffix == ".pt":
        payload = _torch_load(path)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise WeightsError(path, f"not a {FORMAT} .pt file (no format/config/state_dict)")
        config_json, state = payload.get("config"), payload.get("state_dict")
    else:
        metadata, state, _ = _read_safetensors(path)
        if metadata.get("format") != FORMAT:
            raise WeightsError(path, f"metadata format is {metadata.get('format')!r}, not {FORMAT}")
        config_json = metadata.get("config")
    if not isinstance(config_json, str) or not isinstance(state, dict):
        raise WeightsError(path, "config or tensors missing")
    try:
        config = SkyNetConfig.from_json(config_json)
    except (TypeError, ValueError) as error:
        raise WeightsError(path, f"invalid config in metadata: {error}") from error
    model = SkyNet(config)
    _check_keys(path, model.state_dict(), state)
    model.load_state_dict(state)
    return model.to(device).eval()


def load_vggt_checkpoint(
    model: SkyNet, path: str | Path, *, strict: bool = True, init_sat_encoder: bool = True
) -> LoadReport:
    """Initialise the GAS encoder and the heads from a local VGGT checkpoint (.safetensors/.pt).

    Shape mismatches raise `WeightsError`; with `strict`, so do model keys absent from the file.
    File keys the model has no use for (point_head, track_head) are listed in the report and
    logged. With `init_sat_encoder` the Sat encoder starts as a copy of the loaded GAS blocks.
    """
    path = Path(path)
    own = model.state_dict()
    vggt_keys = [k for k in own if k.startswith(VGGT_PREFIXES)]
    if path.suffix == ".pt":
        state = _torch_load(path)
        for wrapper in ("model", "state_dict"):
            if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
                state = state[wrapper]
        if not isinstance(state, dict):
            raise WeightsError(path, "expected a state dict (name -> tensor)")
        file_keys = list(state)
    else:
        _, state, file_keys = _read_safetensors(path, vggt_keys)
    missing = tuple(k for k in vggt_keys if k not in state)
    mismatched = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in vggt_keys
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    if mismatched:
        raise WeightsError(path, "shape mismatch: " + "; ".join(mismatched[:5]))
    if strict and missing:
        raise WeightsError(path, f"{len(missing)} VGGT tensors missing, e.g. {list(missing[:5])}")
    loaded = tuple(k for k in vggt_keys if k in state)
    model.load_state_dict({k: state[k] for k in loaded}, strict=False)
    if init_sat_encoder and model.sat_encoder is not None:
        model.init_sat_encoder_from_gas()
    report = LoadReport(
        path=path,
        loaded=loaded,
        missing=missing,
        unexpected=tuple(k for k in file_keys if k not in own),
        not_in_vggt=tuple(k for k in own if not k.startswith(VGGT_PREFIXES)),
    )
    if report.missing or report.unexpected:
        _log.warning("%s", report.summary())
    return report


def _torch_load(path: Path) -> object:
    """torch.load restricted to tensors and plain containers (weights_only=True)."""
    if not path.is_file():
        raise WeightsError(path, "no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # corrupt archives raise several unrelated exception types
        raise WeightsError(path, f"cannot read torch file: {error}") from error


def _read_safetensors(
    path: Path, wanted: Iterable[str] | None = None
) -> tuple[dict[str, str], dict[str, torch.Tensor], list[str]]:
    """Metadata, the `wanted` tensors (all when None) and every key of a safetensors file."""
    if not path.is_file():
        raise WeightsError(path, "no such file")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            keys = list(f.keys())
            present = set(keys)
            names = keys if wanted is None else [k for k in wanted if k in present]
            return f.metadata() or {}, {k: f.get_tensor(k) for k in names}, keys
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(path, f"cannot read safetensors file: {error}") from error


def _check_keys(
    path: Path, expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]
) -> None:
    """Raise WeightsError naming the first differences between two state dicts."""
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    shapes = [
        f"{k} {tuple(found[k].shape)} != {tuple(v.shape)}"
        for k, v in expected.items()
        if k in found and tuple(found[k].shape) != tuple(v.shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors, e.g. {missing[:3]}")
    if extra:
        problems.append(f"unexpected {len(extra)} tensors, e.g. {extra[:3]}")
    if shapes:
        problems.append("shape mismatch: " + "; ".join(shapes[:3]))
    if problems:
        raise WeightsError(path, "does not match its config: " + " | ".join(problems))
