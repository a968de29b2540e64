"""The shipped checkpoint through real ROS 2: a recorded bag played into the localizer node.

Four processes: a bag player (what `ros2 bag play` does: camera, CameraInfo, /gps/fix, /odom,
/tf, /tf_static in real time), the node with its defaults and the shipped checkpoint, and a
listener recording ~/pose, ~/fix, /tf and /diagnostics. The bag is a held-out evaluate-geo
scenario (make-bag), so every pose is checked against the platform's exact pose.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nodes.localizer_fixtures import write_params

from sky2ground_ros.data.seeds import GEO_EVAL_SEED_BASE
from sky2ground_ros.geo_evaluation.scenarios import Scenario, ScenarioSpec, load_or_build
from sky2ground_ros.resources import SHIPPED_MODEL, find_share_file

NODES = Path(__file__).parent / "nodes"
DURATION_S = 8.0
MODEL = os.environ.get("SKY2GROUND_E2E_MODEL", "")
"""Empty: the node's default, the shipped checkpoint."""
MEDIAN_BOUND_M = 15.0
"""Flights and drives of evaluate-geo publish at ~4 m median with this checkpoint; the bound
allows for the real-time player dropping keyframes on a loaded machine."""


@pytest.fixture(scope="module")
def bags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bags")


def node_params(scenario: Scenario, view_type: str) -> dict:
    """The node's defaults plus what this recording needs: topics, the tile source, origin."""
    o = scenario.origin
    return {
        "model_path": MODEL,
        "torch_threads": 1,
        "cameras": ["camera"],
        "camera": {"view_type": view_type},
        "navsat_topic": "/gps/fix",
        "odom_topic": "/odom",
        "tile_source": str(scenario.orthophoto),
        "origin": [o.lat0, o.lon0, o.alt0],
        "diagnostics_period_s": 0.5,
    }


@pytest.mark.ros
@pytest.mark.parametrize(("platform", "view_type"), [("drive", "ground"), ("flight", "aerial")])
def test_the_shipped_checkpoint_localizes_a_played_bag(
    ros_env: dict[str, str], bags: Path, tmp_path: Path, platform: str, view_type: str
) -> None:
    assert find_share_file("sky2ground_ros", SHIPPED_MODEL).is_file()
    scenario = load_or_build(bags, ScenarioSpec(platform, GEO_EVAL_SEED_BASE, DURATION_S))
    params = write_params(
        tmp_path / "params.yaml", "sky2ground_localizer", node_params(scenario, view_type)
    )
    command = ["-m", "sky2ground_ros.ros.localizer_node", "--ros-args", "--params-file"]
    node = subprocess.Popen(
        [sys.executable, *command, str(params)],
        env=ros_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    play = [str(NODES / "bag_player.py"), str(scenario.bag), "/camera/image_raw"]
    player = subprocess.Popen([sys.executable, *play, "/ground_truth/odom"], env=ros_env)
    try:
        listener = subprocess.run(
            [sys.executable, str(NODES / "localizer_listener.py"), str(DURATION_S + 25), "1000"],
            env=ros_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert player.wait(timeout=60) == 0
    finally:
        player.terminate()
        node.terminate()
        log = node.communicate(timeout=20)[0]
    got = json.loads(listener.stdout.strip().splitlines()[-1])
    windows = int(DURATION_S * 2) - 3  # keyframes at 2 Hz, 4 per window
    assert len(got["pose"]) >= windows // 2, (log[-3000:], got["diagnostics"])
    errors = []
    for pose in got["pose"]:
        assert pose["frame"] == "map"
        covariance = np.array(pose["covariance"]).reshape(6, 6)
        assert np.all(np.linalg.eigvalsh(covariance) > 0)
        truth = scenario.base_pose(pose["stamp"])[:3, 3]
        errors.append(float(np.hypot(*(np.array(pose["xyz"][:2]) - truth[:2]))))
    print(f"{platform}: {len(errors)} poses, horizontal errors (m) {np.round(errors, 1).tolist()}")
    assert np.median(errors) < MEDIAN_BOUND_M, errors
    diagnostics = got["diagnostics"][-1]
    assert diagnostics["sky2ground_localizer: model"]["level"] == 0
    map_odom = [t for t in got["tf"] if (t["parent"], t["child"]) == ("map", "odom")]
    assert map_odom, "with odometry the node publishes map -> odom"
