"""Named SkyNet architecture configurations (tiny for CPU tests up to the VGGT-1B layout)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from sky2ground_ros.views import ViewType


@dataclass(frozen=True)
class SkyNetConfig:
    """Architecture of a SkyNet model; `msa` and `sat_stream` switch the two SkyNet additions."""

    name: str
    embed_dim: int
    depth: int
    heads: int
    patch_embed_depth: int
    patch_embed_heads: int
    camera_heads: int
    dpt_features: int
    dpt_out_channels: tuple[int, int, int, int]
    dpt_layers: tuple[int, int, int, int]
    img_size: int = 518
    patch_size: int = 14
    mlp_ratio: float = 4.0
    num_register_tokens: int = 4
    rope_frequency: float = 100.0
    layer_scale_init: float = 0.01
    camera_trunk_depth: int = 4
    camera_iterations: int = 4
    msa: bool = True
    msa_camera_head: bool = True
    sat_stream: bool = True
    location_head: bool = False
    """Add the location head (`model.location_head`): where each camera stands on the crops."""
    location_dim: int = 8
    location_headings: int = 36
    location_template: int = 25
    """Side of a camera's bird's-eye template in canvas cells (odd)."""
    location_stride: int = 2
    """Crop pixels per canvas cell."""
    location_lift: str = "depth"
    """How camera pixels reach the bird's-eye view: 'depth' (the DPT depth, scaled by the
    ground plane) or 'ground' (a ground-plane homography)."""
    location_image_size: int = 84
    """Side of the camera frames and crops the location head is trained and run at."""
    location_grid: int = 2
    """Crops per canvas side (the window's satellite frames: grid^2 crops)."""
    location_overlap: float = 1 / 3
    """Fraction of a crop shared with its neighbour."""
    location_temperature: float = 1.0
    """Divides the location logits before the read-out: the maps' calibration (fit by
    `sky2ground calibrate-location` on a held-out calibration split)."""
    location_temperature_ground: float | None = None
    location_temperature_aerial: float | None = None
    """A view type's own temperature (drive and flight maps differ in cell size and spread);
    None: `location_temperature`."""
    location_canvas_ground_m: float = 140.0
    location_canvas_aerial_m: float = 560.0
    """Side of the canvas around the prior for ground (drive) and aerial (flight) windows."""

    def __post_init__(self) -> None:
        """Reject configurations the modules cannot build (checked once, here)."""
        if self.embed_dim % self.heads or (self.embed_dim // self.heads) % 4:
            raise ValueError("embed_dim / heads must be a multiple of 4 (2D RoPE splits it in 4)")
        if self.embed_dim % self.patch_embed_heads:
            raise ValueError("embed_dim must be divisible by patch_embed_heads")
        if (2 * self.embed_dim) % self.camera_heads:
            raise ValueError("2 * embed_dim must be divisible by camera_heads")
        if self.img_size % self.patch_size:
            raise ValueError("img_size must be a multiple of patch_size")
        if any(not 0 <= i < self.depth for i in self.dpt_layers):
            raise ValueError(f"dpt_layers {self.dpt_layers} must lie in [0, depth={self.depth})")
        if self.camera_iterations < 1:
            raise ValueError("camera_iterations must be >= 1")
        temperatures = (
            self.location_temperature,
            self.location_temperature_ground,
            self.location_temperature_aerial,
        )
        if not all(t is None or t > 0 for t in temperatures):
            raise ValueError("location temperatures must be > 0")
        if self.location_head and not self.uses_view_types:
            raise ValueError(
                "the location head needs msa or sat_stream (it tells satellite frames)"
            )

    def location_temperature_for(self, view_type: ViewType) -> float:
        """The temperature of a flight's (aerial) or a drive's (ground) maps."""
        aerial = view_type == ViewType.AERIAL
        own = self.location_temperature_aerial if aerial else self.location_temperature_ground
        return self.location_temperature if own is None else own

    @property
    def uses_view_types(self) -> bool:
        """Whether the network itself distinguishes satellite frames (MSA or Sat stream)."""
        return self.msa or self.sat_stream

    def to_json(self) -> str:
        """Serialise for weight-file metadata."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SkyNetConfig:
        """Inverse of `to_json`; unknown fields raise TypeError, lists become tuples."""
        data: dict[str, Any] = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


_CONFIGS: dict[str, SkyNetConfig] = {
    # CPU tests and the shipped demo model: ~1.6 M parameters.
    "tiny": SkyNetConfig(
        name="tiny",
        img_size=224,
        embed_dim=64,
        depth=4,
        heads=4,
        patch_embed_depth=2,
        patch_embed_heads=4,
        camera_heads=4,
        camera_trunk_depth=2,
        dpt_features=32,
        dpt_out_channels=(16, 32, 64, 64),
        dpt_layers=(0, 1, 2, 3),
    ),
    # DINOv2 ViT-S/14 backbone, 12 alternating layers.
    "small": SkyNetConfig(
        name="small",
        embed_dim=384,
        depth=12,
        heads=6,
        patch_embed_depth=12,
        patch_embed_heads=6,
        camera_heads=12,
        dpt_features=64,
        dpt_out_channels=(48, 96, 192, 384),
        dpt_layers=(2, 5, 8, 11),
    ),
    # DINOv2 ViT-B/14 backbone, 24 alternating layers.
    "base": SkyNetConfig(
        name="base",
        embed_dim=768,
        depth=24,
        heads=12,
        patch_embed_depth=12,
        patch_embed_heads=12,
        camera_heads=16,
        dpt_features=128,
        dpt_out_channels=(96, 192, 384, 768),
        dpt_layers=(4, 11, 17, 23),
    ),
    # Parameter names and shapes of the official VGGT-1B checkpoint (plus sat_encoder.*).
    "vggt-1b": SkyNetConfig(
        name="vggt-1b",
        embed_dim=1024,
        depth=24,
        heads=16,
        patch_embed_depth=24,
        patch_embed_heads=16,
        camera_heads=16,
        dpt_features=256,
        dpt_out_channels=(256, 512, 1024, 1024),
        dpt_layers=(4, 11, 17, 23),
    ),
}

CONFIG_NAMES: tuple[str, ...] = tuple(_CONFIGS)


def get_config(name: str, **overrides: Any) -> SkyNetConfig:
    """Named configuration, optionally with fields replaced (e.g. `msa=False`)."""
    try:
        config = _CONFIGS[name]
    except KeyError:
        raise ValueError(f"unknown SkyNet config {name!r}; choose from {CONFIG_NAMES}") from None
    return dataclasses.replace(config, **overrides)
