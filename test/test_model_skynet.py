"""SkyNet forward / predict contracts, frame ordering, VGGT baseline switches and freezing."""

from collections.abc import Iterator

import pytest
import torch

from sky2ground_ros.model import CONFIG_NAMES, Prediction, SkyNet, SkyNetConfig, get_config
from sky2ground_ros.views import ViewType

G, A, S = int(ViewType.GROUND), int(ViewType.AERIAL), int(ViewType.SATELLITE)
HW = (56, 70)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def model() -> SkyNet:
    torch.manual_seed(0)
    net = SkyNet(get_config("tiny")).eval()
    assert net.sat_encoder is not None
    for linear in net.sat_encoder.fusion:
        torch.nn.init.normal_(linear.weight, std=0.05)
    return net


def images(batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(batch, frames, 3, *HW, generator=torch.Generator().manual_seed(seed))


def test_forward_output_contract(model: SkyNet) -> None:
    with torch.no_grad():
        out = model(images(2, 4), torch.tensor([[G, A, S, G], [G, G, A, S]]))
    assert out["pose_enc"].shape == (2, 4, 9)
    assert len(out["pose_enc_list"]) == model.config.camera_iterations
    torch.testing.assert_close(out["pose_enc_list"][-1], out["pose_enc"], atol=0, rtol=0)
    assert out["depth"].shape == (2, 4, *HW, 1)
    assert out["depth_conf"].shape == (2, 4, *HW)
    assert (out["depth"] > 0).all() and (out["depth_conf"] > 1).all()
    assert (out["pose_enc"][..., 7:] >= 0).all()  # field of view after ReLU


def test_frame_order_is_preserved(model: SkyNet) -> None:
    """Satellites anywhere after frame 0 give the same per-frame results as satellites last."""
    x = images(1, 5, seed=1)
    mixed = torch.tensor([[G, S, A, S, G]])
    order = [0, 2, 4, 1, 3]
    with torch.no_grad():
        out = model(x, mixed)
        ordered = model(x[:, order], mixed[:, order])
    for key in ("pose_enc", "depth", "depth_conf"):
        torch.testing.assert_close(out[key][:, order], ordered[key], atol=1e-5, rtol=0)


def test_batch_with_different_satellite_counts_matches_single_runs(model: SkyNet) -> None:
    x = images(2, 4, seed=2)
    view_types = torch.tensor([[G, S, S, A], [G, A, G, S]])
    with torch.no_grad():
        batched = model(x, view_types)
        singles = [model(x[b : b + 1], view_types[b : b + 1]) for b in range(2)]
    for key in ("pose_enc", "depth_conf"):
        expected = torch.cat([s[key] for s in singles])
        torch.testing.assert_close(batched[key], expected, atol=1e-5, rtol=0)


def test_vggt_baseline_ignores_view_types() -> None:
    torch.manual_seed(0)
    vggt = SkyNet(get_config("tiny", msa=False, sat_stream=False)).eval()
    assert vggt.sat_encoder is None
    x = images(1, 3, seed=3)
    with torch.no_grad():
        a = vggt(x, torch.tensor([[G, G, G]]))["pose_enc"]
        b = vggt(x, torch.tensor([[S, A, S]]))["pose_enc"]
    torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_fresh_sat_stream_leaves_gas_output_unchanged() -> None:
    """Zero-initialised fusion: SkyNet starts as exactly the model without the Sat stream."""
    torch.manual_seed(0)
    skynet = SkyNet(get_config("tiny")).eval()
    plain = SkyNet(get_config("tiny", sat_stream=False)).eval()
    plain.load_state_dict(
        {k: v for k, v in skynet.state_dict().items() if not k.startswith("sat_encoder.")}
    )
    x, view_types = images(1, 4, seed=4), torch.tensor([[G, A, S, S]])
    with torch.no_grad():
        torch.testing.assert_close(
            skynet(x, view_types)["pose_enc"], plain(x, view_types)["pose_enc"], atol=0, rtol=0
        )


def test_invalid_inputs_are_rejected(model: SkyNet) -> None:
    with pytest.raises(ValueError, match="world frame"):
        model(images(1, 2), torch.tensor([[S, G]]))
    with pytest.raises(ValueError, match="multiples of 14"):
        model(torch.rand(1, 2, 3, 50, 56), torch.tensor([[G, S]]))
    with pytest.raises(ValueError, match=r"view_types must be \[B, S\]"):
        model(images(1, 2), torch.tensor([G, S]))
    with pytest.raises(ValueError, match="ViewType values"):
        model(images(1, 2), torch.tensor([[G, 7]]))


def test_predict_unbatched(model: SkyNet) -> None:
    frames = (images(1, 3, seed=5)[0] * 255).to(torch.uint8)
    prediction = model.predict(frames, ["ground", ViewType.AERIAL, "satellite"])
    assert isinstance(prediction, Prediction)
    assert prediction.extrinsics.shape == (3, 3, 4)
    assert prediction.intrinsics.shape == (3, 3, 3)
    assert prediction.depth.shape == (3, *HW)
    assert prediction.depth_conf.shape == (3, *HW)
    assert prediction.pose_conf.shape == (3,)
    assert ((prediction.pose_conf >= 0) & (prediction.pose_conf < 1)).all()
    torch.testing.assert_close(
        prediction.intrinsics[:, :2, 2], torch.tensor([[HW[1] / 2, HW[0] / 2]] * 3)
    )
    rotations = prediction.extrinsics[..., :3]
    identity = torch.eye(3).expand(3, 3, 3)
    torch.testing.assert_close(rotations @ rotations.transpose(-1, -2), identity, atol=1e-5, rtol=0)


def test_predict_batched_matches_forward(model: SkyNet) -> None:
    x = images(2, 3, seed=6)
    view_types = torch.tensor([[G, A, S], [G, G, S]])
    prediction = model.predict(x, view_types)
    assert prediction.extrinsics.shape == (2, 3, 3, 4)
    with torch.no_grad():
        depth = model(x, view_types)["depth"][..., 0]
    torch.testing.assert_close(prediction.depth, depth)
    shared_types = model.predict(x, [G, A, S])  # one view-type list for the whole batch
    torch.testing.assert_close(shared_types.depth[0], prediction.depth[0])


def test_autocast_runs_the_heads_in_float32(model: SkyNet) -> None:
    x, view_types = images(1, 3, seed=8), torch.tensor([[G, A, S]])
    with torch.no_grad():
        reference = model(x, view_types)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            mixed = model(x, view_types)
    assert mixed["pose_enc"].dtype == torch.float32
    assert mixed["depth"].dtype == torch.float32
    torch.testing.assert_close(mixed["pose_enc"], reference["pose_enc"], atol=0.1, rtol=0.1)


def test_pose_conf_rewards_converged_refinement() -> None:
    from sky2ground_ros.model.skynet import pose_confidence

    settled = [torch.zeros(1, 2, 9), torch.zeros(1, 2, 9)]
    moving = [torch.zeros(1, 2, 9), torch.full((1, 2, 9), 0.1)]
    depth_conf = torch.full((1, 2, 4, 4), 3.0)
    high, low = pose_confidence(settled, depth_conf), pose_confidence(moving, depth_conf)
    torch.testing.assert_close(high, torch.full((1, 2), 2 / 3))
    assert (low < high).all()
    assert (pose_confidence(settled, depth_conf * 10) > high).all()


def test_freeze_gas_encoder_trains_only_sat_stream_and_heads() -> None:
    torch.manual_seed(0)
    net = SkyNet(get_config("tiny"))
    net.freeze_gas_encoder()
    assert not any(p.requires_grad for p in net.aggregator.parameters())
    out = net(images(1, 3, seed=7), torch.tensor([[G, A, S]]))
    (out["pose_enc"].sum() + out["depth"].mean()).backward()
    assert all(p.grad is None for p in net.aggregator.parameters())
    assert net.sat_encoder is not None
    assert net.sat_encoder.fusion[0].weight.grad is not None
    assert net.camera_head.embed_pose.weight.grad is not None


def test_init_sat_encoder_from_gas_copies_blocks() -> None:
    torch.manual_seed(0)
    net = SkyNet(get_config("tiny"))
    net.init_sat_encoder_from_gas()
    assert net.sat_encoder is not None
    gas, sat = net.aggregator.state_dict(), net.sat_encoder.state_dict()
    for name in ("frame_blocks.1.attn.qkv.weight", "global_blocks.3.mlp.fc2.bias"):
        torch.testing.assert_close(sat[name], gas[name], atol=0, rtol=0)
    torch.testing.assert_close(sat["camera_token"], gas["camera_token"][:, 1:])
    assert not net.sat_encoder.fusion[0].weight.any()
    with pytest.raises(ValueError, match="no Sat encoder"):
        SkyNet(get_config("tiny", sat_stream=False)).init_sat_encoder_from_gas()


def test_named_configs() -> None:
    assert CONFIG_NAMES == ("tiny", "small", "base", "vggt-1b")
    config = get_config("vggt-1b", msa=False)
    assert not config.msa and config.sat_stream
    assert SkyNetConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="unknown SkyNet config"):
        get_config("huge")
    tiny_parameters = sum(p.numel() for p in SkyNet(get_config("tiny")).parameters())
    assert tiny_parameters * 4 < 8e6  # a few MB of float32 weights
