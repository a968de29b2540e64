"""Multi-head self-attention with QK-norm, 2D RoPE and masked satellite attention (MSA)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sky2ground_ros.model.rope import RopeTables, apply_rope


def masked_satellite_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, ground_aerial_tokens: int
) -> torch.Tensor:
    """MSA for [B, heads, N, D] inputs whose first `ground_aerial_tokens` tokens are ground/aerial.

    Ground/aerial queries see only ground/aerial keys, satellite queries see every key. Two plain
    `scaled_dot_product_attention` calls instead of an N x N mask, so flash kernels stay usable.
    """
    n = q.shape[-2]
    if ground_aerial_tokens <= 0 or ground_aerial_tokens >= n:
        return F.scaled_dot_product_attention(q, k, v)
    s = ground_aerial_tokens
    ground_aerial = F.scaled_dot_product_attention(q[..., :s, :], k[..., :s, :], v[..., :s, :])
    satellite = F.scaled_dot_product_attention(q[..., s:, :], k, v)
    return torch.cat([ground_aerial, satellite], dim=-2)


class Attention(nn.Module):
    """Self-attention in the VGGT/DINOv2 layout (`qkv`, optional `q_norm`/`k_norm`, `proj`)."""

    def __init__(self, dim: int, num_heads: int, qk_norm: bool = False) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.q_norm: nn.Module = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.k_norm: nn.Module = nn.LayerNorm(self.head_dim) if qk_norm else nn.Identity()
        self.proj = nn.Linear(dim, dim)

    def forward(
        self,
        x: torch.Tensor,
        rope: RopeTables | None = None,
        ground_aerial_tokens: int | None = None,
    ) -> torch.Tensor:
        """Attend over x [B, N, C]; `ground_aerial_tokens` switches on MSA (None: all-to-all)."""
        batch, n, channels = x.shape
        qkv = self.qkv(x).reshape(batch, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = apply_rope(q, rope), apply_rope(k, rope)
        if ground_aerial_tokens is None:
            out = F.scaled_dot_product_attention(q, k, v)
        else:
            out = masked_satellite_attention(q, k, v, ground_aerial_tokens)
        return self.proj(out.transpose(1, 2).reshape(batch, n, channels))
