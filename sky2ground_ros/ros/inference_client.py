"""The localizer's client of a ``skynet_inference`` node: a `Predictor` over the Localize action.

It runs on the localizer's inference thread and blocks there while the node's executor
(another thread) completes the action futures, so the executor never waits. One goal is in
flight at a time (the localizer's one-slot mailbox drops windows that go stale meanwhile).
A goal not answered within ``timeout_s`` is cancelled and abandoned: its late answer, if it
ever comes, is ignored, so no stale pose can be published. While the server is missing,
windows are refused at once; the action client notices a new server by itself (DDS
discovery), so inference resumes as soon as one is up.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from rclpy.action import ActionClient
from rclpy.node import Node
from rclpy.serialization import serialize_message
from rclpy.task import Future
from sky2ground_interfaces.action import Localize

from sky2ground_ros.localizer.pipeline import PreparedWindow, RejectedWindowError, WindowPrediction
from sky2ground_ros.ros.localize_action import window_goal, window_prediction

CATEGORY = "inference"
"""Rejection category of windows the remote server did not answer."""


@dataclass
class RemoteStats:
    """What /diagnostics reports about the remote server."""

    state: str = "waiting for the server"
    """'ok', 'unavailable', 'timeout', 'refused' or the initial waiting state."""
    reason: str = ""
    answered: int = 0
    failed: int = 0
    bytes_sent: int = 0
    """Serialized goal size of the latest window."""
    round_trip_ms: float = float("nan")
    server_ms: float = float("nan")
    model_ms: float = float("nan")
    device: str = ""
    model: str = ""


class RemoteInference:
    """Sends prepared windows to the Localize action server and returns its prediction."""

    def __init__(self, node: Node, action: str, timeout_s: float, image_format: str) -> None:
        self.action = action
        self._node = node
        self._client = ActionClient(node, Localize, action)
        self._timeout_s = timeout_s
        self._format = image_format
        self._lock = threading.Lock()
        self._stats = RemoteStats()

    def stats(self) -> RemoteStats:
        """A copy of the current statistics."""
        with self._lock:
            return RemoteStats(**vars(self._stats))

    def server_ready(self) -> bool:
        """Whether an action server is discovered now."""
        return self._client.server_is_ready()

    def __call__(self, prepared: PreparedWindow) -> WindowPrediction:
        if not self._client.server_is_ready():
            self._fail("unavailable", f"inference server {self.action} is not available")
        goal = window_goal(prepared, self._format)
        size = len(serialize_message(goal))
        start = time.perf_counter()
        deadline = time.monotonic() + self._timeout_s
        accepted = self._wait(self._client.send_goal_async(goal), deadline)
        if accepted is None:
            self._fail("timeout", f"inference server {self.action} did not take the window")
        if not accepted.accepted:
            self._fail("refused", f"inference server {self.action} refused the window")
        answer = self._wait(accepted.get_result_async(), deadline)
        if answer is None:
            accepted.cancel_goal_async()  # free the server; its late answer is ignored
            self._fail("timeout", f"no answer from {self.action} in {self._timeout_s:g} s")
        result = answer.result
        if result.status != Localize.Result.STATUS_OK:
            self._fail("refused", f"inference server: {result.message}")
        prediction = window_prediction(list(result.frames))
        if len(prediction.confidence) != len(prepared.view_types):
            self._fail("refused", "inference server answered for another number of frames")
        with self._lock:
            stats = self._stats
            stats.state, stats.reason = "ok", ""
            stats.answered += 1
            stats.bytes_sent = size
            stats.round_trip_ms = 1000.0 * (time.perf_counter() - start)
            stats.server_ms, stats.model_ms = result.server_ms, result.model_ms
            stats.device, stats.model = result.device, result.model
        return prediction

    def close(self) -> None:
        """Destroy the action client."""
        self._client.destroy()

    def _wait(self, future: Future, deadline: float) -> Any:
        """The future's result, or None when the deadline passes first."""
        done = threading.Event()
        future.add_done_callback(lambda _future: done.set())
        if not done.wait(max(0.0, deadline - time.monotonic())):
            return None
        return future.result()

    def _fail(self, state: str, reason: str) -> None:
        with self._lock:
            self._stats.state, self._stats.reason = state, reason
            self._stats.failed += 1
        raise RejectedWindowError(CATEGORY, reason)
