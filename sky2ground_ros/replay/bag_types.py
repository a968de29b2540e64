"""What the bag readers hand out: topics with their types and definitions, raw messages, errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from rosbags.interfaces import Qos

VIEW_TYPE_KEY = "sky2ground.view_type"
"""metadata.yaml ``custom_data`` key naming the cameras' view type (ground or aerial)."""


@dataclass(frozen=True)
class TopicInfo:
    """One topic of a bag; ``count`` is None when a damaged bag could not be counted."""

    name: str
    msgtype: str
    count: int | None = None
    msgdef: str = ""
    """Full message definition as recorded ('' when the bag has none)."""
    msgdef_format: str = ""
    """'ros2msg', 'ros2idl' or ''."""
    digest: str = ""
    """RIHS01 type hash as recorded ('' when the bag has none)."""
    qos: tuple[Qos, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        """``/topic [type] (N messages)`` for error messages and summaries."""
        count = "?" if self.count is None else str(self.count)
        return f"{self.name} [{self.msgtype}] ({count} messages)"


@dataclass(frozen=True)
class BagMessage:
    """One recorded message: topic, type, receive time (ns) and CDR bytes."""

    topic: str
    msgtype: str
    timestamp: int
    data: bytes


class BagError(RuntimeError):
    """A bag that cannot be used at all (not a bag, no readable topics)."""


class DamagedBagError(BagError):
    """Reading stopped at damage; the message says where (file offset, row, reason)."""


class MissingTopicError(BagError):
    """A topic the replay needs is not in the bag; the message lists the bag's topics."""

    def __init__(self, what: str, topics: dict[str, TopicInfo]) -> None:
        listing = "\n".join(f"  {info.describe()}" for info in topics.values()) or "  (none)"
        super().__init__(f"{what}; the bag has these topics:\n{listing}")
