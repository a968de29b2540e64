"""`sky2ground export-onnx`: the exported tiny SkyNet matches PyTorch in onnxruntime."""

import argparse
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from sky2ground_ros.cli import export_onnx as cli
from sky2ground_ros.model import SkyNet, get_config, onnx_export
from sky2ground_ros.model.weights import save_weights

HW = (42, 56)


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["export-onnx", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[SkyNet, Path, int, str]:
    """Tiny SkyNet with an active Sat stream, exported once with dynamic frame counts."""
    torch.manual_seed(0)
    model = SkyNet(get_config("tiny")).eval()
    assert model.sat_encoder is not None
    for linear in model.sat_encoder.fusion:
        torch.nn.init.normal_(linear.weight, std=0.05)
    folder = tmp_path_factory.mktemp("onnx")
    weights = save_weights(model, folder / "tiny.safetensors")
    out = folder / "tiny.onnx"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = run_cli(
            "--weights", str(weights), "--frames", "2", "--sat-frames", "1", "--dynamic-frames",
            "--size", str(HW[0]), str(HW[1]), "--out", str(out), "--no-optimize",
        )  # fmt: skip
    return model, out, code, printed.getvalue()


def test_cli_exports_and_checks_with_onnxruntime(exported: tuple[SkyNet, Path, int, str]) -> None:
    _, out, code, printed = exported
    assert code == 0, printed
    assert out.is_file()
    assert "frames=2 satellite_frames=1: max abs diff" in printed
    assert "frames=3 satellite_frames=2: max abs diff" in printed
    assert "onnxruntime matches PyTorch" in printed


@pytest.mark.parametrize(("frames", "satellites"), [(1, 1), (4, 3)])
def test_dynamic_frame_counts_match_pytorch(
    exported: tuple[SkyNet, Path, int, str], frames: int, satellites: int
) -> None:
    model, out, _, _ = exported
    check = onnx_export.check_with_onnxruntime(
        model, out, frames=frames, satellite_frames=satellites, image_hw=HW
    )
    assert check.max_abs_diff <= 1e-4


def test_cli_fails_when_onnxruntime_disagrees(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(onnx_export, "export_onnx", lambda model, path, **kwargs: Path(path))
    monkeypatch.setattr(
        onnx_export,
        "check_with_onnxruntime",
        lambda model, path, **kw: onnx_export.OnnxCheck(kw["frames"], 0, 3e-3),
    )
    code = run_cli("--config", "tiny", "--sat-frames", "0", "--out", str(tmp_path / "x.onnx"))
    assert code == 1
    assert "FAILED" in capsys.readouterr().out


def test_cli_rejects_unreadable_weights(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code = run_cli("--weights", str(tmp_path / "missing.safetensors"))
    assert code == 2
    assert "no such file" in capsys.readouterr().out


def test_export_onnx_is_a_registered_command() -> None:
    from sky2ground_ros.cli.main import COMMAND_MODULES

    assert "sky2ground_ros.cli.export_onnx" in COMMAND_MODULES
