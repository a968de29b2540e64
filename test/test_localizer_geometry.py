"""Rigid transforms of the localizer: TF conventions, ECEF map frame, lever arms, odometry."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.localizer.geometry import (
    OPTICAL_IN_BODY,
    TransformTree,
    base_from_camera,
    default_camera_extrinsic,
    enu_in_ecef,
    extrinsic_from_list,
    from_xyz_quat,
    interpolate,
    inverse,
    to_xyz_quat,
    transform,
)
from sky2ground_ros.localizer.odometry import OdometryBuffer


def random_pose(rng: np.random.Generator) -> np.ndarray:
    return transform(Rotation.random(random_state=rng).as_matrix(), rng.normal(size=3) * 10)


def test_inverse_and_quaternion_round_trip() -> None:
    rng = np.random.default_rng(0)
    pose = random_pose(rng)
    np.testing.assert_allclose(pose @ inverse(pose), np.eye(4), atol=1e-12)
    xyz, quat = to_xyz_quat(pose)
    np.testing.assert_allclose(from_xyz_quat(xyz, quat), pose, atol=1e-12)
    np.testing.assert_allclose(extrinsic_from_list([*xyz, *quat]), pose, atol=1e-12)


@pytest.mark.parametrize("bad", [[0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 1], [np.nan, 0, 0, 0, 0, 0, 1]])
def test_bad_extrinsic_parameters_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        extrinsic_from_list(bad)


def test_default_mount_looks_along_base_x() -> None:
    mount = default_camera_extrinsic()
    # the optical axis (z) is the base's x, image right (x) is the base's -y, image down is -z
    np.testing.assert_allclose(mount[:3, :3] @ [0, 0, 1], [1, 0, 0])
    np.testing.assert_allclose(mount[:3, :3] @ [1, 0, 0], [0, -1, 0])
    np.testing.assert_allclose(mount[:3, :3] @ [0, 1, 0], [0, 0, -1])
    assert np.isclose(np.linalg.det(OPTICAL_IN_BODY), 1.0)


def test_earth_to_map_matches_pyproj_topocentric() -> None:
    frame = LocalENU(47.3769, 8.5417, 408.0)
    earth_map = enu_in_ecef(frame)
    enu = np.array([[0.0, 0.0, 0.0], [1500.0, -800.0, 120.0], [-30.0, 2000.0, -5.0]])
    expected = np.stack(frame.to_ecef(enu[:, 0], enu[:, 1], enu[:, 2]), axis=1)
    mapped = enu @ earth_map[:3, :3].T + earth_map[:3, 3]
    np.testing.assert_allclose(mapped, expected, atol=1e-6)


def test_base_from_camera_moves_covariance_through_the_lever_arm() -> None:
    rng = np.random.default_rng(1)
    map_camera = random_pose(rng)
    mount = transform(Rotation.random(random_state=rng).as_matrix(), [0.5, -0.2, 1.5])
    covariance = np.diag([0.01, 0.01, 0.01, 1e-4, 1e-4, 1e-4])
    map_base, base_cov = base_from_camera(map_camera, covariance, mount)
    np.testing.assert_allclose(map_base @ mount, map_camera, atol=1e-12)
    # numerically: perturb the camera pose, see how the base moves
    samples = []
    for _ in range(4000):
        delta = rng.multivariate_normal(np.zeros(6), covariance)
        moved = transform(
            Rotation.from_rotvec(delta[3:]).as_matrix() @ map_camera[:3, :3],
            map_camera[:3, 3] + delta[:3],
        )
        base = moved @ inverse(mount)
        samples.append(base[:3, 3] - map_base[:3, 3])
    empirical = np.cov(np.array(samples).T)
    np.testing.assert_allclose(empirical, base_cov[:3, :3], atol=2e-3)
    assert base_cov[0, 0] > covariance[0, 0]  # the lever arm adds position uncertainty


def test_transform_tree_chains_and_refuses_unconnected_frames() -> None:
    rng = np.random.default_rng(2)
    tree = TransformTree()
    base_mast, mast_cam, base_other = random_pose(rng), random_pose(rng), random_pose(rng)
    tree.set("base_link", "mast", base_mast)
    tree.set("mast", "camera_optical", mast_cam)
    tree.set("base_link", "other", base_other)
    np.testing.assert_allclose(
        tree.lookup("base_link", "camera_optical"), base_mast @ mast_cam, atol=1e-12
    )
    np.testing.assert_allclose(
        tree.lookup("other", "camera_optical"),
        inverse(base_other) @ base_mast @ mast_cam,
        atol=1e-12,
    )
    assert tree.lookup("base_link", "unknown") is None
    tree.set("a", "b", np.eye(4))
    tree.set("b", "a", np.eye(4))  # a cycle (bad /tf_static) must not hang
    assert tree.lookup("base_link", "a") is None


def test_interpolation_and_odometry_buffer() -> None:
    rng = np.random.default_rng(3)
    pose0, pose1 = random_pose(rng), random_pose(rng)
    np.testing.assert_allclose(interpolate(pose0, pose1, 0.0), pose0, atol=1e-12)
    np.testing.assert_allclose(interpolate(pose0, pose1, 1.0), pose1, atol=1e-12)
    middle = interpolate(pose0, pose1, 0.5)
    np.testing.assert_allclose(middle[:3, 3], (pose0[:3, 3] + pose1[:3, 3]) / 2)

    odometry = OdometryBuffer(max_gap_s=0.5)
    assert odometry.at(10.0) is None
    odometry.add(10.0, pose0)
    odometry.add(10.2, pose1)
    np.testing.assert_allclose(odometry.at(10.1), middle, atol=1e-12)
    np.testing.assert_allclose(odometry.at(10.3), pose1)  # within max_gap after the end
    assert odometry.at(11.0) is None
    odometry.add(11.5, pose0)  # a 1.3 s gap: no interpolation across it
    assert odometry.at(11.0) is None
    odometry.add(5.0, pose1)  # time jumped back (bag restart): old poses are dropped
    assert odometry.at(10.1) is None
    np.testing.assert_allclose(odometry.at(5.0), pose1)
