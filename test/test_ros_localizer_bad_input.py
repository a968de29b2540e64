"""Bad inputs reach a running localizer node: it keeps running, says why, and publishes no pose.

Three node processes: one configured normally (test-made model, GeoTIFF tiles), one started
with config/sky2ground.yaml and a model file that does not exist, and one with
``inference: classical`` (no model: the SIFT + PnP matcher). This test process publishes
each bad input in turn and reads /diagnostics.
"""

import math
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest
import rclpy
import torch
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseWithCovarianceStamped
from nodes.localizer_fixtures import write_orthophoto, write_params
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image, NavSatFix
from tf2_msgs.msg import TFMessage

from sky2ground_ros.data.scene_format import GeoReference
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.ros.messages import stamp_message

REPO = Path(__file__).resolve().parents[1]
GEOREF = GeoReference(47.3769, 8.5417, 408.0)
NODE = "sky2ground_localizer"
BROKEN = "localizer_without_model"
CLASSICAL = "localizer_classical"


class Probe:
    """In-process publisher of camera inputs and reader of the node's outputs."""

    def __init__(self) -> None:
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("bad_input_probe", context=self.context)
        self.image = self.node.create_publisher(Image, "/cam/image_raw", qos_profile_sensor_data)
        self.info = self.node.create_publisher(
            CameraInfo, "/cam/camera_info", qos_profile_sensor_data
        )
        self.fix = self.node.create_publisher(NavSatFix, "/gps/fix", qos_profile_sensor_data)
        self.diagnostics: dict[str, dict] = {}
        self.poses: list = []
        self.transforms: list = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 50)
        self.node.create_subscription(
            PoseWithCovarianceStamped, f"/{NODE}/pose", self.poses.append, 10
        )
        self.node.create_subscription(
            TFMessage, "/tf", lambda m: self.transforms.extend(m.transforms), 10
        )
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.stamp = time.time()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            values = {kv.key: kv.value for kv in status.values}
            self.diagnostics[status.name] = {"message": status.message, **values}

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > end:
                raise TimeoutError(f"no {what} within {timeout} s; diagnostics: {self.diagnostics}")
            self.executor.spin_once(timeout_sec=0.05)

    def status(self, node: str, part: str) -> dict:
        return self.diagnostics.get(f"{node}: {part}", {})

    def next_stamp(self) -> float:
        self.stamp += 1.0
        return self.stamp

    def send_info(self, k: list[float]) -> None:
        info = CameraInfo(width=64, height=48)
        info.header.stamp = stamp_message(self.stamp)
        info.k = k
        self.info.publish(info)

    def send_image(self, encoding: str = "rgb8", width: int = 64, height: int = 48) -> None:
        rgb = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
        image = Image(width=width, height=height, encoding=encoding, step=3 * width)
        image.header.stamp = stamp_message(self.next_stamp())
        image.data = rgb.tobytes()
        self.image.publish(image)

    def send_fix(self, latitude: float, longitude: float) -> None:
        fix = NavSatFix(latitude=latitude, longitude=longitude, altitude=500.0)
        fix.header.stamp = stamp_message(self.stamp)
        fix.status.status = 0
        self.fix.publish(fix)

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


GOOD_K = [60.0, 0.0, 31.5, 0.0, 60.0, 23.5, 0.0, 0.0, 1.0]


@pytest.fixture
def nodes(ros_env: dict[str, str], tmp_path: Path) -> Iterator[list[subprocess.Popen]]:
    """The configured node and the node without a model, as separate processes."""
    torch.manual_seed(0)
    model = save_weights(SkyNet(get_config("tiny")), tmp_path / "tiny.safetensors")
    ortho = write_orthophoto(tmp_path / "ortho.tif", GEOREF)
    values = {
        "model_path": str(model),
        "torch_threads": 1,
        "image_size": 28,
        "window_size": 1,
        "keyframe": {"min_interval_s": 0.1, "min_sharpness": 0.0},
        "cameras": ["cam"],
        "cam": {"view_type": "aerial"},
        "navsat_topic": "/gps/fix",
        "tile_source": str(ortho),
        "diagnostics_period_s": 0.2,
    }
    params = write_params(tmp_path / "localizer.yaml", NODE, values)
    classical = write_params(
        tmp_path / "classical.yaml",
        CLASSICAL,
        {**values, "inference": "classical", "image_size": 224, "model_path": ""},
    )
    command = [sys.executable, "-m", "sky2ground_ros.ros.localizer_node", "--ros-args"]
    processes = [
        subprocess.Popen([*command, "--params-file", str(params)], env=ros_env),
        subprocess.Popen(
            [
                *command,
                "-r",
                f"__node:={BROKEN}",
                "--params-file",
                str(REPO / "config" / "sky2ground.yaml"),
                "-p",
                f"model_path:={tmp_path / 'missing' / 'skynet.safetensors'}",
                "-p",
                f"tile_source:={ortho}",
                "-p",
                "diagnostics_period_s:=0.2",
            ],
            env=ros_env,
        ),
        subprocess.Popen(
            [*command, "-r", f"__node:={CLASSICAL}", "--params-file", str(classical)],
            env=ros_env,
        ),
    ]
    yield processes
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


