"""Training checkpoints for exact resume: model, optimiser, scheduler, scaler, sampler and RNGs.

Files are torch pickles of tensors and plain containers only, so they load with
``weights_only=True``; they are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_FORMAT = "sky2ground-train-checkpoint"
CHECKPOINT_VERSION = 1
LAST_NAME = "last.pt"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be resumed from."""


def capture_rng_state() -> dict[str, Any]:
    """State of the Python, NumPy, torch CPU (and CUDA) global generators."""
    version, python_state, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(python_state), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of `capture_rng_state`."""
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["kind"], keys, npy["pos"], npy["has_gauss"], npy["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_path(directory: str | Path, step: int) -> Path:
    """Path of the checkpoint written after `step` optimiser steps."""
    return Path(directory) / f"step_{step:08d}.pt"


def save_checkpoint(directory: str | Path, step: int, payload: dict[str, Any], keep: int) -> Path:
    """Write step_<N>.pt and last.pt atomically; keep only the newest `keep` step files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": step, **payload}
    path = checkpoint_path(directory, step)
    for target in (path, directory / LAST_NAME):
        tmp = target.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, target)
    for old in sorted(directory.glob("step_*.pt"))[:-keep]:
        old.unlink()
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (CPU tensors)."""
    path = Path(path)
    if path.is_dir():
        path = path / LAST_NAME
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # corrupt archives raise several unrelated exception types
        raise CheckpointError(f"{path}: cannot read: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path}: not a {CHECKPOINT_FORMAT} file")
    if int(payload.get("version", 0)) > CHECKPOINT_VERSION:
        raise CheckpointError(f"{path}: version {payload['version']} is newer than supported")
    return payload
