"""Open a rosbag2 (MCAP or SQLite, a bag directory or one storage file) without ROS.

Healthy bags are read with rosbags in timestamp order. A bag that rosbags cannot open
(a cut MCAP, a corrupt database, a directory without metadata.yaml after a crash) is read
in recorded order by `salvage` as far as it goes. Either way, reading stops cleanly at the
first damaged record and `BagReader.stopped` says where and why.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Collection, Iterator
from pathlib import Path

import yaml
from rosbags.interfaces import MessageDefinitionFormat
from rosbags.rosbag2 import Reader, ReaderError

from sky2ground_ros.replay.bag_types import (
    BagError,
    BagMessage,
    DamagedBagError,
    MissingTopicError,
    TopicInfo,
)
from sky2ground_ros.replay.salvage import McapScan, SqliteScan

STORAGE_SUFFIXES = (".mcap", ".db3")
_FORMATS = {MessageDefinitionFormat.MSG: "ros2msg", MessageDefinitionFormat.IDL: "ros2idl"}
_UNOPENABLE = (
    ReaderError,
    sqlite3.DatabaseError,
    FileNotFoundError,
    ValueError,
    TypeError,  # rosbags' MCAP parser on a file that ends inside its header
    struct.error,
    EOFError,
)
"""What rosbags raises on damaged or foreign bytes: the bag is then salvaged."""


class BagReader:
    """Topics and messages of one bag; use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise BagError(f"no bag at {self.path}")
        self.damage = ""
        """Why rosbags could not open the bag ('' when it could)."""
        self.stopped = ""
        """Where reading stopped early ('' when every requested message was read)."""
        self._reader: Reader | None = None
        self._scans: list[McapScan | SqliteScan] = []
        try:
            self._reader = Reader(self.path)
            self._reader.open()
        except _UNOPENABLE as error:
            self._reader = None
            self.damage = str(error) or type(error).__name__
            self._scans = [_scan(file) for file in _storage_files(self.path)]
            if not self._scans:
                raise BagError(f"{self.path} is not a readable rosbag2: {self.damage}") from error
        self.topics = self._topics()
        if self._reader is None and not self.topics:
            self.close()
            raise BagError(
                f"{self.path} is not a readable rosbag2: its storage holds no readable topic"
            )
        self.custom_data: dict[str, str] = (
            dict(self._reader.storage.metadata.custom or {})
            if self._reader is not None
            else _salvaged_custom_data(self.path)
        )
        """metadata.yaml's ``custom_data`` (empty for a single-file bag)."""

    def __enter__(self) -> BagReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        for scan in self._scans:
            if isinstance(scan, SqliteScan):
                scan.close()
        self._scans = []

    def topics_of_type(self, *msgtypes: str) -> list[str]:
        """Topics whose type is one of ``msgtypes``, sorted by name."""
        return sorted(name for name, info in self.topics.items() if info.msgtype in msgtypes)

    def require(self, topic: str, msgtypes: Collection[str], role: str) -> TopicInfo:
        """The topic's info; `MissingTopicError` listing the bag's topics if absent or mistyped."""
        info = self.topics.get(topic)
        if info is None:
            raise MissingTopicError(f"{role} topic {topic} is not in {self.path}", self.topics)
        if info.msgtype not in msgtypes:
            raise MissingTopicError(
                f"{role} topic {topic} has type {info.msgtype}, expected {' or '.join(msgtypes)}",
                self.topics,
            )
        return info

    def messages(self, topics: Collection[str]) -> Iterator[BagMessage]:
        """Messages of ``topics``; stops at damage and records it in `stopped`."""
        self.stopped = ""
        count, last = 0, None
        try:
            for message in self._messages(set(topics)):
                count, last = count + 1, message.timestamp
                yield message
        except (DamagedBagError, ReaderError, sqlite3.DatabaseError) as error:
            when = "" if last is None else f", last at bag time {last * 1e-9:.3f} s"
            self.stopped = f"stopped after {count} messages{when}: {error}"

    def _messages(self, topics: set[str]) -> Iterator[BagMessage]:
        if self._reader is not None:
            connections = [c for c in self._reader.connections if c.topic in topics]
            if connections:
                for connection, timestamp, data in self._reader.messages(connections):
                    yield BagMessage(connection.topic, connection.msgtype, timestamp, bytes(data))
            return
        for scan in self._scans:
            yield from scan.messages(topics)

    def _topics(self) -> dict[str, TopicInfo]:
        if self._reader is None:
            merged: dict[str, TopicInfo] = {}
            for scan in self._scans:
                merged.update(scan.topics)
            return dict(sorted(merged.items()))
        infos = {}
        for name, topic in sorted(self._reader.topics.items()):
            connection = topic.connections[0]
            infos[name] = TopicInfo(
                name,
                topic.msgtype or connection.msgtype,
                topic.msgcount,
                topic.msgdef.data,
                _FORMATS.get(topic.msgdef.format, ""),
                connection.digest,
                tuple(getattr(connection.ext, "offered_qos_profiles", ())),
            )
        return infos


def _storage_files(path: Path) -> list[Path]:
    """The storage files of a bag directory (or the file itself)."""
    if path.is_file():
        return [path] if path.suffix in STORAGE_SUFFIXES else []
    return sorted(p for p in path.iterdir() if p.suffix in STORAGE_SUFFIXES)


def _scan(path: Path) -> McapScan | SqliteScan:
    return McapScan(path) if path.suffix == ".mcap" else SqliteScan(path)


def _salvaged_custom_data(path: Path) -> dict[str, str]:
    """``custom_data`` of a damaged bag's metadata.yaml, when it is still a readable mapping."""
    metadata = path / "metadata.yaml"
    if not metadata.is_file():
        return {}
    try:
        info = yaml.safe_load(metadata.read_text())["rosbag2_bagfile_information"]
        custom = info.get("custom_data") or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, TypeError, KeyError, AttributeError):
        return {}
    if not isinstance(custom, dict):
        return {}
    return {str(key): str(value) for key, value in custom.items()}
