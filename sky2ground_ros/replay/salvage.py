"""Read what is readable of a damaged rosbag2 storage file (a cut MCAP, a corrupt SQLite db).

rosbags refuses such files when opening them (an MCAP without its footer and summary, a
database whose message pages cannot all be counted), yet a recorder that crashed or a copy
cut short leaves exactly these. The readers here go through the file in recorded order, one
record (MCAP) or row (SQLite) at a time, and raise `DamagedBagError` saying where they had
to stop; everything before that point is delivered. MCAP records follow the published
specification (https://mcap.dev/spec): opcode, uint64 length, little-endian fields.
"""

from __future__ import annotations

import sqlite3
import struct
import sys
from binascii import crc32
from collections import Counter
from collections.abc import Collection, Iterator
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

from lz4.frame import LZ4FrameDecompressor
from rosbags.rosbag2.metadata import parse_qos

from sky2ground_ros.replay.bag_types import BagError, BagMessage, DamagedBagError, TopicInfo

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

MCAP_MAGIC = b"\x89MCAP0\r\n"
OP_SCHEMA, OP_CHANNEL, OP_MESSAGE, OP_CHUNK = 0x03, 0x04, 0x05, 0x06


class McapScan:
    """An MCAP file read front to back, without its summary section."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._schemas: dict[int, tuple[str, str, str]] = {}
        self._channels: dict[int, tuple[str, str, bytes]] = {}
        self._channel_schema: dict[int, int] = {}
        counts: Counter[int] = Counter()
        try:
            for channel, _, _ in self._scan(decode=False):
                counts[channel] += 1
        except DamagedBagError:
            pass
        self.topics = self._topic_infos(counts)

    def messages(self, topics: Collection[str]) -> Iterator[BagMessage]:
        """Messages of these topics in file order, up to the first damaged record."""
        wanted = {cid for cid, (topic, _, _) in self._channels.items() if topic in topics}
        for channel, timestamp, data in self._scan(decode=True):
            if channel in wanted:
                topic = self._channels[channel][0]
                yield BagMessage(topic, self.topics[topic].msgtype, timestamp, data)

    def _topic_infos(self, counts: Counter[int]) -> dict[str, TopicInfo]:
        infos = {}
        for cid, (topic, _, metadata) in self._channels.items():
            name, encoding, msgdef = self._schemas.get(self._channel_schema[cid], ("", "", ""))
            infos[topic] = TopicInfo(
                topic,
                name,
                counts[cid],
                msgdef,
                encoding,
                qos=tuple(parse_qos(_metadata(metadata).get("offered_qos_profiles", "[]"))),
            )
        return infos

    def _scan(self, decode: bool) -> Iterator[tuple[int, int, bytes]]:
        """(channel id, log time, data) of every message; schemas and channels on the way.

        A chunk cut short still yields its complete records (the decompressors return what
        the partial data holds) before the scan reports the damage.
        """
        with self.path.open("rb") as stream:
            if stream.read(len(MCAP_MAGIC)) != MCAP_MAGIC:
                raise BagError(f"{self.path} is not an MCAP file (bad magic)")
            for offset, op, body, cut in _records(stream):
                where = f"{self.path}: record at byte {offset}"
                if op == OP_CHUNK:
                    records, damage = _chunk_records(body, cut)
                    for _, inner_op, inner, inner_cut in _records(BytesIO(records)):
                        if inner_cut:
                            break
                        yield from self._record(inner_op, inner, decode)
                    if damage or cut:
                        raise DamagedBagError(f"{where} (a chunk) {damage or 'is cut short'}")
                elif cut:
                    raise DamagedBagError(f"{where} is cut short")
                else:
                    yield from self._record(op, body, decode)

    def _record(self, op: int, body: bytes, decode: bool) -> Iterator[tuple[int, int, bytes]]:
        if op == OP_SCHEMA:
            (sid,) = struct.unpack_from("<H", body)
            name, pos = _string(body, 2)
            encoding, pos = _string(body, pos)
            (size,) = struct.unpack_from("<I", body, pos)
            self._schemas[sid] = (name, encoding, body[pos + 4 : pos + 4 + size].decode())
        elif op == OP_CHANNEL:
            cid, sid = struct.unpack_from("<HH", body)
            topic, pos = _string(body, 4)
            encoding, pos = _string(body, pos)
            (size,) = struct.unpack_from("<I", body, pos)
            self._channels[cid] = (topic, encoding, body[pos + 4 : pos + 4 + size])
            self._channel_schema[cid] = sid
        elif op == OP_MESSAGE:
            cid, _, log_time, _ = struct.unpack_from("<HIQQ", body)
            yield cid, log_time, body[22:] if decode else b""


class SqliteScan:
    """A rosbag2 SQLite database read row by row in recording order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            # A cut file has fewer pages than its header says, which SQLite refuses as
            # corrupt unless the schema is "writable"; the connection stays read-only.
            self._db.execute("PRAGMA writable_schema = ON")
            self._db.row_factory = sqlite3.Row
            rows = self._db.execute("SELECT * FROM topics").fetchall()
            definitions = self._definitions()
        except sqlite3.DatabaseError as error:
            raise BagError(f"{path}: cannot read the topics table: {error}") from error
        self._topic_ids = {int(row["id"]): str(row["name"]) for row in rows}
        self.topics = {}
        for row in rows:
            keys = row.keys()
            msgtype = str(row["type"])
            encoding, msgdef, digest = definitions.get(msgtype, ("", "", ""))
            qos = row["offered_qos_profiles"] if "offered_qos_profiles" in keys else ""
            self.topics[str(row["name"])] = TopicInfo(
                str(row["name"]),
                msgtype,
                None,
                msgdef,
                encoding,
                str(row["type_description_hash"] or "")
                if "type_description_hash" in keys
                else digest,
                tuple(parse_qos(qos)) if qos else (),
            )

    def _definitions(self) -> dict[str, tuple[str, str, str]]:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master")}
        if "message_definitions" not in tables:
            return {}
        query = (
            "SELECT topic_type, encoding, encoded_message_definition, type_description_hash "
            "FROM message_definitions"
        )
        return {str(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in self._db.execute(query)}

    def messages(self, topics: Collection[str]) -> Iterator[BagMessage]:
        """Messages of these topics by row id, up to the first unreadable row."""
        wanted = {tid for tid, name in self._topic_ids.items() if name in topics}
        rows = 0
        try:
            cursor = self._db.execute(
                "SELECT id, topic_id, timestamp, data FROM messages ORDER BY id"
            )
            for row_id, topic_id, timestamp, data in cursor:
                rows = row_id
                if topic_id in wanted:
                    topic = self._topic_ids[topic_id]
                    yield BagMessage(topic, self.topics[topic].msgtype, timestamp, bytes(data))
        except sqlite3.DatabaseError as error:
            raise DamagedBagError(f"{self.path}: unreadable after row {rows}: {error}") from error

    def close(self) -> None:
        self._db.close()


def _records(stream: BinaryIO) -> Iterator[tuple[int, int, bytes, bool]]:
    """(offset, opcode, body, cut) of each record; a record cut short comes last, partial."""
    while True:
        offset = stream.tell()
        head = stream.read(9)
        if not head:
            return
        if len(head) < 9:
            yield offset, head[0], b"", True
            return
        length = int.from_bytes(head[1:9], "little")
        body = stream.read(length)
        yield offset, head[0], body, len(body) < length
        if len(body) < length:
            return


def _chunk_records(body: bytes, cut: bool) -> tuple[bytes, str]:
    """A chunk's decompressed records (as much as a cut chunk holds) and any damage found."""
    try:
        _, _, size, crc = struct.unpack_from("<QQQI", body)
        compression, pos = _string(body, 28)
        pos += 8
    except (struct.error, UnicodeDecodeError) as error:
        return b"", f"has an unreadable header: {error}"
    data = body[pos:]
    try:
        if compression == "zstd":
            data = zstd.ZstdDecompressor().decompress(data)
        elif compression == "lz4":
            data = LZ4FrameDecompressor().decompress(data)
        elif compression:
            return b"", f"uses unsupported compression {compression!r}"
    except (RuntimeError, zstd.ZstdError) as error:
        return b"", f"cannot be decompressed: {error}"
    if cut:
        return data, ""
    if len(data) != size or (crc and crc32(data) != crc):
        return b"", "fails its size or checksum check"
    return data, ""


def _string(body: bytes, pos: int) -> tuple[str, int]:
    (size,) = struct.unpack_from("<I", body, pos)
    return body[pos + 4 : pos + 4 + size].decode(), pos + 4 + size


def _metadata(data: bytes) -> dict[str, str]:
    """An MCAP string map (after its uint32 byte length has been stripped)."""
    out, pos = {}, 0
    while pos < len(data):
        key, pos = _string(data, pos)
        out[key], pos = _string(data, pos)
    return out
