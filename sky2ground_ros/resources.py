"""Locate installed package resources (share/<pkg>/...) without requiring a sourced ROS setup.

ament_index needs AMENT_PREFIX_PATH, which a plain venv with the ROS 2 wheels does not set;
the venv is itself an install prefix, so sys.prefix is searched after AMENT_PREFIX_PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]
SHIPPED_MODEL = "models/skynet_location_tiny.safetensors"
"""The default checkpoint (share/sky2ground_ros/...) of the node, `replay` and `demo`."""


def install_prefixes() -> list[Path]:
    """AMENT_PREFIX_PATH entries, then this interpreter's prefix."""
    entries = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return [Path(p) for p in entries] + [Path(sys.prefix)]


def find_share_file(package: str, relative: str) -> Path:
    """Path of share/<package>/<relative> in the first prefix that has it.

    For this package, the source checkout (editable install) is searched last.
    """
    candidates = [prefix / "share" / package / relative for prefix in install_prefixes()]
    if package == "sky2ground_ros":
        candidates.append(SOURCE_ROOT / relative)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"share/{package}/{relative} not found in {install_prefixes()}")
