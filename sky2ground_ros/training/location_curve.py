"""The location head's learning curve: held-out errors vs training minutes, per platform.

Read from a run's val.csv (``<platform>_median_m``, ``<platform>_prior_median_m`` and, in runs
since the read-out took the window's priors, ``<platform>_posterior_median_m``, written by
`Trainer.validate`) and metrics.csv (``elapsed_s``, training time summed over resumed
segments), so the curve of a run that was stopped and resumed is one line.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CURVE_PNG = "location_curve.png"
PLATFORMS = ("drive", "flight")
TIME_LABEL = "training minutes (wall clock; x processes x threads = CPU-minutes)"


def read_rows(path: Path) -> list[dict[str, float]]:
    """A metrics CSV as float rows (empty cells skipped)."""
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {k: float(v) for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(handle)
        ]


def curve_points(run_dir: str | Path) -> dict[str, np.ndarray]:
    """Per platform an (n, 4) array of (training minutes, head median m, prior median m, posterior
    median m: NaN where the run did not log it)."""
    run = Path(run_dir)
    train = read_rows(run / "metrics.csv")
    val = read_rows(run / "val.csv")
    steps = np.array([row["step"] for row in train if "elapsed_s" in row])
    elapsed = np.array([row["elapsed_s"] for row in train if "elapsed_s" in row])
    points: dict[str, np.ndarray] = {}
    for platform in PLATFORMS:
        rows = [r for r in val if f"{platform}_median_m" in r]
        if not rows or not len(steps):
            continue
        minutes = np.interp([r["step"] for r in rows], steps, elapsed) / 60.0
        head = [r[f"{platform}_median_m"] for r in rows]
        prior = [r[f"{platform}_prior_median_m"] for r in rows]
        posterior = [r.get(f"{platform}_posterior_median_m", np.nan) for r in rows]
        points[platform] = np.column_stack([minutes, head, prior, posterior])
    return points


def geo_points(run_dir: str | Path) -> dict[str, np.ndarray]:
    """Per platform an (n, 4) array of (training minutes, published fraction, median error m,
    share within 1 sigma) from the run's geo.csv (`geo_curve.geo_point` rows)."""
    run = Path(run_dir)
    train = [row for row in read_rows(run / "metrics.csv") if "elapsed_s" in row]
    geo = read_rows(run / "geo.csv")
    points: dict[str, np.ndarray] = {}
    if not train:
        return points
    steps = np.array([row["step"] for row in train])
    elapsed = np.array([row["elapsed_s"] for row in train])
    for platform in PLATFORMS:
        rows = [r for r in geo if f"{platform}_published" in r]
        if not rows:
            continue
        minutes = np.interp([r["step"] for r in rows], steps, elapsed) / 60.0
        columns = [
            [r.get(f"{platform}_{key}", np.nan) for r in rows]
            for key in ("published", "median_m", "within_1sigma")
        ]
        points[platform] = np.column_stack([minutes, *columns])
    return points


def plot_location_curve(run_dir: str | Path, path: str | Path | None = None) -> Path | None:
    """Save the curve PNG (default: <run>/location_curve.png); None before any validation.

    Top row: the validation windows' median errors; bottom row (once geo.csv has rows): the
    evaluate-geo curve, published share and median error of the published poses.
    """
    points, geo = curve_points(run_dir), geo_points(run_dir)
    if not points and not geo:
        return None
    rows = 2 if geo else 1
    figure = Figure(figsize=(9.0, 3.8 * rows), layout="constrained")
    grid = figure.subplots(rows, len(PLATFORMS), squeeze=False)
    for ax, platform in zip(grid[-1] if geo else [], PLATFORMS, strict=False):
        _plot_geo(ax, platform, geo.get(platform))
    for ax, platform in zip(grid[0], PLATFORMS, strict=True):
        ax.set_title(f"held-out {platform}s")
        ax.set_xlabel(TIME_LABEL)
        ax.set_ylabel("median horizontal error (m)")
        ax.grid(alpha=0.3)
        if platform not in points:
            continue
        data = points[platform]
        ax.plot(data[:, 0], data[:, 1], "o-", label="location head (map peak)")
        if np.isfinite(data[:, 3]).any():
            ax.plot(data[:, 0], data[:, 3], "s-", label="location head given the priors")
        ax.plot(data[:, 0], data[:, 2], "--", color="grey", label="crop centre (the prior)")
        ax.set_ylim(bottom=0)
        ax.legend()
    out = Path(path) if path is not None else Path(run_dir) / CURVE_PNG
    figure.savefig(out, dpi=110)
    return out


def _plot_geo(ax: Axes, platform: str, data: np.ndarray | None) -> None:
    """One platform's evaluate-geo curve: median error (left axis), published % (right)."""
    ax.set_title(f"evaluate-geo {platform}s (held-out bags, default gate)")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel("median horizontal error of published poses (m)")
    ax.grid(alpha=0.3)
    if data is None:
        return
    ax.plot(data[:, 0], data[:, 2], "o-", color="C0", label="median error")
    ax.set_ylim(bottom=0)
    share = ax.twinx()
    share.plot(data[:, 0], 100 * data[:, 1], "s--", color="C2", label="published")
    share.plot(data[:, 0], 100 * data[:, 3], "^:", color="C3", label="within 1 sigma")
    share.set_ylim(0, 105)
    share.set_ylabel("% of windows / of published errors")
    handles = ax.get_legend_handles_labels()[0] + share.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="upper right")
