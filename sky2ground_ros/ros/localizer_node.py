"""ROS 2 lifecycle node `sky2ground_localizer`: camera frames + satellite tiles → geo pose.

Subscribes (sensor-data QoS) to one or more cameras (Image or CompressedImage, plus
CameraInfo) matched by approximate time, an optional NavSatFix prior and optional
Odometry. Publishes TF per REP-105 (``map → odom`` with odometry, else ``map → base_link``;
static ``earth → map`` in ECEF, sent once the map origin is fixed), ``~/pose``
(PoseWithCovarianceStamped), ``~/fix`` (NavSatFix) and ``/diagnostics``. Every /tf stamp
is in the images' time base, so a bag played without use_sim_time never mixes two clocks.
The model loads in ``configure`` and is freed in ``cleanup``; with ``autostart`` (default)
the node configures and activates itself.
Inference runs on the `Localizer`'s own thread, never on the executor. With
``inference: remote`` no model is loaded: windows go to a ``skynet_inference`` node over
the Localize action (`inference_client.RemoteInference`), and /diagnostics gains an
inference status (server state, bytes per window, round-trip time). With
``inference: classical`` the model-free SIFT + PnP matcher (`predictors.classical`) stands
in for SkyNet, with ``classical.dem_path`` for the tiles' ground heights. Parameters:
`sky2ground_ros.localizer.parameters.NODE_PARAMETERS`, config/sky2ground.yaml.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import rclpy
import torch
from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import PoseWithCovarianceStamped
from nav_msgs.msg import Odometry
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import DurabilityPolicy, QoSProfile, qos_profile_sensor_data
from rclpy.subscription import Subscription
from sensor_msgs.msg import CameraInfo, CompressedImage, Image, NavSatFix
from tf2_msgs.msg import TFMessage

from sky2ground_ros.geo.elevation import ElevationModel
from sky2ground_ros.localizer.frames import pose_matrix, stamp_seconds
from sky2ground_ros.localizer.geometry import (
    TransformTree,
    enu_in_ecef,
    from_xyz_quat,
    inverse,
    to_xyz_quat,
)
from sky2ground_ros.localizer.inputs import InputProblems, LocalizerInputs, input_config
from sky2ground_ros.localizer.parameters import (
    camera_settings,
    inference_mode,
    localizer_config,
    map_origin,
)
from sky2ground_ros.localizer.pipeline import (
    LocalizationResult,
    Localizer,
    Predictor,
    WindowRequest,
    select_device,
)
from sky2ground_ros.localizer.smoothing import PoseEstimate
from sky2ground_ros.localizer.tile_frames import TileProvider
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.model.weights import WeightsError, load_model
from sky2ground_ros.predictors.classical import ClassicalPredictor
from sky2ground_ros.resources import SHIPPED_MODEL, find_share_file
from sky2ground_ros.ros.diagnostics import diagnostic_array, diagnostic_status
from sky2ground_ros.ros.inference_client import RemoteInference
from sky2ground_ros.ros.localizer_params import declare_parameters, parameter_values
from sky2ground_ros.ros.messages import (
    navsat_message,
    pose_message,
    stamp_message,
    transform_message,
)
from sky2ground_ros.ros.node_runner import run_node
from sky2ground_ros.ros.tf_broadcaster import StaticTransformBroadcaster, TransformBroadcaster
from sky2ground_ros.ros.tile_client import SERVICE_PREFIX, ServiceTileProvider
from sky2ground_ros.tiles.service import TileService
from sky2ground_ros.tiles.tile import TileError

NODE_NAME = "sky2ground_localizer"
RECENT_INPUT_S = 5.0
"""Bad inputs younger than this keep the inputs diagnostic at WARN."""
STATIC_TF_QOS = QoSProfile(depth=100, durability=DurabilityPolicy.TRANSIENT_LOCAL)
NOT_CONFIGURED = "not configured"
LOADED_MESSAGES = {"remote": "remote model", "classical": "classical matcher (no model)"}
"""The model status once configured, by inference mode (local: 'model loaded')."""


class LocalizerNode(LifecycleNode):
    """The localizer as a managed node; see the module docstring for its interface."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        declare_parameters(self)
        self._lock = threading.Lock()
        self._active = False
        self._values: dict[str, Any] = {}
        self._config_problem = NOT_CONFIGURED
        self._model_summary: dict[str, object] = {}
        self._localizer: Localizer | None = None
        self._tile_client: ServiceTileProvider | None = None
        self._remote: RemoteInference | None = None
        self._tile_service: TileService | None = None
        self._ingest: LocalizerInputs | None = None
        self._static_tree = TransformTree()
        self._inputs: list[Subscription] = []
        self._problems = InputProblems()
        self._last_result: LocalizationResult | None = None
        self._last_latency_ms = float("nan")
        self._published = 0
        self._tf_skipped = 0
        self._last_pose_stamp: float | None = None
        self._map_odom: tuple[np.ndarray, np.ndarray] | None = None  # xyz, quat; re-sent
        self._sensor_time: tuple[float, float] | None = None
        """(newest image stamp, node clock when it came): the re-sent TF's time base."""
        self._earth_sent = False
        self._tf = TransformBroadcaster(self)
        self._static_tf = StaticTransformBroadcaster(self)
        self._pose_pub = self.create_publisher(PoseWithCovarianceStamped, "~/pose", 10)
        self._fix_pub = self.create_publisher(NavSatFix, "~/fix", 10)
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        period = float(self.get_parameter("diagnostics_period_s").value)
        self.create_timer(period, self._publish_diagnostics)
        republish = float(self.get_parameter("tf_republish_period_s").value)
        if republish > 0:
            self.create_timer(republish, self._republish_map_odom)
        autostart = self.get_parameter("autostart").value
        if autostart and self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    # lifecycle -----------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Read parameters, load the model, open the tile source, subscribe."""
        try:
            self._configure()
        except (ValueError, WeightsError, TileError, OSError) as error:
            self._config_problem = str(error)
        except Exception as error:  # rclpy would swallow it silently: report it instead
            self._config_problem = f"unexpected error: {error!r}"
        else:
            self._config_problem = ""
            return TransitionCallbackReturn.SUCCESS
        self.get_logger().error(f"configure failed: {self._config_problem}")
        self._release()
        return TransitionCallbackReturn.FAILURE

    def _configure(self) -> None:
        self._values = values = parameter_values(self)
        cameras = camera_settings(values)
        config = localizer_config(values)
        origin = map_origin(values)
        inputs = input_config(values, cameras)
        mode = inference_mode(values)
        provider = self._open_tiles(values)
        summary: dict[str, object] = {"inference": mode}
        model: SkyNet | None = None
        predictor: Predictor | None = None
        if mode == "remote":
            codec = config.codec
            if codec is None:
                raise ValueError("remote inference needs a transport codec")
            self._remote = RemoteInference(
                self, values["remote.action"], float(values["remote.timeout_s"]), codec.format
            )
            predictor = self._remote
            summary["action"] = values["remote.action"]
            description = f"remote SkyNet at {values['remote.action']}"
        elif mode == "classical":
            dem = values["classical.dem_path"]
            predictor = ClassicalPredictor(ElevationModel(dem) if dem else None)
            summary["ground heights"] = dem or "flat ground at the map origin"
            description = "the classical SIFT + PnP matcher (no model)"
        else:
            model, device = self._load_model(values)
            summary["model"] = model.config.name
            summary["parameters (M)"] = round(sum(p.numel() for p in model.parameters()) / 1e6, 3)
            summary["device"] = str(device)
            description = f"{model.config.name} on {device}"
        self._localizer = Localizer(
            model,
            provider,
            config,
            origin,
            self._on_result,
            self._on_worker_error,
            predictor=predictor,
        )
        codec = config.codec
        self._model_summary = {
            **summary,
            "image size": config.image_size,
            "image codec": "none" if codec is None else codec.format,
            "window size": values["window_size"],
            "tile source": values["tile_source"],
        }
        self._ingest = LocalizerInputs(
            inputs, self._static_tree, self._on_time_jump, self._problems
        )
        self._subscribe(self._ingest)
        self._send_earth_frame()
        self.get_logger().info(f"configured: {description}, cameras {[c.name for c in cameras]}")

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = True
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._active = False
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Unsubscribe, stop inference and free the model."""
        self.release()
        self._config_problem = NOT_CONFIGURED
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    @property
    def configuration_problem(self) -> str:
        """Why the node is not configured ('' once it is)."""
        return self._config_problem

    @property
    def last_result(self) -> tuple[LocalizationResult | None, float]:
        """The latest window's result and its latency (ms, image receipt to published)."""
        with self._lock:
            return self._last_result, self._last_latency_ms

    def release(self) -> None:
        """Stop inference and free everything `on_configure` made (used at process exit)."""
        self._active = False
        self._release()

    def _load_model(self, values: dict[str, Any]) -> tuple[SkyNet, torch.device]:
        path = values["model_path"] or str(_shipped_model())
        threads = int(values["torch_threads"])
        if threads > 0:
            torch.set_num_threads(threads)
        device = select_device(values["device"])
        return load_model(path, device), device

    def _open_tiles(self, values: dict[str, Any]) -> TileProvider:
        source = values["tile_source"]
        if not source:
            raise ValueError("parameter 'tile_source' is empty")
        if source.startswith(SERVICE_PREFIX):
            self._tile_client = ServiceTileProvider(
                self, source[len(SERVICE_PREFIX) :], float(values["tiles.service_timeout_s"])
            )
            return self._tile_client
        self._tile_service = TileService.open(
            source,
            cache_dir=values["tile_cache_dir"] or None,
            allow_network=bool(values["allow_network"]),
        )
        return self._tile_service.get_tiles

    def _subscribe(self, ingest: LocalizerInputs) -> None:
        """Every input topic straight into `ingest`; images only while active."""
        config = ingest.config
        for index, camera in enumerate(config.cameras):
            kind = CompressedImage if camera.compressed else Image
            self._inputs += [
                self.create_subscription(
                    kind,
                    camera.image_topic,
                    lambda msg, i=index: self._on_image(ingest, i, msg),
                    qos_profile_sensor_data,
                ),
                self.create_subscription(
                    CameraInfo,
                    camera.info_topic,
                    lambda msg, i=index: ingest.on_camera_info(i, msg),
                    qos_profile_sensor_data,
                ),
            ]
        if config.navsat_topic:
            self._inputs.append(
                self.create_subscription(
                    NavSatFix, config.navsat_topic, ingest.on_navsat, qos_profile_sensor_data
                )
            )
        if config.odom_topic:
            self._inputs.append(
                self.create_subscription(
                    Odometry, config.odom_topic, ingest.on_odometry, qos_profile_sensor_data
                )
            )
        if any(c.extrinsic is None for c in config.cameras):
            self._inputs.append(
                self.create_subscription(TFMessage, "/tf_static", self._on_tf_static, STATIC_TF_QOS)
            )

    def _release(self) -> None:
        """Undo `on_configure`: subscriptions, inference thread, model, tile source."""
        for subscription in self._inputs:
            self.destroy_subscription(subscription)
        self._inputs = []
        if self._localizer is not None:
            self._localizer.close()
            self._localizer = None
        if self._remote is not None:
            self._remote.close()
            self._remote = None
        if self._tile_client is not None:
            self._tile_client.close()
            self._tile_client = None
        if self._tile_service is not None:
            self._tile_service.close()
            self._tile_service = None
        self._ingest = None
        self._map_odom = None
        self._sensor_time = None
        self._earth_sent = False  # a new configuration may have another origin
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # inputs (executor thread) ----------------------------------------------------------------

    def _on_tf_static(self, msg: TFMessage) -> None:
        for t in msg.transforms:
            self._static_tree.set(t.header.frame_id, t.child_frame_id, pose_matrix(t.transform))

    def _on_image(self, ingest: LocalizerInputs, index: int, msg: Image | CompressedImage) -> None:
        """Hand the image to the ingest; submit the window or record the no-prior result."""
        localizer = self._localizer
        if not self._active or localizer is None:
            return
        self._sensor_time = (stamp_seconds(msg.header.stamp), self._clock_seconds())
        request = ingest.on_image(index, msg)
        if isinstance(request, WindowRequest):
            localizer.submit(request)
        elif request is not None:
            self._record(request)

    def _on_time_jump(self) -> None:
        self.get_logger().warning("time jumped backwards: window, smoother and priors reset")
        if self._localizer is not None:
            self._localizer.reset()

    # results (inference thread) ---------------------------------------------------------------

    def _on_result(self, result: LocalizationResult) -> None:
        start = time.perf_counter()
        self._send_earth_frame()  # the first window fixes the map origin, posed or not
        ingest = self._ingest
        localized = result.pose is not None and result.geodetic is not None
        if localized and self._active:
            self._publish_pose(result.stamp, result.pose, result.geodetic)
        if ingest is not None and (self._active or not localized):
            ingest.record_result(result)  # a published pose is the next prior, a lost one not
        result.timings["publish"] = 1000.0 * (time.perf_counter() - start)
        self._record(result)

    def _publish_pose(
        self, seconds: float, pose: PoseEstimate, geodetic: tuple[float, float, float]
    ) -> None:
        """TF, ~/pose and ~/fix of one localized base pose."""
        values = self._values
        stamp = stamp_message(seconds)
        if values["publish_tf"]:
            self._send_transform(seconds, pose, stamp)
        self._pose_pub.publish(pose_message(values["frames.map"], pose, stamp))
        base = values["frames.base"]
        self._fix_pub.publish(navsat_message(base, geodetic, pose.covariance, stamp))
        self._send_earth_frame()

    def _send_transform(self, seconds: float, pose: PoseEstimate, stamp: Time) -> None:
        """REP-105: map → odom when odometry is known at the stamp, else map → base."""
        map_frame = self._values["frames.map"]
        odometry = None if self._ingest is None else self._ingest.odometry
        if odometry is None:
            base = self._values["frames.base"]
            self._tf.send_transform(
                transform_message(map_frame, base, pose.position, pose.quaternion, stamp)
            )
            return
        T_odom_base = odometry.at(seconds)
        if T_odom_base is None:
            self._tf_skipped += 1
            return
        T_map_base = from_xyz_quat(pose.position, pose.quaternion)
        self._map_odom = to_xyz_quat(T_map_base @ inverse(T_odom_base))
        odom = self._values["frames.odom"]
        self._tf.send_transform(transform_message(map_frame, odom, *self._map_odom, stamp))

    def _record(self, result: LocalizationResult) -> None:
        with self._lock:
            self._last_result = result
            self._last_latency_ms = 1000.0 * (time.monotonic() - result.received)
            if result.ok:
                self._published += 1
                self._last_pose_stamp = result.stamp

    def _on_worker_error(self, error: Exception) -> None:
        self.get_logger().error(f"localization failed: {error!r}")

    # periodic ---------------------------------------------------------------------------------

    def _send_earth_frame(self) -> None:
        localizer = self._localizer
        if self._earth_sent or localizer is None or localizer.origin is None:
            return
        if self._values["publish_earth_frame"]:
            self._static_tf.send_transform(
                transform_message(
                    self._values["frames.earth"],
                    self._values["frames.map"],
                    *to_xyz_quat(enu_in_ecef(localizer.origin)),
                    self.get_clock().now().to_msg(),
                )
            )
        self._earth_sent = True

    def _republish_map_odom(self) -> None:
        """Re-send the last map → odom in the images' time base (a bag's without use_sim_time):
        the newest image stamp advanced by the node-clock time since it came."""
        sensor = self._sensor_time
        if not self._active or self._map_odom is None or sensor is None:
            return
        if self._values["publish_tf"]:
            stamp = sensor[0] + max(self._clock_seconds() - sensor[1], 0.0)
            self._tf.send_transform(
                transform_message(
                    self._values["frames.map"],
                    self._values["frames.odom"],
                    *self._map_odom,
                    stamp_message(stamp),
                )
            )

    def _clock_seconds(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _publish_diagnostics(self) -> None:
        now = self.get_clock().now()
        statuses = [self._model_status(), self._localization_status(now), self._inputs_status()]
        if self._remote is not None:
            statuses.append(self._inference_status(self._remote))
        self._diagnostics_pub.publish(diagnostic_array(now.to_msg(), statuses))

    def _model_status(self) -> DiagnosticStatus:
        name = f"{self.get_name()}: model"
        path = {"model_path": self._values.get("model_path") or SHIPPED_MODEL}
        if self._config_problem == NOT_CONFIGURED:
            return diagnostic_status(name, "warn", NOT_CONFIGURED, path)
        if self._config_problem:
            return diagnostic_status(name, "error", self._config_problem, path)
        loaded = LOADED_MESSAGES.get(str(self._model_summary.get("inference")), "model loaded")
        return diagnostic_status(name, "ok", loaded, {**path, **self._model_summary})

    def _inference_status(self, remote: RemoteInference) -> DiagnosticStatus:
        """The remote server: reachable or lost (and why), bytes per window, round trip."""
        name = f"{self.get_name()}: inference"
        stats = remote.stats()
        ready = remote.server_ready()
        values: dict[str, object] = {
            "action": remote.action,
            "server discovered": ready,
            "windows answered": stats.answered,
            "windows failed": stats.failed,
            "bytes per window": stats.bytes_sent,
            "round trip (ms)": stats.round_trip_ms,
            "server (ms)": stats.server_ms,
            "server model (ms)": stats.model_ms,
            "server device": stats.device,
            "server model": stats.model,
        }
        if not ready:
            return diagnostic_status(
                name, "error", f"inference server lost: {remote.action} not available", values
            )
        if stats.state == "ok":
            return diagnostic_status(name, "ok", "inference server answering", values)
        if stats.answered == 0 and stats.failed == 0:
            return diagnostic_status(name, "warn", "inference server found, no window yet", values)
        return diagnostic_status(name, "error", f"inference server lost: {stats.reason}", values)

    def _localization_status(self, now: rclpy.time.Time) -> DiagnosticStatus:
        name = f"{self.get_name()}: localization"
        localizer = self._localizer
        if localizer is None or not self._active:
            return diagnostic_status(name, "warn", "inactive", {})
        result, latency = self.last_result
        with self._lock:
            published, pose_stamp = self._published, self._last_pose_stamp
        counts = localizer.stats()
        age = "never" if pose_stamp is None else f"{now.nanoseconds * 1e-9 - pose_stamp:.2f}"
        values: dict[str, object] = {
            "poses published": published,
            "last fix age (s)": age,
            "tf skipped (no odometry)": self._tf_skipped,
        }
        values.update({f"windows {k}": v for k, v in sorted(counts.items())})
        if result is None:
            return diagnostic_status(name, "warn", "waiting for a full keyframe window", values)
        values.update(
            {
                "latency (ms)": latency,
                **{f"{stage} (ms)": ms for stage, ms in result.timings.items()},
                "tiles": result.tiles,
                "tile source says": localizer.last_tile_message,
                "inlier tiles": result.inliers,
                "pose confidence": result.pose_confidence,
                "prior": result.prior_source,
            }
        )
        if localizer.origin is not None:
            origin = localizer.origin
            values["map origin"] = f"{origin.lat0:.7f}, {origin.lon0:.7f}, {origin.alt0:.2f}"
        if result.ok:
            return diagnostic_status(name, "ok", "pose published", values)
        message = f"no pose ({result.category}): {result.rejection}"
        return diagnostic_status(name, "warn", message, values)

    def _inputs_status(self) -> DiagnosticStatus:
        name = f"{self.get_name()}: inputs"
        problems = self._problems
        values: dict[str, object] = {}
        ingest = self._ingest
        for camera in [] if ingest is None else ingest.cameras:
            label = camera.settings.name
            values[f"{label} CameraInfo"] = camera.info_problem or "ok"
            values[f"{label} extrinsic"] = ingest.mount(camera)[1]
        for kind, count in sorted(problems.counts.items()):
            values[f"bad {kind}"] = count
            values[f"last bad {kind}"] = problems.last[kind]
        if ingest is not None:
            values.update(
                {f"keyframes {k}": v for k, v in sorted(ingest.keyframe_rejections.items())}
            )
            values["sync dropped"] = ingest.sync_dropped
        if time.monotonic() - problems.latest_time < RECENT_INPUT_S:
            return diagnostic_status(name, "warn", f"bad input: {problems.latest}", values)
        return diagnostic_status(name, "ok", "inputs ok", values)


def _shipped_model() -> str:
    return str(find_share_file("sky2ground_ros", SHIPPED_MODEL))


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT/SIGTERM or an external shutdown."""
    return run_node(LocalizerNode, args, release=LocalizerNode.release)


if __name__ == "__main__":
    sys.exit(main())
