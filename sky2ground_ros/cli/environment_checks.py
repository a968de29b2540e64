"""Checks of the installed environment, shared by `sky2ground doctor` and `selfcheck`."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sky2ground_ros.resources import find_share_file

# Type hash of tf2_msgs/msg/TFMessage in ROS 2 Jazzy/Kilted: a locally built tf2_msgs must
# produce the same hash to be wire-compatible with every other ROS 2 node.
TF_MESSAGE_TYPE_HASH = "RIHS01_e369d0f05a23ae52508854b66f6aa0437f3449d652e8cbf22d5abe85d020f087"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one environment check."""

    name: str
    ok: bool
    detail: str
    required: bool = True


def _module_version(module_name: str) -> str:
    module = importlib.import_module(module_name)
    return str(getattr(module, "__version__", "installed"))


def _check_torch() -> str:
    import torch

    device = "cuda " + torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return f"{torch.__version__} (device: {device}, threads: {torch.get_num_threads()})"


def _check_rclpy() -> str:
    import rclpy.utilities

    return f"installed (rmw: {rclpy.utilities.get_rmw_implementation_identifier()})"


def _interface_type_hash(package: str, interface: str) -> str:
    description = find_share_file(package, f"{interface}.json")
    hashes = json.loads(description.read_text())["type_hashes"]
    return next(h["hash_string"] for h in hashes if h["type_name"] == f"{package}/{interface}")


def _check_tf2_msgs() -> str:
    importlib.import_module("tf2_msgs.msg").TFMessage()
    type_hash = _interface_type_hash("tf2_msgs", "msg/TFMessage")
    if type_hash != TF_MESSAGE_TYPE_HASH:
        raise RuntimeError(f"TFMessage type hash {type_hash} differs from ROS 2's")
    return f"available (TFMessage {type_hash[:18]}…, equals ROS 2's)"


def _check_interfaces() -> str:
    importlib.import_module("sky2ground_interfaces.srv").GetTiles.Request()
    return "available"


def _check_onnxruntime() -> str:
    import onnxruntime

    return (
        f"{onnxruntime.__version__} (providers: {', '.join(onnxruntime.get_available_providers())})"
    )


def _version_of(module_name: str) -> Callable[[], str]:
    return lambda: _module_version(module_name)


CHECKS: tuple[tuple[str, Callable[[], str], bool], ...] = (
    ("torch", _check_torch, True),
    ("numpy", _version_of("numpy"), True),
    ("opencv", _version_of("cv2"), True),
    ("pyproj", _version_of("pyproj"), True),
    ("safetensors", _version_of("safetensors"), True),
    ("rosbags", _version_of("rosbags"), True),
    ("rclpy", _check_rclpy, True),
    ("tf2_msgs", _check_tf2_msgs, True),
    ("sky2ground_interfaces", _check_interfaces, True),
    ("rasterio", _version_of("rasterio"), True),
    ("onnxruntime", _check_onnxruntime, False),
    ("onnx", _version_of("onnx"), False),
)


def run_checks() -> list[CheckResult]:
    """Run every check; an exception in one becomes a failed result, never a crash."""
    results = []
    for name, check, required in CHECKS:
        try:
            results.append(CheckResult(name, True, check(), required))
        except Exception as error:
            results.append(CheckResult(name, False, f"{type(error).__name__}: {error}", required))
    return results


def format_results(results: list[CheckResult]) -> str:
    """Render results as an aligned table, one line per component."""
    width = max(len(r.name) for r in results)
    lines = []
    for r in results:
        status = "ok" if r.ok else ("MISSING" if r.required else "missing (optional)")
        lines.append(f"{r.name:<{width}}  {status:<18}  {r.detail}")
    return "\n".join(lines)
