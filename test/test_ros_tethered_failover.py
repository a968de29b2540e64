"""The inference node dies mid-run and a new one starts: the remote localizer rides it out.

Real processes on loopback DDS: a scene player, a localizer with ``inference: remote``
(``remote.timeout_s`` 2 s), a ``skynet_inference`` node and a listener. Once poses flow,
the inference node is killed with SIGKILL (a crash: no goodbye on DDS). Checked:

* the localizer process keeps running and reports the loss in /diagnostics (its inference
  status turns ERROR, "inference server lost: ...");
* no pose is published while no server runs (after the in-flight window's timeout), and
  no pose is ever stale: each pose's newest frame was seen by the listener at most
  2 x timeout + 1 s before the pose (one window waiting, one in flight);
* a new inference node is found by itself: poses resume and the status returns to OK.

Thresholds are opened as in the equality test (the shipped tiny checkpoint rarely passes
the default gate); what is checked here is the flow of poses, not their accuracy.
"""

import signal
import time
from pathlib import Path

import pytest
from nodes.localizer_fixtures import render_test_scene, write_params
from nodes.tethered_processes import MODEL, ProcessGroup, localizer_params

from sky2ground_ros.data.scene_format import Scene

NODES = Path(__file__).parent / "nodes"
TIMEOUT_S = 2.0
STATUS = "remote: inference"


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Scene:
    return render_test_scene(tmp_path_factory.mktemp("scene"))


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_localizer_survives_and_resumes_after_inference_node_dies(
    ros_env: dict[str, str], scene: Scene, tmp_path: Path
) -> None:
    params = localizer_params(scene, inference="remote", remote={"timeout_s": TIMEOUT_S})
    remote = write_params(tmp_path / "remote.yaml", "remote", params)
    server = write_params(
        tmp_path / "server.yaml", "skynet_inference", {"model_path": str(MODEL), "torch_threads": 1}
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    group = ProcessGroup(ros_env, logs)

    def poses_after(wall: float) -> list[dict]:
        return [p for p in group.snapshot("pose") if p["wall"] > wall]

    def inference_status_after(wall: float, level: int) -> list[dict]:
        return [
            d
            for d in group.snapshot("diagnostics")
            if d["name"] == STATUS and d["wall"] > wall and d["level"] == level
        ]

    t0 = round(time.time(), 3)
    try:
        group.start_listener(100, "/aerial/image_raw", "remote")
        group.start_node("skynet_inference", "sky2ground_ros.ros.skynet_inference_node", server)
        localizer = group.start(
            "remote",
            "-m",
            "sky2ground_ros.ros.localizer_node",
            "--ros-args",
            "-r",
            "__node:=remote",
            "--params-file",
            str(remote),
        )
        play = [str(NODES / "scene_camera_publisher.py"), str(scene.root), "/aerial", repr(t0)]
        group.start("player", *play, "95", "0")
        group.wait_for(lambda: len(poses_after(0)) >= 3, 60, "first poses")

        group.processes["skynet_inference"].send_signal(signal.SIGKILL)
        killed = time.time()
        group.wait_for(lambda: inference_status_after(killed, 2), 20, "the loss in /diagnostics")
        lost = inference_status_after(killed, 2)[0]
        quiet_from = killed + TIMEOUT_S + 0.5
        time.sleep(max(0.0, quiet_from + 3.0 - time.time()))  # >= 3 s without a server
        assert localizer.poll() is None
        restarted = time.time()
        assert not [p for p in poses_after(quiet_from) if p["wall"] < restarted]

        group.start_node("skynet_inference", "sky2ground_ros.ros.skynet_inference_node", server)
        group.wait_for(lambda: len(poses_after(restarted)) >= 3, 40, "poses from the new server")
        group.wait_for(lambda: inference_status_after(restarted, 0), 10, "status OK again")
        assert localizer.poll() is None
    finally:
        log = group.stop_all()

    assert lost["message"].startswith("inference server lost"), lost
    seen = {round(f["stamp"], 3): f["wall"] for f in group.snapshot("frame")}
    for pose in group.snapshot("pose"):
        newest_frame_seen = seen.get(round(pose["stamp"], 3))
        assert newest_frame_seen is not None, pose
        assert pose["wall"] - newest_frame_seen < 2 * TIMEOUT_S + 1.0, (pose, log)
    print(
        f"lost reported {lost['wall'] - killed:.1f} s after the kill ({lost['message']}); "
        f"poses resumed {poses_after(restarted)[0]['wall'] - restarted:.1f} s after the restart"
    )
