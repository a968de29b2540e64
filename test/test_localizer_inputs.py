"""The frame ingest the node and the replay share: sync, checks, priors, mounts, time jumps.

Real sensor_msgs / nav_msgs message objects (no rclpy context needed) go through
`LocalizerInputs` exactly as the node's subscriptions and the replay's bag loop pass them.
"""

import math

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image, NavSatFix, NavSatStatus

from sky2ground_ros.localizer.geometry import TransformTree, default_camera_extrinsic, transform
from sky2ground_ros.localizer.inputs import InputConfig, LocalizerInputs
from sky2ground_ros.localizer.keyframes import KeyframePolicy
from sky2ground_ros.localizer.parameters import CameraSettings
from sky2ground_ros.localizer.pipeline import LocalizationResult, WindowRequest
from sky2ground_ros.localizer.smoothing import PoseEstimate
from sky2ground_ros.ros.messages import stamp_message
from sky2ground_ros.views import ViewType

W, H = 64, 48
SIZE = 28
INITIAL = (47.37, 8.54)
FRONT = CameraSettings("front", "/front/image", "/front/info", view_type=ViewType.AERIAL)
SIDE_MOUNT = transform(Rotation.from_euler("z", 90, degrees=True).as_matrix(), [0.1, 0.2, 0.3])
SIDE = CameraSettings("side", "/side/image", "/side/info", extrinsic=SIDE_MOUNT)


def config(**changes: object) -> InputConfig:
    values = {
        "cameras": (FRONT, SIDE),
        "image_size": SIZE,
        "window_size": 2,
        "keyframes": KeyframePolicy(min_interval_s=0.2, min_sharpness=0.0),
        "navsat_topic": "/fix",
        "odom_topic": "/odom",
        "initial_position": INITIAL,
    }
    return InputConfig(**{**values, **changes})


def info(stamp: float, width: int = W) -> CameraInfo:
    msg = CameraInfo(width=width, height=H, k=[50.0, 0, 31.5, 0, 50.0, 23.5, 0, 0, 1.0])
    msg.header.stamp = stamp_message(stamp)
    return msg


def image(stamp: float, frame_id: str = "", seed: int = 0) -> Image:
    rgb = np.random.default_rng(seed).integers(0, 255, (H, W, 3), np.uint8)
    msg = Image(width=W, height=H, encoding="rgb8", step=3 * W, data=rgb.tobytes())
    msg.header.stamp, msg.header.frame_id = stamp_message(stamp), frame_id
    return msg


def fix(stamp: float, latitude: float = 47.3701) -> NavSatFix:
    msg = NavSatFix(latitude=latitude, longitude=8.5401, altitude=400.0)
    msg.status.status = NavSatStatus.STATUS_FIX
    msg.header.stamp = stamp_message(stamp)
    return msg


def odometry(stamp: float, x: float) -> Odometry:
    msg = Odometry()
    msg.header.stamp = stamp_message(stamp)
    msg.pose.pose.position.x = x
    msg.pose.pose.orientation.w = 1.0
    return msg


def frame_pair(inputs: LocalizerInputs, stamp: float, frame_id: str = "") -> object:
    """Both cameras' images (the side one 10 ms later, within the sync slop)."""
    assert inputs.on_message("/front/image", image(stamp, frame_id)) is None
    return inputs.on_message("/side/image", image(stamp + 0.01, seed=1))


@pytest.fixture
def static_tf() -> TransformTree:
    tree = TransformTree()
    tree.set("base_link", "front_link", transform(np.eye(3), [1.0, 0.0, 0.0]))
    tree.set("front_link", "front_optical", default_camera_extrinsic())
    return tree


