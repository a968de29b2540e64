"""Two real rclpy processes exchange tf2_msgs/TFMessage on /tf and /tf_static."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sky2ground_ros.cli.environment_checks import TF_MESSAGE_TYPE_HASH

NODES = Path(__file__).parent / "nodes"


@pytest.mark.ros
def test_tf_message_crosses_processes(ros_env: dict[str, str]) -> None:
    publisher = subprocess.Popen(
        [sys.executable, str(NODES / "tf_publisher.py"), "20"], env=ros_env
    )
    try:
        time.sleep(1.0)  # the listener joins late: /tf_static must still arrive (latched)
        listener = subprocess.run(
            [sys.executable, str(NODES / "tf_listener.py"), "15"],
            env=ros_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        publisher.terminate()
        publisher.wait(timeout=10)
    got = json.loads(listener.stdout.strip().splitlines()[-1])
    frame, child, x = got["/tf"][0]
    assert (frame, child) == ("map", "base_link") and x >= 1.0
    assert got["/tf_static"] == [["earth", "map", 6.4e6]]
    assert got["type_hash"] and all(TF_MESSAGE_TYPE_HASH in h for h in got["type_hash"])
