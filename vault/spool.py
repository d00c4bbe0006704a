"""The write-ahead spool: accepted spans, already redacted and encrypted, fsynced before the 200.

A spool file (`<seq>.wal`) is a sequence of frames:

    magic b"\\xf1TVW" | u8 type | u32 body length | u32 CRC-32 of type+body | body

- GROUP frames open a (tenant, env, day) group: its object keys, its segment's wrapped data
  key and creation time. The plaintext data key lives only in memory while the file is active.
- RECORD frames carry one span: its metrics row (JSON, no content) and its payload frame,
  encrypted with the group's data key and with its final offset in the segment already fixed.

Because everything that goes into a segment is decided at spool time, flushing a sealed file is
deterministic: a file flushed twice (a crash after the upload, before the delete) writes the
same objects under the same keys, so every acknowledged span lands exactly once.

Reading tolerates damage: a frame with a bad CRC is reported and skipped, and reading resumes
at the next frame magic; a torn frame at the end (a crash mid-append) is ignored.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from policies.files import fsync_dir
from vault import layout
from vault.envelope import encrypt_record, record_aad
from vault.keyring import DataKey
from vault.segment import MAGIC as SEGMENT_MAGIC
from vault.segment import FrameInfo, PayloadRef, SegmentHeader, build_segment, encode_frame

FRAME_MAGIC = b"\xf1TVW"
_HEAD = struct.Struct(">4sBII")
GROUP = 1
RECORD = 2
_RECORD_HEAD = struct.Struct(">II")
SUFFIX = ".wal"


@dataclass
class _Group:
    group_id: int
    tenant: str
    env: str
    day: date
    payload_key: str
    metrics_key: str
    data_key: DataKey
    next_position: int = 0
    next_offset: int = len(SEGMENT_MAGIC)


@dataclass(frozen=True)
class SpoolRecord:
    """One span to spool: its metrics row and its payload plaintext (None: payload mode none)."""

    trace_id: str
    span_id: str
    metrics: dict[str, Any]
    payload: bytes | None


def _frame(kind: int, body: bytes) -> bytes:
    crc = zlib.crc32(bytes([kind]) + body)
    return _HEAD.pack(FRAME_MAGIC, kind, len(body), crc) + body


def instance_id(directory: Path) -> str:
    """A stable id for this spool, so that segments of two sidecars never share a name."""
    path = directory / "instance-id"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        value = secrets.token_hex(4)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(value + "\n")
        return value


class SpoolWriter:
    """Appends to the active spool file. Not thread-safe: the vault calls it from one thread."""

    def __init__(
        self,
        directory: Path,
        new_data_key: Callable[[str, str], DataKey],
        *,
        fsync: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.instance = instance_id(directory)
        self._new_data_key = new_data_key
        self._fsync = fsync
        self._clock = clock
        self._handle: BinaryIO | None = None
        self._path: Path | None = None
        self._opened_at: datetime | None = None
        self._segment_salt = ""
        self._groups: dict[tuple[str, str, date], _Group] = {}
        self._seq = max((int(p.stem) for p in self.files()), default=0)

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.glob(f"*{SUFFIX}") if p.stem.isdigit())

    def sealed_files(self) -> list[Path]:
        return [p for p in self.files() if p != self._path]

    def total_bytes(self) -> int:
        total = 0
        for path in self.files():
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                continue
        return total

    @property
    def active_bytes(self) -> int:
        return self._handle.tell() if self._handle is not None else 0

    @property
    def active_age_seconds(self) -> float:
        if self._opened_at is None:
            return 0.0
        return (self._clock() - self._opened_at).total_seconds()

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self._seq += 1
            self._path = self.directory / f"{self._seq:012d}{SUFFIX}"
            fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._handle = os.fdopen(fd, "ab")
            self._opened_at = self._clock()
            self._segment_salt = secrets.token_hex(4)
            if self._fsync:
                fsync_dir(self.directory)
        return self._handle

    def seal(self) -> Path | None:
        """Close the active file; the next append opens a new one. Returns the sealed path."""
        if self._handle is None:
            return None
        self._handle.close()
        sealed = self._path
        self._handle, self._path, self._opened_at = None, None, None
        self._groups.clear()  # forget the plaintext data keys with the file
        return sealed

    def _group(self, handle: BinaryIO, tenant: str, env: str, day: date) -> _Group:
        key = (tenant, env, day)
        group = self._groups.get(key)
        if group is None:
            # Unique across restarts: spool file numbers start again once the spool is empty,
            # so the name carries the opening time and a random part. It is fixed here, in the
            # GROUP frame, so a replay writes the same objects.
            assert self._opened_at is not None
            segment = f"{self.instance}-{self._opened_at:%Y%m%dT%H%M%S}-{self._segment_salt}"
            data_key = self._new_data_key(tenant, env)
            group = _Group(
                group_id=len(self._groups) + 1,
                tenant=tenant,
                env=env,
                day=day,
                payload_key=layout.payload_key(tenant, env, day, segment),
                metrics_key=layout.metrics_key(tenant, env, day, segment),
                data_key=data_key,
            )
            body = json.dumps(
                {
                    "group_id": group.group_id,
                    "tenant": tenant,
                    "env": env,
                    "day": day.isoformat(),
                    "payload_key": group.payload_key,
                    "metrics_key": group.metrics_key,
                    "key_id": data_key.key_id,
                    "wrapped_key": base64.b64encode(data_key.wrapped).decode("ascii"),
                    "created": self._clock().isoformat(),
                }
            ).encode()
            handle.write(_frame(GROUP, body))
            self._groups[key] = group
        return group

    def append(self, tenant: str, env: str, day: date, records: Sequence[SpoolRecord]) -> None:
        """Encrypt and append records, then fsync. Returns only once they are durable."""
        handle = self._open()
        group = self._group(handle, tenant, env, day)
        chunks = []
        for record in records:
            metrics = dict(record.metrics)
            frame = b""
            if record.payload is not None:
                position = group.next_position
                aad = record_aad(tenant, env, group.payload_key, position)
                sealed = encrypt_record(group.data_key.plaintext, aad, record.payload)
                frame = encode_frame(position, group.data_key.key_id, group.data_key.wrapped, sealed)
                metrics["payload_ref"] = str(PayloadRef(group.payload_key, position, group.next_offset, len(frame)))
                group.next_position += 1
                group.next_offset += len(frame)
            else:
                metrics["payload_ref"] = None
            row = json.dumps(metrics, default=_json_default, separators=(",", ":")).encode()
            body = _RECORD_HEAD.pack(group.group_id, len(row)) + row + frame
            chunks.append(_frame(RECORD, body))
        handle.write(b"".join(chunks))
        handle.flush()
        if self._fsync:
            os.fsync(handle.fileno())


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$ts_ns": int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000}
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot spool a {type(value).__name__}")


def _json_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$ts_ns" in obj:
        ns = obj["$ts_ns"]
        return datetime.fromtimestamp(ns // 1_000_000_000, tz=timezone.utc).replace(microsecond=(ns % 1_000_000_000) // 1000)
    return obj


@dataclass
class SpooledGroup:
    tenant: str
    env: str
    day: date
    payload_key: str
    metrics_key: str
    key_id: str
    wrapped_key: bytes
    created: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    frames: list[tuple[FrameInfo, bytes]] = field(default_factory=list)


@dataclass
class SpoolContents:
    groups: list[SpooledGroup]
    corrupt_regions: int = 0
    skipped_bytes: int = 0
    orphan_records: int = 0

    @property
    def records(self) -> int:
        return sum(len(g.rows) for g in self.groups)


def read_spool_file(path: Path) -> SpoolContents:
    data = path.read_bytes()
    contents = SpoolContents(groups=[])
    by_id: dict[int, SpooledGroup] = {}
    cursor = 0
    while cursor < len(data):
        parsed = _parse_frame(data, cursor)
        if parsed is None:
            # Damage: skip to the next frame magic and count what was skipped.
            next_magic = data.find(FRAME_MAGIC, cursor + 1)
            end = len(data) if next_magic < 0 else next_magic
            if next_magic >= 0 or not _is_torn_tail(data, cursor):
                contents.corrupt_regions += 1
                contents.skipped_bytes += end - cursor
            cursor = end
            continue
        kind, body, cursor = parsed
        try:
            if kind == GROUP:
                _add_group(json.loads(body), by_id, contents)
            elif kind == RECORD:
                group_id, row_length = _RECORD_HEAD.unpack_from(body, 0)
                group = by_id.get(group_id)
                if group is None:
                    contents.orphan_records += 1
                    continue
                row_end = _RECORD_HEAD.size + row_length
                row = json.loads(body[_RECORD_HEAD.size : row_end], object_hook=_json_hook)
                frame = body[row_end:]
                group.rows.append(row)
                if frame:
                    ref = PayloadRef.parse(row["payload_ref"])
                    info = FrameInfo(ref.position, row.get("trace_id") or "", row.get("span_id") or "", ref.offset, ref.length)
                    group.frames.append((info, frame))
        except (ValueError, KeyError, TypeError, struct.error):
            contents.corrupt_regions += 1
    return contents


def _is_torn_tail(data: bytes, cursor: int) -> bool:
    """A frame cut short at the end of the file: a crash mid-append, never acknowledged."""
    if len(data) - cursor < _HEAD.size:
        return data[cursor:] == FRAME_MAGIC[: len(data) - cursor] or data[cursor:].startswith(FRAME_MAGIC)
    magic, _, length, _ = _HEAD.unpack_from(data, cursor)
    return magic == FRAME_MAGIC and cursor + _HEAD.size + length > len(data)


def _parse_frame(data: bytes, cursor: int) -> tuple[int, bytes, int] | None:
    if len(data) - cursor < _HEAD.size:
        return None
    magic, kind, length, crc = _HEAD.unpack_from(data, cursor)
    start = cursor + _HEAD.size
    end = start + length
    if magic != FRAME_MAGIC or end > len(data) or kind not in (GROUP, RECORD):
        return None
    body = data[start:end]
    if zlib.crc32(bytes([kind]) + body) != crc:
        return None
    return kind, body, end


def _add_group(meta: dict[str, Any], by_id: dict[int, SpooledGroup], contents: SpoolContents) -> None:
    group = SpooledGroup(
        tenant=meta["tenant"],
        env=meta["env"],
        day=date.fromisoformat(meta["day"]),
        payload_key=meta["payload_key"],
        metrics_key=meta["metrics_key"],
        key_id=meta["key_id"],
        wrapped_key=base64.b64decode(meta["wrapped_key"]),
        created=meta["created"],
    )
    by_id[int(meta["group_id"])] = group
    contents.groups.append(group)


def segment_bytes(group: SpooledGroup) -> bytes | None:
    """The payload segment of a spooled group, or None when it holds no payloads."""
    if not group.frames:
        return None
    frames = sorted(group.frames, key=lambda item: item[0].offset)
    header = SegmentHeader(
        tenant=group.tenant,
        env=group.env,
        object_key=group.payload_key,
        key_id=group.key_id,
        wrapped_key=group.wrapped_key,
        created=group.created,
        index=tuple(info for info, _ in frames),
    )
    return build_segment(header, [frame for _, frame in frames])
