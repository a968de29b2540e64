"""The replay report: a JSON file with every number and a Markdown file with the error table.

The table printed on the console is `ReplayReport.error_table`, the same text written into
report.md, and its numbers are the JSON values rounded to `DECIMALS`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sky2ground_ros.replay.evaluation import Evaluation
from sky2ground_ros.replay.replay import ReplayOutcome
from sky2ground_ros.replay.trajectory_metrics import ErrorStats

DECIMALS = 2
STATISTICS = ("rmse", "mean", "median", "max")
DECIMAL = re.compile(r"-?\d+\.\d+")
"""Measured values in rejection reasons; integer counts ("0 of 4 tiles") are kept."""


@dataclass
class ReplayReport:
    """Summary counts, errors by metric, and the files written."""

    summary: dict[str, Any]
    errors: dict[str, ErrorStats | None] = field(default_factory=dict)
    note: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "errors": {
                name: None if stats is None else asdict(stats)
                for name, stats in self.errors.items()
            },
            "note": self.note,
            "outputs": self.outputs,
        }

    def error_table(self) -> str:
        """Markdown table of the errors (or the note saying why there are none)."""
        if not self.errors:
            return f"no error table: {self.note}"
        header = "| metric | " + " | ".join(STATISTICS) + " | n |"
        rule = "|---|" + "---:|" * (len(STATISTICS) + 1)
        rows = [f"| {name} | {_cells(stats)} |" for name, stats in self.errors.items()]
        return "\n".join([header, rule, *rows])

    def to_markdown(self) -> str:
        s = self.summary
        lines = [
            f"# sky2ground replay of {s['bag']}",
            "",
            f"- model: {s['model']}",
            f"- frames: {s['frames']}, windows: {s['windows']}, poses: {s['poses']} "
            f"({s['frames_per_s']:.1f} frames/s, {s['wall_s']:.1f} s)",
            f"- window outcomes: {s['window_outcomes']}",
        ]
        if s.get("map_origin"):
            lines.append(f"- map origin (lat, lon, alt): {s['map_origin']}")
        for key in ("bag_damage", "stopped", "input_problems", "keyframes_skipped"):
            if s.get(key):
                lines.append(f"- {key.replace('_', ' ')}: {s[key]}")
        rejected = s["windows"] - s["poses"]
        if rejected:
            lines += ["", f"## Windows without a pose ({rejected} of {s['windows']})", ""]
            lines += [f"- {count} × {reason}" for reason, count in s["rejections"].items()]
        lines += ["", "## Errors against ground truth", "", self.error_table(), ""]
        if self.errors and self.note:
            lines += [f"Note: {self.note}", ""]
        lines += ["## Files", ""] + [f"- {k}: {v}" for k, v in self.outputs.items()]
        return "\n".join(lines) + "\n"

    def save(self, directory: str | Path) -> tuple[Path, Path]:
        """Write report.json and report.md into ``directory``."""
        directory = Path(directory)
        json_path, md_path = directory / "report.json", directory / "report.md"
        json_path.write_text(json.dumps(self.to_json(), indent=1))
        md_path.write_text(self.to_markdown())
        return json_path, md_path


def build_report(
    bag: str | Path, model: str | Path, outcome: ReplayOutcome, evaluation: Evaluation
) -> ReplayReport:
    """Counts and errors of one replay."""
    origin = outcome.origin
    summary = {
        "bag": str(bag),
        "model": str(model),
        "frames": outcome.frames,
        "windows": len(outcome.results),
        "poses": len(outcome.poses),
        "window_outcomes": dict(outcome.categories()),
        "rejections": _rejections(outcome),
        "keyframes_skipped": outcome.keyframe_rejections,
        "input_problems": dict(outcome.problems),
        "tf_skipped_no_odometry": outcome.tf_skipped,
        "bag_damage": outcome.damage,
        "stopped": outcome.stopped,
        "map_origin": None if origin is None else [origin.lat0, origin.lon0, origin.alt0],
        "wall_s": outcome.wall_s,
        "frames_per_s": outcome.frames / outcome.wall_s if outcome.wall_s > 0 else 0.0,
    }
    return ReplayReport(summary, dict(evaluation.errors), evaluation.note)


def _cells(stats: ErrorStats | None) -> str:
    """The statistics of one row, 'n/a' where there is nothing to measure."""
    if stats is None:
        return " | ".join(["n/a"] * len(STATISTICS) + ["0"])
    values = [f"{getattr(stats, name):.{DECIMALS}f}" for name in STATISTICS]
    return " | ".join([*values, str(stats.count)])


def _rejections(outcome: ReplayOutcome) -> dict[str, int]:
    """Rejection reasons with measured values masked ('gate: tile residual # m > # m': count)."""
    counts = Counter(
        f"{r.category}: {DECIMAL.sub('#', r.rejection)}" for r in outcome.results if r.rejection
    )
    return dict(counts.most_common())
