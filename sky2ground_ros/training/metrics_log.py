"""Training logs: one CSV per stream (always) and TensorBoard scalars (when installed).

On resume, rows logged after the resumed step are dropped so the CSV reads as one run.
"""

from __future__ import annotations

import csv
import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def tensorboard_available() -> bool:
    """Whether torch.utils.tensorboard can be used (the `tensorboard` package is installed)."""
    return importlib.util.find_spec("tensorboard") is not None


class CsvLog:
    """Append-only CSV whose columns are fixed by the first row (later extra keys raise).

    A resumed log takes the first new row's extra columns (a newer version logging more),
    left empty in the rows before.
    """

    def __init__(self, path: str | Path, resume_step: int = 0) -> None:
        self.path = Path(path)
        self.fields: list[str] | None = None
        self._resumed: list[dict[str, Any]] | None = None
        """The rows kept on resume, until the first new row (which may widen the header)."""
        if self.path.is_file():
            if resume_step > 0:
                self._truncate_after(resume_step)
            else:
                self.path.unlink()

    def _truncate_after(self, step: int) -> None:
        """Keep the header and the rows of steps <= step."""
        with self.path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            self.fields = list(reader.fieldnames or [])
            rows = [row for row in reader if int(row["step"]) <= step]
        self._rewrite(rows)
        self._resumed = rows

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        with self.path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, self.fields or [])
            writer.writeheader()
            writer.writerows(rows)

    def write(self, row: Mapping[str, Any]) -> None:
        """Append a row (must contain 'step')."""
        if self.fields is None:
            self.fields = list(row)
            with self.path.open("w", newline="", encoding="utf-8") as f:
                csv.DictWriter(f, self.fields).writeheader()
        extra = [key for key in row if key not in self.fields]
        if extra and self._resumed is not None:
            self.fields = [*self.fields, *extra]
            self._rewrite(self._resumed)
        elif extra:
            raise KeyError(f"{self.path}: columns {sorted(extra)} not in the header")
        self._resumed = None
        with self.path.open("a", newline="", encoding="utf-8") as f:
            csv.DictWriter(f, self.fields).writerow(dict(row))


class MetricsLogger:
    """CSV files <dir>/<stream>.csv and, if available, TensorBoard under <dir>/tensorboard."""

    def __init__(self, directory: str | Path, resume_step: int = 0, tensorboard: bool = True):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.resume_step = resume_step
        self._csv: dict[str, CsvLog] = {}
        self._tb = None
        if tensorboard and tensorboard_available():
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(
                str(self.directory / "tensorboard"), purge_step=resume_step or None
            )

    @property
    def has_tensorboard(self) -> bool:
        """Whether scalars also go to TensorBoard."""
        return self._tb is not None

    def log(self, stream: str, step: int, scalars: Mapping[str, float]) -> None:
        """Write one row to <stream>.csv and each scalar as <stream>/<name> to TensorBoard."""
        if stream not in self._csv:
            self._csv[stream] = CsvLog(self.directory / f"{stream}.csv", self.resume_step)
        self._csv[stream].write({"step": step, **scalars})
        if self._tb is not None:
            for name, value in scalars.items():
                self._tb.add_scalar(f"{stream}/{name}", value, step)

    def close(self) -> None:
        """Flush TensorBoard."""
        if self._tb is not None:
            self._tb.close()
