"""The evaluate-geo report: one side-by-side table (markdown + JSON) and one PNG.

``report.md``  the table: per platform and method, windows, published fraction, horizontal /
height / heading error percentiles of the published poses, calibration, ms per window
``report.json`` the same numbers, every scenario's own summary and every window's record
``report.png``  horizontal-error CDF per platform and method, and published-fraction bars

Every file is written to a temporary name first and renamed, so a failed run leaves no
half-written report.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from sky2ground_ros.geo_evaluation.metrics import as_records, summarise
from sky2ground_ros.geo_evaluation.run import GeoEvaluation

FILES = ("report.md", "report.json", "report.png")


def report_dict(evaluation: GeoEvaluation, context: dict[str, Any]) -> dict[str, Any]:
    """Everything the report shows, JSON-ready (NaN becomes null)."""
    table = [
        {"platform": p, "method": m, **evaluation.summary(p, m)}
        for p in evaluation.platforms
        for m in evaluation.methods
    ]
    runs = [
        {
            "scenario": run.scenario,
            "platform": run.platform,
            "seed": run.seed,
            "method": run.method,
            "summary": summarise(run.errors),
            "windows": as_records(run.errors),
        }
        for run in evaluation.runs
    ]
    return _no_nan({**context, "table": table, "runs": runs})


def markdown(report: dict[str, Any]) -> str:
    """The side-by-side table with a line on what it measured."""
    lines = [
        "# evaluate-geo",
        "",
        f"Held-out scene seeds {', '.join(map(str, report['seeds']))}; "
        f"{report['duration_s']:g} s per bag; the node's default parameters and gate "
        f"(classical: image_size {report['classical_image_size']}). Errors are of the "
        "published poses; calibration counts east/north error components within the "
        "published 1σ / 2σ (68 % / 95 % when calibrated). The prior row is each window's "
        "prior (the GNSS fix) taken as the pose, with its own sigma: the baseline to beat.",
        "",
        "| platform | method | windows | published | horizontal median / p90 / max (m) "
        "| height median / p90 (m) | heading median / p90 (deg) | within 1σ / 2σ "
        "| ms / window | refused (why) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["table"]:
        h, z, yaw = row["horizontal_m"], row["height_m"], row["heading_deg"]
        refused = ", ".join(f"{k} {v}" for k, v in sorted(row["refused"].items())) or "-"
        lines.append(
            f"| {row['platform']} | {row['method']} | {row['windows']} "
            f"| {_percent(row['published_fraction'])} "
            f"| {_num(h['median'])} / {_num(h['p90'])} / {_num(h['max'])} "
            f"| {_num(z['median'])} / {_num(z['p90'])} "
            f"| {_num(yaw['median'])} / {_num(yaw['p90'])} "
            f"| {_percent(row['within_1sigma'])} / {_percent(row['within_2sigma'])} "
            f"| {_num(row['ms_per_window'], 1)} | {refused} |"
        )
    return "\n".join(lines) + "\n"


def plot(evaluation: GeoEvaluation, path: Path) -> Path:
    """Horizontal-error CDFs (published poses) and published-fraction bars."""
    figure = Figure(figsize=(12, 4.8), layout="constrained")
    cdf, bars = figure.subplots(1, 2, width_ratios=[3, 2])
    labels, fractions = [], []
    for platform in evaluation.platforms:
        for method in evaluation.methods:
            errors = evaluation.errors(platform, method)
            published = np.sort([e.horizontal_m for e in errors if e.published])
            label = f"{platform} · {method}"
            if published.size:
                shown = np.maximum(published, 1e-3)
                share = np.arange(1, published.size + 1) / max(len(errors), 1)
                style = "-" if platform == "flight" else "--"
                cdf.step(shown, share, where="post", ls=style, label=label)
            labels.append(label)
            fractions.append(published.size / len(errors) if errors else 0.0)
    cdf.set_xscale("log")
    cdf.set_xlim(1e-3, 1e3)
    cdf.set_ylim(0, 1.02)
    cdf.set_xlabel("horizontal error of published poses (m, log; < 1 mm drawn at 1 mm)")
    cdf.set_ylabel("fraction of all windows")
    cdf.set_title("error CDF (a curve ends at the published fraction)", fontsize="medium")
    cdf.grid(True, which="both", alpha=0.3)
    if cdf.get_lines():
        cdf.legend(fontsize="small", loc="upper left")
    positions = np.arange(len(labels))
    bars.barh(positions, fractions, color="tab:blue")
    bars.set_yticks(positions, labels, fontsize="small")
    bars.invert_yaxis()
    bars.set_xlim(0, 1)
    bars.set_xlabel("fraction of windows that published a pose")
    bars.set_title("published", fontsize="medium")
    figure.savefig(path, dpi=100)
    return path


def write_report(evaluation: GeoEvaluation, context: dict[str, Any], out_dir: Path) -> dict:
    """Write the three files atomically into ``out_dir``; returns the report dict."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = report_dict(evaluation, context)
    staged = {name: out_dir / f".partial.{name}" for name in FILES}
    try:
        staged["report.md"].write_text(markdown(report))
        staged["report.json"].write_text(json.dumps(report, indent=1))
        plot(evaluation, staged["report.png"])
        for name, temporary in staged.items():
            os.replace(temporary, out_dir / name)
    finally:
        for temporary in staged.values():
            temporary.unlink(missing_ok=True)
    return report


def _no_nan(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def _num(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "n/a"
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    """One decimal: the targets are shares (55 %, 90 %) that a rounded 54.8 % would hide."""
    return "n/a" if value is None else f"{100 * value:.1f} %"
