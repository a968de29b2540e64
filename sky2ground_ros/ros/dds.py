"""Keep DDS on this host unless the user configured otherwise (network rule of the project)."""

from __future__ import annotations

import os

from sky2ground_ros.resources import find_share_file


def ensure_local_dds() -> None:
    """Default to the shipped loopback/shared-memory-only profile and localhost discovery."""
    if "FASTDDS_DEFAULT_PROFILES_FILE" not in os.environ:
        profile = find_share_file("sky2ground_ros", "config/fastdds_loopback.xml")
        os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(profile)
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
