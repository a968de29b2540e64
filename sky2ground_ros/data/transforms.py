"""Resize / crop views to the model input and normalise a set of views as VGGT does.

Resize + crop: the image is scaled (separately per axis, by ``new_size / old_size``) so it
covers the target, then cropped. With pixel centres at integer coordinates a pixel ``u``
maps to ``s (u + 0.5) - 0.5 - x0``, hence

    fx' = sx fx,  cx' = sx (cx + 0.5) - 0.5 - x0   (and likewise for y),

which projects every 3D point to exactly where the resampled image shows it. RGB is
resampled with area averaging when shrinking (bilinear when enlarging); depth with
pixel-centre-aligned nearest neighbour, so depth values are never blended across edges.

Normalisation (VGGT training): poses become relative to the first frame (its extrinsics
are the identity), and translations, depths and 3D points are divided by the mean distance
of all valid 3D points (from the depth maps, in the first camera's frame) to the first
camera's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ResizeCrop:
    """A per-axis scale followed by a crop offset (in the scaled image)."""

    scale_x: float
    scale_y: float
    scaled_width: int
    scaled_height: int
    x0: int
    y0: int
    width: int
    height: int

    def apply_to_intrinsics(self, intrinsics: np.ndarray) -> np.ndarray:
        """Intrinsics of the resized and cropped image."""
        k = np.asarray(intrinsics, dtype=np.float64).copy()
        k[0, 0] *= self.scale_x
        k[0, 1] *= self.scale_x
        k[0, 2] = self.scale_x * (k[0, 2] + 0.5) - 0.5 - self.x0
        k[1, 1] *= self.scale_y
        k[1, 2] = self.scale_y * (k[1, 2] + 0.5) - 0.5 - self.y0
        return k

    def apply_to_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Where pixel coordinates (..., 2) of the original image land after the transform."""
        scale = np.array([self.scale_x, self.scale_y])
        return scale * (uv + 0.5) - 0.5 - np.array([self.x0, self.y0])

    def apply_to_image(self, image: np.ndarray) -> np.ndarray:
        """Resampled and cropped RGB image."""
        h, w = image.shape[:2]
        shrink = self.scaled_width < w or self.scaled_height < h
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        scaled = cv2.resize(image, (self.scaled_width, self.scaled_height), interpolation=interp)
        return scaled[self.y0 : self.y0 + self.height, self.x0 : self.x0 + self.width]

    def apply_to_depth(self, depth: np.ndarray) -> np.ndarray:
        """Nearest-neighbour resampled and cropped depth map."""
        h, w = depth.shape
        cols = np.arange(self.x0, self.x0 + self.width)
        rows = np.arange(self.y0, self.y0 + self.height)
        xs = np.clip(np.floor((cols + 0.5) / self.scale_x).astype(int), 0, w - 1)
        ys = np.clip(np.floor((rows + 0.5) / self.scale_y).astype(int), 0, h - 1)
        return depth[ys[:, None], xs[None, :]]


def plan_resize_crop(
    width: int,
    height: int,
    target_width: int,
    target_height: int,
    rng: np.random.Generator | None = None,
) -> ResizeCrop:
    """Scale to cover ``target`` keeping the aspect ratio, then crop (centred, or random)."""
    s = max(target_width / width, target_height / height)
    scaled_w = max(target_width, round(width * s))
    scaled_h = max(target_height, round(height * s))
    slack_x, slack_y = scaled_w - target_width, scaled_h - target_height
    if rng is None:
        x0, y0 = slack_x // 2, slack_y // 2
    else:
        x0, y0 = int(rng.integers(0, slack_x + 1)), int(rng.integers(0, slack_y + 1))
    return ResizeCrop(
        scale_x=scaled_w / width,
        scale_y=scaled_h / height,
        scaled_width=scaled_w,
        scaled_height=scaled_h,
        x0=x0,
        y0=y0,
        width=target_width,
        height=target_height,
    )


@dataclass(frozen=True)
class NormalizedViews:
    """Views expressed in the first camera's frame, divided by ``scale``."""

    extrinsics: np.ndarray
    depths: np.ndarray
    world_points: np.ndarray
    point_masks: np.ndarray
    scale: float


def camera_points(depth: np.ndarray, intrinsics: np.ndarray) -> np.ndarray:
    """Camera-frame 3D points (H, W, 3) of every pixel centre of a z-depth map."""
    h, w = depth.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    x = u - intrinsics[0, 2] - intrinsics[0, 1] * (v - intrinsics[1, 2]) / intrinsics[1, 1]
    x = x / intrinsics[0, 0]
    y = (v - intrinsics[1, 2]) / intrinsics[1, 1]
    return np.stack([x, y, np.ones_like(x)], axis=-1) * depth[..., None]


def relative_to_first(extrinsics: np.ndarray) -> np.ndarray:
    """World-to-camera extrinsics (S, 3, 4) re-expressed with camera 0 as the world."""
    r0, t0 = extrinsics[0, :, :3], extrinsics[0, :, 3]
    rotation = extrinsics[:, :, :3] @ r0.T
    translation = extrinsics[:, :, 3] - np.einsum("sij,j->si", rotation, t0)
    return np.concatenate([rotation, translation[..., None]], axis=2)


def normalize_views(
    extrinsics: np.ndarray, intrinsics: np.ndarray, depths: np.ndarray
) -> NormalizedViews:
    """VGGT normalisation of S views: first camera = identity, mean point distance = 1.

    When no depth is valid, the scale falls back to the mean distance of the other camera
    centres to the first one (1.0 if all coincide).
    """
    rel = relative_to_first(np.asarray(extrinsics, dtype=np.float64))
    masks = depths > 0
    points = np.zeros((*depths.shape, 3), dtype=np.float64)
    for i in range(len(depths)):
        cam = camera_points(depths[i].astype(np.float64), intrinsics[i])
        points[i] = (cam - rel[i, :, 3]) @ rel[i, :, :3]
    if masks.any():
        scale = float(np.linalg.norm(points[masks], axis=1).mean())
    else:
        centres = -np.einsum("sji,sj->si", rel[:, :, :3], rel[:, :, 3])
        dist = np.linalg.norm(centres[1:], axis=1)
        scale = float(dist.mean()) if dist.size and dist.mean() > 0 else 1.0
    rel[:, :, 3] /= scale
    points[~masks] = 0.0
    return NormalizedViews(
        extrinsics=rel,
        depths=np.where(masks, depths / scale, 0.0),
        world_points=points / scale,
        point_masks=masks,
        scale=scale,
    )
