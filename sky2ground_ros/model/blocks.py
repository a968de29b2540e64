"""Pre-norm transformer block with LayerScale (parameter names as in DINOv2 / VGGT)."""

from __future__ import annotations

import torch
from torch import nn

from sky2ground_ros.model.attention import Attention
from sky2ground_ros.model.rope import RopeTables


class LayerScale(nn.Module):
    """Per-channel learned residual scale (`gamma`), initialised small for stable deep stacks."""

    def __init__(self, dim: int, init_value: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_value)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Scale x channel-wise."""
        return x * self.gamma


class Mlp(nn.Module):
    """Two-layer GELU MLP (`fc1`, `fc2`)."""

    def __init__(self, in_features: int, hidden_features: int, out_features: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """fc2(gelu(fc1(x)))."""
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """x + ls1(attn(norm1(x))), then x + ls2(mlp(norm2(x)))."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        layer_scale_init: float = 0.01,
        qk_norm: bool = False,
        norm_eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = Attention(dim, num_heads, qk_norm=qk_norm)
        self.ls1 = LayerScale(dim, layer_scale_init)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), dim)
        self.ls2 = LayerScale(dim, layer_scale_init)

    def forward(
        self,
        x: torch.Tensor,
        rope: RopeTables | None = None,
        ground_aerial_tokens: int | None = None,
    ) -> torch.Tensor:
        """Apply the block to x [B, N, C] (see `Attention.forward` for the MSA switch)."""
        x = x + self.ls1(self.attn(self.norm1(x), rope, ground_aerial_tokens))
        return x + self.ls2(self.mlp(self.norm2(x)))
