"""VGGT's absT_quaR_FoV camera encoding: translation, quaternion (xyzw), field of view (h, w).

Extrinsics are world-to-camera [R | t] in the OpenCV convention (x right, y down, z forward);
intrinsics are pinhole with the principal point at the image centre.
"""

from __future__ import annotations

import torch


def quaternion_to_matrix(quaternion: torch.Tensor) -> torch.Tensor:
    """Scalar-last quaternions (x, y, z, w) [..., 4] (any norm) -> rotation matrices [..., 3, 3]."""
    x, y, z, w = quaternion.unbind(-1)
    s = 2.0 / (quaternion * quaternion).sum(-1)
    rows = (
        1 - s * (y * y + z * z),
        s * (x * y - z * w),
        s * (x * z + y * w),
        s * (x * y + z * w),
        1 - s * (x * x + z * z),
        s * (y * z - x * w),
        s * (x * z - y * w),
        s * (y * z + x * w),
        1 - s * (x * x + y * y),
    )
    return torch.stack(rows, dim=-1).unflatten(-1, (3, 3))


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] -> unit quaternions (x, y, z, w) [..., 4] with w >= 0.

    Of the four algebraically equivalent formulas the one with the largest pivot is used, which
    keeps the result accurate near 180-degree rotations.
    """
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4 q_i^2 for i in (w, x, y, z)
    squares = torch.stack(
        [
            1 + m00 + m11 + m22,
            1 + m00 - m11 - m22,
            1 - m00 + m11 - m22,
            1 - m00 - m11 + m22,
        ],
        dim=-1,
    )
    # Row i holds 4 q_i * (w, x, y, z).
    candidates = torch.stack(
        [
            torch.stack([squares[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, squares[..., 1], m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, squares[..., 2], m12 + m21], dim=-1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, squares[..., 3]], dim=-1),
        ],
        dim=-2,
    )
    best = squares.argmax(dim=-1, keepdim=True)
    row = torch.take_along_dim(candidates, best[..., None].expand(*best.shape, 4), dim=-2)
    wxyz = row.squeeze(-2) / (2 * squares.gather(-1, best).clamp_min(1e-12).sqrt())
    xyzw = torch.cat([wxyz[..., 1:], wxyz[..., :1]], dim=-1)
    xyzw = xyzw / xyzw.norm(dim=-1, keepdim=True)
    return torch.where(xyzw[..., 3:] < 0, -xyzw, xyzw)


def extri_intri_to_pose_encoding(
    extrinsics: torch.Tensor, intrinsics: torch.Tensor, image_hw: tuple[int, int]
) -> torch.Tensor:
    """Extrinsics [..., 3, 4] and intrinsics [..., 3, 3] -> pose encoding [..., 9] (float32)."""
    height, width = image_hw
    quaternion = matrix_to_quaternion(extrinsics[..., :3, :3])
    fov_h = 2 * torch.atan((height / 2) / intrinsics[..., 1, 1])
    fov_w = 2 * torch.atan((width / 2) / intrinsics[..., 0, 0])
    encoding = torch.cat(
        [extrinsics[..., :3, 3], quaternion, fov_h[..., None], fov_w[..., None]], dim=-1
    )
    return encoding.float()


def pose_encoding_to_extri_intri(
    pose_encoding: torch.Tensor, image_hw: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pose encoding [..., 9] -> (extrinsics [..., 3, 4], intrinsics [..., 3, 3])."""
    height, width = image_hw
    rotation = quaternion_to_matrix(pose_encoding[..., 3:7])
    extrinsics = torch.cat([rotation, pose_encoding[..., :3, None]], dim=-1)
    fy = (height / 2) / torch.tan(pose_encoding[..., 7] / 2)
    fx = (width / 2) / torch.tan(pose_encoding[..., 8] / 2)
    zero, one = torch.zeros_like(fx), torch.ones_like(fx)
    intrinsics = torch.stack(
        [fx, zero, zero + width / 2, zero, fy, zero + height / 2, zero, zero, one], dim=-1
    ).unflatten(-1, (3, 3))
    return extrinsics, intrinsics
