"""SkyNet: VGGT-style network for joint ground / aerial / satellite camera poses and depth."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields

import torch
from torch import nn

from sky2ground_ros.model.aggregator import Aggregator
from sky2ground_ros.model.camera_head import CameraHead
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.dpt_head import DPTHead
from sky2ground_ros.model.location_head import LocationGeometry, LocationHead, LocationOutput
from sky2ground_ros.model.pose_encoding import pose_encoding_to_extri_intri
from sky2ground_ros.model.sat_encoder import SatEncoder
from sky2ground_ros.views import ViewType

# Size of the camera head's last refinement update (pose-encoding units: scene-normalised
# translation, quaternion, radians) at which the convergence factor of pose_conf is 1/2.
POSE_UPDATE_SCALE = 0.01


@dataclass
class Prediction:
    """Output of `SkyNet.predict`; shapes [S, ...] ([B, S, ...] for batched input).

    extrinsics are world-to-camera (OpenCV), the world being the first frame's camera.
    """

    extrinsics: torch.Tensor
    intrinsics: torch.Tensor
    depth: torch.Tensor
    depth_conf: torch.Tensor
    pose_conf: torch.Tensor
    location: LocationOutput | None = None
    """The location head's maps, when the model has one and was given the window's geometry."""


class SkyNet(nn.Module):
    """GAS encoder (`aggregator`), optional Sat encoder, VGGT camera and depth heads.

    With `config.msa` the global attention of the GAS encoder and the camera head's trunk use
    masked satellite attention, so ground/aerial predictions never depend on satellite images.
    With msa=False and sat_stream=False this is exactly VGGT (aggregator, camera and depth heads).
    """

    def __init__(self, config: SkyNetConfig) -> None:
        super().__init__()
        self.config = config
        dim = 2 * config.embed_dim
        self.aggregator = Aggregator(config)
        self.camera_head = CameraHead(
            dim, config.camera_trunk_depth, config.camera_heads, config.camera_iterations
        )
        self.depth_head = DPTHead(
            dim, config.patch_size, config.dpt_features, config.dpt_out_channels, config.dpt_layers
        )
        self.sat_encoder = SatEncoder(config) if config.sat_stream else None
        self.location_head = (
            LocationHead(
                config.dpt_features // 2,
                config.location_dim,
                config.location_headings,
                config.location_template,
                config.location_stride,
                config.location_lift,
            )
            if config.location_head
            else None
        )

    def forward(
        self,
        images: torch.Tensor,
        view_types: torch.Tensor,
        frames_per_chunk: int | None = 8,
        geometry: LocationGeometry | None = None,
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Images [B, S, 3, H, W] in [0, 1] and view types [B, S] -> predictions, in input order.

        Returns pose_enc [B, S, 9], pose_enc_list (every refinement step), depth [B, S, H, W, 1]
        and depth_conf [B, S, H, W]. The first frame is the world frame; when the model uses view
        types (MSA or Sat stream) it must be a ground or aerial frame. With a location head and
        the window's `geometry` (satellite frames: the crops of its plan, in plan order) also
        location_logits [B, N, headings, C, C], location_valid [B, N] and location_cell_m [B]
        for the N ground/aerial frames in input order (see `LocationOutput`).
        """
        _check_inputs(images, view_types, self.config)
        if not self.config.uses_view_types:
            return self.forward_ordered(images, 0, frames_per_chunk)
        is_satellite = view_types == ViewType.SATELLITE
        if bool(is_satellite[:, 0].any()):
            raise ValueError("the first frame (world frame) must be a ground or aerial frame")
        counts = is_satellite.sum(dim=1)
        if geometry is not None and bool((counts != counts[0]).any()):
            raise ValueError("with a location geometry every sample needs the same crop count")
        if bool((counts != counts[0]).any()):
            parts = [
                self.forward(images[b : b + 1], view_types[b : b + 1], frames_per_chunk)
                for b in range(images.shape[0])
            ]
            return _concat(parts)
        order = torch.argsort(is_satellite.int(), dim=1, stable=True)
        ordered = torch.take_along_dim(images, order[:, :, None, None, None], dim=1)
        outputs = self.forward_ordered(ordered, int(counts[0]), frames_per_chunk, geometry)
        return _take_frames(outputs, torch.argsort(order, dim=1))

    def forward_ordered(
        self,
        images: torch.Tensor,
        num_satellite: int,
        frames_per_chunk: int | None = 8,
        geometry: LocationGeometry | None = None,
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Like `forward` for frames already ordered ground/aerial first, `num_satellite` last."""
        cfg = self.config
        frames, height, width = images.shape[1], images.shape[-2], images.shape[-1]
        last = cfg.depth - 1
        layers = self.aggregator(
            images, num_satellite, self.sat_encoder, keep_layers={last, *cfg.dpt_layers}
        )
        masked_trunk = cfg.msa and cfg.msa_camera_head and num_satellite > 0
        with _full_precision(images.device):
            layers = {i: t.float() for i, t in layers.items()}
            pose_list = self.camera_head(
                layers[last], frames - num_satellite if masked_trunk else None
            )
            depth, depth_conf, features = self.depth_head.forward_with_features(
                layers, (height, width), self.aggregator.patch_start_idx, frames_per_chunk
            )
            outputs: dict[str, torch.Tensor | list[torch.Tensor]] = {
                "pose_enc": pose_list[-1],
                "pose_enc_list": pose_list,
                "depth": depth,
                "depth_conf": depth_conf,
            }
            if self.location_head is not None and geometry is not None and num_satellite:
                cameras = frames - num_satellite
                location = self.location_head(
                    features, images, num_satellite, geometry, depth[:, :cameras, ..., 0]
                )
                outputs["location_logits"] = location.logits
                outputs["location_valid"] = location.valid
                outputs["location_cell_m"] = location.cell_m
        return outputs

    @torch.inference_mode()
    def predict(
        self,
        images: torch.Tensor,
        view_types: torch.Tensor | Sequence[ViewType | str | int],
        geometry: LocationGeometry | None = None,
    ) -> Prediction:
        """Cameras and depth for images [S, 3, H, W] or [B, S, 3, H, W] (float in [0, 1] or uint8).

        Runs under bf16 (fp16 without bf16 support) autocast on CUDA, in fp32 elsewhere; the
        heads always run in fp32. See `pose_confidence` for how pose_conf is derived. A
        `geometry` (batched, [1, ...] for unbatched images) adds the location head's maps.
        """
        unbatched = images.dim() == 4
        device = next(self.parameters()).device
        images = images[None] if unbatched else images
        images = images.to(device)
        if images.dtype == torch.uint8:
            images = images.float() / 255.0
        types = view_type_tensor(view_types).to(device)
        types = types.expand(images.shape[0], -1) if types.dim() == 1 else types
        autocast: contextlib.AbstractContextManager = contextlib.nullcontext()
        if device.type == "cuda":
            half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            autocast = torch.autocast("cuda", dtype=half)
        with autocast:
            out = self(images, types, geometry=None if geometry is None else geometry.to(device))
        extrinsics, intrinsics = pose_encoding_to_extri_intri(out["pose_enc"], images.shape[-2:])
        prediction = Prediction(
            extrinsics=extrinsics,
            intrinsics=intrinsics,
            depth=out["depth"][..., 0],
            depth_conf=out["depth_conf"],
            pose_conf=pose_confidence(out["pose_enc_list"], out["depth_conf"]),
            location=_location(out),
        )
        if unbatched:
            location = prediction.location
            return Prediction(
                *(
                    getattr(prediction, f.name)[0]
                    for f in fields(Prediction)
                    if f.name != "location"
                ),
                location=None
                if location is None
                else LocationOutput(location.logits[0], location.valid[0], location.cell_m[0]),
            )
        return prediction

    def freeze_gas_encoder(self) -> None:
        """Freeze the GAS encoder (patch embedding, frame and MSA blocks, tokens), per the paper."""
        for parameter in self.aggregator.parameters():
            parameter.requires_grad_(False)

    def init_sat_encoder_from_gas(self) -> None:
        """Copy the GAS blocks and non-first-frame tokens into the Sat encoder (fusion stays 0)."""
        if self.sat_encoder is None:
            raise ValueError("this configuration has no Sat encoder (sat_stream=False)")
        gas, sat = self.aggregator, self.sat_encoder
        with torch.no_grad():
            sat.frame_blocks.load_state_dict(gas.frame_blocks.state_dict())
            sat.global_blocks.load_state_dict(gas.global_blocks.state_dict())
            sat.camera_token.copy_(gas.camera_token[:, 1:])
            sat.register_token.copy_(gas.register_token[:, 1:])


def pose_confidence(
    pose_enc_list: Sequence[torch.Tensor], depth_conf: torch.Tensor
) -> torch.Tensor:
    """Heuristic per-frame pose confidence in [0, 1) (VGGT has no pose-confidence output).

    Product of (a) how settled the camera head's iterative refinement is, 1 / (1 + |last update| /
    POSE_UPDATE_SCALE), and (b) the depth head's confidence on the frame, 1 - 1 / mean(depth_conf)
    (depth_conf >= 1). Uncalibrated: use it to rank frames, not as a probability.
    """
    if len(pose_enc_list) > 1:
        update = (pose_enc_list[-1] - pose_enc_list[-2]).norm(dim=-1)
    else:
        update = torch.zeros_like(pose_enc_list[-1][..., 0])
    settled = 1.0 / (1.0 + update / POSE_UPDATE_SCALE)
    return settled * (1.0 - 1.0 / depth_conf.mean(dim=(-2, -1)))


def view_type_tensor(view_types: torch.Tensor | Sequence) -> torch.Tensor:
    """int64 tensor of view types from a tensor or (nested) sequences of ViewType / str / int."""
    if isinstance(view_types, torch.Tensor):
        return view_types.long()

    def parse(item: object) -> object:
        if isinstance(item, ViewType | str | int):
            return int(ViewType.parse(item))
        return [parse(v) for v in item]  # type: ignore[attr-defined]

    return torch.tensor(parse(view_types), dtype=torch.long)


def _check_inputs(images: torch.Tensor, view_types: torch.Tensor, config: SkyNetConfig) -> None:
    """Validate shapes and values, with messages that say what to fix."""
    if images.dim() != 5 or images.shape[2] != 3:
        raise ValueError(f"images must be [B, S, 3, H, W], got {tuple(images.shape)}")
    height, width = images.shape[-2:]
    if height % config.patch_size or width % config.patch_size:
        raise ValueError(f"H and W must be multiples of {config.patch_size}, got {height}x{width}")
    if tuple(view_types.shape) != tuple(images.shape[:2]):
        raise ValueError(f"view_types must be [B, S]={tuple(images.shape[:2])}")
    if bool(((view_types < 0) | (view_types > max(ViewType))).any()):
        raise ValueError("view_types must hold ViewType values (0 ground, 1 aerial, 2 satellite)")


@contextlib.contextmanager
def _full_precision(device: torch.device) -> Iterator[None]:
    """Disable autocast for the heads (as VGGT does), a no-op when autocast is off."""
    if torch.is_autocast_enabled(device.type):
        with torch.autocast(device.type, enabled=False):
            yield
    else:
        yield


def _location(out: dict[str, torch.Tensor | list[torch.Tensor]]) -> LocationOutput | None:
    """The location head's outputs of a forward pass, if it ran."""
    if "location_logits" not in out:
        return None
    return LocationOutput(
        out["location_logits"],  # type: ignore[arg-type]
        out["location_valid"],  # type: ignore[arg-type]
        out["location_cell_m"],  # type: ignore[arg-type]
    )


def _take_frames(
    outputs: dict[str, torch.Tensor | list[torch.Tensor]], index: torch.Tensor
) -> dict[str, torch.Tensor | list[torch.Tensor]]:
    """Reorder the frame axis (dim 1) of every per-frame output by index [B, S].

    The location outputs are per camera frame; the stable reorder never changes their order.
    """

    def take(t: torch.Tensor) -> torch.Tensor:
        return torch.take_along_dim(t, index.view(*index.shape, *([1] * (t.dim() - 2))), dim=1)

    return {
        k: v
        if k.startswith("location_")
        else [take(t) for t in v]
        if isinstance(v, list)
        else take(v)
        for k, v in outputs.items()
    }


def _concat(
    parts: list[dict[str, torch.Tensor | list[torch.Tensor]]],
) -> dict[str, torch.Tensor | list[torch.Tensor]]:
    """Concatenate per-sample outputs along the batch axis."""
    merged: dict[str, torch.Tensor | list[torch.Tensor]] = {}
    for key, first in parts[0].items():
        if isinstance(first, list):
            merged[key] = [torch.cat([p[key][i] for p in parts]) for i in range(len(first))]
        else:
            merged[key] = torch.cat([p[key] for p in parts])
    return merged