@pytest.mark.ros
def test_bad_inputs_are_reported_and_publish_no_pose(nodes: list[subprocess.Popen]) -> None:
    probe = Probe()
    try:
        probe.wait_for(
            lambda: probe.status(NODE, "model").get("message") == "model loaded",
            60.0,
            "the model to load",
        )
        probe.wait_for(
            lambda: "no such file" in probe.status(BROKEN, "model").get("message", ""),
            30.0,
            "the missing model to be reported",
        )
        probe.wait_for(
            lambda: (
                probe.status(CLASSICAL, "model").get("message") == "classical matcher (no model)"
            ),
            30.0,
            "the classical node to configure",
        )

        def expect(part: str, key: str, text: str, send: Callable[[], None]) -> None:
            def seen() -> bool:
                return text in probe.status(NODE, part).get(key, "")

            for _ in range(40):  # best-effort QoS: resend until the node reports it
                send()
                try:
                    probe.wait_for(seen, 0.5, f"{key} ~ {text!r}")
                    return
                except TimeoutError:
                    continue
            raise AssertionError(f"never reported {text!r}: {probe.diagnostics}")

        def info_then(image: Callable[[], None], k: list[float] = GOOD_K) -> Callable[[], None]:
            return lambda: (probe.send_info(k), image())

        expect(
            "inputs",
            "last bad image",
            "unsupported encoding '32FC1'",
            info_then(lambda: probe.send_image("32FC1")),
        )
        expect(
            "inputs",
            "last bad image",
            "zero-size image 0x0",
            lambda: probe.send_image(width=0, height=0),
        )
        expect(
            "inputs",
            "last bad CameraInfo",
            "no focal length",
            info_then(probe.send_image, k=[0.0] * 9),
        )
        expect("inputs", "last bad image", "CameraInfo K has no focal length", probe.send_image)
        expect("inputs", "last bad NavSatFix", "non-finite", lambda: probe.send_fix(math.nan, 8.5))
        expect(
            "localization",
            "message",
            "no position prior",
            info_then(probe.send_image),
        )
        far_away = GEOREF.latitude + 1.0
        expect(
            "localization",
            "message",
            "no pose (tiles): no tiles around",
            info_then(lambda: (probe.send_fix(far_away, GEOREF.longitude), probe.send_image())),
        )
        localization = probe.status(NODE, "localization")
        assert "no coverage" in localization["message"]
        assert localization["poses published"] == "0" and localization["windows tiles"] != "0"
        assert int(probe.status(NODE, "inputs")["bad NavSatFix"]) >= 1
        for _ in range(40):  # noise matches nothing: the classical node says so, publishes nothing
            probe.send_info(GOOD_K)
            probe.send_fix(GEOREF.latitude, GEOREF.longitude)
            probe.send_image()
            with suppress(TimeoutError):
                probe.wait_for(
                    lambda: (
                        "classical matcher"
                        in probe.status(CLASSICAL, "localization").get("message", "")
                    ),
                    0.5,
                    "a classical rejection",
                )
                break
        assert (
            "no pose (model): classical matcher"
            in probe.status(CLASSICAL, "localization")["message"]
        ), probe.status(CLASSICAL, "localization")
        assert all(process.poll() is None for process in nodes)  # all still running
        assert probe.status(BROKEN, "localization")["message"] == "inactive"
    finally:
        probe.close()
    assert probe.poses == []
    assert not [t for t in probe.transforms if t.child_frame_id in ("base_link", "odom")]
    for process in nodes:
        process.terminate()
        assert process.wait(timeout=20) == 0  # SIGTERM: clean shutdown
