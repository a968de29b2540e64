"""PyTorch dataset of multi-view samples (ground / aerial / satellite) over scene directories.

Each item is a set of S frames of one scene: the anchor (world frame of the sample) first,
then ground, aerial and satellite frames, resized and cropped to the model input (sides a
multiple of the 14 px patch) with intrinsics updated, and normalised as in VGGT training
(see `transforms`). Index with an ``int`` for a fixed view mix, or with a
`samplers.SampleRequest` (from `samplers.CurriculumSampler`) for P-VS / CA-CS training.

With ``location`` (`location_windows.LocationSampling`) a sample is a location-head window
instead: the cameras of one platform, then the model's satellite crops around a noisy prior,
rendered from the scene's orthophoto by the localizer's crop generator; the view mix of a
request is then ignored (the platform is drawn per window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from sky2ground_ros.data.location_windows import (
    LocationSampling,
    SceneMosaic,
    camera_labels,
    choose_window,
    ground_height,
)
from sky2ground_ros.data.samplers import SampleRequest, select_frames
from sky2ground_ros.data.scene_format import Scene, discover_scenes
from sky2ground_ros.data.transforms import normalize_views, plan_resize_crop
from sky2ground_ros.geo.satellite_crops import SatelliteCrop
from sky2ground_ros.views import ViewType


class SceneDataset(torch.utils.data.Dataset):
    """Samples of ``num_frames`` frames per scene, as a dict of tensors.

    Keys: ``images`` [S,3,H,W] float in [0,1]; ``depths`` [S,H,W] (normalised, 0 = invalid);
    ``extrinsics`` [S,3,4] world-to-camera relative to frame 0 (normalised translation);
    ``intrinsics`` [S,3,3] (pixels of the output image); ``view_types`` [S] int64
    (`ViewType`); ``point_masks`` [S,H,W] bool; ``world_points`` [S,H,W,3] in frame 0's
    camera frame (normalised); ``scale`` (metres per normalised unit); ``reference_extrinsics``
    [3,4] float64, frame 0's world-to-camera in the scene's ENU metres (undoes the
    normalisation); ``scene`` (name) and ``frame_names`` (group/name of each frame).
    Location windows add ``level_from_camera`` [N,3,3], ``camera_height_m`` [N], ``nadir_m``
    [N,2] (metres east / south of the canvas's north-west corner), ``heading`` [N] (radians)
    for the N cameras, ``heading_prior`` [N] with ``heading_prior_sigma``, and ``crop_gsd_m``,
    ``prior_sigma_m`` and ``prior_error_m`` (see `location_windows`).
    """

    def __init__(
        self,
        scenes: str | Path | Sequence[str | Path],
        *,
        num_frames: int = 8,
        image_size: tuple[int, int] = (518, 518),
        view_counts: Mapping[ViewType, int] | None = None,
        groups: tuple[str, ...] | None = None,
        random_crop: bool = False,
        seed: int = 0,
        patch_size: int = 14,
        location: LocationSampling | None = None,
    ) -> None:
        paths = discover_scenes(scenes) if isinstance(scenes, str | Path) else list(scenes)
        if not paths:
            raise ValueError(f"no scenes found in {scenes}")
        height, width = image_size
        if height % patch_size or width % patch_size:
            raise ValueError(f"image_size {image_size} must be multiples of {patch_size}")
        self.scenes = [Scene.load(p) for p in paths]
        self.frames = [scene.select(groups=groups) for scene in self.scenes]
        for scene, frames in zip(self.scenes, self.frames, strict=True):
            if len(frames) < num_frames:
                raise ValueError(f"scene {scene.name} has {len(frames)} < {num_frames} frames")
        self.view_types = [np.array([int(f.view_type) for f in fr]) for fr in self.frames]
        self.extrinsics = [np.stack([f.extrinsics for f in fr]) for fr in self.frames]
        self.num_frames = num_frames
        self.image_size = (height, width)
        self.view_counts = dict(view_counts) if view_counts else _default_counts(num_frames)
        if sum(self.view_counts.values()) != num_frames:
            raise ValueError("view_counts must sum to num_frames")
        self.random_crop = random_crop
        self.seed = seed
        self.location = location
        self.mosaics: list[SceneMosaic] = []
        if location is not None:
            if location.num_frames != num_frames:
                raise ValueError(
                    f"location windows have {location.num_frames} frames, not {num_frames}"
                )
            if image_size != (location.model.location_image_size,) * 2:
                raise ValueError(f"location windows need {location.model.location_image_size} px")
            self.mosaics = [SceneMosaic(scene) for scene in self.scenes]

    def __len__(self) -> int:
        return len(self.scenes)

    def __getitem__(self, item: int | SampleRequest) -> dict[str, object]:
        if isinstance(item, SampleRequest):
            request = item
        else:
            counts = tuple(self.view_counts.get(vt, 0) for vt in ViewType)
            request = SampleRequest(int(item) % len(self.scenes), counts, None, int(item), 0.0)
        k = request.scene_index
        rng = np.random.default_rng([self.seed, request.seed])
        if self.location is not None:
            return self._load_location(k, rng)
        chosen = select_frames(
            self.view_types[k], self.extrinsics[k], request.counts, rng, request.band
        )
        return self._load(k, chosen, rng)

    def _load(
        self,
        k: int,
        chosen: list[int],
        rng: np.random.Generator,
        crops: list[SatelliteCrop] | None = None,
    ) -> dict[str, object]:
        """Read, resize / crop and normalise the chosen frames of scene ``k`` (then the crops)."""
        height, width = self.image_size
        images, depths, intrinsics = [], [], []
        for i in chosen:
            frame = self.frames[k][i]
            plan = plan_resize_crop(
                frame.width, frame.height, width, height, rng if self.random_crop else None
            )
            images.append(plan.apply_to_image(Scene.load_image(frame)))
            depth = Scene.load_depth(frame)
            depth = np.zeros((frame.height, frame.width), np.float32) if depth is None else depth
            depths.append(plan.apply_to_depth(depth))
            intrinsics.append(plan.apply_to_intrinsics(frame.intrinsics))
        extrinsics = self.extrinsics[k][chosen]
        view_types = [int(self.frames[k][i].view_type) for i in chosen]
        names = [f"{self.frames[k][i].group}/{self.frames[k][i].name}" for i in chosen]
        for n, crop in enumerate(crops or []):
            K, extrinsic = crop.camera()
            images.append(crop.image)
            depths.append(np.zeros((height, width), np.float32))  # no depth for a crop
            intrinsics.append(K)
            extrinsics = np.concatenate([extrinsics, extrinsic[None]])
            view_types.append(int(ViewType.SATELLITE))
            names.append(f"crop/{n}")
        norm = normalize_views(extrinsics, np.stack(intrinsics), np.stack(depths))
        return {
            "images": torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0,
            "depths": torch.from_numpy(norm.depths).float(),
            "extrinsics": torch.from_numpy(norm.extrinsics).float(),
            "intrinsics": torch.from_numpy(np.stack(intrinsics)).float(),
            "view_types": torch.tensor(view_types, dtype=torch.int64),
            "point_masks": torch.from_numpy(norm.point_masks),
            "world_points": torch.from_numpy(norm.world_points).float(),
            "scale": torch.tensor(norm.scale, dtype=torch.float64),
            "reference_extrinsics": torch.from_numpy(extrinsics[0].copy()),
            "scene": self.scenes[k].name,
            "frame_names": names,
        }

    def _load_location(self, k: int, rng: np.random.Generator) -> dict[str, object]:
        """A location window of scene ``k``: its cameras, the crops and the labels."""
        location = self.location
        if location is None:
            raise RuntimeError("not a location dataset")
        frames = self.frames[k]
        choice = choose_window(frames, location, rng)
        anchor = frames[choice.frames[0]]
        crops = self.mosaics[k].crops(choice.prior_xy, choice.plan, ground_height(anchor))
        sample = self._load(k, choice.frames, rng, crops)
        labels = camera_labels(frames, choice, location, rng)
        sample.update({key: torch.from_numpy(np.asarray(v)) for key, v in labels.items()})
        return sample


def _default_counts(num_frames: int) -> dict[ViewType, int]:
    """Even mix, aerial gets the remainder (e.g. 8 -> 2 ground, 4 aerial, 2 satellite)."""
    third = num_frames // 3
    return {
        ViewType.GROUND: third,
        ViewType.AERIAL: num_frames - 2 * third,
        ViewType.SATELLITE: third,
    }
