"""Split masked satellite attention equals a dense-mask reference; 2D RoPE follows VGGT."""

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from sky2ground_ros.model.attention import Attention, masked_satellite_attention
from sky2ground_ros.model.rope import apply_rope, rope_tables


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def dense_msa_reference(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, is_satellite: torch.Tensor
) -> torch.Tensor:
    """Explicit N x N mask: query i may see key j unless i is ground/aerial and j satellite."""
    allowed = is_satellite[:, None] | ~is_satellite[None, :]
    return F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)


@pytest.mark.parametrize("ground_aerial", [1, 7, 12])
def test_split_msa_matches_dense_mask(ground_aerial: int) -> None:
    torch.manual_seed(ground_aerial)
    n, dim = 20, 16
    q, k, v = (torch.randn(2, 3, n, dim) for _ in range(3))
    is_satellite = torch.arange(n) >= ground_aerial
    split = masked_satellite_attention(q, k, v, ground_aerial)
    dense = dense_msa_reference(q, k, v, is_satellite)
    torch.testing.assert_close(split, dense, atol=1e-5, rtol=0)
    plain = F.scaled_dot_product_attention(q, k, v)
    assert (split - plain).abs().max() > 1e-3  # the mask really changes something


def test_split_msa_without_satellites_is_plain_attention() -> None:
    q, k, v = (torch.randn(1, 2, 9, 8) for _ in range(3))
    plain = F.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(masked_satellite_attention(q, k, v, 9), plain, atol=0, rtol=0)


def test_attention_module_msa_with_rope_and_qk_norm_matches_dense_mask() -> None:
    torch.manual_seed(0)
    attention = Attention(32, num_heads=2, qk_norm=True)
    tables = rope_tables((2, 3), num_special=1, head_dim=16, frequency=100.0)
    frames, per_frame = 4, 7
    x = torch.randn(1, frames * per_frame, 32)
    split = attention(x, tables, ground_aerial_tokens=3 * per_frame)

    def dense_forward(module: Attention) -> torch.Tensor:
        qkv = module.qkv(x).reshape(1, -1, 3, 2, 16).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        q, k = apply_rope(module.q_norm(q), tables), apply_rope(module.k_norm(k), tables)
        is_satellite = torch.arange(frames * per_frame) >= 3 * per_frame
        out = dense_msa_reference(q, k, v, is_satellite)
        return module.proj(out.transpose(1, 2).reshape(1, -1, 32))

    torch.testing.assert_close(split, dense_forward(attention), atol=1e-5, rtol=0)


def test_rope_matches_per_axis_table_lookup() -> None:
    """Independent reference: VGGT's 1D RoPE per axis via cos/sin tables indexed by position."""
    head_dim, grid_h, grid_w, special = 16, 3, 4, 2
    tables = rope_tables((grid_h, grid_w), special, head_dim, frequency=100.0)
    x = torch.randn(2, 3, special + grid_h * grid_w, head_dim)
    ys = [0] * special + [r + 1 for r in range(grid_h) for _ in range(grid_w)]
    xs = [0] * special + [c + 1 for _ in range(grid_h) for c in range(grid_w)]

    def rope_1d(t: torch.Tensor, positions: list[int]) -> torch.Tensor:
        d = t.shape[-1]
        inv_freq = 1.0 / 100.0 ** (torch.arange(0, d, 2).float() / d)
        angles = torch.arange(10).float()[:, None] * inv_freq[None]
        angles = torch.cat([angles, angles], dim=-1)
        cos, sin = angles.cos()[positions], angles.sin()[positions]
        rotated = torch.cat([-t[..., d // 2 :], t[..., : d // 2]], dim=-1)
        return t * cos + rotated * sin

    rows, cols = x.chunk(2, dim=-1)
    expected = torch.cat([rope_1d(rows, ys), rope_1d(cols, xs)], dim=-1)
    torch.testing.assert_close(apply_rope(x, tables), expected, atol=1e-6, rtol=0)
    # Special tokens sit at position (0, 0): RoPE leaves them unchanged.
    torch.testing.assert_close(apply_rope(x, tables)[..., :special, :], x[..., :special, :])


def test_rope_is_relative_between_frames() -> None:
    """Same patch in two frames gets the same rotation, so q.k only depends on content."""
    tables = rope_tables((2, 2), 1, 8, 100.0)
    x = torch.randn(1, 1, 5, 8).repeat(1, 1, 2, 1)
    rotated = apply_rope(x, tables)
    torch.testing.assert_close(rotated[..., :5, :], rotated[..., 5:, :])
