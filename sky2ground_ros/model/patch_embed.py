"""DINOv2-style ViT with registers: VGGT's patch embedding (`aggregator.patch_embed`)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from sky2ground_ros.model.blocks import Block


class PatchProjection(nn.Module):
    """Non-overlapping patch x patch convolution to embed_dim channels (`proj`)."""

    def __init__(self, patch_size: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] -> [N, H/p * W/p, C], row-major patch order."""
        return self.proj(images).flatten(2).transpose(1, 2)


class DinoViT(nn.Module):
    """DINOv2 ViT with registers; returns its layer-normed patch tokens (`x_norm_patchtokens`)."""

    def __init__(
        self,
        img_size: int,
        patch_size: int,
        embed_dim: int,
        depth: int,
        num_heads: int,
        num_register_tokens: int,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        grid = img_size // patch_size
        self.num_register_tokens = num_register_tokens
        self.patch_embed = PatchProjection(patch_size, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + grid * grid, embed_dim))
        self.register_tokens = nn.Parameter(torch.zeros(1, num_register_tokens, embed_dim))
        # Unused at inference; kept (frozen) so DINOv2/VGGT checkpoints load key-for-key.
        self.mask_token = nn.Parameter(torch.zeros(1, embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(
            Block(embed_dim, num_heads, mlp_ratio, layer_scale_init=1.0, norm_eps=1e-6)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        nn.init.normal_(self.register_tokens, std=1e-6)

    def position_embedding(self, grid_hw: tuple[int, int]) -> torch.Tensor:
        """[1, 1 + h*w, C]: the stored grid, bicubically resized (antialiased) when h, w differ."""
        stored = self.pos_embed.shape[1] - 1
        side = math.isqrt(stored)
        if grid_hw == (side, side):
            return self.pos_embed
        pos = self.pos_embed.float()
        grid = pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=grid_hw, mode="bicubic", antialias=True)
        grid = grid.permute(0, 2, 3, 1).flatten(1, 2)
        return torch.cat([pos[:, :1], grid], dim=1).to(self.pos_embed.dtype)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Normalised images [N, 3, H, W] -> patch tokens [N, H/p * W/p, C]."""
        patch = self.patch_embed.proj.kernel_size[0]
        grid_hw = (images.shape[-2] // patch, images.shape[-1] // patch)
        x = self.patch_embed(images)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.position_embedding(grid_hw).to(x.dtype)
        registers = self.register_tokens.expand(x.shape[0], -1, -1)
        x = torch.cat([x[:, :1], registers, x[:, 1:]], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 1 + self.num_register_tokens :]
