"""evaluate-geo: the oracle through the full path, the classical baseline, the report, bad input.

The scenarios are held-out make-bag recordings (10 s, 18 windows each) replayed through the
localizer's own path with the node's default parameters and gate.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from sky2ground_ros.cli.main import main
from sky2ground_ros.data.seeds import GEO_EVAL_SEED_BASE
from sky2ground_ros.geo.elevation import ElevationModel
from sky2ground_ros.geo_evaluation.methods import parse_methods
from sky2ground_ros.geo_evaluation.metrics import summarise
from sky2ground_ros.geo_evaluation.run import evaluate_scenario
from sky2ground_ros.geo_evaluation.scenarios import ScenarioSpec, load_or_build
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.replay.bag_reader import BagReader
from sky2ground_ros.replay.discovery import ReplayOptions, resolve
from sky2ground_ros.replay.node_parameters import node_parameters
from sky2ground_ros.tiles.geotiff import GeoTiffSource
from sky2ground_ros.views import ViewType

SEED = GEO_EVAL_SEED_BASE
DURATION_S = 10.0
ORACLE_TOLERANCE_M = 0.05
"""Issue 16's bound; measured 4-10 mm (the smoother blends in the odometry's 1 % scale error)."""


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("geo_eval_data")


@pytest.fixture(scope="module")
def methods() -> dict:
    return {m.label: m for m in parse_methods(["oracle", "classical"])}


def run(data_root: Path, method, spec: ScenarioSpec, tmp_path: Path) -> list:
    scenario = load_or_build(data_root, spec)
    return evaluate_scenario(scenario, method, node_parameters(), tmp_path)[0]


@pytest.mark.parametrize(("platform", "speed"), [("drive", 8.0), ("flight", 12.0), ("drive", 15.0)])
def test_oracle_publishes_every_window_at_centimetre_error(
    data_root: Path, methods: dict, platform: str, speed: float, tmp_path: Path
) -> None:
    """Exact poses must survive the registration, the gate and the smoother (defect a)."""
    spec = ScenarioSpec(platform, SEED, DURATION_S, speed_mps=speed)
    errors = run(data_root, methods["oracle"], spec, tmp_path)
    assert len(errors) == 18
    refused = [e.category for e in errors if not e.published]
    assert not refused, f"refused: {refused}"
    worst = max(e.horizontal_m for e in errors)
    assert worst < ORACLE_TOLERANCE_M and max(e.height_m for e in errors) < ORACLE_TOLERANCE_M


def test_oracle_at_60_degrees_north_gets_tiles(
    data_root: Path, methods: dict, tmp_path: Path
) -> None:
    """A 1 m orthophoto at 60° is native zoom 16; the localizer asks for 17 (defect b)."""
    spec = ScenarioSpec("flight", SEED, DURATION_S, latitude=60.0)
    scenario = load_or_build(data_root, spec)
    with GeoTiffSource(scenario.orthophoto) as source:
        assert source.native_zoom == 16 < node_parameters()["tiles.zoom"]
    errors, _ = evaluate_scenario(scenario, methods["oracle"], node_parameters(), tmp_path)
    assert errors and all(e.published for e in errors), [e.category for e in errors]
    assert max(e.horizontal_m for e in errors) < ORACLE_TOLERANCE_M


def test_classical_baseline_localizes_a_held_out_flight(
    data_root: Path, methods: dict, tmp_path: Path
) -> None:
    spec = ScenarioSpec("flight", SEED, DURATION_S, speed_mps=12.0)
    summary = summarise(run(data_root, methods["classical"], spec, tmp_path))
    assert summary["published"] >= 0.4 * summary["windows"], summary
    assert summary["horizontal_m"]["median"] < 6.0, summary


def test_a_flight_bag_replays_as_aerial_without_the_flag(data_root: Path) -> None:
    """make-bag records the view type; replay reads it instead of defaulting to ground (c)."""
    for platform, expected in (("flight", ViewType.AERIAL), ("drive", ViewType.GROUND)):
        scenario = load_or_build(data_root, ScenarioSpec(platform, SEED, DURATION_S))
        with BagReader(scenario.bag) as reader:
            config = resolve(reader, ReplayOptions())
        assert [c.view_type for c in config.inputs.cameras] == [expected]


def test_the_dem_holds_the_ground_under_the_drive(data_root: Path) -> None:
    scenario = load_or_build(data_root, ScenarioSpec("drive", SEED, DURATION_S, speed_mps=8.0))
    dem = ElevationModel(scenario.dem)
    stamps = scenario.start_time_s + np.linspace(0.0, DURATION_S, 11)
    enu = np.stack([scenario.base_pose(t)[:3, 3] for t in stamps])
    lat, lon, height = scenario.origin.to_geodetic(enu[:, 0], enu[:, 1], enu[:, 2])
    np.testing.assert_allclose(dem.heights(lat, lon), height, atol=0.3)  # bilinear on 1 m
    assert np.isnan(dem.heights(lat + 1.0, lon)).all()  # outside the raster


def test_cli_writes_one_side_by_side_report(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    argv = ["evaluate-geo", "--model", "oracle", "classical", "--platform", "flight"]
    argv += ["--scenes", "1", "--duration", str(DURATION_S), "--data", str(data_root)]
    assert main([*argv, "--out", str(out), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md", "report.png"]
    report = json.loads((out / "report.json").read_text())
    rows = {(r["platform"], r["method"]): r for r in report["table"]}
    assert set(rows) == {("flight", "prior"), ("flight", "oracle"), ("flight", "classical")}
    assert rows["flight", "oracle"]["published_fraction"] == 1.0
    prior = rows["flight", "prior"]  # the GNSS fix (3 m sigma, correlated over 30 s)
    assert prior["published_fraction"] == 1.0 and 0.3 < prior["horizontal_m"]["median"] < 12.0
    assert prior["within_1sigma"] is not None and prior["within_2sigma"] > 0.3
    assert rows["flight", "oracle"]["horizontal_m"]["max"] < ORACLE_TOLERANCE_M
    assert 0 < rows["flight", "classical"]["published_fraction"] <= 1.0
    markdown = (out / "report.md").read_text()
    assert "| flight | oracle | 18 | 100.0 % |" in markdown and "| flight | classical |" in markdown
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_a_location_head_checkpoint_runs_on_the_map_or_through_the_sim3(
    data_root: Path, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    model = SkyNet(get_config("tiny", location_head=True))
    path = save_weights(model, tmp_path / "located.safetensors")
    on_map, sim3 = parse_methods([str(path)], sim3=[str(path)])
    assert sim3.label == "located.safetensors (sim3)"
    spec = ScenarioSpec("flight", SEED, DURATION_S)
    located = run(data_root, on_map, spec, tmp_path / "map")
    registered = run(data_root, sim3, spec, tmp_path / "sim3")
    assert len(located) == len(registered) == 18
    assert "registration" not in {e.category for e in located}  # no Sim(3) on the map path
    assert "registration" in {e.category for e in registered}


def plain_weights(tmp_path: Path) -> Path:
    return save_weights(SkyNet(get_config("tiny")), tmp_path / "plain.safetensors")


def corrupt_weights(tmp_path: Path) -> Path:
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "missing.safetensors"], "no model file"),
        (["--model", "CORRUPT"], "broken.safetensors"),
        (["--model", "oracle", "--sim3", "PLAIN"], "has no location head"),
        (["--model", "oracle", "--scenes", "0"], "--scenes must be at least 1"),
        (["--model", "oracle", "--seed-base", "0"], "are not held out"),
        (["--model", "oracle", "--seed-base", "5998", "--scenes", "4"], "are not held out"),
        (["--model", "oracle", "--platform", "drive", "--duration", "600"], "does not fit"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = {"CORRUPT": corrupt_weights, "PLAIN": plain_weights}
    extra = [str(named[a](tmp_path)) if a in named else a for a in extra]
    out, data = tmp_path / "out", tmp_path / "data"
    argv = ["evaluate-geo", *extra, "--out", str(out), "--data", str(data), "--no-progress"]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and "\n" not in error, error
    assert not out.exists() and not data.exists()


def test_replay_with_the_classical_fallback_and_the_dem(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a user without a trained model runs: `replay --model classical --dem`."""
    scenario = load_or_build(data_root, ScenarioSpec("flight", SEED, DURATION_S))
    out = tmp_path / "replay"
    argv = ["replay", str(scenario.bag), "--tiles", str(scenario.orthophoto), "--out", str(out)]
    argv += ["--model", "classical", "--dem", str(scenario.dem), "--no-progress"]
    assert main(argv) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["poses"] > 0 and "classical" in report["summary"]["model"]
    capsys.readouterr()
    missing = [*argv[:5], str(tmp_path / "again"), "--model", "classical", "--dem", "none.tif"]
    assert main(missing) == 1
    assert "none.tif" in capsys.readouterr().err and not (tmp_path / "again").exists()
