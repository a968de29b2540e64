"""AdamW over the trainable parameters and its linear-warmup + cosine learning-rate schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

from sky2ground_ros.training.config import OptimSection


class WarmupCosine:
    """LR factor: linear 1/(w+1) -> 1 over `warmup` steps, then cosine to `min_ratio` at `total`.

    A callable object (not a lambda) so LambdaLR's state_dict can store it.
    """

    def __init__(self, warmup: int, total: int, min_ratio: float) -> None:
        self.warmup = warmup
        self.total = total
        self.min_ratio = min_ratio

    def __call__(self, step: int) -> float:
        """Factor for the update with index `step` (0-based)."""
        if step < self.warmup:
            return (step + 1) / (self.warmup + 1)
        span = max(self.total - self.warmup, 1)
        progress = min((step - self.warmup) / span, 1.0)
        return self.min_ratio + (1.0 - self.min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_optimizer(model: nn.Module, optim: OptimSection) -> torch.optim.AdamW:
    """AdamW; weight decay only on matrices (biases, norms, tokens and embeddings excluded)."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        is_matrix = parameter.ndim >= 2 and not name.endswith(("_token", "pos_embed", "tokens"))
        (decay if is_matrix else no_decay).append(parameter)
    if not decay and not no_decay:
        raise ValueError("the model has no trainable parameters")
    groups = [
        {"params": params, "weight_decay": wd}
        for params, wd in ((decay, optim.weight_decay), (no_decay, 0.0))
        if params
    ]
    return torch.optim.AdamW(groups, lr=optim.lr, betas=optim.betas)


def build_scheduler(
    optimizer: torch.optim.Optimizer, optim: OptimSection, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-step LambdaLR with the WarmupCosine factor."""
    factor = WarmupCosine(optim.warmup_steps, total_steps, optim.min_lr_ratio)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
