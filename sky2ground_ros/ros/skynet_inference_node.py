"""ROS 2 lifecycle node `skynet_inference`: SkyNet behind the ``~/localize`` action.

For the tethered deployment: the onboard localizer (``inference: remote``) prepares windows
and sends them here; this node, on the machine with the GPU, only runs the model. The model
loads and is warmed up in ``configure`` (CUDA when present, else CPU) and freed in
``cleanup``; the action server exists only while the node is active, so clients see the
server come and go with it. Goals run one at a time (one model); a cancelled goal stops at
the next stage boundary. Parameters: `PARAMETERS`.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

import torch
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.action.server import ServerGoalHandle
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sky2ground_interfaces.action import Localize

from sky2ground_ros.localizer.pipeline import run_model, select_device
from sky2ground_ros.localizer.preprocess import batch_tensor
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.model.weights import WeightsError, load_model
from sky2ground_ros.resources import SHIPPED_MODEL, find_share_file
from sky2ground_ros.ros.diagnostics import diagnostic_array, diagnostic_status
from sky2ground_ros.ros.localize_action import goal_images, prediction_frames
from sky2ground_ros.ros.node_runner import run_node
from sky2ground_ros.views import ViewType

NODE_NAME = "skynet_inference"
PARAMETERS: dict[str, tuple[Any, str]] = {
    "autostart": (True, "configure and activate at start (no lifecycle manager needed)"),
    "model_path": ("", f"SkyNet weights; empty: the package's {SHIPPED_MODEL}"),
    "device": ("auto", "auto (CUDA when present, else CPU), cpu, cuda or cuda:N"),
    "torch_threads": (0, "CPU threads for inference; 0 keeps torch's default"),
    "warmup.image_size": (84, "image side of the warm-up window (0: no warm-up)"),
    "warmup.frames": (4, "camera frames of the warm-up window"),
    "warmup.tiles": (4, "satellite tiles of the warm-up window"),
    "max_images": (64, "largest window (frames + tiles) accepted"),
    "diagnostics_period_s": (1.0, "period of /diagnostics"),
}


class SkyNetInferenceNode(LifecycleNode):
    """Serves `Localize` goals with one loaded SkyNet."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description))
        self._model: SkyNet | None = None
        self._device = ""
        self._problem = "not configured"
        self._model_lock = threading.Lock()
        self._server: ActionServer | None = None
        self._group = ReentrantCallbackGroup()
        self._counts = {"succeeded": 0, "bad request": 0, "failed": 0, "canceled": 0}
        self._last_ms = {"decode": float("nan"), "model": float("nan"), "total": float("nan")}
        self._warmup_ms = float("nan")
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.create_timer(self._param("diagnostics_period_s"), self._publish_diagnostics)
        autostart = self._param("autostart")
        if autostart and self.trigger_configure() == TransitionCallbackReturn.SUCCESS:
            self.trigger_activate()

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    # lifecycle -----------------------------------------------------------------------------

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Load the model on its device and run the warm-up window."""
        try:
            threads = int(self._param("torch_threads"))
            if threads > 0:
                torch.set_num_threads(threads)
            device = select_device(str(self._param("device")))
            path = self._param("model_path") or str(
                find_share_file("sky2ground_ros", SHIPPED_MODEL)
            )
            self._model = load_model(path, device)
            self._device = str(device)
            self._warmup_ms = self._warm_up(self._model)
        except (ValueError, WeightsError, OSError, RuntimeError) as error:
            self._problem = str(error)
            self.get_logger().error(f"configure failed: {error}")
            self.release()
            return TransitionCallbackReturn.FAILURE
        self._problem = ""
        self.get_logger().info(
            f"SkyNet {self._model.config.name} on {self._device}, warm-up {self._warmup_ms:.0f} ms"
        )
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Offer the action."""
        self._server = ActionServer(
            self,
            Localize,
            "~/localize",
            self._execute,
            goal_callback=self._on_goal,
            cancel_callback=lambda _request: CancelResponse.ACCEPT,
            callback_group=self._group,
        )
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._destroy_server()
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        """Free the model."""
        self.release()
        self._problem = "not configured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self.release()
        return TransitionCallbackReturn.SUCCESS

    def _warm_up(self, model: SkyNet) -> float:
        """One window of the configured shape, so the first real goal pays no start-up cost."""
        size = int(self._param("warmup.image_size"))
        if size <= 0:
            return float("nan")
        frames, tiles = int(self._param("warmup.frames")), int(self._param("warmup.tiles"))
        views = [ViewType.AERIAL] * frames + [ViewType.SATELLITE] * tiles
        images = torch.zeros(len(views), 3, size, size, dtype=torch.uint8)
        start = time.perf_counter()
        run_model(model, images, views)
        return 1000.0 * (time.perf_counter() - start)

    def _destroy_server(self) -> None:
        if self._server is not None:
            self._server.destroy()
            self._server = None

    def release(self) -> None:
        """Withdraw the action and free the model (also used at process exit)."""
        self._destroy_server()
        with self._model_lock:
            self._model = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # the action ---------------------------------------------------------------------------

    def _on_goal(self, goal: Localize.Goal) -> GoalResponse:
        if self._model is None:
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _execute(self, handle: ServerGoalHandle) -> Localize.Result:
        """Decode, run the model, answer; stage by stage so a cancel takes effect early."""
        start = time.perf_counter()
        result = Localize.Result()
        with self._model_lock:
            model = self._model
            if model is None:
                return self._end(handle, result, "failed", "model not loaded", start)
            if handle.is_cancel_requested:
                return self._end(handle, result, "canceled", "cancelled before start", start)
            self._feedback(handle, "decoding", start)
            try:
                images, view_types = goal_images(handle.request)
                self._check_shape(model, images[0].shape[0], images[0].shape[1], len(images))
            except ValueError as error:
                return self._end(handle, result, "bad request", str(error), start)
            result.decode_ms = 1000.0 * (time.perf_counter() - start)
            if handle.is_cancel_requested:
                return self._end(handle, result, "canceled", "cancelled after decoding", start)
            self._feedback(handle, "inference", start)
            model_start = time.perf_counter()
            try:
                prediction = run_model(model, batch_tensor(images), view_types)
            except RuntimeError as error:  # e.g. CUDA out of memory: answer, keep serving
                return self._end(handle, result, "failed", f"inference failed: {error}", start)
            result.model_ms = 1000.0 * (time.perf_counter() - model_start)
            if handle.is_cancel_requested:
                return self._end(handle, result, "canceled", "cancelled during inference", start)
        result.frames = prediction_frames(prediction)
        result.model, result.device = model.config.name, self._device
        self._last_ms.update(decode=result.decode_ms, model=result.model_ms)
        return self._end(handle, result, "succeeded", "", start)

    def _check_shape(self, model: SkyNet, height: int, width: int, count: int) -> None:
        patch = model.config.patch_size
        if height != width or height % patch:
            raise ValueError(f"images are {width}x{height}; need a square multiple of {patch}")
        if count > int(self._param("max_images")):
            raise ValueError(f"{count} images exceed max_images {self._param('max_images')}")

    def _feedback(self, handle: ServerGoalHandle, stage: str, start: float) -> None:
        elapsed = 1000.0 * (time.perf_counter() - start)
        handle.publish_feedback(Localize.Feedback(stage=stage, elapsed_ms=elapsed))

    def _end(
        self,
        handle: ServerGoalHandle,
        result: Localize.Result,
        outcome: str,
        why: str,
        start: float,
    ) -> Localize.Result:
        """Finish the goal with its outcome and count it."""
        status = {
            "succeeded": Localize.Result.STATUS_OK,
            "bad request": Localize.Result.STATUS_BAD_REQUEST,
            "failed": Localize.Result.STATUS_FAILED,
            "canceled": Localize.Result.STATUS_CANCELED,
        }[outcome]
        result.status, result.message = status, why
        result.server_ms = 1000.0 * (time.perf_counter() - start)
        if outcome == "succeeded":
            handle.succeed()
        elif outcome == "canceled":
            handle.canceled()
        else:
            handle.abort()
            self.get_logger().warning(f"window refused: {why}")
        self._counts[outcome] += 1
        self._last_ms["total"] = result.server_ms
        return result

    # diagnostics --------------------------------------------------------------------------

    def _publish_diagnostics(self) -> None:
        name = f"{self.get_name()}: model"
        values: dict[str, object] = {"model_path": self._param("model_path") or SHIPPED_MODEL}
        if self._model is None:
            level = "warn" if self._problem == "not configured" else "error"
            status: DiagnosticStatus = diagnostic_status(name, level, self._problem, values)
        else:
            values.update(
                {
                    "model": self._model.config.name,
                    "device": self._device,
                    "warm-up (ms)": self._warmup_ms,
                    "serving": self._server is not None,
                    **{f"windows {k}": v for k, v in self._counts.items()},
                    **{f"last {k} (ms)": v for k, v in self._last_ms.items()},
                }
            )
            message = "serving" if self._server is not None else "loaded, inactive"
            status = diagnostic_status(name, "ok", message, values)
        now = self.get_clock().now().to_msg()
        self._diagnostics.publish(diagnostic_array(now, [status]))


def main(args: Sequence[str] | None = None) -> int:
    """Run the node until SIGINT/SIGTERM or an external shutdown.

    Two executor threads: a goal runs on one while the other takes cancel requests and
    publishes diagnostics.
    """
    return run_node(
        SkyNetInferenceNode,
        args,
        lambda: MultiThreadedExecutor(num_threads=2),
        release=SkyNetInferenceNode.release,
    )


if __name__ == "__main__":
    sys.exit(main())