def test_synchronised_keyframes_become_a_window(static_tf: TransformTree) -> None:
    inputs = LocalizerInputs(config(), static_tf)
    for topic in ("/front/info", "/side/info"):
        inputs.on_message(topic, info(0.0))
    for stamp, x in ((0.95, 0.0), (1.05, 1.0), (1.45, 4.0), (1.55, 5.0)):
        inputs.on_message("/odom", odometry(stamp, x))
    assert inputs.on_message("/front/image", image(1.0, "front_optical")) is None
    assert inputs.on_message("/side/image", image(1.3)) is None  # 0.3 s apart: no set
    assert frame_pair(inputs, 1.1, "front_optical") is None  # a keyframe; window not full yet
    assert frame_pair(inputs, 1.2, "front_optical") is None  # 0.1 s later: not a keyframe
    request = frame_pair(inputs, 1.5, "front_optical")
    assert isinstance(request, WindowRequest)
    assert [f.stamp for f in request.frames] == [1.1, 1.5]
    assert request.frames[-1].camera_names == ["front", "side"]
    assert request.frames[-1].images[0].shape == (SIZE, SIZE, 3)
    K = request.frames[-1].intrinsics[0]  # scaled to cover 28 px (37 x 28), centre-cropped
    assert (K[0, 0], K[1, 1]) == pytest.approx((50.0 * 37 / W, 50.0 * SIZE / H))
    np.testing.assert_allclose(request.frames[-1].position, [4.5, 0.0, 0.0])  # interpolated
    assert request.prior.source == "initial pose"
    assert (request.prior.latitude, request.prior.longitude) == INITIAL
    assert inputs.keyframe_rejections == {"too soon": 1}

    # mounts: the parameter wins; else /tf_static through the image's frame id; else default
    front = inputs.mount(inputs.cameras[0])
    np.testing.assert_allclose(
        front[0], transform(np.eye(3), [1.0, 0.0, 0.0]) @ default_camera_extrinsic()
    )
    assert front[1] == "tf_static"
    np.testing.assert_allclose(request.cameras["front"].T_base_camera, front[0])
    assert inputs.mount(inputs.cameras[1])[1] == "parameter"
    np.testing.assert_allclose(request.cameras["side"].T_base_camera, SIDE_MOUNT)
    assert request.cameras["front"].view_type == ViewType.AERIAL


def test_bad_inputs_are_reported_and_never_enter_a_window() -> None:
    inputs = LocalizerInputs(config(window_size=1), TransformTree())
    assert frame_pair(inputs, 1.0) is None  # no CameraInfo yet
    assert inputs.problems.counts["image"] == 1
    assert "no CameraInfo received yet" in inputs.problems.latest

    inputs.on_message("/front/info", info(0.0, width=80))  # does not match the 64 px images
    inputs.on_message("/side/info", info(0.0))
    assert frame_pair(inputs, 2.0) is None
    assert "image is 64x48 but CameraInfo is 80x48" in inputs.problems.latest

    bad_info = info(0.0)
    bad_info.k = [0.0] * 9
    inputs.on_message("/front/info", bad_info)
    assert inputs.problems.counts["CameraInfo"] == 1
    assert frame_pair(inputs, 3.0) is None
    assert "no focal length" in inputs.problems.latest

    inputs.on_message("/front/info", info(0.0))
    inputs.on_message("/fix", fix(4.0, latitude=math.nan))
    assert inputs.problems.counts["NavSatFix"] == 1
    request = frame_pair(inputs, 4.0)
    assert isinstance(request, WindowRequest)
    assert request.prior.source == "initial pose"  # the NaN fix was not used
    assert sum(inputs.problems.reasons.values()) == 5


def test_priors_fix_then_last_pose_then_none() -> None:
    inputs = LocalizerInputs(config(window_size=1, initial_position=None), TransformTree())
    for topic in ("/front/info", "/side/info"):
        inputs.on_message(topic, info(0.0))
    no_prior = frame_pair(inputs, 1.0)
    assert isinstance(no_prior, LocalizationResult) and no_prior.category == "prior"

    inputs.on_message("/fix", fix(1.5))
    request = frame_pair(inputs, 2.0)
    assert request.prior.source == "gnss" and request.prior.latitude == 47.3701

    pose = PoseEstimate(2.0, np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]), np.eye(6))
    inputs.record_result(LocalizationResult(2.0, 0.0, pose=pose, geodetic=(47.5, 8.6, 400.0)))
    request = frame_pair(inputs, 6.8)  # the fix is 5.3 s old (> 5 s), the pose 4.8 s
    assert request.prior.source == "last pose" and request.prior.latitude == 47.5
    assert isinstance(frame_pair(inputs, 20.0), LocalizationResult)  # both too old now


def test_time_jump_back_restarts_window_and_priors() -> None:
    jumps = []
    inputs = LocalizerInputs(config(), TransformTree(), on_time_jump=lambda: jumps.append(1))
    for topic in ("/front/info", "/side/info"):
        inputs.on_message(topic, info(0.0))
    inputs.on_message("/fix", fix(100.0))
    assert frame_pair(inputs, 100.0) is None
    assert isinstance(frame_pair(inputs, 100.5), WindowRequest)
    assert frame_pair(inputs, 10.0) is None  # the bag restarted: a new window fills first
    assert jumps == [1]
    request = frame_pair(inputs, 10.5)
    assert [f.stamp for f in request.frames] == [10.0, 10.5]
    assert request.prior.source == "initial pose"  # the fix from before the jump is gone
