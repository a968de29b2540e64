"""Which synthetic scene seeds train models and which are held out: declared once, here.

A scene is identified by its dataset seed and index (`synthetic.scene_seed`). Training sets
are rendered with ``make-synthetic --seed S`` for S in `TRAINING_SEEDS`; `evaluate-geo`
records its held-out flights and drives from scene ``(S, 0)`` for S in `GEO_EVAL_SEEDS`
(what ``make-bag --seed S`` records). `check_training_scenes` makes ``train`` refuse any
training scene that is one of the held-out ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from sky2ground_ros.data.synthetic import scene_seed

TRAINING_SEEDS = range(0, 1000)
"""Dataset seeds of training scenes (the shipped checkpoints use seed 0; validation, the
benchmark's held-out set and the demo use 1000)."""
GEO_EVAL_SEEDS = range(5000, 6000)
"""Scene seeds of evaluate-geo's held-out bags; never rendered for training."""
GEO_EVAL_SEED_BASE = GEO_EVAL_SEEDS.start
GEO_CURVE_SEEDS = (GEO_EVAL_SEEDS.stop - 1,)
"""Held-out bags of the training curve's evaluate-geo: the end of the range, so a curve
never looks at the bags that reports count up from the start."""


def seed_span(seeds: range) -> str:
    """'5000-5999' for messages."""
    return f"{seeds.start}-{seeds.stop - 1}"


def check_geo_eval_seeds(seeds: Iterable[int]) -> None:
    """ValueError unless every seed is one of the held-out evaluation seeds."""
    outside = sorted(set(seeds) - set(GEO_EVAL_SEEDS))
    if outside:
        raise ValueError(
            f"seeds {outside[0]}..{outside[-1]} are not held out: evaluate-geo uses scene seeds "
            f"{seed_span(GEO_EVAL_SEEDS)} (training uses {seed_span(TRAINING_SEEDS)})"
        )


@cache
def _held_out_scene_seeds() -> frozenset[int]:
    return frozenset(scene_seed(seed, 0) for seed in GEO_EVAL_SEEDS)


def check_training_scenes(scenes: Iterable[tuple[str, dict[str, Any]]]) -> None:
    """ValueError naming the first training scene (name, metadata) that evaluate-geo holds out."""
    for name, metadata in scenes:
        dataset_seed = metadata.get("dataset_seed")
        seed = metadata.get("scene_seed")
        if dataset_seed in GEO_EVAL_SEEDS or seed in _held_out_scene_seeds():
            raise ValueError(
                f"training scene {name} (dataset seed {dataset_seed}) is held out for "
                f"evaluate-geo (seeds {seed_span(GEO_EVAL_SEEDS)}): render training scenes "
                f"with seeds {seed_span(TRAINING_SEEDS)}"
            )
