"""Training CSV logs: fixed columns, truncated on resume, widened by a newer version's columns."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sky2ground_ros.training.metrics_log import CsvLog


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_resumed_log_drops_later_rows_and_takes_new_columns(tmp_path: Path) -> None:
    path = tmp_path / "val.csv"
    log = CsvLog(path)
    for step in (1, 2, 3):
        log.write({"step": step, "loss": 1.0 / step})
    resumed = CsvLog(path, resume_step=2)
    resumed.write({"step": 3, "loss": 0.3, "drive_posterior_median_m": 4.0})
    got = rows(path)
    assert [r["step"] for r in got] == ["1", "2", "3"]
    assert [r["drive_posterior_median_m"] for r in got] == ["", "", "4.0"]
    with pytest.raises(KeyError, match="not in the header"):
        resumed.write({"step": 4, "loss": 0.2, "other": 1.0})


def test_a_new_log_refuses_columns_its_first_row_did_not_have(tmp_path: Path) -> None:
    log = CsvLog(tmp_path / "metrics.csv")
    log.write({"step": 1, "loss": 1.0})
    with pytest.raises(KeyError, match="extra"):
        log.write({"step": 2, "loss": 1.0, "extra": 2.0})
