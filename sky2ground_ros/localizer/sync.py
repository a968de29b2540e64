"""Approximate-time synchronisation of several camera streams (message_filters semantics).

message_filters has no PyPI wheel. This follows its Python ApproximateTimeSynchronizer:
one bounded queue per input; when a message arrives, the closest message of every other
queue within `slop` seconds of it forms a set, which is emitted once and then dropped
together with everything older.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class ApproximateTimeSync(Generic[T]):
    """Group items from `num_inputs` streams whose stamps lie within `slop` seconds."""

    num_inputs: int
    slop: float
    queue_size: int = 10
    callback: Callable[[Sequence[T]], None] | None = None
    dropped: int = 0
    _queues: list[dict[float, T]] = field(init=False)

    def __post_init__(self) -> None:
        if self.num_inputs < 1 or self.slop < 0 or self.queue_size < 1:
            raise ValueError("need num_inputs >= 1, slop >= 0 and queue_size >= 1")
        self._queues = [{} for _ in range(self.num_inputs)]

    def add(self, index: int, stamp: float, item: T) -> list[T] | None:
        """Queue an item of input `index`; return (and pass to the callback) a matched set."""
        queue = self._queues[index]
        queue[stamp] = item
        while len(queue) > self.queue_size:
            del queue[min(queue)]
            self.dropped += 1
        chosen: list[float] = []
        for other in self._queues:
            near = [s for s in other if abs(s - stamp) <= self.slop]
            if not near:
                return None
            chosen.append(min(near, key=lambda s: abs(s - stamp)))
        matched = [q[s] for q, s in zip(self._queues, chosen, strict=True)]
        for q, s in zip(self._queues, chosen, strict=True):
            for old in [k for k in q if k <= s]:
                del q[old]
        if self.callback is not None:
            self.callback(matched)
        return matched
