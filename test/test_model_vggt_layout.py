"""The vggt-1b configuration has exactly the official VGGT-1B parameter names and shapes."""

import math
from importlib import resources

import pytest
import torch

from sky2ground_ros.model import SkyNet, get_config


def official_layout() -> dict[str, tuple[int, ...]]:
    text = resources.files("sky2ground_ros.model").joinpath("vggt_1b_keys.txt").read_text()
    layout = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, shape = line.split()
            layout[name] = tuple(int(d) for d in shape.split(","))
    return layout


@pytest.fixture(scope="module")
def vggt_1b() -> SkyNet:
    with torch.device("meta"):
        return SkyNet(get_config("vggt-1b"))


def test_state_dict_matches_official_keys_and_shapes(vggt_1b: SkyNet) -> None:
    layout = official_layout()
    ours = {
        k: tuple(v.shape)
        for k, v in vggt_1b.state_dict().items()
        if not k.startswith("sat_encoder.")
    }
    assert sorted(set(layout) - set(ours)) == []
    assert sorted(set(ours) - set(layout)) == []
    assert {k: s for k, s in ours.items() if s != layout[k]} == {}


def test_parameter_count_matches_vggt_1b(vggt_1b: SkyNet) -> None:
    """VGGT-1B without point and track heads; DINOv2 ViT-L/14-reg is its ~304 M backbone."""
    counts = {
        name: sum(p.numel() for p in getattr(vggt_1b, name).parameters())
        for name in ("aggregator", "camera_head", "depth_head")
    }
    total = sum(counts.values())
    assert total == sum(math.prod(s) for s in official_layout().values())
    assert abs(total - 1.158e9) / 1.158e9 < 0.01
    backbone = sum(p.numel() for p in vggt_1b.aggregator.patch_embed.parameters())
    assert abs(backbone - 304.4e6) / 304.4e6 < 0.01


def test_sat_stream_only_adds_sat_encoder_parameters(vggt_1b: SkyNet) -> None:
    extra = [k for k in vggt_1b.state_dict() if k not in official_layout()]
    assert extra and all(k.startswith("sat_encoder.") for k in extra)
    with torch.device("meta"):
        vggt = SkyNet(get_config("vggt-1b", sat_stream=False))
    assert set(vggt.state_dict()) == set(official_layout())
