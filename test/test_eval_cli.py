"""`sky2ground eval` / `benchmark-baselines` on tiny checkpoints: deterministic shared windows,
printed tables that match the written CSV, and training of methods without weights."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import torch
from test_training_support import make_scenes

from sky2ground_ros.cli.main import main
from sky2ground_ros.evaluation.run_eval import build_windows
from sky2ground_ros.model import SkyNet, get_config
from sky2ground_ros.model.weights import save_weights
from sky2ground_ros.views import ViewType

G, A, S = int(ViewType.GROUND), int(ViewType.AERIAL), int(ViewType.SATELLITE)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("eval_cli")
    scenes = make_scenes(root / "scenes", scenes=2, seed=9)
    torch.manual_seed(0)
    skynet = save_weights(SkyNet(get_config("tiny")), root / "skynet.safetensors")
    plain = SkyNet(get_config("tiny", msa=False, sat_stream=False))
    return scenes, skynet, save_weights(plain, root / "vggt.safetensors")


def _table_cells(markdown: str, title: str) -> dict[tuple[str, str], str]:
    """(method, column) -> cell text of the Markdown table under `### <title>`."""
    block = markdown.split(f"### {title}\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    columns = [c.strip() for c in block[0].strip("|").split("|")][1:]
    cells = {}
    for line in block[2:]:
        method, *values = (c.strip() for c in line.strip("|").split("|"))
        cells.update({(method, col): v for col, v in zip(columns, values, strict=True)})
    return cells


def test_windows_are_deterministic_and_follow_the_settings(setup) -> None:
    scenes = setup[0]
    gas, gs = build_windows(scenes, num_frames=6, image_size=(28, 28), windows_per_scene=2)
    again = build_windows(scenes, num_frames=6, image_size=(28, 28), windows_per_scene=2)[0]
    assert torch.equal(gas.images, again.images) and torch.equal(gas.extrinsics, again.extrinsics)
    assert (gas.setting, gs.setting, len(gas), len(gs)) == ("GAS", "G+S", 4, 4)
    assert (gas.view_types[:, 0] == G).all()
    assert all(sorted(row.tolist()) == [G, G, A, A, S, S] for row in gas.view_types)
    assert all(sorted(row.tolist()) == [G, G, G, S, S, S] for row in gs.view_types)
    assert torch.allclose(gas.extrinsics[:, 0], torch.eye(3, 4).expand(4, 3, 4), atol=1e-6)


def test_eval_table_matches_the_written_csv(setup, tmp_path: Path, capsys) -> None:
    scenes, skynet, vggt = setup
    argv = ["eval", "--weights", str(skynet), "--weights", str(vggt), "--label", "SkyNet"]
    argv += ["--label", "VGGT", "--scenes", str(scenes), "--out", str(tmp_path)]
    argv += ["--windows-per-scene", "2", "--image-size", "28"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith((tmp_path / "report.md").read_text())
    with (tmp_path / "report.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["setting"], r["method"]) for r in rows} == {
        (s, m) for s in ("GAS", "G+S") for m in ("SkyNet", "VGGT")
    }
    assert {r["group"] for r in rows if r["setting"] == "G+S"} == {"Ground", "Satellite", "Avg."}
    for setting in ("GAS", "G+S"):
        pairs = {
            int(r["n_pairs"]) for r in rows if r["setting"] == setting and r["group"] == "Avg."
        }
        assert pairs == {4 * 6 * 5}  # both methods on the same 4 windows of 6 frames
        for threshold in (5, 15, 30):
            cells = _table_cells(
                printed, f"{setting} setting: RRA@{threshold} / RTA@{threshold} (%)"
            )
            for r in (r for r in rows if r["setting"] == setting):
                expected = f"{float(r[f'RRA@{threshold}']):.1f}/{float(r[f'RTA@{threshold}']):.1f}"
                assert cells[(r["method"], r["group"])] == expected
        auc = _table_cells(printed, f"{setting} setting: AUC@30 (%)")
        for r in (r for r in rows if r["setting"] == setting):
            assert auc[(r["method"], r["group"])] == f"{float(r['AUC@30']):.1f}"
    assert (tmp_path / "report.png").stat().st_size > 0


def test_eval_reports_bad_inputs(setup, tmp_path: Path, capsys) -> None:
    scenes, skynet, _ = setup
    base = ["eval", "--scenes", str(scenes), "--out", str(tmp_path)]
    assert main([*base, "--weights", str(tmp_path / "none.safetensors")]) == 2
    assert main([*base, "--weights", str(skynet), "--label", "a", "--label", "b"]) == 2
    assert main([*base, "--weights", str(skynet), "--image-size", "30"]) == 2
    assert "evaluation failed" in capsys.readouterr().out


def test_benchmark_trains_missing_methods_and_evaluates_all(setup, tmp_path: Path, capsys):
    scenes, skynet, _ = setup
    config = tmp_path / "vggt.yaml"
    config.write_text(
        "name: vggt\nmodel: {msa: false, sat_stream: false}\ndata: {image_size: 28}\n"
        "optim: {warmup_steps: 0}\nrun: {steps: 2, batch_size: 1, threads: 1}\n"
    )
    dataset = (
        "{out: %s, scenes: 2, seed: 9, size: 56, satellite: 3, aerial_positions: 1, ground: 5}"
    )
    spec = tmp_path / "bench.yaml"
    spec.write_text(
        f"train_data: {dataset % scenes}\nheldout_data: {dataset % scenes}\n"
        "windows: {frames: 6, windows_per_scene: 1, image_size: 28}\n"
        "methods:\n"
        f"  - {{label: Shipped, config: {config}, weights: {skynet}}}\n"
        f"  - {{label: Trained, config: {config}, weights: {tmp_path / 'missing.safetensors'}}}\n"
    )
    out = tmp_path / "bench"
    assert main(["benchmark-baselines", "--spec", str(spec), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (out / "train" / "vggt" / "model.safetensors").is_file()
    assert re.search(r"^\| Shipped \|", printed, re.MULTILINE)
    assert re.search(r"^\| Trained \|", printed, re.MULTILINE)
    spec.write_text(spec.read_text().replace("label: Trained", "label: Shipped"))
    assert main(["benchmark-baselines", "--spec", str(spec), "--out", str(out)]) == 2
