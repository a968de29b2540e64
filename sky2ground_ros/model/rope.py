"""2D rotary position embedding (VGGT): half of each head encodes the row, half the column."""

from __future__ import annotations

from typing import NamedTuple

import torch


class RopeTables(NamedTuple):
    """cos / sin of the rotation angles for the tokens of one frame, each [P, head_dim]."""

    cos: torch.Tensor
    sin: torch.Tensor


def rope_tables(
    grid_hw: tuple[int, int],
    num_special: int,
    head_dim: int,
    frequency: float,
    device: torch.device | None = None,
) -> RopeTables:
    """Tables for one frame: `num_special` tokens at position (0, 0), then the patch grid at +1.

    Computed once per forward pass and shared by every block (positions repeat per frame).
    """
    grid_h, grid_w = grid_hw
    rows = torch.arange(grid_h, device=device).repeat_interleave(grid_w) + 1
    cols = torch.arange(grid_w, device=device).repeat(grid_h) + 1
    zeros = torch.zeros(num_special, dtype=rows.dtype, device=device)
    rows, cols = torch.cat([zeros, rows]), torch.cat([zeros, cols])
    half = head_dim // 2
    inv_freq = 1.0 / frequency ** (torch.arange(0, half, 2, device=device).float() / half)

    def angles(pos: torch.Tensor) -> torch.Tensor:
        a = pos.float()[:, None] * inv_freq[None, :]
        return torch.cat([a, a], dim=-1)

    theta = torch.cat([angles(rows), angles(cols)], dim=-1)
    return RopeTables(theta.cos(), theta.sin())


def _rotate_halves(x: torch.Tensor) -> torch.Tensor:
    """Within each of the (row, column) halves, map (a, b) to (-b, a)."""
    rows, cols = x.chunk(2, dim=-1)
    r1, r2 = rows.chunk(2, dim=-1)
    c1, c2 = cols.chunk(2, dim=-1)
    return torch.cat([-r2, r1, -c2, c1], dim=-1)


def apply_rope(x: torch.Tensor, tables: RopeTables) -> torch.Tensor:
    """Rotate x [B, heads, N, head_dim], where N is a whole number of frames of P tokens."""
    frames = x.unflatten(2, (-1, tables.cos.shape[0]))
    cos, sin = tables.cos.to(x.dtype), tables.sin.to(x.dtype)
    return (frames * cos + _rotate_halves(frames) * sin).flatten(2, 3)
