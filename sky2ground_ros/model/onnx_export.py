"""ONNX export of SkyNet (torch.export-based exporter) and a check against onnxruntime.

Ground/aerial and satellite frames are separate graph inputs, so where MSA splits the tokens is a
shape, not data: the graph stays free of data-dependent shapes and the frame counts can be dynamic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sky2ground_ros.model.skynet import SkyNet

OUTPUT_NAMES = ("pose_enc", "depth", "depth_conf")


class OnnxSkyNet(nn.Module):
    """Export wrapper: images [1, S, 3, H, W] (ground/aerial, first = world frame) and optional
    satellite_images [1, M, 3, H, W] -> pose_enc, depth, depth_conf over the S + M frames."""

    def __init__(self, model: SkyNet) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, images: torch.Tensor, satellite_images: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run SkyNet on the concatenated frames, satellites last."""
        num_satellite = 0
        if satellite_images is not None:
            num_satellite = satellite_images.shape[1]
            images = torch.cat([images, satellite_images], dim=1)
        out = self.model.forward_ordered(images, num_satellite, frames_per_chunk=None)
        return out["pose_enc"], out["depth"], out["depth_conf"]


@dataclass(frozen=True)
class OnnxCheck:
    """Largest absolute difference between onnxruntime and PyTorch for one input size."""

    frames: int
    satellite_frames: int
    max_abs_diff: float


def example_inputs(
    frames: int, satellite_frames: int, image_hw: tuple[int, int], seed: int = 0
) -> tuple[torch.Tensor, ...]:
    """Random images in [0, 1] for the wrapper's inputs (satellite input only when M > 0)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(1, frames, 3, *image_hw, generator=generator)
    if satellite_frames == 0:
        return (images,)
    return images, torch.rand(1, satellite_frames, 3, *image_hw, generator=generator)


def export_onnx(
    model: SkyNet,
    path: str | Path,
    *,
    frames: int,
    satellite_frames: int,
    image_hw: tuple[int, int],
    dynamic_frames: bool = False,
    optimize: bool = True,
) -> Path:
    """Export `model` for `frames` ground/aerial + `satellite_frames` satellite images of image_hw.

    With `dynamic_frames` both frame counts are symbolic (each at least 1 when present).
    `optimize` runs the onnxscript graph optimiser (smaller file, slower export).
    """
    path = Path(path)
    wrapper = OnnxSkyNet(model).eval()
    trace_frames = max(frames, 2) if dynamic_frames else frames
    trace_satellite = max(satellite_frames, 2) if dynamic_frames and satellite_frames else 0
    inputs = example_inputs(trace_frames, trace_satellite or satellite_frames, image_hw)
    names = ["images", "satellite_images"][: len(inputs)]
    dynamic_shapes = None
    if dynamic_frames:
        dims = [torch.export.Dim("frames", min=1), torch.export.Dim("satellite_frames", min=1)]
        dynamic_shapes = tuple({1: dim} for dim in dims[: len(inputs)])
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper,
            inputs,
            input_names=names,
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            optimize=optimize,
            verbose=False,
        )
    program.save(str(path))
    return path


def check_with_onnxruntime(
    model: SkyNet,
    path: str | Path,
    *,
    frames: int,
    satellite_frames: int,
    image_hw: tuple[int, int],
    seed: int = 1,
) -> OnnxCheck:
    """Run the exported graph in onnxruntime (CPU) and compare every output with PyTorch."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: constant-folding notes are not actionable
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    inputs = example_inputs(frames, satellite_frames, image_hw, seed)
    feeds = {meta.name: x.numpy() for meta, x in zip(session.get_inputs(), inputs, strict=True)}
    ort_outputs = session.run(list(OUTPUT_NAMES), feeds)
    with torch.no_grad():
        torch_outputs = OnnxSkyNet(model).eval()(*inputs)
    diff = max(
        float(np.max(np.abs(o - t.numpy())))
        for o, t in zip(ort_outputs, torch_outputs, strict=True)
    )
    return OnnxCheck(frames, satellite_frames, diff)
