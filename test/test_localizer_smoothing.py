"""Pose smoothing: noise is averaged out, jumps are refused, motion follows odometry or speed."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.localizer.geometry import transform
from sky2ground_ros.localizer.smoothing import PoseEstimate, PoseSmoother, SmoothingConfig


def fix(stamp: float, position, yaw_deg: float = 0.0, sigma_m: float = 1.0) -> PoseEstimate:
    cov = np.diag([sigma_m**2] * 3 + [np.radians(2.0) ** 2] * 3)
    quat = Rotation.from_euler("z", yaw_deg, degrees=True).as_quat()
    return PoseEstimate(stamp, np.asarray(position, float), quat, cov)


def odom_at(x: float, yaw_deg: float = 0.0) -> np.ndarray:
    """An odometry pose ``odom → base`` at x along odom's x axis."""
    return transform(Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix(), [x, 0.0, 0.0])


def test_noisy_fixes_of_a_static_robot_converge_and_shrink_covariance() -> None:
    rng = np.random.default_rng(3)
    smoother = PoseSmoother(SmoothingConfig(max_speed_m_s=0.01, position_noise_m2_per_s=0.01))
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
    smoother = PoseSmoother(SmoothingConfig(max_speed_m_s=1.0, max_consecutive_jumps=3))
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


@pytest.mark.parametrize("speed", [8.0, 12.0, 15.0])
def test_exact_fixes_of_a_fast_platform_without_odometry_all_pass(speed: float) -> None:
    """The old random walk (0.5 m²/s) refused two of three fixes above ~4 m/s (issue 16)."""
    smoother = PoseSmoother()
    for k in range(40):
        stamp = 0.5 * k
        out = smoother.update(fix(stamp, [speed * stamp, 0, 0], sigma_m=0.05))
        assert out is not None, f"fix {k} at {speed} m/s refused"
        assert abs(out.position[0] - speed * stamp) < 0.01
    assert smoother.jumps_refused == 0


def test_motion_beyond_the_top_speed_is_refused_as_a_jump() -> None:
    smoother = PoseSmoother(SmoothingConfig(max_speed_m_s=5.0))
    smoother.update(fix(0.0, [0, 0, 0], sigma_m=0.1))
    assert smoother.update(fix(0.5, [15.0, 0, 0], sigma_m=0.1)) is None  # 30 m/s


def test_odometry_carries_the_pose_between_fixes_and_its_frame_does_not_matter() -> None:
    """The odom frame is rotated 90° from the map and drifts: only its steps are used."""
    smoother = PoseSmoother(SmoothingConfig(max_speed_m_s=0.1, odometry_drift_fraction=0.05))
    heading = 90.0  # the robot drives north in the map, along odom's +x
    smoother.update(fix(0.0, [0, 0, 0], yaw_deg=heading, sigma_m=0.05), odom_at(100.0))
    for k in range(1, 20):
        truth = [0.0, 8.0 * k, 0.0]  # 8 m per fix: far beyond the 0.1 m/s speed model
        out = smoother.update(
            fix(float(k), truth, yaw_deg=heading, sigma_m=0.05), odom_at(100.0 + 8.0 * k)
        )
        assert out is not None, f"fix {k} refused"
        assert np.linalg.norm(out.position - truth) < 0.01


def test_odometry_predicts_where_no_fix_agrees_and_refuses_a_contradicting_one() -> None:
    smoother = PoseSmoother(SmoothingConfig(odometry_drift_fraction=0.05))
    smoother.update(fix(0.0, [0, 0, 0], sigma_m=0.1), odom_at(0.0))
    # odometry says 10 m east; a fix 10 m north is a jump even though it is within top speed
    assert smoother.update(fix(1.0, [0, 10.0, 0], sigma_m=0.1), odom_at(10.0)) is None
    out = smoother.update(fix(2.0, [20.0, 0, 0], sigma_m=0.1), odom_at(20.0))
    assert out is not None and np.linalg.norm(out.position - [20.0, 0, 0]) < 0.05


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="max_speed"):
        SmoothingConfig(max_speed_m_s=0.0)


def test_slerp_matches_scipy_on_the_shortest_path() -> None:
    from scipy.spatial.transform import Slerp

    from sky2ground_ros.localizer.smoothing import slerp

    rng = np.random.default_rng(5)
    for _ in range(50):
        pair, fraction = Rotation.random(2, random_state=rng), rng.random()
        expected = Slerp([0.0, 1.0], pair)(fraction)
        got = Rotation.from_quat(slerp(pair[0].as_quat(), -pair[1].as_quat(), fraction))
        assert (expected.inv() * got).magnitude() < 1e-9


def test_predict_carries_the_estimate_forward_and_is_none_before_a_fix() -> None:
    smoother = PoseSmoother()
    assert smoother.predict(1.0) is None
    smoother.update(fix(1.0, [0.0, 0.0, 0.0]))
    assert smoother.predict(0.5) is None  # before the estimate
    ahead = smoother.predict(2.0)
    assert ahead is not None and ahead.covariance[0, 0] > smoother.predict(1.0).covariance[0, 0]


def test_fixes_sharing_their_priors_bias_keep_a_calibrated_sigma() -> None:
    """Fixes whose error is mostly a bias common to them all (a GNSS prior's): fused as
    independent the sigma shrinks ~sqrt(N) below the persisting error; named as correlated
    it stays calibrated (about 68 % of east/north errors within 1 sigma)."""
    rng = np.random.default_rng(11)
    bias_sigma, white_sigma = 3.0, 1.5
    total = bias_sigma**2 + white_sigma**2
    shared = np.diag([bias_sigma**2] * 3)
    ratios = {"correlated": [], "independent": []}
    for _ in range(300):
        bias = rng.normal(0.0, bias_sigma, 3)
        fixes = [
            fix(0.5 * k, bias + rng.normal(0.0, white_sigma, 3), sigma_m=np.sqrt(total))
            for k in range(30)
        ]
        for name, correlated in (("correlated", shared), ("independent", None)):
            smoother = PoseSmoother(SmoothingConfig(max_speed_m_s=0.01))
            for f in fixes:
                out = smoother.update(f, correlated=correlated)
            ratios[name].extend(np.abs(out.position[:2]) / np.sqrt(np.diag(out.covariance)[:2]))
    within = {name: float(np.mean(np.array(r) <= 1.0)) for name, r in ratios.items()}
    assert 0.6 <= within["correlated"] <= 0.76, within
    assert within["independent"] < 0.45, within


def test_the_shared_part_of_a_fix_is_bounded_by_its_covariance() -> None:
    from sky2ground_ros.localizer.smoothing import MAX_CORRELATED_FRACTION, correlated_part

    covariance = np.diag([4.0, 9.0, 1.0, 0.1, 0.1, 0.1])
    bounded = correlated_part(covariance, np.diag([100.0, 1.0, -5.0]))
    assert np.allclose(np.diag(bounded), [4.0 * MAX_CORRELATED_FRACTION, 1.0, 0.0])
    assert np.all(np.linalg.eigvalsh(covariance[:3, :3] - bounded) > 0)
    assert not correlated_part(covariance, None).any()
