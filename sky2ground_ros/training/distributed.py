"""Process-group setup for `torchrun` (env:// rendezvous): gloo on CPU, nccl on CUDA.

Without WORLD_SIZE (or with WORLD_SIZE=1) training runs as a single plain process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """Rank, world size and the device this process trains on."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0 writes logs, checkpoints and the final weights."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """Whether a process group is in use."""
        return self.world_size > 1


def resolve_device(preference: str, local_rank: int = 0) -> torch.device:
    """'cpu', 'cuda' (this process's local GPU) or 'auto' (CUDA when available)."""
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("run.device is 'cuda' but CUDA is not available")
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def init_distributed(device_preference: str = "auto") -> DistContext:
    """Join the torchrun process group if WORLD_SIZE > 1 (idempotent), else a 1-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_preference, local_rank)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world_size)
    return DistContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def shutdown(context: DistContext, barrier: bool = True) -> None:
    """Leave the process group, first waiting for every rank unless this one failed."""
    if context.distributed and dist.is_initialized():
        if barrier:
            dist.barrier()
        dist.destroy_process_group()


def mean_over_ranks(values: dict[str, float], context: DistContext) -> dict[str, float]:
    """Average scalars over ranks (same keys on every rank); identity in a single process."""
    if not context.distributed or not values:
        return values
    names = sorted(values)
    tensor = torch.tensor([values[n] for n in names], dtype=torch.float64, device=context.device)
    dist.all_reduce(tensor)
    return {n: float(v) / context.world_size for n, v in zip(names, tensor.tolist(), strict=True)}


def sum_over_ranks(tensor: torch.Tensor, context: DistContext) -> torch.Tensor:
    """Element-wise sum of a tensor over ranks (in place; returned for chaining)."""
    if context.distributed:
        dist.all_reduce(tensor)
    return tensor
