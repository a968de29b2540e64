"""DPT depth head of VGGT: fuses four aggregator layers into per-pixel depth and confidence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ResidualConvUnit(nn.Module):
    """Two 3x3 convolutions with ReLU and a residual connection (`conv1`, `conv2`).

    The skip path carries relu(x): in VGGT the first ReLU is in place, so the checkpoint was
    trained with a rectified residual, and this reproduces it.
    """

    def __init__(self, features: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(features, features, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(features, features, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(x) + conv2(relu(conv1(relu(x))))."""
        x = F.relu(x)
        return x + self.conv2(F.relu(self.conv1(x)))


class FeatureFusionBlock(nn.Module):
    """Adds a skip feature map, refines, upsamples (bilinear, align_corners) and projects."""

    def __init__(self, features: int, has_residual: bool = True) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(features, features, kernel_size=1)
        if has_residual:
            self.resConfUnit1 = ResidualConvUnit(features)
        self.resConfUnit2 = ResidualConvUnit(features)

    def forward(
        self,
        x: torch.Tensor,
        skip: torch.Tensor | None = None,
        size: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Fuse x with `skip`, then resize to `size` (twice the input size when None)."""
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        target = tuple(size) if size is not None else (2 * x.shape[-2], 2 * x.shape[-1])
        x = F.interpolate(x, size=target, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class _Scratch(nn.Module):
    """Holds VGGT's `scratch.*` modules (layer*_rn, refinenet*, output_conv*)."""

    def __init__(self, in_channels: Sequence[int], features: int) -> None:
        super().__init__()
        self.layer1_rn = nn.Conv2d(in_channels[0], features, 3, padding=1, bias=False)
        self.layer2_rn = nn.Conv2d(in_channels[1], features, 3, padding=1, bias=False)
        self.layer3_rn = nn.Conv2d(in_channels[2], features, 3, padding=1, bias=False)
        self.layer4_rn = nn.Conv2d(in_channels[3], features, 3, padding=1, bias=False)
        self.refinenet1 = FeatureFusionBlock(features)
        self.refinenet2 = FeatureFusionBlock(features)
        self.refinenet3 = FeatureFusionBlock(features)
        self.refinenet4 = FeatureFusionBlock(features, has_residual=False)
        self.output_conv1 = nn.Conv2d(features, features // 2, kernel_size=3, padding=1)
        self.output_conv2 = nn.Sequential(
            nn.Conv2d(features // 2, 32, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 2, kernel_size=1),
        )


def _sincos(dim: int, positions: torch.Tensor, omega_0: float = 100.0) -> torch.Tensor:
    """[M] positions -> [M, dim] (sin | cos) embedding, computed in float64."""
    omega = 1.0 / omega_0 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2.0))
    angles = positions.double()[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def uv_position_embedding(
    height: int, width: int, channels: int, aspect_ratio: float
) -> torch.Tensor:
    """[channels, height, width] sin/cos embedding of normalised view-plane coordinates (u, v).

    The grid spans ±aspect/diag horizontally and ±1/diag vertically (pixel centres); half the
    channels encode u, half v. Depends only on shapes, so exporters fold it into a constant.
    """
    diag = (aspect_ratio**2 + 1.0) ** 0.5
    span_x, span_y = aspect_ratio / diag, 1.0 / diag
    u = torch.linspace(-span_x, span_x, width, dtype=torch.float64) * (width - 1) / width
    v = torch.linspace(-span_y, span_y, height, dtype=torch.float64) * (height - 1) / height
    uu, vv = torch.meshgrid(u, v, indexing="xy")
    emb = torch.cat(
        [_sincos(channels // 2, uu.reshape(-1)), _sincos(channels // 2, vv.reshape(-1))], dim=-1
    )
    return emb.float().reshape(height, width, channels).permute(2, 0, 1)


class DPTHead(nn.Module):
    """Depth head: `norm`, `projects`, `resize_layers`, `scratch` (VGGT's depth_head layout).

    Outputs depth = exp(d) [B, S, H, W, 1] and confidence = 1 + exp(c) [B, S, H, W].
    """

    def __init__(
        self,
        dim_in: int,
        patch_size: int,
        features: int,
        out_channels: Sequence[int],
        layers: Sequence[int],
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.layers = tuple(layers)
        self.norm = nn.LayerNorm(dim_in)
        self.projects = nn.ModuleList(nn.Conv2d(dim_in, oc, kernel_size=1) for oc in out_channels)
        self.resize_layers = nn.ModuleList(
            [
                nn.ConvTranspose2d(out_channels[0], out_channels[0], kernel_size=4, stride=4),
                nn.ConvTranspose2d(out_channels[1], out_channels[1], kernel_size=2, stride=2),
                nn.Identity(),
                nn.Conv2d(out_channels[3], out_channels[3], kernel_size=3, stride=2, padding=1),
            ]
        )
        self.scratch = _Scratch(out_channels, features)

    def forward(
        self,
        layer_tokens: Mapping[int, torch.Tensor],
        image_hw: tuple[int, int],
        patch_start_idx: int,
        frames_per_chunk: int | None = 8,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens {layer: [B, S, P, C]} -> (depth [B, S, H, W, 1], confidence [B, S, H, W]).

        Frames are decoded `frames_per_chunk` at a time to bound memory (None: all at once).
        """
        depth, confidence, _ = self.forward_with_features(
            layer_tokens, image_hw, patch_start_idx, frames_per_chunk
        )
        return depth, confidence

    def forward_with_features(
        self,
        layer_tokens: Mapping[int, torch.Tensor],
        image_hw: tuple[int, int],
        patch_start_idx: int,
        frames_per_chunk: int | None = 8,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`forward` plus the fused feature map [B, S, features/2, 8 h/14, 8 w/14] it decodes.

        The map spans the image's pixel centres (align_corners), as the depth upsampling does.
        """
        frames = layer_tokens[self.layers[0]].shape[1]
        if frames_per_chunk is None or frames <= frames_per_chunk:
            return self._decode(layer_tokens, image_hw, patch_start_idx, slice(None))
        parts = [
            self._decode(layer_tokens, image_hw, patch_start_idx, slice(s, s + frames_per_chunk))
            for s in range(0, frames, frames_per_chunk)
        ]
        return tuple(torch.cat([p[i] for p in parts], dim=1) for i in range(3))  # type: ignore[return-value]

    def _decode(
        self,
        layer_tokens: Mapping[int, torch.Tensor],
        image_hw: tuple[int, int],
        patch_start_idx: int,
        frames: slice,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Decode one chunk of frames: depth, confidence and the fused features."""
        height, width = image_hw
        grid_h, grid_w = height // self.patch_size, width // self.patch_size
        maps = []
        for i, layer in enumerate(self.layers):
            x = layer_tokens[layer][:, frames, patch_start_idx:]
            batch, chunk = x.shape[:2]
            x = self.norm(x.flatten(0, 1))
            x = x.transpose(1, 2).reshape(batch * chunk, -1, grid_h, grid_w)
            x = self._add_position(self.projects[i](x), width / height)
            maps.append(self.resize_layers[i](x))
        fused = self._fuse(maps)
        out = F.interpolate(
            fused,
            size=(grid_h * self.patch_size, grid_w * self.patch_size),
            mode="bilinear",
            align_corners=True,
        )
        out = self.scratch.output_conv2(self._add_position(out, width / height))
        depth = out[:, :1].exp().permute(0, 2, 3, 1)
        confidence = 1 + out[:, 1].exp()
        return (
            depth.unflatten(0, (batch, chunk)),
            confidence.unflatten(0, (batch, chunk)),
            fused.unflatten(0, (batch, chunk)),
        )

    @staticmethod
    def _add_position(x: torch.Tensor, aspect_ratio: float) -> torch.Tensor:
        """Add 0.1 x the (u, v) sin/cos embedding to a feature map [N, C, h, w]."""
        channels, h, w = x.shape[1:]
        emb = uv_position_embedding(h, w, channels, aspect_ratio).to(x.device, x.dtype)
        return x + 0.1 * emb

    def _fuse(self, maps: list[torch.Tensor]) -> torch.Tensor:
        """Top-down fusion of the four resized maps (finest first) into one feature map."""
        s = self.scratch
        l1 = s.layer1_rn(maps[0])
        l2 = s.layer2_rn(maps[1])
        l3 = s.layer3_rn(maps[2])
        l4 = s.layer4_rn(maps[3])
        out = s.refinenet4(l4, size=l3.shape[2:])
        out = s.refinenet3(out, l3, size=l2.shape[2:])
        out = s.refinenet2(out, l2, size=l1.shape[2:])
        out = s.refinenet1(out, l1)
        return s.output_conv1(out)
