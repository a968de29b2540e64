"""`sky2ground demo` at a reduced size: what it prints is what its report says.

Run once with the node's default gate (the shipped checkpoint registers no window, which
the report must say with the reasons) and once with opened thresholds from a parameter file
(as in test_ros_localizer_e2e), so the APE/RPE rows carry numbers to compare, and the
headline APE is checked against the written TUM files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from nodes.localizer_fixtures import OPEN_THRESHOLDS, write_params

from sky2ground_ros.cli.main import main

SMALL = ["--duration", "4", "--width", "96", "--height", "72", "--no-progress"]
ROW = re.compile(r"^\| (?P<name>[^|]+) \| (?P<cells>.+) \|$")


def run_demo(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, dict]:
    assert main(["demo", "--out", str(out), *SMALL, *extra]) == 0
    printed = capsys.readouterr().out
    return printed, json.loads((out / "replay" / "report.json").read_text())


def printed_table(printed: str) -> dict[str, list[str]]:
    rows = {}
    for line in printed.splitlines():
        match = ROW.match(line)
        if match and match["name"] not in ("metric", "---"):
            rows[match["name"]] = [c.strip() for c in match["cells"].split("|")]
    return rows


def check_numbers_match(printed: str, report: dict) -> None:
    """Every printed cell is the report's value at two decimals; the counts too."""
    rows = printed_table(printed)
    assert set(rows) == set(report["errors"])
    for name, stats in report["errors"].items():
        if stats is None:
            assert rows[name] == ["n/a"] * 4 + ["0"]
        else:
            keys = ("rmse", "mean", "median", "max")
            assert rows[name] == [f"{stats[k]:.2f}" for k in keys] + [str(stats["count"])]
    s = report["summary"]
    assert f"frames: {s['frames']}, windows: {s['windows']}, poses: {s['poses']} " in printed
    md = Path(report["outputs"]["report"]).read_text()
    assert md.strip() in printed  # the printed report is the written one


def test_demo_default_gate_reports_rejections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    printed, report = run_demo(tmp_path / "demo", capsys)
    check_numbers_match(printed, report)
    s = report["summary"]
    assert s["frames"] == 9 and s["windows"] == 6
    rejected = s["windows"] - s["poses"]
    assert sum(s["rejections"].values()) == rejected
    if rejected:
        assert f"## Windows without a pose ({rejected} of {s['windows']})" in printed
        for reason, count in s["rejections"].items():
            assert f"- {count} × {reason}" in printed
    gnss = report["errors"]["GNSS fix horizontal, input prior (m)"]
    assert gnss["count"] == 5 and 0.0 < gnss["rmse"] < 15.0
    for name in ("plot", "trajectory_tum", "ground_truth_tum", "geojson", "kml", "bag"):
        assert Path(report["outputs"][name]).exists()
    again, _ = run_demo(tmp_path / "demo", capsys)  # a second run replaces its own outputs
    assert printed_table(again) == printed_table(printed)


def test_demo_numbers_with_poses_match_report_and_tum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    params = write_params(tmp_path / "open.yaml", "sky2ground_localizer", OPEN_THRESHOLDS)
    printed, report = run_demo(tmp_path / "demo", capsys, "--params-file", str(params))
    assert report["summary"]["poses"] > 0
    check_numbers_match(printed, report)
    estimate = np.atleast_2d(np.loadtxt(report["outputs"]["trajectory_tum"]))
    truth = np.loadtxt(report["outputs"]["ground_truth_tum"])
    errors = []
    for row in estimate:  # ground truth is recorded at 20 Hz, on the camera stamps too
        match = truth[np.argmin(np.abs(truth[:, 0] - row[0]))]
        assert match[0] == pytest.approx(row[0], abs=1e-6)
        errors.append(np.linalg.norm(match[1:4] - row[1:4]))
    ape = report["errors"]["APE translation (m)"]
    assert ape["count"] == len(estimate)
    assert ape["rmse"] == pytest.approx(np.sqrt(np.mean(np.square(errors))), rel=1e-4)
