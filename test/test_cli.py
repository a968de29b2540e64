"""The `sky2ground` entry point, `doctor` and `selfcheck`."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

SKY2GROUND = str(Path(sys.executable).with_name("sky2ground"))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([SKY2GROUND, *args], capture_output=True, text=True, timeout=120, env=env)


def test_help_lists_subcommands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("doctor", "selfcheck"):
        assert command in result.stdout


def test_no_subcommand_prints_usage_and_fails() -> None:
    result = run_cli()
    assert result.returncode == 2
    assert "usage: sky2ground" in result.stdout


def test_doctor_reports_tf2_msgs_available() -> None:
    result = run_cli("doctor")
    assert result.returncode == 0, result.stdout
    assert re.search(r"^tf2_msgs\s+ok\s+available .*equals ROS 2's", result.stdout, re.M)
    for name in ("torch", "rclpy", "onnxruntime"):
        assert re.search(rf"^{name}\s+ok", result.stdout, re.M), name
    assert "rmw_fastrtps_cpp" in result.stdout


def test_doctor_fails_when_a_required_component_is_missing(tmp_path: Path) -> None:
    shadow = tmp_path / "tf2_msgs"
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('tf2_msgs hidden by the test')\n")
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path)}
    result = run_cli("doctor", env=env)
    assert result.returncode == 1
    assert re.search(r"^tf2_msgs\s+MISSING\s+ImportError: tf2_msgs hidden", result.stdout, re.M)
    assert "required but missing: tf2_msgs" in result.stdout


@pytest.mark.ros
def test_selfcheck_round_trips_tf_over_local_dds(ros_env: dict[str, str]) -> None:
    result = run_cli("selfcheck", env=ros_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TF round trip over local DDS: ok" in result.stdout
