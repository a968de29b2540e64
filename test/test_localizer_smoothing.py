"""Pose smoothing: noise is averaged out, jumps are refused, persistent jumps re-initialise."""

import numpy as np
from scipy.spatial.transform import Rotation

from sky2ground_ros.localizer.smoothing import PoseEstimate, PoseSmoother


def fix(stamp: float, position, yaw_deg: float = 0.0, sigma_m: float = 1.0) -> PoseEstimate:
    cov = np.diag([sigma_m**2] * 3 + [np.radians(2.0) ** 2] * 3)
    quat = Rotation.from_euler("z", yaw_deg, degrees=True).as_quat()
    return PoseEstimate(stamp, np.asarray(position, float), quat, cov)


def test_noisy_fixes_of_a_static_robot_converge_and_shrink_covariance() -> None:
    rng = np.random.default_rng(3)
    smoother = PoseSmoother(position_noise_m2_per_s=0.01)
    truth = np.array([10.0, -5.0, 2.0])
    out = None
    for k in range(40):
        out = smoother.update(fix(float(k), truth + rng.normal(0, 1.0, 3)))
    assert out is not None
    assert np.linalg.norm(out.position - truth) < 0.6
    assert out.covariance[0, 0] < 0.5


def test_orientation_is_blended_between_prior_and_fix() -> None:
    smoother = PoseSmoother()
    smoother.update(fix(0.0, [0, 0, 0], yaw_deg=0.0))
    out = smoother.update(fix(1.0, [0, 0, 0], yaw_deg=10.0))
    yaw = Rotation.from_quat(out.quaternion).as_euler("xyz", degrees=True)[2]
    assert 0.0 < yaw < 10.0


def test_a_single_jump_is_refused_but_a_persistent_one_wins() -> None:
    smoother = PoseSmoother(max_consecutive_jumps=3)
    smoother.update(fix(0.0, [0, 0, 0], sigma_m=0.5))
    assert smoother.update(fix(1.0, [100, 0, 0], sigma_m=0.5)) is None
    assert smoother.update(fix(2.0, [100, 0, 0], sigma_m=0.5)) is None
    out = smoother.update(fix(3.0, [100, 0, 0], sigma_m=0.5))
    assert out is not None and out.position[0] == 100.0
    assert smoother.jumps_refused == 3


def test_reset_starts_from_the_next_fix() -> None:
    smoother = PoseSmoother()
    smoother.update(fix(0.0, [0, 0, 0]))
    smoother.reset()
    out = smoother.update(fix(5.0, [50, 0, 0]))
    assert np.allclose(out.position, [50, 0, 0])


def test_slerp_matches_scipy_on_the_shortest_path() -> None:
    from scipy.spatial.transform import Slerp

    from sky2ground_ros.localizer.smoothing import slerp

    rng = np.random.default_rng(5)
    for _ in range(50):
        pair, fraction = Rotation.random(2, random_state=rng), rng.random()
        expected = Slerp([0.0, 1.0], pair)(fraction)
        got = Rotation.from_quat(slerp(pair[0].as_quat(), -pair[1].as_quat(), fraction))
        assert (expected.inv() * got).magnitude() < 1e-9
