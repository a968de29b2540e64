"""Training and validation batches: curriculum requests sharded over ranks, ground-truth poses.

The global batch of step k holds the curriculum positions [k·B·W, (k+1)·B·W) (B per-process
batch, W world size); rank r takes the r-th block of B. The data order is thus a pure function
of (seed, step), and resuming only needs the step (kept as the sampler's consumed position).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler

from sky2ground_ros.data.dataset import SceneDataset
from sky2ground_ros.data.location_windows import LocationSampling, PriorNoise
from sky2ground_ros.data.samplers import CurriculumSampler, SampleRequest
from sky2ground_ros.data.seeds import check_training_scenes
from sky2ground_ros.evaluation.run_eval import gas_view_counts
from sky2ground_ros.model.configs import SkyNetConfig
from sky2ground_ros.model.location_head import LocationGeometry, location_crop_plan
from sky2ground_ros.model.pose_encoding import extri_intri_to_pose_encoding
from sky2ground_ros.training.config import TrainConfig
from sky2ground_ros.training.distributed import DistContext
from sky2ground_ros.views import ViewType

NON_TENSOR_KEYS = ("scene", "frame_names")


class RankBatchSampler(Sampler[list[SampleRequest]]):
    """This rank's share of each global batch, from the sampler's position to its end."""

    def __init__(self, curriculum: CurriculumSampler, batch_size: int, context: DistContext):
        self.curriculum = curriculum
        self.batch_size = batch_size
        self.rank = context.rank
        self.global_batch = batch_size * context.world_size
        if curriculum.total_samples % self.global_batch:
            raise ValueError("total_samples must be a multiple of the global batch")

    @property
    def start_step(self) -> int:
        """Step the next batch belongs to (from the curriculum's consumed position)."""
        if self.curriculum.position % self.global_batch:
            raise ValueError(
                f"sampler position {self.curriculum.position} is not a multiple of the global "
                f"batch {self.global_batch}: resume with the same batch size and world size"
            )
        return self.curriculum.position // self.global_batch

    def __iter__(self) -> Iterator[list[SampleRequest]]:
        for step in range(self.start_step, len(self) + self.start_step):
            first = step * self.global_batch + self.rank * self.batch_size
            yield [self.curriculum.request(p) for p in range(first, first + self.batch_size)]

    def __len__(self) -> int:
        return (self.curriculum.total_samples - self.curriculum.position) // self.global_batch


def collate(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack the tensors of SceneDataset samples; names stay lists."""
    batch: dict[str, Any] = {
        key: torch.stack([s[key] for s in samples])
        for key in samples[0]
        if key not in NON_TENSOR_KEYS
    }
    for key in NON_TENSOR_KEYS:
        batch[key] = [s[key] for s in samples]
    return batch


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """Move the tensors of a batch to device."""
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def gt_pose_encoding(batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Ground-truth absT_quaR_FoV encoding [B, S, 9] of a batch."""
    image_hw = (int(batch["images"].shape[-2]), int(batch["images"].shape[-1]))
    return extri_intri_to_pose_encoding(batch["extrinsics"], batch["intrinsics"], image_hw)


def location_sampling(config: TrainConfig, model: SkyNetConfig) -> LocationSampling | None:
    """How the run builds location windows (None: the model has no location head)."""
    if not model.location_head:
        return None
    data = config.data
    prior = PriorNoise(gnss_sigma_m=data.prior_gnss_sigma_m, drift_max_m=data.prior_drift_m)
    return LocationSampling(
        model, cameras=data.location_cameras, flight_fraction=data.flight_fraction, prior=prior
    )


def location_geometry(batch: Mapping[str, Any], model: SkyNetConfig) -> LocationGeometry | None:
    """The location head's inputs of a batch of location windows (None for other batches)."""
    if "level_from_camera" not in batch:
        return None
    cameras = batch["level_from_camera"].shape[1]
    plan = location_crop_plan(model, ViewType.GROUND)  # both view types share the layout
    return LocationGeometry(
        intrinsics=batch["intrinsics"][:, :cameras],
        level_from_camera=batch["level_from_camera"],
        height_m=batch["camera_height_m"],
        gsd_m=batch["crop_gsd_m"],
        grid=plan.grid,
        step_px=plan.step_px,
    )


def build_curriculum(config: TrainConfig, num_scenes: int, world_size: int) -> CurriculumSampler:
    """The P-VS / CA-CS request stream of a run (fixed view mix when P-VS is off)."""
    data, cur = config.data, config.curriculum
    return CurriculumSampler(
        num_scenes,
        data.num_frames,
        config.run.steps * config.run.batch_size * world_size,
        seed=config.run.seed,
        progressive_views=cur.pvs,
        camera_curriculum=cur.cacs,
        fixed_counts=None if cur.pvs else _fixed_counts(config),
        pvs_options={"ground_share": cur.pvs_ground_share},
        cacs_options={"start_width": cur.cacs_start_width},
    )


def _fixed_counts(config: TrainConfig) -> dict[ViewType, int]:
    """The view mix without P-VS (location windows: cameras, then crops; the dataset draws
    which platform)."""
    data = config.data
    if config.model.location_head:
        cameras = data.location_cameras
        return {ViewType.GROUND: cameras, ViewType.SATELLITE: data.num_frames - cameras}
    return data.counts()


def train_loader(
    config: TrainConfig,
    context: DistContext,
    model: SkyNetConfig,
    curriculum_state: Mapping[str, int] | None = None,
) -> tuple[DataLoader, RankBatchSampler]:
    """DataLoader of this rank's training batches, resumed from curriculum_state if given."""
    data = config.data
    dataset = SceneDataset(
        data.train_scenes,
        num_frames=data.num_frames,
        image_size=data.image_hw,
        random_crop=data.random_crop,
        seed=config.run.seed,
        location=location_sampling(config, model),
    )
    check_training_scenes((scene.name, scene.metadata) for scene in dataset.scenes)
    curriculum = build_curriculum(config, len(dataset), context.world_size)
    if curriculum_state is not None:
        curriculum.load_state_dict(curriculum_state)
    batches = RankBatchSampler(curriculum, config.run.batch_size, context)
    loader = DataLoader(
        dataset,
        batch_sampler=batches,
        collate_fn=collate,
        num_workers=data.num_workers,
        persistent_workers=False,
    )
    return loader, batches


def validation_batches(
    config: TrainConfig, context: DistContext, model: SkyNetConfig
) -> list[dict[str, Any]]:
    """Fixed validation windows of this rank, batched; [] without val_scenes.

    GAS windows (even view mix), or location windows for a location-head model.
    """
    data = config.data
    if not data.val_scenes:
        return []
    dataset = SceneDataset(
        data.val_scenes,
        num_frames=data.num_frames,
        image_size=data.image_hw,
        view_counts=gas_view_counts(data.num_frames),
        seed=config.run.seed,
        location=location_sampling(config, model),
    )
    indices = list(range(len(dataset) * data.val_windows_per_scene))[
        context.rank :: context.world_size
    ]
    size = config.run.batch_size
    return [
        collate([dataset[i] for i in indices[start : start + size]])
        for start in range(0, len(indices), size)
    ]
