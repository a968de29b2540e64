"""`sky2ground make-bag` output, and APE/RPE on trajectories whose errors are known by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore
from scipy.spatial.transform import Rotation

from sky2ground_ros.cli.main import main
from sky2ground_ros.geo.geodesy import LocalENU
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.bag_types import VIEW_TYPE_KEY
from sky2ground_ros.replay.make_bag import scene_renderer
from sky2ground_ros.replay.trajectory_metrics import (
    APE_ALIGNED,
    APE_HORIZONTAL,
    APE_ROTATION,
    APE_TRANSLATION,
    RPE_ROTATION,
    RPE_TRANSLATION,
    Trajectory,
    horizontal_errors,
    pose_errors,
)

TYPES = get_typestore(Stores.ROS2_KILTED)
SEED = 1000
DURATION_S = 3.0


@pytest.mark.parametrize(("storage", "compressed"), [("mcap", False), ("sqlite3", True)])
def test_make_bag_has_truth_noisy_gnss_and_camera(
    storage: str, compressed: bool, tmp_path: Path
) -> None:
    bag = tmp_path / "bag"
    args = ["make-bag", "--out", str(bag), "--seed", str(SEED), "--duration", str(DURATION_S)]
    args += ["--width", "64", "--height", "48", "--storage", storage]
    assert main(args + (["--compressed"] if compressed else [])) == 0
    image = "/camera/image_raw/compressed" if compressed else "/camera/image_raw"
    expected = {
        image: "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image",
        "/camera/camera_info": "sensor_msgs/msg/CameraInfo",
        "/gps/fix": "sensor_msgs/msg/NavSatFix",
        "/ground_truth/odom": "nav_msgs/msg/Odometry",
        "/odom": "nav_msgs/msg/Odometry",
        "/tf": "tf2_msgs/msg/TFMessage",
        "/tf_static": "tf2_msgs/msg/TFMessage",
    }
    with Reader(bag) as reader:
        assert {name: t.msgtype for name, t in reader.topics.items()} == expected
        assert reader.topics[image].msgcount == 7  # 2 Hz over 3 s, both ends
        assert reader.topics["/gps/fix"].msgcount == 4
        assert reader.topics["/ground_truth/odom"].msgcount == 61
        fixes, truth = [], {}
        wanted = [c for c in reader.connections if c.topic in ("/gps/fix", "/ground_truth/odom")]
        for connection, _, data in reader.messages(wanted):
            msg = TYPES.deserialize_cdr(data, connection.msgtype)
            stamp = (msg.header.stamp.sec, msg.header.stamp.nanosec)
            if connection.topic == "/gps/fix":
                fixes.append((stamp, msg))
            else:
                truth[stamp] = msg.pose.pose.position
    with BagReader(bag) as recorded:  # replay reads the view type from here
        assert recorded.custom_data == {VIEW_TYPE_KEY: "ground"}
    georef = scene_renderer(SEED).scene.georef
    origin = LocalENU(georef.latitude, georef.longitude, georef.altitude)
    errors = []
    for stamp, fix in fixes:
        east, north, _ = origin.from_geodetic(fix.latitude, fix.longitude, fix.altitude)
        errors.append(np.hypot(east - truth[stamp].x, north - truth[stamp].y))
        assert fix.position_covariance[0] == pytest.approx(9.0)  # 3 m sigma, reported
    assert 0.01 < max(errors) < 15.0  # noisy, but a GNSS fix of this truth


def curve(
    n: int = 12, yaw_deg: float = 0.0, offset=(0.0, 0.0, 0.0), bend: float = 0.05
) -> Trajectory:
    """Poses along y = bend x² at 1 Hz (x 1 m apart), rotated about their own z and shifted."""
    rotation = Rotation.from_euler("z", yaw_deg, degrees=True).as_matrix()
    poses = []
    for i in range(n):
        pose = np.eye(4)
        pose[:3, :3] = rotation
        pose[:3, 3] = np.array([float(i), bend * i * i, 10.0]) + offset
        poses.append(pose)
    return Trajectory.from_poses([100.0 + i for i in range(n)], poses)


def test_constant_offset_gives_exactly_that_ape() -> None:
    errors = pose_errors(curve(), curve(offset=(3.0, 4.0, 12.0)))
    assert errors[APE_TRANSLATION].rmse == pytest.approx(13.0)
    assert errors[APE_TRANSLATION].max == pytest.approx(13.0)
    assert errors[APE_HORIZONTAL].median == pytest.approx(5.0)
    assert errors[APE_ROTATION].rmse == pytest.approx(0.0, abs=1e-9)
    assert errors[APE_ALIGNED].rmse == pytest.approx(0.0, abs=1e-9)  # shape is exact
    assert errors[RPE_TRANSLATION].rmse == pytest.approx(0.0, abs=1e-9)
    assert errors[APE_TRANSLATION].count == 12
    assert errors[RPE_TRANSLATION].count == 11
    straight = pose_errors(curve(bend=0.0), curve(bend=0.0, offset=(3.0, 4.0, 0.0)))
    assert APE_ALIGNED not in straight  # collinear: no unique alignment, and no crash
    assert straight[APE_HORIZONTAL].rmse == pytest.approx(5.0)


def test_rotation_offset_and_a_jump() -> None:
    errors = pose_errors(curve(), curve(yaw_deg=10.0))
    assert errors[APE_ROTATION].mean == pytest.approx(10.0)
    assert errors[APE_TRANSLATION].rmse == pytest.approx(0.0, abs=1e-9)
    assert errors[RPE_ROTATION].rmse == pytest.approx(0.0, abs=1e-6)
    jumped = curve(bend=0.0)
    positions = jumped.positions.copy()
    positions[6:, 1] += 2.0  # the estimate jumps 2 m sideways once
    estimate = Trajectory(jumped.stamps, positions, jumped.quaternions)
    errors = pose_errors(curve(bend=0.0), estimate)
    assert errors[RPE_TRANSLATION].max == pytest.approx(2.0)
    assert errors[RPE_TRANSLATION].median == pytest.approx(0.0, abs=1e-9)
    assert errors[APE_HORIZONTAL].rmse == pytest.approx(np.sqrt(6 * 4.0 / 12))


def test_fixes_are_compared_at_their_stamps() -> None:
    truth = curve(bend=0.0)
    fixes = Trajectory(
        truth.stamps[::3] + 0.05,
        truth.positions[::3] + np.array([0.5, 1.0, 0.0]),
        truth.quaternions[::3],
    )
    stats = horizontal_errors(truth, fixes)
    assert stats.count == 4
    assert stats.rmse == pytest.approx(np.hypot(0.45, 1.0))  # truth interpolated at t + 0.05
    with pytest.raises(ValueError, match="no poses to compare"):
        horizontal_errors(
            truth, Trajectory(truth.stamps + 1000.0, truth.positions, truth.quaternions)
        )
