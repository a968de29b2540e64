"""Test-wide settings: every DDS participant stays on this host, each test on its own domain."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LOOPBACK_PROFILE = REPO_ROOT / "config" / "fastdds_loopback.xml"

# Set before any rclpy import so in-process and child-process participants use them.
os.environ["FASTDDS_DEFAULT_PROFILES_FILE"] = str(LOOPBACK_PROFILE)
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")

_used_domains: set[int] = set()


@pytest.fixture
def ros_domain_id(monkeypatch: pytest.MonkeyPatch) -> int:
    """A ROS_DOMAIN_ID not used by any other test of this run (set in the environment)."""
    rng = random.Random(os.getpid())
    candidates = [d for d in range(1, 101) if d not in _used_domains]
    domain = rng.choice(candidates)
    _used_domains.add(domain)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(domain))
    return domain


@pytest.fixture
def ros_env(ros_domain_id: int) -> dict[str, str]:
    """Environment for child processes that run rclpy nodes (loopback-only DDS, own domain)."""
    env = dict(os.environ)
    env["ROS_DOMAIN_ID"] = str(ros_domain_id)
    return env
