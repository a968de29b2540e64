"""absT_quaR_FoV pose encoding: VGGT semantics and round trips."""

import math

import torch

from sky2ground_ros.model.pose_encoding import (
    extri_intri_to_pose_encoding,
    matrix_to_quaternion,
    pose_encoding_to_extri_intri,
    quaternion_to_matrix,
)


def random_rotations(n: int, seed: int = 0) -> torch.Tensor:
    q = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return quaternion_to_matrix(q / q.norm(dim=-1, keepdim=True))


def test_quaternion_is_scalar_last_xyzw() -> None:
    angle = math.pi / 2
    rz = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = torch.tensor([0.0, 0.0, math.sin(angle / 2), math.cos(angle / 2)])
    torch.testing.assert_close(matrix_to_quaternion(rz), expected)
    torch.testing.assert_close(quaternion_to_matrix(expected), rz)


def test_matrix_quaternion_round_trip_including_half_turns() -> None:
    rotations = random_rotations(256)
    half_turns = torch.diag_embed(
        torch.tensor([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    ).double()
    rotations = torch.cat([rotations, half_turns])
    quaternions = matrix_to_quaternion(rotations)
    assert (quaternions[..., 3] >= 0).all()
    torch.testing.assert_close(quaternion_to_matrix(quaternions), rotations, atol=1e-12, rtol=0)


def test_pose_encoding_round_trip() -> None:
    n, image_hw = 64, (280, 518)
    rotations = random_rotations(n, seed=1)
    translations = torch.randn(n, 3, 1, dtype=torch.float64)
    extrinsics = torch.cat([rotations, translations], dim=-1).float().view(4, 16, 3, 4)
    focal = torch.rand(4, 16, 2) * 600 + 200
    intrinsics = torch.zeros(4, 16, 3, 3)
    intrinsics[..., 0, 0], intrinsics[..., 1, 1] = focal[..., 0], focal[..., 1]
    intrinsics[..., 0, 2], intrinsics[..., 1, 2], intrinsics[..., 2, 2] = 259.0, 140.0, 1.0

    encoding = extri_intri_to_pose_encoding(extrinsics, intrinsics, image_hw)
    assert encoding.shape == (4, 16, 9)
    extrinsics_back, intrinsics_back = pose_encoding_to_extri_intri(encoding, image_hw)
    torch.testing.assert_close(extrinsics_back, extrinsics, atol=1e-5, rtol=0)
    torch.testing.assert_close(intrinsics_back, intrinsics, atol=1e-3, rtol=1e-5)


def test_pose_encoding_fields() -> None:
    """Translation first, then quaternion, then FoV (h, w) from fy and fx."""
    extrinsics = torch.cat([torch.eye(3), torch.tensor([[1.0], [2.0], [3.0]])], dim=-1)
    intrinsics = torch.tensor([[100.0, 0.0, 50.0], [0.0, 200.0, 30.0], [0.0, 0.0, 1.0]])
    encoding = extri_intri_to_pose_encoding(extrinsics, intrinsics, (60, 100))
    fov_h, fov_w = 2 * math.atan(30 / 200), 2 * math.atan(50 / 100)
    expected = torch.tensor([1.0, 2.0, 3.0, 0.0, 0.0, 0.0, 1.0, fov_h, fov_w])
    torch.testing.assert_close(encoding, expected)
