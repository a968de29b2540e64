"""Masked satellite attention in the model: ground/aerial outputs never see satellite images."""

from collections.abc import Iterator

import pytest
import torch

from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.views import ViewType

G, A, S = int(ViewType.GROUND), int(ViewType.AERIAL), int(ViewType.SATELLITE)
HW = (56, 70)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build(**overrides: bool) -> SkyNet:
    """Tiny model whose Sat-stream fusion is non-zero, so a leak into ground tokens would show."""
    torch.manual_seed(0)
    model = SkyNet(get_config("tiny", **overrides)).eval()
    if model.sat_encoder is not None:
        for linear in model.sat_encoder.fusion:
            torch.nn.init.normal_(linear.weight, std=0.05)
    return model


def images(frames: int, seed: int) -> torch.Tensor:
    return torch.rand(1, frames, 3, *HW, generator=torch.Generator().manual_seed(seed))


def gas_layers(model: SkyNet, x: torch.Tensor, num_satellite: int) -> dict[int, torch.Tensor]:
    with torch.no_grad():
        return model.aggregator(x, num_satellite, model.sat_encoder)


def max_diff(a: dict[int, torch.Tensor], b: dict[int, torch.Tensor], frames: slice) -> float:
    return max(float((a[i][:, frames] - b[i][:, frames]).abs().max()) for i in a)


def test_gas_ground_aerial_outputs_ignore_satellite_images() -> None:
    model = build()
    x = images(5, seed=1)
    other_satellites = x.clone()
    other_satellites[:, 3:] = images(2, seed=2)
    a, b = gas_layers(model, x, 2), gas_layers(model, other_satellites, 2)
    assert max_diff(a, b, slice(0, 3)) <= 1e-6
    assert max_diff(a, b, slice(3, 5)) > 1e-2


def test_gas_satellite_outputs_follow_ground_images() -> None:
    model = build()
    x = images(5, seed=1)
    other_ground = x.clone()
    other_ground[:, 1:3] = images(2, seed=3)
    a, b = gas_layers(model, x, 2), gas_layers(model, other_ground, 2)
    assert max_diff(a, b, slice(3, 5)) > 1e-4


def test_without_msa_ground_outputs_depend_on_satellites() -> None:
    model = build(msa=False)
    x = images(5, seed=1)
    other_satellites = x.clone()
    other_satellites[:, 3:] = images(2, seed=2)
    a, b = gas_layers(model, x, 2), gas_layers(model, other_satellites, 2)
    assert max_diff(a, b, slice(0, 3)) > 1e-4


def test_skynet_ground_predictions_equal_ground_only_run() -> None:
    """With MSA (GAS and camera trunk) ground/aerial results equal a run without satellites."""
    model = build()
    x = images(5, seed=4)
    view_types = torch.tensor([[G, S, A, S, G]])
    with torch.no_grad():
        full = model(x, view_types)
        ground_only = model(x[:, [0, 2, 4]], view_types[:, [0, 2, 4]])
    for key in ("pose_enc", "depth", "depth_conf"):
        torch.testing.assert_close(full[key][:, [0, 2, 4]], ground_only[key], atol=1e-5, rtol=0)


def test_unmasked_camera_trunk_lets_satellites_move_ground_poses() -> None:
    model = build(msa_camera_head=False)
    x = images(4, seed=5)
    y = x.clone()
    y[:, 3] = images(1, seed=6)[:, 0]
    view_types = torch.tensor([[G, A, G, S]])
    with torch.no_grad():
        a, b = model(x, view_types)["pose_enc"], model(y, view_types)["pose_enc"]
    assert (a[:, :3] - b[:, :3]).abs().max() > 1e-6
