"""Masked satellite attention benchmark: split MSA vs unmasked vs dense-mask global attention.

Times the attention core of one global block (q, k, v already projected) for S ground/aerial
frames plus M satellite tiles of size x size pixels (patch 14, 5 special tokens per frame).
Variants run round-robin in the same process; times are reported as ratios to the unmasked
baseline (goal: split MSA <= 1.05x unmasked, and faster than the dense N x N mask). Usage:

    .venv/bin/python benchmarks/attention.py                       # CUDA: 8 x 518^2 + 4 tiles
    .venv/bin/python benchmarks/attention.py --frames 4 --size 224 # quick CPU run
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from sky2ground_ros.model.attention import masked_satellite_attention

PATCH, SPECIAL_TOKENS = 14, 5


def parse_args() -> argparse.Namespace:
    """Command-line options (defaults: a realistic VGGT-1B global block)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8, help="ground/aerial frames")
    parser.add_argument("--satellite", type=int, default=4, help="satellite tiles")
    parser.add_argument("--size", type=int, default=None, help="image side (518 CUDA, 224 CPU)")
    parser.add_argument("--heads", type=int, default=16)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser.parse_args()


def timed(fn: Callable[[], torch.Tensor], device: torch.device) -> float:
    """Wall time of one call in seconds (synchronising CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main() -> None:
    """Build q, k, v, check the variants agree, then time them round-robin."""
    args = parse_args()
    device = torch.device(args.device)
    size = args.size or (518 if device.type == "cuda" else 224)
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    per_frame = (size // PATCH) ** 2 + SPECIAL_TOKENS
    tokens = (args.frames + args.satellite) * per_frame
    ground_aerial = args.frames * per_frame
    q, k, v = (
        torch.randn(1, args.heads, tokens, args.head_dim, device=device, dtype=dtype)
        for _ in range(3)
    )
    is_satellite = torch.arange(tokens, device=device) >= ground_aerial
    dense_mask = is_satellite[:, None] | ~is_satellite[None, :]
    variants: dict[str, Callable[[], torch.Tensor]] = {
        "unmasked": lambda: F.scaled_dot_product_attention(q, k, v),
        "split MSA": lambda: masked_satellite_attention(q, k, v, ground_aerial),
        "dense mask": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=dense_mask),
    }
    with torch.no_grad():
        error = (variants["split MSA"]() - variants["dense mask"]()).abs().max().item()
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.repeats):
            for name, fn in variants.items():
                times[name].append(timed(fn, device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"{name}, {dtype}, {args.frames} frames + {args.satellite} satellite tiles of {size}^2: "
        f"{tokens} tokens, {args.heads} heads x {args.head_dim}, median of {args.repeats}"
    )
    print(f"split MSA vs dense mask: max abs diff {error:.2e}")
    baseline = statistics.median(times["unmasked"])
    for variant, samples in times.items():
        median = statistics.median(samples)
        print(f"{variant:>10}: {median * 1e3:9.2f} ms  {median / baseline:5.2f}x unmasked")


if __name__ == "__main__":
    main()
