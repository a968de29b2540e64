"""What the tethered tests share: the scene, the localizer parameters and a process group.

`ProcessGroup` starts the real nodes (player, localizers, skynet_inference, listener) as
child processes and collects the listener's JSON lines while they run, so a test can act
(kill the inference node, start a new one) on what has been published so far.
"""

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nodes.localizer_fixtures import OPEN_THRESHOLDS, aerial_localizer_params

from sky2ground_ros.data.scene_format import Scene

NODES = Path(__file__).parent
REPO = NODES.parents[1]
MODEL = REPO / "models" / "skynet_tiny.safetensors"
WIDE_OPEN = 1.0e18
# The shipped tiny checkpoint almost never passes the default registration and gate (see
# test_ros_localizer_e2e), so they are opened to let every window reach ~/pose; the smoother's
# noise is so large that each pose is its own window's registered fix (to ~1e-9 m), and
# max_fix_age_s is so short that the tiles are always those around initial_pose (not around
# the last pose): a window's pose does not depend on which windows came before, so two
# localizers can be compared window by window even when one skipped a stale window.
TETHER_THRESHOLDS = {
    **OPEN_THRESHOLDS,
    "smoothing": {"position_noise_m2_per_s": WIDE_OPEN, "rotation_noise_rad2_per_s": WIDE_OPEN},
}


def localizer_params(scene: Scene, **overrides: Any) -> dict[str, Any]:
    """Parameters of a localizer on the scene's aerial camera (one torch thread)."""
    return aerial_localizer_params(
        scene, MODEL, max_fix_age_s=0.01, **{**TETHER_THRESHOLDS, **overrides}
    )


class ProcessGroup:
    """Child processes of one test; the listener's lines are parsed as they arrive."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def start(self, name: str, *args: str, pipe: bool = False) -> subprocess.Popen:
        """Start ``python args...``; output to ``<log_dir>/<name>.log`` unless piped."""
        with open(self.log_dir / f"{name}.log", "a") as log:
            process = subprocess.Popen(
                [sys.executable, *args],
                env=self.env,
                stdout=subprocess.PIPE if pipe else log,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.processes[name] = process
        return process

    def start_node(self, name: str, module: str, params: Path | None = None) -> None:
        """A node module, with its parameter file and ``name`` as its node name."""
        args = ["-m", module, "--ros-args", "-r", f"__node:={name}"]
        self.start(name, *args, *(["--params-file", str(params)] if params else []))

    def start_listener(self, duration_s: float, camera_topic: str, *nodes: str) -> None:
        script = str(NODES / "tethered_listener.py")
        listener = self.start("listener", script, str(duration_s), camera_topic, *nodes, pipe=True)
        threading.Thread(target=self._read, args=(listener,), daemon=True).start()

    def _read(self, process: subprocess.Popen) -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if line.startswith("{"):
                with self._lock:
                    self.events.append(json.loads(line))

    def snapshot(self, kind: str) -> list[dict[str, Any]]:
        """Events of one kind received so far."""
        with self._lock:
            return [e for e in self.events if e["kind"] == kind]

    def wait_for(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll until ``condition()``; on timeout, AssertionError with the processes' logs."""
        end = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > end:
                poses = {}
                for pose in self.snapshot("pose"):
                    poses[pose["node"]] = poses.get(pose["node"], 0) + 1
                last = {d["name"]: d["message"] for d in self.snapshot("diagnostics")}
                raise AssertionError(
                    f"timed out after {timeout_s} s waiting for {what}; poses {poses}, "
                    f"frames {len(self.snapshot('frame'))}, diagnostics {last}\n{self.stop_all()}"
                )
            time.sleep(0.1)

    def stop_all(self) -> str:
        """Terminate every process still running; returns their logs."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in self.log_dir.glob("*.log"))
