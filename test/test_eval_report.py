"""Per view group tables (paper layout), settings, CSV and the PNG chart."""

import csv
import io

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from sky2ground_ros.evaluation.pose_metrics import PoseMetrics
from sky2ground_ros.evaluation.report import PoseEvaluation, macro_average, window_setting
from sky2ground_ros.views import ViewType

G, A, S = int(ViewType.GROUND), int(ViewType.AERIAL), int(ViewType.SATELLITE)


def _window(n: int, seed: int) -> np.ndarray:
    rot = Rotation.random(n, random_state=seed).as_matrix()
    trans = np.random.default_rng(seed).normal(size=(n, 3))
    return np.concatenate([rot, trans[:, :, None]], axis=2)


def _rotate_frame(ext: np.ndarray, frame: int, deg: float) -> np.ndarray:
    """A copy with one camera's rotation perturbed (its centre kept)."""
    out = ext.copy()
    centre = -ext[frame, :, :3].T @ ext[frame, :, 3]
    out[frame, :, :3] = Rotation.from_euler("x", deg, degrees=True).as_matrix() @ ext[frame, :, :3]
    out[frame, :, 3] = -out[frame, :, :3] @ centre
    return out


def test_window_setting() -> None:
    assert window_setting([G, A, S, S]) == "GAS"
    assert window_setting(np.array([S, G, G])) == "G+S"
    assert window_setting([A, G]) == "G+A"
    assert window_setting([G]) == "G"


def test_pairs_are_grouped_by_their_first_frame() -> None:
    gt = _window(3, 0)  # frames: ground, satellite, aerial
    pred = _rotate_frame(gt, 1, 10.0)  # only the satellite camera is wrong
    evaluation = PoseEvaluation()
    evaluation.add_window("m", pred, gt, [G, S, A])
    groups = evaluation.group_metrics("GAS", "m")
    assert list(groups) == ["Ground", "Satellite", "Aerial", "Avg."]
    # Satellite pairs (S,G), (S,A) both involve the wrong camera; the others one pair in two
    assert groups["Satellite"].rra[5] == 0.0
    assert groups["Ground"].rra[5] == pytest.approx(50.0)
    assert groups["Aerial"].rra[5] == pytest.approx(50.0)
    assert groups["Avg."].rra[5] == pytest.approx((0.0 + 50.0 + 50.0) / 3)
    assert groups["Avg."].n_pairs == 6
    assert all(groups[g].n_pairs == 2 for g in ("Ground", "Satellite", "Aerial"))


def test_gs_windows_are_reported_separately_and_pooled() -> None:
    evaluation = PoseEvaluation()
    gas = _window(3, 1)
    evaluation.add_window("m", _rotate_frame(gas, 0, 20.0), gas, [G, A, S])
    gs1, gs2 = _window(4, 2), _window(3, 3)
    evaluation.add_window("m", gs1, gs1, [G, G, S, S])  # exact
    evaluation.add_window("m", _rotate_frame(gs2, 2, 8.0), gs2, [G, G, S])
    assert evaluation.settings() == ["GAS", "G+S"]
    assert evaluation.n_windows("G+S", "m") == 2
    gs = evaluation.group_metrics("G+S", "m")
    assert list(gs) == ["Ground", "Satellite", "Avg."]
    # Ground pairs: 6 exact (window 1), in window 2 (0,1) exact, (0,2), (1,2) off by 8°
    assert gs["Ground"].n_pairs == 6 + 4
    assert gs["Ground"].rra[5] == pytest.approx(100.0 * 8 / 10)
    assert gs["Ground"].rra[15] == pytest.approx(100.0)
    # Satellite pairs: 6 exact, and (2,0), (2,1) off by 8°
    assert gs["Satellite"].rra[5] == pytest.approx(100.0 * 6 / 8)
    assert gs["Avg."].rra[5] == pytest.approx((80.0 + 75.0) / 2)
    assert evaluation.group_metrics("GAS", "m")["Ground"].rra[15] == 0.0


def test_macro_average_matches_paper_avg_column() -> None:
    def metrics(rra: float, rta: float) -> PoseMetrics:
        return PoseMetrics(10, 10, 0, 0, {5: rra}, {5: rta}, None, 30)

    # SkyNet, GAS setting: ground 76.7/64.2, satellite 88.9/57.3, aerial 84.0/78.1
    avg = macro_average([metrics(76.7, 64.2), metrics(88.9, 57.3), metrics(84.0, 78.1)])
    assert round(avg.rra[5], 1) == 83.2
    assert round(avg.rta[5], 1) == 66.5
    assert avg.auc is None
    assert avg.n_pairs == 30


def test_markdown_csv_and_png(tmp_path) -> None:
    evaluation = PoseEvaluation()
    gt = _window(3, 4)
    evaluation.add_batch("VGGT", np.stack([_rotate_frame(gt, 1, 10.0)]), gt[None], [[G, S, A]])
    evaluation.add_window("SkyNet", gt, gt, [G, S, A])
    markdown = evaluation.to_markdown()
    assert "### GAS setting: RRA@5 / RTA@5 (%)" in markdown
    assert "| Method | Ground | Satellite | Aerial | Avg. |" in markdown
    assert "| SkyNet | 100.0/100.0 | 100.0/100.0 | 100.0/100.0 | 100.0/100.0 |" in markdown
    assert "| VGGT | 50.0/" in markdown
    assert "AUC@30 (%)" in markdown

    rows = list(csv.DictReader(io.StringIO(evaluation.to_csv())))
    assert len(rows) == 2 * 4
    vggt_sat = next(r for r in rows if r["method"] == "VGGT" and r["group"] == "Satellite")
    assert float(vggt_sat["RRA@5"]) == 0.0
    assert float(vggt_sat["RRA@15"]) == 100.0
    assert vggt_sat["setting"] == "GAS"
    assert vggt_sat["n_pairs"] == "2"
    assert {"RTA@30", "AUC@30", "gt_degenerate", "pred_degenerate"} <= set(rows[0])

    paths = evaluation.save(tmp_path)
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths["md"].read_text(encoding="utf-8") == markdown
    assert paths["csv"].read_text(encoding="utf-8") == evaluation.to_csv()


def test_degenerate_pairs_are_noted_in_markdown() -> None:
    evaluation = PoseEvaluation()
    gt = _window(3, 5)
    centre = -gt[0, :, :3].T @ gt[0, :, 3]
    gt[1, :, 3] = -gt[1, :, :3] @ centre  # frame 1 shares frame 0's centre
    evaluation.add_window("m", gt, gt, [G, G, S])
    assert "m: 2 of 6 pairs with a zero-length ground-truth translation" in (
        evaluation.to_markdown()
    )
    row = next(r for r in csv.DictReader(io.StringIO(evaluation.to_csv())) if r["group"] == "Avg.")
    assert row["gt_degenerate"] == "2"
    assert row["n_translation_pairs"] == "4"
