"""Sat encoder: alternating attention over the satellite frames only, fused into the GAS stream."""

from __future__ import annotations

import torch
from torch import nn

from sky2ground_ros.model.blocks import Block
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.rope import RopeTables


class SatEncoder(nn.Module):
    """Second stream of SkyNet, one layer per GAS layer.

    It reads the shared patch tokens of the satellite frames; after each layer its tokens pass
    through a zero-initialised linear map (`fusion.i`) and are added to the GAS encoder's
    satellite tokens, so a freshly initialised Sat stream leaves the GAS encoder's output unchanged.
    """

    def __init__(self, config: SkyNetConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        self.camera_token = nn.Parameter(torch.zeros(1, 1, 1, dim))
        self.register_token = nn.Parameter(torch.zeros(1, 1, config.num_register_tokens, dim))

        def block() -> Block:
            return Block(dim, config.heads, config.mlp_ratio, config.layer_scale_init, qk_norm=True)

        self.frame_blocks = nn.ModuleList(block() for _ in range(config.depth))
        self.global_blocks = nn.ModuleList(block() for _ in range(config.depth))
        self.fusion = nn.ModuleList(nn.Linear(dim, dim) for _ in range(config.depth))
        nn.init.normal_(self.camera_token, std=1e-6)
        nn.init.normal_(self.register_token, std=1e-6)
        for linear in self.fusion:
            nn.init.zeros_(linear.weight)
            nn.init.zeros_(linear.bias)

    def start(self, patch_tokens: torch.Tensor) -> torch.Tensor:
        """Satellite patch tokens [B, n, hw, C] -> tokens [B, n, P, C] (special + patches)."""
        batch, frames = patch_tokens.shape[:2]
        special = torch.cat([self.camera_token, self.register_token], dim=2)
        special = special.expand(batch, frames, -1, -1).to(patch_tokens.dtype)
        return torch.cat([special, patch_tokens], dim=2)

    def layer(
        self, index: int, tokens: torch.Tensor, rope: RopeTables
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run layer `index` on tokens [B, n, P, C]; returns (new tokens, residual for GAS)."""
        batch, frames, per_frame, dim = tokens.shape
        x = self.frame_blocks[index](tokens.reshape(batch * frames, per_frame, dim), rope)
        x = self.global_blocks[index](x.reshape(batch, frames * per_frame, dim), rope)
        x = x.reshape(batch, frames, per_frame, dim)
        return x, self.fusion[index](x)
