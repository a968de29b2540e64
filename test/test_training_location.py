"""`train` with a location head: location windows, held-out errors next to the prior, curve PNG."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from test_training_support import tiny_config

from sky2ground_ros.cli.main import main
from sky2ground_ros.data.cameras import HelixConfig
from sky2ground_ros.data.synthetic import SyntheticConfig, generate_dataset
from sky2ground_ros.model.weights import load_model
from sky2ground_ros.training.location_curve import CURVE_PNG, geo_points
from sky2ground_ros.training.trainer import Trainer

SCENES = SyntheticConfig(
    size=56,
    satellite=0,
    ground=4,
    helix=HelixConfig(positions=3, altitude_start=400.0, altitude_end=250.0),
    orthophoto_gsd=2.0,
)


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("location_scenes")
    generate_dataset(root, 1, 4, SCENES)
    return root


def test_location_run_reports_held_out_errors_beside_the_prior(
    scenes: Path, tmp_path: Path
) -> None:
    config = tiny_config(
        scenes,
        tmp_path / "run",
        model={"location_head": True},
        data={
            "num_frames": 5,
            "location_cameras": 1,
            "val_scenes": str(scenes),
            "val_windows_per_scene": 8,
        },
        run={"steps": 4, "batch_size": 1, "val_every": 2, "checkpoint_every": 2},
    )
    result = Trainer(config).fit()
    with (tmp_path / "run" / "val.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [2, 4]
    for platform in ("drive", "flight"):
        assert float(rows[-1][f"{platform}_median_m"]) >= 0
        assert float(rows[-1][f"{platform}_prior_median_m"]) > 0
        assert float(rows[-1][f"{platform}_posterior_median_m"]) >= 0
    assert float(rows[-1]["location"]) > 0
    assert (tmp_path / "run" / CURVE_PNG).stat().st_size > 0
    model = load_model(result.weights)
    assert model.config.location_head and model.config.location_image_size == 56

    # calibrate-location on the same scenes, with a gate an untrained map passes
    config_path = tmp_path / "run" / "config.yaml"
    out = tmp_path / "calibrated.safetensors"
    argv = ["calibrate-location", "--config", str(config_path), "--weights", str(result.weights)]
    argv += ["--scenes", str(scenes), "--windows-per-scene", "4", "--out", str(out)]
    assert main([*argv, "--min-mass", "0"]) == 0
    temperature = load_model(out).config.location_temperature
    assert temperature > 0 and temperature != 1.0
    table = out.with_suffix(".calibration.md").read_text()
    assert f"location_temperature = {temperature:.4g}" in table
    assert main([*argv, "--min-mass", "1.1"]) == 2  # no window passes: nothing to fit


def test_location_run_logs_evaluate_geo_and_rra_into_its_curve(
    scenes: Path, tmp_path: Path
) -> None:
    """Every run.geo_every steps the weights replay held-out bags through the localizer (the
    product metric): geo.csv per platform, and the curve PNG's second row."""
    config = tiny_config(
        scenes,
        tmp_path / "run",
        model={"location_head": True},
        data={
            "num_frames": 5,
            "location_cameras": 1,
            "val_scenes": str(scenes),
            "geo_data": str(tmp_path / "bags"),
            "geo_duration_s": 3.0,
        },
        run={"steps": 2, "batch_size": 1, "val_every": 2, "geo_every": 2},
    )
    Trainer(config).fit()
    with (tmp_path / "run" / "geo.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [2]
    for platform in ("drive", "flight"):
        assert 0.0 <= float(rows[0][f"{platform}_published"]) <= 1.0
        assert f"{platform}_median_m" in rows[0] and f"{platform}_within_1sigma" in rows[0]
    with (tmp_path / "run" / "val.csv").open(newline="") as handle:
        val = list(csv.DictReader(handle))[-1]
    assert 0.0 <= float(val["rra_5"]) <= 100.0 and 0.0 <= float(val["rta_5"]) <= 100.0
    assert len(geo_points(tmp_path / "run")) == 2
    assert (tmp_path / "run" / CURVE_PNG).stat().st_size > 0


def test_location_windows_refuse_curricula_that_pick_other_views(scenes: Path, tmp_path: Path):
    from sky2ground_ros.training.config import ConfigError

    with pytest.raises(ConfigError, match="pvs and cacs"):
        tiny_config(
            scenes,
            tmp_path,
            model={"location_head": True},
            data={"num_frames": 5, "location_cameras": 1},
            curriculum={"pvs": True},
        )
