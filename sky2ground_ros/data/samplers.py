"""Training curricula of SkyNet as pure functions of training progress ``p`` in [0, 1].

* P-VS (progressive view sampling): the aerial count ``N_a`` falls linearly from
  ``N - min_ground - min_satellite`` (about N) at p = 0 to 0 at p = 1; the other frames are
  split between ground and satellite (``ground_share`` of them ground, at least
  ``min_ground`` / ``min_satellite`` each; halves round up, so ties go to ground). Training
  thus moves from the easy three-altitude problem, with aerial views bridging the gap, to
  ground + satellite only.
* CA-CS (curriculum-aware camera sampling): camera distance = geodesic rotation angle
  (radians) + 0.5 x camera-centre distance / the scene's translation scale (median distance
  of its camera centres to their centroid, so the sum is unit-free). Frames are chosen
  relative to the first (anchor) frame; within each view type the candidates are ranked by
  that distance, and the band ``(lo, hi)`` of rank quantiles allowed grows from the nearest
  ``start_width`` at p = 0 to all of them at p = 1 (``end_low`` > 0 also drops the nearest).

`CurriculumSampler` turns these into a deterministic, resumable stream of `SampleRequest`s
for `dataset.SceneDataset` (position ``k`` of ``total_samples`` has progress
``k / (total_samples - 1)``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sky2ground_ros.data.cameras import camera_center
from sky2ground_ros.views import ViewType

VIEW_ORDER = (ViewType.GROUND, ViewType.AERIAL, ViewType.SATELLITE)
"""Order of frames after the anchor in a sample."""


def _check_progress(progress: float) -> float:
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1], got {progress}")
    return float(progress)


def pvs_view_counts(
    num_frames: int,
    progress: float,
    *,
    ground_share: float = 0.5,
    min_ground: int = 1,
    min_satellite: int = 1,
) -> dict[ViewType, int]:
    """P-VS: frames per view type at training progress ``progress`` (sums to num_frames)."""
    p = _check_progress(progress)
    if num_frames < min_ground + min_satellite:
        raise ValueError("num_frames must cover min_ground + min_satellite")
    aerial = math.floor((num_frames - min_ground - min_satellite) * (1.0 - p) + 0.5)
    rest = num_frames - aerial
    ground = min(max(min_ground, math.floor(rest * ground_share + 0.5)), rest - min_satellite)
    return {
        ViewType.GROUND: ground,
        ViewType.AERIAL: aerial,
        ViewType.SATELLITE: rest - ground,
    }


def cacs_distance_band(
    progress: float, *, start_width: float = 0.25, end_low: float = 0.0
) -> tuple[float, float]:
    """CA-CS: allowed band of distance-rank quantiles, near pairs first, all pairs at the end."""
    p = _check_progress(progress)
    if not 0.0 < start_width <= 1.0 or not 0.0 <= end_low < 1.0:
        raise ValueError("need 0 < start_width <= 1 and 0 <= end_low < 1")
    hi = start_width + (1.0 - start_width) * p
    return end_low * p, hi


def rotation_angle(rot_a: np.ndarray, rot_b: np.ndarray) -> np.ndarray:
    """Geodesic angle (radians) between rotation matrices (broadcast over leading dims)."""
    trace = np.einsum("...ij,...ij->...", rot_a, rot_b)
    return np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0))


def translation_scale(extrinsics: np.ndarray) -> float:
    """Median distance of the camera centres to their centroid (1.0 if degenerate)."""
    centres = camera_center(np.asarray(extrinsics, dtype=np.float64))
    spread = float(np.median(np.linalg.norm(centres - centres.mean(axis=0), axis=1)))
    return spread if spread > 0 else 1.0


def camera_distance(
    extrinsics_a: np.ndarray, extrinsics_b: np.ndarray, scale: float = 1.0
) -> np.ndarray:
    """CA-CS pair distance: rotation angle + 0.5 * centre distance / ``scale``."""
    rot = rotation_angle(extrinsics_a[..., :3], extrinsics_b[..., :3])
    trans = np.linalg.norm(camera_center(extrinsics_a) - camera_center(extrinsics_b), axis=-1)
    return rot + 0.5 * trans / scale


def rebalance_counts(
    counts: Mapping[ViewType, int], available: Mapping[ViewType, int]
) -> dict[ViewType, int]:
    """Move the shortfall of types with too few frames to types with spare frames.

    Spare frames are taken from aerial first (the bridge views), then ground, then satellite.
    """
    out = {vt: min(int(counts.get(vt, 0)), int(available.get(vt, 0))) for vt in VIEW_ORDER}
    missing = sum(int(counts.get(vt, 0)) for vt in VIEW_ORDER) - sum(out.values())
    for vt in (ViewType.AERIAL, ViewType.GROUND, ViewType.SATELLITE):
        take = min(missing, int(available.get(vt, 0)) - out[vt])
        out[vt] += take
        missing -= take
    if missing:
        raise ValueError(f"scene has too few frames: {dict(available)} for {dict(counts)}")
    return out


def select_frames(
    view_types: np.ndarray,
    extrinsics: np.ndarray,
    counts: Mapping[ViewType, int],
    rng: np.random.Generator,
    band: tuple[float, float] | None = None,
    anchor_order: tuple[ViewType, ...] = VIEW_ORDER,
) -> list[int]:
    """Indices of the frames of one sample: the anchor first, then ground, aerial, satellite.

    The anchor is a random frame of the first type in ``anchor_order`` with a non-zero
    count. Without ``band`` the others are uniform within their type; with a CA-CS band
    they are drawn from the candidates whose distance-rank quantile to the anchor lies in
    the band (the nearest to the band fill up when too few lie inside).
    """
    view_types = np.asarray(view_types)
    available = {vt: int(np.sum(view_types == vt)) for vt in VIEW_ORDER}
    counts = rebalance_counts(counts, available)
    anchor_type = next((vt for vt in anchor_order if counts[vt] > 0), None)
    if anchor_type is None:
        raise ValueError("the view mix asks for no frames")
    anchor = int(rng.choice(np.flatnonzero(view_types == anchor_type)))
    scale = translation_scale(extrinsics)
    chosen = [anchor]
    for vt in VIEW_ORDER:
        need = counts[vt] - (1 if vt == anchor_type else 0)
        candidates = np.flatnonzero(view_types == vt)
        candidates = candidates[candidates != anchor]
        if need <= 0:
            continue
        if band is None:
            chosen.extend(int(i) for i in rng.choice(candidates, need, replace=False))
            continue
        dist = camera_distance(extrinsics[anchor], extrinsics[candidates], scale)
        ranks = np.argsort(np.argsort(dist, kind="stable"), kind="stable")
        quantile = ranks / max(len(candidates) - 1, 1)
        lo, hi = band
        outside = np.maximum(np.maximum(lo - quantile, quantile - hi), 0.0)
        inside = candidates[outside == 0]
        if len(inside) >= need:
            chosen.extend(int(i) for i in rng.choice(inside, need, replace=False))
        else:
            order = np.lexsort((rng.random(len(candidates)), outside))
            chosen.extend(int(i) for i in candidates[order[:need]])
    return chosen


@dataclass(frozen=True)
class SampleRequest:
    """What `SceneDataset` should return for one training sample."""

    scene_index: int
    view_counts: tuple[int, int, int]
    """Frames per view type, indexed by ViewType (ground, aerial, satellite)."""
    band: tuple[float, float] | None
    seed: int
    progress: float

    @property
    def counts(self) -> dict[ViewType, int]:
        """``view_counts`` keyed by ViewType."""
        return {vt: self.view_counts[int(vt)] for vt in VIEW_ORDER}


class CurriculumSampler(torch.utils.data.Sampler):
    """Deterministic stream of `SampleRequest`s following P-VS and CA-CS.

    Scenes are visited in a fresh random permutation per pass over the scenes. The stream is
    a pure function of (seed, position), so ``state_dict`` / ``load_state_dict`` resume it
    exactly; with a prefetching DataLoader save the number of samples the training loop
    actually consumed (``state_dict(consumed=...)``), not the number the sampler handed out.
    """

    def __init__(
        self,
        num_scenes: int,
        num_frames: int,
        total_samples: int,
        *,
        seed: int = 0,
        progressive_views: bool = True,
        camera_curriculum: bool = True,
        fixed_counts: Mapping[ViewType, int] | None = None,
        pvs_options: Mapping[str, Any] | None = None,
        cacs_options: Mapping[str, Any] | None = None,
    ) -> None:
        if num_scenes <= 0 or total_samples <= 0:
            raise ValueError("num_scenes and total_samples must be positive")
        if not progressive_views and fixed_counts is None:
            raise ValueError("fixed_counts is required when progressive_views is False")
        if fixed_counts is not None and sum(fixed_counts.values()) != num_frames:
            raise ValueError("fixed_counts must sum to num_frames")
        self.num_scenes = num_scenes
        self.num_frames = num_frames
        self.total_samples = total_samples
        self.seed = seed
        self.progressive_views = progressive_views
        self.camera_curriculum = camera_curriculum
        self.fixed_counts = dict(fixed_counts) if fixed_counts is not None else None
        self.pvs_options = dict(pvs_options or {})
        self.cacs_options = dict(cacs_options or {})
        self.position = 0

    def progress_at(self, position: int) -> float:
        """Training progress of the sample at ``position``."""
        return min(position / max(self.total_samples - 1, 1), 1.0)

    def request(self, position: int) -> SampleRequest:
        """The request at ``position`` (pure function of seed and position)."""
        p = self.progress_at(position)
        rounds, offset = divmod(position, self.num_scenes)
        order = np.random.default_rng([self.seed, rounds]).permutation(self.num_scenes)
        if self.progressive_views:
            counts = pvs_view_counts(self.num_frames, p, **self.pvs_options)
        else:
            counts = self.fixed_counts
        band = cacs_distance_band(p, **self.cacs_options) if self.camera_curriculum else None
        seed = int(np.random.SeedSequence([self.seed, position]).generate_state(1)[0])
        return SampleRequest(
            scene_index=int(order[offset]),
            view_counts=tuple(int(counts.get(vt, 0)) for vt in VIEW_ORDER),
            band=band,
            seed=seed,
            progress=p,
        )

    def __iter__(self) -> Iterator[SampleRequest]:
        while self.position < self.total_samples:
            request = self.request(self.position)
            self.position += 1
            yield request

    def __len__(self) -> int:
        return self.total_samples - self.position

    def state_dict(self, consumed: int | None = None) -> dict[str, int]:
        """Resume state; ``consumed`` overrides the position (samples really trained on)."""
        position = self.position if consumed is None else int(consumed)
        return {"position": position, "seed": self.seed, "total_samples": self.total_samples}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        """Restore a state from `state_dict` (the seed and length must match)."""
        if int(state["seed"]) != self.seed or int(state["total_samples"]) != self.total_samples:
            raise ValueError("sampler state was saved with another seed or length")
        self.position = int(state["position"])
