"""colcon (pip-installed) builds the ament_python package and its console scripts run."""

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLCON = Path(sys.executable).with_name("colcon")


def console_scripts() -> list[str]:
    setup_py = (REPO / "setup.py").read_text()
    return re.findall(r'"([\w-]+) = sky2ground_ros\.[\w.]+:main"', setup_py)


def test_colcon_build_installs_runnable_console_scripts(tmp_path: Path) -> None:
    subprocess.run(
        [
            str(COLCON),
            "build",
            "--base-paths",
            str(REPO),
            "--packages-select",
            "sky2ground_ros",
            "--build-base",
            str(tmp_path / "build"),
            "--install-base",
            str(tmp_path / "install"),
        ],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    prefix = tmp_path / "install" / "sky2ground_ros"
    share = prefix / "share" / "sky2ground_ros"
    assert (share / "package.xml").is_file()
    assert (share / "config" / "fastdds_loopback.xml").is_file()
    index = prefix / "share" / "ament_index" / "resource_index" / "packages" / "sky2ground_ros"
    assert index.is_file()
    scripts = console_scripts()
    assert "sky2ground" in scripts
    for name in scripts:
        assert (prefix / "lib" / "sky2ground_ros" / name).is_file(), name

    site = next(prefix.glob("lib/python3.*/site-packages"))
    env = dict(os.environ, PYTHONPATH=str(site), AMENT_PREFIX_PATH=str(prefix))
    where = subprocess.run(
        [sys.executable, "-c", "import sky2ground_ros; print(sky2ground_ros.__file__)"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(site))
    doctor = subprocess.run(
        [str(prefix / "lib" / "sky2ground_ros" / "sky2ground"), "doctor"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert re.search(r"^tf2_msgs\s+ok", doctor.stdout, re.M)
