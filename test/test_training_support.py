"""Shared helpers of the training tests (tiny rendered scenes, tiny configs) and their checks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.scene_format import Scene
from sky2ground_ros.data.synthetic import SyntheticConfig, generate_dataset
from sky2ground_ros.training.config import TrainConfig, config_from_dict
from sky2ground_ros.views import ViewType

SCENE_CONFIG = SyntheticConfig(
    size=56, satellite=3, ground=5, helix=replace(HelixConfig(), positions=1)
)


def make_scenes(root: Path, scenes: int = 2, seed: int = 3) -> Path:
    """Render a few tiny scenes (3 satellite, 3 aerial, 5 ground views of 56 px each)."""
    torch.set_num_threads(1)
    generate_dataset(root, scenes, seed, SCENE_CONFIG)
    return root


def tiny_config(scenes: Path, out_dir: Path, **sections: dict[str, Any]) -> TrainConfig:
    """A tiny SkyNet run on 56 px images of 4 frames; sections update the defaults."""
    raw: dict[str, Any] = {
        "name": "test",
        "model": {"config": "tiny", "msa": True, "sat_stream": True},
        "data": {"train_scenes": str(scenes), "num_frames": 4, "image_size": 56},
        "optim": {"lr": 1e-3, "warmup_steps": 2},
        "run": {"steps": 6, "batch_size": 2, "log_every": 1, "out_dir": str(out_dir), "threads": 1},
    }
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return config_from_dict(raw)


def test_make_scenes_renders_every_view_type(tmp_path: Path) -> None:
    scene = Scene.load(make_scenes(tmp_path, scenes=1) / "synth_0000")
    counts = {vt: len(scene.select(view_type=vt)) for vt in ViewType}
    assert counts == {ViewType.GROUND: 5, ViewType.AERIAL: 3, ViewType.SATELLITE: 3}
