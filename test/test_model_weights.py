"""Weight files: exact round trips, clear errors, and VGGT checkpoint import with a report."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import (
    WeightsError,
    load_model,
    load_vggt_checkpoint,
    save_weights,
)
from sky2ground_ros.views import ViewType

VIEW_TYPES = torch.tensor([[ViewType.GROUND, ViewType.AERIAL, ViewType.SATELLITE]])


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> SkyNet:
    torch.manual_seed(0)
    net = SkyNet(get_config("tiny", msa_camera_head=False)).eval()
    assert net.sat_encoder is not None
    for linear in net.sat_encoder.fusion:
        torch.nn.init.normal_(linear.weight, std=0.05)
    return net


def outputs(net: SkyNet) -> dict:
    x = torch.rand(1, 3, 3, 42, 56, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return net(x, VIEW_TYPES)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_round_trip_preserves_outputs_exactly(model: SkyNet, tmp_path: Path, suffix: str) -> None:
    path = save_weights(model, tmp_path / f"skynet{suffix}")
    loaded = load_model(path)
    assert loaded.config == model.config  # msa_camera_head=False came back from the file
    expected, actual = outputs(model), outputs(loaded)
    for key in ("pose_enc", "depth", "depth_conf"):
        assert torch.equal(actual[key], expected[key]), key


def test_corrupt_files_raise_weights_error(model: SkyNet, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x00\x01not a safetensors file" * 10)
    with pytest.raises(WeightsError, match="cannot read safetensors") as info:
        load_model(garbage)
    assert info.value.path == garbage and str(garbage) in str(info.value)

    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(save_weights(model, tmp_path / "ok.safetensors").read_bytes()[:5000])
    with pytest.raises(WeightsError, match=r"truncated\.safetensors"):
        load_model(truncated)

    bad_pt = tmp_path / "bad.pt"
    bad_pt.write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(WeightsError, match="cannot read torch file"):
        load_model(bad_pt)

    with pytest.raises(WeightsError, match="no such file"):
        load_model(tmp_path / "absent.safetensors")


def test_mismatched_files_raise_weights_error(model: SkyNet, tmp_path: Path) -> None:
    plain = tmp_path / "plain.safetensors"
    save_file({"x": torch.zeros(1)}, str(plain))
    with pytest.raises(WeightsError, match="metadata format"):
        load_model(plain)

    other = SkyNet(get_config("tiny", depth=3, dpt_layers=(0, 1, 2, 2)))
    lying = tmp_path / "lying.safetensors"
    save_file(
        {k: v.contiguous() for k, v in other.state_dict().items()},
        str(lying),
        metadata={"format": "sky2ground-skynet", "config": model.config.to_json()},
    )
    with pytest.raises(WeightsError, match="does not match its config: missing"):
        load_model(lying)

    bad_config = tmp_path / "bad_config.safetensors"
    save_file(
        {"x": torch.zeros(1)},
        str(bad_config),
        metadata={"format": "sky2ground-skynet", "config": '{"name": "tiny", "colour": 1}'},
    )
    with pytest.raises(WeightsError, match="invalid config"):
        load_model(bad_config)


def vggt_checkpoint(tmp_path: Path, suffix: str, drop: str | None = None) -> tuple[Path, dict]:
    """A VGGT-layout checkpoint (tiny shapes) with the point and track heads VGGT also ships."""
    torch.manual_seed(1)
    source = SkyNet(get_config("tiny", msa=False, sat_stream=False))
    state = {k: v.contiguous() for k, v in source.state_dict().items() if k != drop}
    state["point_head.norm.weight"] = torch.ones(128)
    state["track_head.tracker.x"] = torch.zeros(2)
    path = tmp_path / f"vggt{suffix}"
    if suffix == ".pt":
        torch.save(state, path)
    else:
        save_file(state, str(path))
    return path, state


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_vggt_checkpoint_initialises_gas_and_heads(tmp_path: Path, suffix: str) -> None:
    path, state = vggt_checkpoint(tmp_path, suffix)
    net = SkyNet(get_config("tiny"))
    report = load_vggt_checkpoint(net, path)
    own = net.state_dict()
    vggt_keys = [k for k in own if not k.startswith("sat_encoder.")]
    assert set(report.loaded) == set(vggt_keys)
    assert report.missing == ()
    assert set(report.unexpected) == {"point_head.norm.weight", "track_head.tracker.x"}
    assert report.not_in_vggt and all(k.startswith("sat_encoder.") for k in report.not_in_vggt)
    assert "point_head.* (1), track_head.* (1)" in report.summary()
    for key in vggt_keys:
        assert torch.equal(own[key], state[key]), key
    # The Sat encoder starts from the loaded GAS blocks.
    assert torch.equal(
        own["sat_encoder.global_blocks.2.attn.qkv.weight"],
        state["aggregator.global_blocks.2.attn.qkv.weight"],
    )


def test_vggt_checkpoint_problems_are_reported(tmp_path: Path) -> None:
    missing_key = "camera_head.pose_branch.fc2.bias"
    path, _ = vggt_checkpoint(tmp_path, ".safetensors", drop=missing_key)
    with pytest.raises(WeightsError, match="1 VGGT tensors missing"):
        load_vggt_checkpoint(SkyNet(get_config("tiny")), path)
    report = load_vggt_checkpoint(SkyNet(get_config("tiny")), path, strict=False)
    assert report.missing == (missing_key,)

    larger = SkyNet(get_config("tiny", embed_dim=96, heads=4, patch_embed_heads=4))
    with pytest.raises(WeightsError, match="shape mismatch: aggregator"):
        load_vggt_checkpoint(larger, path, strict=False)
