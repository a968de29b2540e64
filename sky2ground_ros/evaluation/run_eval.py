"""Evaluate SkyNet checkpoints on deterministic held-out windows (GAS and G+S settings).

A window is a SceneDataset sample with a fixed view mix: "GAS" (ground, aerial and satellite,
split evenly) or "G+S" (ground and satellite only, the paper's ablation setting). Window k of a
setting comes from scene k mod n with sample seed k, so every checkpoint sees exactly the same
frames. The first frame of a window is a ground frame (the world frame); predicted and
ground-truth extrinsics are compared pair by pair with `PoseEvaluation` (VGGT's metrics).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from sky2ground_ros.data.dataset import SceneDataset
from sky2ground_ros.evaluation.report import PoseEvaluation
from sky2ground_ros.model import SkyNet
from sky2ground_ros.model.weights import load_model
from sky2ground_ros.views import ViewType

SETTINGS: tuple[str, ...] = ("GAS", "G+S")


def gas_view_counts(num_frames: int) -> dict[ViewType, int]:
    """Even ground / aerial / satellite split (aerial takes the remainder), e.g. 6 -> 2/2/2."""
    third = num_frames // 3
    return {
        ViewType.GROUND: third,
        ViewType.AERIAL: num_frames - 2 * third,
        ViewType.SATELLITE: third,
    }


def ground_satellite_view_counts(num_frames: int) -> dict[ViewType, int]:
    """G+S split without aerial frames (ground takes the remainder), e.g. 6 -> 3/0/3."""
    satellite = num_frames // 2
    return {
        ViewType.GROUND: num_frames - satellite,
        ViewType.AERIAL: 0,
        ViewType.SATELLITE: satellite,
    }


SETTING_COUNTS = {"GAS": gas_view_counts, "G+S": ground_satellite_view_counts}


@dataclass(frozen=True)
class WindowSet:
    """All windows of one setting: images [N, S, 3, H, W], view types [N, S], GT [N, S, 3, 4]."""

    setting: str
    images: torch.Tensor
    view_types: torch.Tensor
    extrinsics: torch.Tensor
    scenes: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def build_windows(
    scenes: str | Path,
    num_frames: int = 6,
    image_size: tuple[int, int] = (56, 56),
    windows_per_scene: int = 4,
    seed: int = 0,
    settings: Sequence[str] = SETTINGS,
) -> list[WindowSet]:
    """The evaluation windows of every setting (loaded once, reused for every checkpoint)."""
    out = []
    for setting in settings:
        if setting not in SETTING_COUNTS:
            raise ValueError(f"unknown setting {setting!r}; choose from {SETTINGS}")
        counts = SETTING_COUNTS[setting](num_frames)
        if min(counts[ViewType.GROUND], counts[ViewType.SATELLITE]) < 1:
            raise ValueError(f"{num_frames} frames are too few for the {setting} setting")
        dataset = SceneDataset(
            scenes, num_frames=num_frames, image_size=image_size, view_counts=counts, seed=seed
        )
        samples = [dataset[k] for k in range(len(dataset) * windows_per_scene)]
        out.append(
            WindowSet(
                setting=setting,
                images=torch.stack([s["images"] for s in samples]),
                view_types=torch.stack([s["view_types"] for s in samples]),
                extrinsics=torch.stack([s["extrinsics"] for s in samples]),
                scenes=tuple(str(s["scene"]) for s in samples),
            )
        )
    return out


def evaluate_model(
    label: str,
    model: SkyNet,
    windows: Sequence[WindowSet],
    evaluation: PoseEvaluation,
    batch_size: int = 4,
) -> PoseEvaluation:
    """Predict every window with model and add its pair errors to evaluation under label."""
    model.eval()
    for window_set in windows:
        for start in range(0, len(window_set), batch_size):
            chunk = slice(start, start + batch_size)
            prediction = model.predict(window_set.images[chunk], window_set.view_types[chunk])
            evaluation.add_batch(
                label,
                prediction.extrinsics.double().cpu(),
                window_set.extrinsics[chunk].double(),
                window_set.view_types[chunk],
            )
    return evaluation


def evaluate_checkpoints(
    checkpoints: Mapping[str, str | Path],
    windows: Sequence[WindowSet],
    device: str | torch.device = "cpu",
    batch_size: int = 4,
) -> PoseEvaluation:
    """PoseEvaluation of several weight files (label -> path) on the same windows."""
    evaluation = PoseEvaluation()
    for label, path in checkpoints.items():
        evaluate_model(label, load_model(path, device), windows, evaluation, batch_size)
    return evaluation


def method_labels(paths: Sequence[str | Path], labels: Sequence[str] | None) -> dict[str, Path]:
    """label -> path; labels default to the file stems and must be unique."""
    names = list(labels) if labels else [Path(p).stem for p in paths]
    if len(names) != len(paths):
        raise ValueError(f"{len(names)} labels for {len(paths)} weight files")
    if len(set(names)) != len(names):
        raise ValueError(f"labels must be unique, got {names}")
    return {name: Path(p) for name, p in zip(names, paths, strict=True)}
