"""init_from: VGGT-layout weights load into the GAS encoder and heads, which the paper's frozen
GAS encoder keeps unchanged while the heads and the Sat stream train; SkyNet files load too."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from test_training_support import make_scenes, tiny_config

from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import VGGT_PREFIXES, WeightsError, save_weights
from sky2ground_ros.training.initialise import build_model
from sky2ground_ros.training.trainer import Trainer


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_scenes(tmp_path_factory.mktemp("init_scenes"))


def _vggt_file(path: Path) -> dict[str, torch.Tensor]:
    """A VGGT-layout file (no SkyNet metadata) of a plain tiny model, plus a track_head key."""
    torch.manual_seed(123)
    state = SkyNet(get_config("tiny", msa=False, sat_stream=False)).state_dict()
    state = {k: v.contiguous() for k, v in state.items() if k.startswith(VGGT_PREFIXES)}
    save_file({**state, "track_head.w": torch.zeros(2)}, str(path))
    return state


def test_frozen_gas_encoder_from_vggt_weights(scenes: Path, tmp_path: Path) -> None:
    vggt = _vggt_file(tmp_path / "vggt.safetensors")
    config = tiny_config(
        scenes,
        tmp_path / "run",
        model={"init_from": str(tmp_path / "vggt.safetensors"), "freeze_gas_encoder": True},
        run={"steps": 3},
    )
    trainer = Trainer(config)
    assert "VGGT weights" in trainer.origin and "frozen" in trainer.origin
    model = trainer.model
    assert not any(p.requires_grad for p in model.aggregator.parameters())
    sat_before = {k: v.clone() for k, v in model.sat_encoder.state_dict().items()}
    assert torch.equal(
        sat_before["frame_blocks.0.attn.qkv.weight"],
        vggt["aggregator.frame_blocks.0.attn.qkv.weight"],
    )
    trainer.fit()
    state = model.state_dict()
    for key, value in vggt.items():
        if key.startswith("aggregator."):
            assert torch.equal(state[key], value), key
    assert not torch.equal(
        state["camera_head.pose_branch.fc1.weight"], vggt["camera_head.pose_branch.fc1.weight"]
    )
    assert any(not torch.equal(v, model.sat_encoder.state_dict()[k]) for k, v in sat_before.items())


def test_init_from_a_skynet_file_and_bad_files(tmp_path: Path) -> None:
    torch.manual_seed(7)
    source = SkyNet(get_config("tiny", sat_stream=False))
    path = save_weights(source, tmp_path / "skynet.safetensors")
    model, origin = build_model(tiny_config(tmp_path, tmp_path, model={"init_from": str(path)}))
    assert "SkyNet weights" in origin and "Sat stream initialised" in origin
    for key, value in source.state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(WeightsError):
        build_model(
            tiny_config(tmp_path, tmp_path, model={"init_from": str(tmp_path / "junk.safetensors")})
        )
    small = SkyNet(get_config("tiny", embed_dim=32, patch_embed_heads=4, heads=2, camera_heads=4))
    save_weights(small, tmp_path / "small.safetensors")
    with pytest.raises(WeightsError, match="architecture differs"):
        build_model(
            tiny_config(
                tmp_path, tmp_path, model={"init_from": str(tmp_path / "small.safetensors")}
            )
        )
