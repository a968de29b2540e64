"""Replay a bag into an output directory: the new bag, trajectories, report and plot.

``<out>/bag/``          input topics + /tf, /tf_static, ~/pose, ~/fix (play with ros2 bag play)
``<out>/trajectory.tum`` localized base poses in the map frame (TUM format)
``<out>/ground_truth.tum`` ground truth in the same frame (when the bag has it)
``<out>/track.geojson``, ``<out>/track.kml``  the localized track on the globe
``<out>/trajectory.png`` track, ground truth and GNSS fixes over the satellite tiles
``<out>/report.json``, ``<out>/report.md``  counts, APE/RPE, files
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sky2ground_ros.localizer.pipeline import Predictor
from sky2ground_ros.model.skynet import SkyNet
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.evaluation import Evaluation, evaluate
from sky2ground_ros.replay.exports import GeoPose, write_geojson, write_kml, write_tum
from sky2ground_ros.replay.plots import plot_trajectory
from sky2ground_ros.replay.replay import ReplayConfig, ReplayOutcome, replay
from sky2ground_ros.replay.report import ReplayReport, build_report
from sky2ground_ros.replay.trajectory_metrics import APE_HORIZONTAL
from sky2ground_ros.tiles.service import TileService

OUTPUT_BAG = "bag"


def run_replay(
    bag: str | Path,
    model: SkyNet | Predictor,
    model_label: str,
    tiles: TileService,
    config: ReplayConfig,
    out_dir: str | Path,
    progress: bool = True,
) -> ReplayReport:
    """Replay, evaluate, export and plot; returns the saved report."""
    out_dir = Path(out_dir)
    output_bag = out_dir / OUTPUT_BAG
    if output_bag.exists():
        raise FileExistsError(f"{output_bag} exists: choose another output directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    with BagReader(bag) as reader:
        outcome = replay(reader, model, tiles.get_tiles, config, output_bag, progress)
    evaluation = evaluate(outcome, config.frames)
    report = build_report(bag, model_label, outcome, evaluation)
    report.outputs = {"bag": str(output_bag), **_write_files(out_dir, outcome, evaluation)}
    if outcome.origin is not None:
        plot = plot_trajectory(
            out_dir / "trajectory.png",
            outcome.origin,
            tiles.get_tiles,
            config.localizer.tiles.zoom,
            evaluation.estimate.positions,
            None if evaluation.ground_truth is None else evaluation.ground_truth.positions,
            None if evaluation.fixes is None else evaluation.fixes.positions,
            _title(outcome, evaluation),
        )
        report.outputs["plot"] = str(plot)
    report.outputs["report"] = str(out_dir / "report.md")
    report.save(out_dir)
    return report


def _write_files(out_dir: Path, outcome: ReplayOutcome, evaluation: Evaluation) -> dict[str, str]:
    files = {"trajectory_tum": write_tum(out_dir / "trajectory.tum", evaluation.estimate)}
    if evaluation.ground_truth is not None:
        files["ground_truth_tum"] = write_tum(out_dir / "ground_truth.tum", evaluation.ground_truth)
    track = [
        _geopose(r.stamp, r.geodetic, r.pose.covariance)
        for r in outcome.poses
        if r.pose is not None and r.geodetic is not None
    ]
    files["geojson"] = write_geojson(out_dir / "track.geojson", track, "sky2ground track")
    files["kml"] = write_kml(out_dir / "track.kml", track, "sky2ground track")
    return {name: str(path) for name, path in files.items()}


def _geopose(stamp: float, geodetic: tuple[float, float, float], covariance: np.ndarray) -> GeoPose:
    sigma = float(np.sqrt(max(np.linalg.eigvalsh(covariance[:3, :3]).max(), 0.0)))
    return GeoPose(stamp, *geodetic, sigma)


def _title(outcome: ReplayOutcome, evaluation: Evaluation) -> str:
    title = f"{len(outcome.poses)} poses from {len(outcome.results)} windows"
    horizontal = evaluation.errors.get(APE_HORIZONTAL)
    if horizontal is not None:
        title += (
            f"; horizontal error RMSE {horizontal.rmse:.1f} m, median {horizontal.median:.1f} m"
        )
    return title
