"""VGGT camera head: a transformer trunk over the frames' camera tokens, refined iteratively."""

from __future__ import annotations

import torch
from torch import nn

from sky2ground_ros.model.blocks import Block, Mlp

POSE_ENCODING_DIM = 9  # absT_quaR_FoV: translation 3 + quaternion (xyzw) 4 + field of view (h, w) 2
FOV_KNEE = 0.05
"""Radians (2.9 deg): below every field of view of the training data (satellite: >= 4 deg)."""


class CameraHead(nn.Module):
    """Predicts the absT_quaR_FoV pose encoding of every frame (parameter names as in VGGT).

    Each iteration embeds the previous (detached) estimate, modulates the normalised camera tokens
    with it (adaLN: shift, scale, gate), runs the trunk and adds the predicted update.
    """

    def __init__(self, dim_in: int, trunk_depth: int, num_heads: int, iterations: int) -> None:
        super().__init__()
        self.iterations = iterations
        self.trunk = nn.ModuleList(
            Block(dim_in, num_heads, layer_scale_init=0.01) for _ in range(trunk_depth)
        )
        self.token_norm = nn.LayerNorm(dim_in)
        self.trunk_norm = nn.LayerNorm(dim_in)
        self.empty_pose_tokens = nn.Parameter(torch.zeros(1, 1, POSE_ENCODING_DIM))
        self.embed_pose = nn.Linear(POSE_ENCODING_DIM, dim_in)
        self.poseLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim_in, 3 * dim_in))
        self.adaln_norm = nn.LayerNorm(dim_in, elementwise_affine=False, eps=1e-6)
        self.pose_branch = Mlp(dim_in, dim_in // 2, POSE_ENCODING_DIM)

    def forward(
        self, tokens: torch.Tensor, ground_aerial_frames: int | None = None
    ) -> list[torch.Tensor]:
        """Last-layer tokens [B, S, P, C] -> pose encodings [B, S, 9], one per iteration.

        `ground_aerial_frames` (frames ordered ground/aerial first) applies MSA in the trunk.
        """
        camera = self.token_norm(tokens[:, :, 0])
        batch, frames, _ = camera.shape
        estimate: torch.Tensor | None = None
        estimates: list[torch.Tensor] = []
        for _ in range(self.iterations):
            if estimate is None:
                condition = self.embed_pose(self.empty_pose_tokens.expand(batch, frames, -1))
            else:
                estimate = estimate.detach()  # each refinement step is trained on its own
                condition = self.embed_pose(estimate)
            shift, scale, gate = self.poseLN_modulation(condition).chunk(3, dim=-1)
            x = camera + gate * (self.adaln_norm(camera) * (1 + scale) + shift)
            for block in self.trunk:
                x = block(x, ground_aerial_tokens=ground_aerial_frames)
            delta = self.pose_branch(self.trunk_norm(x))
            estimate = delta if estimate is None else estimate + delta
            estimates.append(activate_pose(estimate))
        return estimates


def activate_pose(raw: torch.Tensor) -> torch.Tensor:
    """Linear translation and quaternion, positive field of view (see `positive_fov`)."""
    return torch.cat([raw[..., :7], positive_fov(raw[..., 7:])], dim=-1)


def positive_fov(raw: torch.Tensor) -> torch.Tensor:
    """Identity above `FOV_KNEE` (VGGT's ReLU there), then a hyperbola towards 0 below it.

    VGGT's ReLU gives no gradient to negative raw values, so a frame's field of view (a
    satellite crop's is 4-22 deg) could stick at 0, an infinite focal length; the hyperbola
    ``k^2 / (2k - x)`` joins the identity with equal slope and keeps a gradient everywhere.
    """
    knee = torch.full_like(raw, FOV_KNEE)
    below = FOV_KNEE**2 / (2 * FOV_KNEE - torch.minimum(raw, knee))
    return torch.where(raw > FOV_KNEE, raw, below)
