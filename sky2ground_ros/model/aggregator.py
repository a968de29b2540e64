"""GAS encoder: VGGT's aggregator (alternating frame / global attention) with MSA global blocks."""

from __future__ import annotations

from collections.abc import Collection

import torch
from torch import nn

from sky2ground_ros.model.blocks import Block
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.patch_embed import DinoViT
from sky2ground_ros.model.rope import RopeTables, rope_tables
from sky2ground_ros.model.sat_encoder import SatEncoder

_RESNET_MEAN = (0.485, 0.456, 0.406)
_RESNET_STD = (0.229, 0.224, 0.225)


class Aggregator(nn.Module):
    """Ground-aerial-satellite (GAS) encoder in the VGGT-1B parameter layout.

    Frames must be ordered ground/aerial first, satellite last. Each frame gets a camera token and
    register tokens (variant 0 for the first frame, the world frame; variant 1 for the others).
    """

    def __init__(self, config: SkyNetConfig) -> None:
        super().__init__()
        dim = config.embed_dim
        self.config = config
        self.patch_embed = DinoViT(
            config.img_size,
            config.patch_size,
            dim,
            config.patch_embed_depth,
            config.patch_embed_heads,
            config.num_register_tokens,
            config.mlp_ratio,
        )

        def block() -> Block:
            return Block(dim, config.heads, config.mlp_ratio, config.layer_scale_init, qk_norm=True)

        self.frame_blocks = nn.ModuleList(block() for _ in range(config.depth))
        self.global_blocks = nn.ModuleList(block() for _ in range(config.depth))
        self.camera_token = nn.Parameter(torch.zeros(1, 2, 1, dim))
        self.register_token = nn.Parameter(torch.zeros(1, 2, config.num_register_tokens, dim))
        nn.init.normal_(self.camera_token, std=1e-6)
        nn.init.normal_(self.register_token, std=1e-6)
        mean, std = torch.tensor(_RESNET_MEAN), torch.tensor(_RESNET_STD)
        self.register_buffer("_mean", mean.view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("_std", std.view(1, 1, 3, 1, 1), persistent=False)

    @property
    def patch_start_idx(self) -> int:
        """Index of the first patch token in each frame (after camera and register tokens)."""
        return 1 + self.config.num_register_tokens

    def _special_tokens(self, batch: int, frames: int) -> torch.Tensor:
        """[B*S, 1 + R, C]: first-frame variant for frame 0, the other variant for the rest."""
        special = torch.cat([self.camera_token, self.register_token], dim=2)
        first = special[:, :1].expand(batch, 1, -1, -1)
        others = special[:, 1:].expand(batch, frames - 1, -1, -1)
        return torch.cat([first, others], dim=1).flatten(0, 1)

    def rope(self, image_hw: tuple[int, int], device: torch.device) -> RopeTables:
        """RoPE tables for one frame of this image size (shared by GAS and Sat blocks)."""
        patch = self.config.patch_size
        grid = (image_hw[0] // patch, image_hw[1] // patch)
        head_dim = self.config.embed_dim // self.config.heads
        return rope_tables(grid, self.patch_start_idx, head_dim, self.config.rope_frequency, device)

    def forward(
        self,
        images: torch.Tensor,
        num_satellite: int = 0,
        sat_encoder: SatEncoder | None = None,
        keep_layers: Collection[int] | None = None,
    ) -> dict[int, torch.Tensor]:
        """Images [B, S, 3, H, W] in [0, 1] -> {layer: tokens [B, S, P, 2C]} (frame ++ global).

        The last `num_satellite` frames are satellite frames: with `config.msa` the global blocks
        use MSA, and a given `sat_encoder` adds its features to those frames after every layer.
        `keep_layers` limits which layers are returned (all by default).
        """
        batch, frames, _, height, width = images.shape
        x = ((images - self._mean) / self._std).flatten(0, 1)
        patches = self.patch_embed(x)
        dim = patches.shape[-1]
        tokens = torch.cat([self._special_tokens(batch, frames).to(patches.dtype), patches], dim=1)
        per_frame = tokens.shape[1]
        rope = self.rope((height, width), images.device)
        ground_aerial = frames - num_satellite
        msa_split = ground_aerial * per_frame if self.config.msa and num_satellite > 0 else None
        sat_tokens = None
        if sat_encoder is not None and num_satellite > 0:
            sat_tokens = sat_encoder.start(patches.unflatten(0, (batch, frames))[:, ground_aerial:])

        outputs: dict[int, torch.Tensor] = {}
        for i in range(self.config.depth):
            tokens = self.frame_blocks[i](tokens.reshape(batch * frames, per_frame, dim), rope)
            frame_out = tokens.reshape(batch, frames, per_frame, dim)
            tokens = self.global_blocks[i](
                tokens.reshape(batch, frames * per_frame, dim), rope, msa_split
            ).reshape(batch, frames, per_frame, dim)
            if sat_tokens is not None:
                sat_tokens, residual = sat_encoder.layer(i, sat_tokens, rope)
                tokens = torch.cat(
                    [tokens[:, :ground_aerial], tokens[:, ground_aerial:] + residual], dim=1
                )
            if keep_layers is None or i in keep_layers:
                outputs[i] = torch.cat([frame_out, tokens], dim=-1)
        return outputs
