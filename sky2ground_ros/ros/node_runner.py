"""Process entry point shared by the project's nodes: local DDS, init, spin, clean stop.

SIGTERM is handled here rather than by rclpy, and the executor polls every 0.1 s, so a stop
request is honoured at once: rclpy's own SIGTERM handling can miss the wake-up of a blocked
wait and leave the process running (seen with nodes that import rasterio/pyproj).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import rclpy
from rclpy.executors import Executor, ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

from sky2ground_ros.ros.dds import ensure_local_dds

NodeT = TypeVar("NodeT", bound=Node)

POLL_S = 0.1


def run_node(
    make_node: Callable[[], NodeT],
    args: Sequence[str] | None = None,
    make_executor: Callable[[], Executor] = SingleThreadedExecutor,
    release: Callable[[NodeT], None] | None = None,
) -> int:
    """Spin ``make_node()`` until SIGINT/SIGTERM or an external shutdown; returns exit code 0.

    Node and executor are made after ``rclpy.init`` (both need the initialised context).
    ``release`` frees the node's own resources (model, worker threads) before the executor
    and the node are torn down.
    """
    ensure_local_dds()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.SIGINT)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    node = make_node()
    executor = make_executor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not stop.is_set():
            executor.spin_once(timeout_sec=POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if release is not None:
            release(node)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0
