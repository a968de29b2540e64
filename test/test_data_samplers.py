"""P-VS and CA-CS schedules, frame selection, and the resumable curriculum sampler."""

from __future__ import annotations

import numpy as np
import pytest

from sky2ground_ros.data.cameras import look_at
from sky2ground_ros.data.samplers import (
    CurriculumSampler,
    cacs_distance_band,
    camera_distance,
    pvs_view_counts,
    rebalance_counts,
    select_frames,
)
from sky2ground_ros.views import ViewType

G, A, S = ViewType.GROUND, ViewType.AERIAL, ViewType.SATELLITE


@pytest.mark.parametrize("n", [2, 5, 8, 24])
def test_pvs_aerial_count_falls_from_about_n_to_zero(n: int) -> None:
    schedule = [pvs_view_counts(n, p) for p in np.linspace(0, 1, 21)]
    assert all(sum(c.values()) == n for c in schedule)
    assert schedule[0][A] == n - 2 and schedule[-1][A] == 0
    aerial = [c[A] for c in schedule]
    assert aerial == sorted(aerial, reverse=True)
    assert all(c[G] >= 1 and c[S] >= 1 for c in schedule)
    assert abs(schedule[-1][G] - schedule[-1][S]) <= 1
    assert pvs_view_counts(8, 0.5) == {G: 3, A: 3, S: 2}


def test_pvs_options_and_errors() -> None:
    counts = pvs_view_counts(10, 1.0, ground_share=0.8, min_ground=0, min_satellite=2)
    assert counts == {G: 8, A: 0, S: 2}
    assert pvs_view_counts(10, 0.0, min_ground=0, min_satellite=0) == {G: 0, A: 10, S: 0}
    with pytest.raises(ValueError):
        pvs_view_counts(8, 1.5)
    with pytest.raises(ValueError):
        pvs_view_counts(1, 0.5)


def test_cacs_band_widens_from_near_pairs_to_all_pairs() -> None:
    assert cacs_distance_band(0.0) == (0.0, 0.25)
    assert cacs_distance_band(1.0) == (0.0, 1.0)
    assert cacs_distance_band(0.5) == (0.0, 0.625)
    highs = [cacs_distance_band(p)[1] for p in np.linspace(0, 1, 11)]
    assert highs == sorted(highs)
    lo, hi = cacs_distance_band(1.0, start_width=0.1, end_low=0.5)
    assert (lo, hi) == (0.5, 1.0)


def test_camera_distance_is_rotation_plus_half_translation() -> None:
    a = look_at(np.zeros(3), np.array([1.0, 0.0, 0.0]))
    b = look_at(np.array([0.0, 4.0, 0.0]), np.array([0.0, 5.0, 0.0]))  # 90 deg turned, 4 m off
    np.testing.assert_allclose(camera_distance(a, b, scale=2.0), np.pi / 2 + 0.5 * 4.0 / 2.0)


def _line_of_cameras(n: int) -> np.ndarray:
    return np.stack(
        [look_at(np.array([10.0 * i, 0, 2]), np.array([10.0 * i, 50, 2])) for i in range(n)]
    )


def test_select_frames_respects_counts_band_and_anchor() -> None:
    types = np.array([G] * 10 + [A] * 10 + [S] * 5)
    extrinsics = _line_of_cameras(25)
    rng = np.random.default_rng(0)
    counts = {G: 3, A: 2, S: 1}
    frames = select_frames(types, extrinsics, counts, rng)
    assert len(set(frames)) == 6 and types[frames[0]] == G
    assert [int(types[i]) for i in frames] == [0, 0, 0, 1, 1, 2]
    # near band: the other ground frames are the nearest 20 % (ranks) to the anchor
    for seed in range(20):
        frames = select_frames(types, extrinsics, {G: 3}, np.random.default_rng(seed), (0.0, 0.2))
        anchor, others = frames[0], frames[1:]
        nearest = sorted((i for i in range(10) if i != anchor), key=lambda i: (abs(i - anchor), i))[
            :3
        ]
        assert set(others) <= set(nearest)
    for seed in range(20):
        far = select_frames(types, extrinsics, {G: 3}, np.random.default_rng(seed), (0.8, 1.0))
        distances = sorted(abs(i - far[0]) for i in range(10) if i != far[0])
        assert all(abs(i - far[0]) >= distances[-3] for i in far[1:])


def test_missing_views_are_filled_from_other_types() -> None:
    assert rebalance_counts({G: 2, A: 2, S: 4}, {G: 5, A: 5, S: 1}) == {G: 2, A: 5, S: 1}
    with pytest.raises(ValueError):
        rebalance_counts({G: 4}, {G: 1, A: 1, S: 1})


def test_sampler_follows_the_curriculum_and_resumes_exactly() -> None:
    sampler = CurriculumSampler(num_scenes=3, num_frames=8, total_samples=50, seed=5)
    stream = list(sampler)
    assert len(stream) == 50 and len(sampler) == 0
    assert stream[0].counts[A] == 6 and stream[-1].counts[A] == 0
    assert stream[0].band == (0.0, 0.25) and stream[-1].band == (0.0, 1.0)
    assert {r.scene_index for r in stream[:3]} == {0, 1, 2}
    fresh = CurriculumSampler(num_scenes=3, num_frames=8, total_samples=50, seed=5)
    head = [r for _, r in zip(range(17), fresh, strict=False)]
    state = fresh.state_dict()
    resumed = CurriculumSampler(num_scenes=3, num_frames=8, total_samples=50, seed=5)
    resumed.load_state_dict(state)
    assert head + list(resumed) == stream
    other = CurriculumSampler(num_scenes=3, num_frames=8, total_samples=50, seed=6)
    assert list(other) != stream
    with pytest.raises(ValueError):
        other.load_state_dict(state)
    fixed = CurriculumSampler(
        3, 4, 10, progressive_views=False, camera_curriculum=False, fixed_counts={G: 2, S: 2}
    )
    assert all(r.counts == {G: 2, A: 0, S: 2} and r.band is None for r in fixed)
