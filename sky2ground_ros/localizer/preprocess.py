"""Bring camera images and satellite tiles to the model input, as the training data loader does.

Every frame is scaled to cover a square of ``size`` pixels (a multiple of the 14 px patch)
and centre-cropped with `data.transforms.plan_resize_crop`, the same resampling and
intrinsics update as training, so the model sees what it was trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sky2ground_ros.data.transforms import plan_resize_crop


def to_model_input(
    image: np.ndarray, intrinsics: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Resize + centre-crop an RGB uint8 image to ``size`` x ``size``; intrinsics follow."""
    height, width = image.shape[:2]
    plan = plan_resize_crop(width, height, size, size)
    return np.ascontiguousarray(plan.apply_to_image(image)), plan.apply_to_intrinsics(intrinsics)


def batch_tensor(images: Sequence[np.ndarray]) -> torch.Tensor:
    """Stack H x W x 3 uint8 images into a [S, 3, H, W] uint8 tensor (no copy to float)."""
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
