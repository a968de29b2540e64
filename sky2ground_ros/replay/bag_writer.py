"""Write a rosbag2 (MCAP or SQLite) with rosbags: copies of input topics plus new messages.

Copied topics keep their recorded type definition and hash (so `ros2 bag play` offers the
same types, including custom ones); new topics use the ROS 2 Kilted definitions. /tf_static
is always offered transient-local with a deep history so a late subscriber still receives
every static transform of the bag, not only the last message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from rosbags.interfaces import (
    Connection,
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore

from sky2ground_ros.replay.bag_types import TopicInfo
from sky2ground_ros.replay.messages import TYPESTORE, serialize

LOG = logging.getLogger(__name__)

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
_NO_TIME = QosTime(0, 0)
STATIC_TF_QOS = Qos(
    QosHistory.KEEP_LAST,
    100,
    QosReliability.RELIABLE,
    QosDurability.TRANSIENT_LOCAL,
    _NO_TIME,
    _NO_TIME,
    QosLiveliness.AUTOMATIC,
    _NO_TIME,
    False,
)


class BagWriter:
    """A new bag; topics are added once, then messages are written by topic name."""

    def __init__(self, path: str | Path, storage: str = "mcap") -> None:
        if storage not in STORAGES:
            raise ValueError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
        self.path = Path(path)
        self._writer = Writer(
            self.path, version=Writer.VERSION_LATEST, storage_plugin=STORAGES[storage]
        )
        self._writer.open()
        self._connections: dict[str, Connection] = {}
        self._types = TYPESTORE

    def __enter__(self) -> BagWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def topics(self) -> dict[str, str]:
        """Topic → message type of every topic added so far."""
        return {topic: c.msgtype for topic, c in self._connections.items()}

    def add_topic(self, topic: str, msgtype: str, qos: tuple[Qos, ...] = ()) -> None:
        """A new topic of a ROS 2 Kilted type (no-op when it exists with that type)."""
        if self._exists(topic, msgtype):
            return
        if topic == "/tf_static":
            qos = (STATIC_TF_QOS,)
        self._connections[topic] = self._writer.add_connection(
            topic, msgtype, typestore=self._types, offered_qos_profiles=qos
        )

    def copy_topic(self, info: TopicInfo) -> bool:
        """Add an input topic with its recorded definition; False if its type is unknowable."""
        if self._exists(info.name, info.msgtype):
            return True
        qos = (STATIC_TF_QOS,) if info.name == "/tf_static" else info.qos
        if info.msgdef and info.digest:
            self._connections[info.name] = self._writer.add_connection(
                info.name,
                info.msgtype,
                msgdef=info.msgdef,
                rihs01=info.digest,
                offered_qos_profiles=qos,
            )
            return True
        if info.msgtype not in self._types.types and not self._register(info):
            LOG.warning("not copying %s: no definition of %s", info.name, info.msgtype)
            return False
        self._connections[info.name] = self._writer.add_connection(
            info.name, info.msgtype, typestore=self._types, offered_qos_profiles=qos
        )
        return True

    def set_custom_data(self, key: str, value: str) -> None:
        """A key/value pair in metadata.yaml's ``custom_data`` (rosbag2 bag format 6+)."""
        self._writer.set_custom_data(key, value)

    def write_raw(self, topic: str, timestamp_ns: int, data: bytes) -> None:
        """Write CDR bytes to a topic at a bag time."""
        self._writer.write(self._connections[topic], timestamp_ns, data)

    def write(self, topic: str, timestamp_ns: int, msg: Any) -> None:
        """Serialise and write a rosbags message; the topic is added on first use."""
        if topic not in self._connections:
            self.add_topic(topic, msg.__msgtype__)
        self.write_raw(topic, timestamp_ns, serialize(msg))

    def close(self) -> None:
        """Finish the storage file and metadata.yaml (idempotent)."""
        if self._writer.storage is not None:
            self._writer.close()

    def _exists(self, topic: str, msgtype: str) -> bool:
        existing = self._connections.get(topic)
        if existing is not None and existing.msgtype != msgtype:
            raise ValueError(f"topic {topic} already has type {existing.msgtype}, not {msgtype}")
        return existing is not None

    def _register(self, info: TopicInfo) -> bool:
        """Learn a custom type from its recorded definition (in a private typestore)."""
        if not info.msgdef:
            return False
        parse = get_types_from_idl if info.msgdef_format == "ros2idl" else get_types_from_msg
        try:
            types = parse(info.msgdef, info.msgtype)
        except Exception as error:  # rosbags raises several parser errors; any means unusable
            LOG.warning("cannot parse the definition of %s: %s", info.msgtype, error)
            return False
        if self._types is TYPESTORE:
            self._types = get_typestore(Stores.ROS2_KILTED)
        self._types.register(types)
        return True
