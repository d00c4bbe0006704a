"""The write-ahead spool: accepted spans, already redacted and encrypted, fsynced before the 200.

A spool file (`<seq>.wal`) is a sequence of frames:

    magic b"\\xf1TVW" | u8 type | u32 body length | u32 CRC-32 of type+body | body

- GROUP frames open a (tenant, env, day) group: its object keys, its segment's wrapped data
  key and creation time. The plaintext data key lives only in memory while the file is active.
- RECORD frames carry one span or log record: its metrics row (JSON, no content; a log
  record's row names its table, ``log_metrics``, under :data:`TABLE_FIELD`) and its payload
  frame, encrypted with the group's data key and with its final offset in the segment already
  fixed. Spans and log records of a group share the group's payload segment.

Because everything that goes into a segment is decided at spool time, flushing a sealed file is
deterministic: a file flushed twice (a crash after the upload, before the delete) writes the
same objects under the same keys, so every acknowledged span lands exactly once.

Reading tolerates damage: a frame with a bad CRC is reported and skipped, and reading resumes
at the next frame magic; a torn frame at the end (a crash mid-append) is ignored.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import json
import logging
import os
import secrets
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from policies.files import fsync_dir
from vault import layout
from vault.envelope import encrypt_record, record_aad
from vault.keyring import DataKey
from vault.segment import MAGIC as SEGMENT_MAGIC
from vault.segment import (
    FrameInfo,
    PayloadRef,
    SegmentHeader,
    build_segment,
    encode_frame,
)

FRAME_MAGIC = b"\xf1TVW"
_HEAD = struct.Struct(">4sBII")
GROUP = 1
RECORD = 2
_RECORD_HEAD = struct.Struct(">II")
SUFFIX = ".wal"
log = logging.getLogger("tracevault.spool")


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


#: The key under which a spooled row names its table when it is not ``metrics`` (a log record's
#: row goes to ``log_metrics``). Files spooled before log records existed have no such key.
TABLE_FIELD = "$table"


@dataclass(frozen=True)
class SpoolRecord:
    """One record (a span or a log record) to spool: its metrics row, the table the row goes to
    (one of :data:`vault.layout.RECORD_TABLES`) and its payload plaintext (None: payload mode none)."""

    trace_id: str
    span_id: str
    metrics: dict[str, Any]
    payload: bytes | None
    table: str = "metrics"

    def __post_init__(self) -> None:
        if self.table not in layout.RECORD_TABLES:
            raise ValueError("unknown metrics table")


def row_table(row: dict[str, Any]) -> str:
    """The table a spooled row goes to."""
    table = row.get(TABLE_FIELD, "metrics")
    if table not in layout.RECORD_TABLES:
        raise ValueError("unknown metrics table")
    return table


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
    """Appends to the active spool file. Not thread-safe: the vault calls it from one thread.

    Writes are unbuffered (`os.write` on the file descriptor) and fsynced before `append`
    returns, so nothing of a failed append can linger in a buffer and reach the file later.
    When a write or an fsync fails (a full disk), the file is cut back to its last good frame,
    fsynced and sealed; the next append opens a new file, so the writer recovers by itself once
    space is back. Only when the cut itself fails is the writer `damaged`: the file is then
    neither sealed nor flushed (it holds frames of a batch that was refused), every append
    retries the cut first, and `healthy` is false until one succeeds.
    """

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
        self._fd: int | None = None
        self._path: Path | None = None
        self._size = 0  # bytes of whole, durable frames in the active file
        self._damaged = False  # a failed append's bytes could not be cut off yet
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
    def healthy(self) -> bool:
        """False only while a failed append could not be cut off the active file."""
        return not self._damaged

    @property
    def active_bytes(self) -> int:
        return self._size

    @property
    def active_age_seconds(self) -> float:
        if self._opened_at is None:
            return 0.0
        return (self._clock() - self._opened_at).total_seconds()

    def _open(self) -> int:
        if self._fd is None:
            self._seq += 1
            path = self.directory / f"{self._seq:012d}{SUFFIX}"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            try:
                if self._fsync:
                    fsync_dir(self.directory)
            except OSError:
                os.close(fd)
                with contextlib.suppress(OSError):
                    path.unlink()
                raise
            self._fd, self._path, self._size = fd, path, 0
            self._opened_at = self._clock()
            self._segment_salt = secrets.token_hex(4)
        return self._fd

    def seal(self) -> Path | None:
        """Close the active file; the next append opens a new one. Returns the sealed path.

        A damaged file is sealed only once the refused batch's bytes are cut off it.
        """
        if self._fd is None or (self._damaged and not self._repair()):
            return None
        fd, sealed = self._fd, self._path
        self._fd, self._path, self._opened_at, self._size = None, None, None, 0
        self._groups.clear()  # forget the plaintext data keys with the file
        try:
            os.close(fd)  # nothing is buffered: every append was written and fsynced
        except OSError as exc:
            log.warning("closing spool file %s failed (%s)", sealed.name if sealed else "?", errno_name(exc))
        return sealed

    def _repair(self) -> bool:
        """Cut the active file back to its last good frame and fsync it; False when that fails."""
        assert self._fd is not None
        try:
            os.ftruncate(self._fd, self._size)
            os.fsync(self._fd)
        except OSError as exc:
            self._damaged = True
            log.error("cannot cut a failed append off spool file %s (%s)", self._path.name if self._path else "?", errno_name(exc))
            return False
        self._damaged = False
        return True

    def _group(self, tenant: str, env: str, day: date) -> tuple[_Group, bytes]:
        """The group of (tenant, env, day), and the GROUP frame to write when it is new."""
        key = (tenant, env, day)
        group = self._groups.get(key)
        if group is not None:
            return group, b""
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
        self._groups[key] = group
        return group, _frame(GROUP, body)

    def _records(self, group: _Group, records: Sequence[SpoolRecord]) -> bytes:
        chunks = []
        for record in records:
            metrics = dict(record.metrics)
            if record.table != "metrics":
                metrics[TABLE_FIELD] = record.table
            frame = b""
            if record.payload is not None:
                position = group.next_position
                aad = record_aad(group.tenant, group.env, group.payload_key, position)
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
        return b"".join(chunks)

    def _forget(self, key: tuple[str, str, date], before: tuple[int, int] | None) -> None:
        """Undo what a failed append did to the group state (a new group, advanced offsets)."""
        if before is None:
            self._groups.pop(key, None)
        else:
            group = self._groups[key]
            group.next_position, group.next_offset = before

    def append(self, tenant: str, env: str, day: date, records: Sequence[SpoolRecord]) -> None:
        """Encrypt and append records, then fsync. Returns only once they are durable.

        On failure nothing of this call stays in the file or in the writer's state, and the
        error is raised: the caller answers "retry", and a retry lands the records once.
        """
        if self._damaged and not self._repair():
            raise OSError(errno.EIO, "the spool file could not be repaired after a failed write")
        fd = self._open()
        key = (tenant, env, day)
        existing = self._groups.get(key)
        before = (existing.next_position, existing.next_offset) if existing is not None else None
        try:
            group, group_frame = self._group(tenant, env, day)
            data = group_frame + self._records(group, records)
            _write_all(fd, data)
            if self._fsync:
                os.fsync(fd)
        except OSError:
            # A failed write or fsync: cut its bytes off, and seal the good frames so that
            # they are flushed; the next append opens a new file.
            self._forget(key, before)
            if self._repair():
                self.seal()
            raise
        except BaseException:
            self._forget(key, before)  # encoding failed before anything was written
            raise
        self._size += len(data)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def errno_name(exc: OSError) -> str:
    """An OSError for a log line: its errno name only (its text may carry a path)."""
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


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

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        """The group's rows (without their table marker) by table: ``metrics`` and
        ``log_metrics``. Each table's file is :meth:`table_key`."""
        by_table: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows:
            by_table.setdefault(row_table(row), []).append({name: value for name, value in row.items() if name != TABLE_FIELD})
        return by_table

    def table_key(self, table: str) -> str:
        """The Parquet file of ``table`` for this group: same partition and segment name."""
        return self.metrics_key if table == "metrics" else layout.sibling_key(self.metrics_key, table)


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
                row_table(row)  # an unknown table is damage, skipped like a bad frame
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
