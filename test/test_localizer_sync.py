"""ApproximateTimeSync matches streams like message_filters' ApproximateTimeSynchronizer."""

import pytest

from sky2ground_ros.localizer.sync import ApproximateTimeSync


def test_matches_within_slop_and_picks_the_closest() -> None:
    out = []
    sync = ApproximateTimeSync(num_inputs=2, slop=0.05, callback=out.append)
    assert sync.add(0, 1.00, "a1") is None
    sync.add(1, 0.96, "b_early")
    assert out == [["a1", "b_early"]]
    sync.add(0, 2.00, "a2")
    sync.add(1, 1.90, "b_far")  # 0.1 s away: no match
    sync.add(1, 2.02, "b_close")
    assert out[-1] == ["a2", "b_close"]
    assert len(out) == 2


def test_three_cameras_need_all_inputs() -> None:
    sync = ApproximateTimeSync(num_inputs=3, slop=0.01)
    assert sync.add(0, 5.0, 0) is None
    assert sync.add(1, 5.005, 1) is None
    assert sync.add(2, 4.995, 2) == [0, 1, 2]


def test_matched_and_older_messages_are_consumed() -> None:
    sync = ApproximateTimeSync(num_inputs=2, slop=0.05)
    sync.add(0, 1.0, "a1")
    sync.add(0, 2.0, "a2")
    assert sync.add(1, 2.01, "b2") == ["a2", "b2"]
    # a1 was older than the match and is gone: a late b1 finds nothing.
    assert sync.add(1, 1.01, "b1") is None


def test_queue_is_bounded_and_counts_drops() -> None:
    sync = ApproximateTimeSync(num_inputs=2, slop=0.001, queue_size=3)
    for i in range(10):
        sync.add(0, float(i), i)
    assert sync.dropped == 7
    assert sync.add(1, 9.0, "b") == [9, "b"]
    assert sync.add(1, 2.0, "late") is None  # stamp 2.0 was dropped from input 0


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        ApproximateTimeSync(num_inputs=0, slop=0.1)
    with pytest.raises(ValueError):
        ApproximateTimeSync(num_inputs=2, slop=-1.0)
