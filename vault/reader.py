"""Reading back: partitions, metrics, and payloads by reference or by trace and span id.

This is the one reader API that access grants, retention and erasure build on. It needs a
keyring that can unwrap (the reader side), never the sidecar's writer-only one. Damaged
objects are reported (in `problems`) and skipped, never crashed on.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vault import layout
from vault.envelope import DecryptError, decrypt_record, record_aad
from vault.keyring import DataKeyReader, KeyUnavailable
from vault.logmetrics import TABLE_SCHEMAS
from vault.metrics import conform
from vault.segment import CorruptSegment, PayloadRef, decode_frame
from vault.store import ObjectNotFound, ObjectStore

log = logging.getLogger("tracevault.reader")

#: Parquet key-value metadata of a compacted metrics file: a JSON list of the file names, in the
#: same partition, whose rows it holds (see retention/compact.py).
REPLACES_METADATA_KEY = b"tracevault.replaces"


def replaced_keys(key: str, metadata: dict[bytes, bytes] | None) -> set[str]:
    """The keys of the files that the metrics file ``key`` replaces (none for a plain file)."""
    raw = (metadata or {}).get(REPLACES_METADATA_KEY)
    if not raw:
        return set()
    try:
        names = json.loads(raw)
    except ValueError:
        return set()
    directory = key.rsplit("/", 1)[0]
    return {f"{directory}/{name}" for name in names if isinstance(name, str) and name and "/" not in name} if isinstance(names, list) else set()


def _schema(table: str) -> pa.Schema:
    """The schema of a record table; a ValueError for any other name."""
    try:
        return TABLE_SCHEMAS[table]
    except KeyError:
        raise ValueError(f"not a record table: must be one of {', '.join(TABLE_SCHEMAS)}") from None


class PayloadUnavailable(Exception):
    """A payload cannot be read: missing, damaged, or its key is gone. Says which, not what."""


class PayloadTampered(PayloadUnavailable):
    """The stored payload is there but is not what was written: its ciphertext fails
    authentication (edited, moved to another key, position or tenant), its frame is damaged, or
    it is not at the position its reference records. Never "expired": that is a missing object."""


@dataclass
class Problem:
    key: str
    reason: str


@dataclass
class VaultReader:
    store: ObjectStore
    keyring: DataKeyReader | None = None
    problems: list[Problem] = field(default_factory=list)

    # -- partitions and metrics ----------------------------------------------------------

    def partitions(self, kind: str, tenant: str | None = None) -> list[layout.Partition]:
        seen: dict[layout.Partition, None] = {}
        for info in self.store.list(layout.partition_prefix(kind, tenant)):
            parsed = layout.parse_key(info.key)
            if parsed is not None:
                seen.setdefault(parsed[0], None)
        return list(seen)

    def metrics_objects(
        self, tenant: str, env: str | None = None, day_from: date | None = None, day_to: date | None = None, *, table: str = "metrics"
    ) -> Iterator[str]:
        """Keys of one record table's Parquet files (``metrics`` or ``log_metrics``)."""
        _schema(table)
        for info in self.store.list(layout.partition_prefix(table, tenant, env)):
            parsed = layout.parse_key(info.key)
            if parsed is None or not info.key.endswith(".parquet"):
                continue
            day = parsed[0].day
            if (day_from and day < day_from) or (day_to and day > day_to):
                continue
            yield info.key

    def read_metrics(
        self, tenant: str, env: str | None = None, day_from: date | None = None, day_to: date | None = None, *, table: str = "metrics"
    ) -> pa.Table:
        """All rows of a tenant (optionally one env and a day range) of one record table as one
        table: ``metrics`` (spans, the default) or ``log_metrics`` (log records).

        Compaction (retention/compact.py) writes a merged file whose ``tracevault.replaces``
        metadata names the files it holds, then deletes them. Files named by another file's
        ``replaces`` are skipped, and a file that vanished between list and get makes the
        partition be listed again, so a concurrent compaction never shows a row twice or not at all.
        """
        tables: dict[str, tuple[pa.Table, set[str]]] = {}
        unreadable: set[str] = set()
        schema = _schema(table)
        pending = list(self.metrics_objects(tenant, env, day_from, day_to, table=table))
        for _attempt in range(3):
            vanished = False
            for key in pending:
                try:
                    read = pq.read_table(io.BytesIO(self.store.get(key)))
                    tables[key] = (conform(read, schema), replaced_keys(key, read.schema.metadata))
                except ObjectNotFound:
                    vanished = True  # deleted by retention or compaction between list and get
                except (pa.ArrowException, OSError, ValueError) as exc:
                    unreadable.add(key)
                    self._problem(key, f"unreadable Parquet ({type(exc).__name__})")
            if not vanished:
                break
            pending = [k for k in self.metrics_objects(tenant, env, day_from, day_to, table=table) if k not in tables and k not in unreadable]
        replaced = set().union(*(names for _, names in tables.values()))
        kept = [read for key, (read, _) in tables.items() if key not in replaced]
        if not kept:
            return schema.empty_table()
        return pa.concat_tables(kept)

    def find_spans(self, tenant: str, trace_id: str, span_id: str | None = None, env: str | None = None, *, table: str = "metrics") -> list[dict[str, Any]]:
        """Rows of one trace (or one span) in one record table; for ``log_metrics``, the log
        records emitted in that trace (or span)."""
        rows = self.read_metrics(tenant, env, table=table).to_pylist()
        return [row for row in rows if row["trace_id"] == trace_id.lower() and (span_id is None or row["span_id"] == span_id.lower())]

    # -- payloads ------------------------------------------------------------------------

    def payload(self, ref_text: str) -> dict[str, Any]:
        """Fetch and decrypt one payload with a single ranged GET."""
        if not isinstance(self.keyring, DataKeyReader):  # none, or a writer's role only
            raise PayloadUnavailable("this reader has no keyring that can decrypt")
        ref = PayloadRef.parse(ref_text)
        parsed = layout.parse_key(ref.object_key)
        if parsed is None or parsed[0].kind != "payloads":
            raise PayloadUnavailable("payload_ref does not point into the payloads layout")
        partition = parsed[0]
        try:
            frame = decode_frame(self.store.get_range(ref.object_key, ref.offset, ref.length))
        except ObjectNotFound:
            raise PayloadUnavailable("payload segment not found (expired or erased)") from None
        except CorruptSegment:
            self._problem(ref.object_key, "damaged payload frame")
            raise PayloadTampered("payload frame is damaged") from None
        if frame.position != ref.position:
            self._problem(ref.object_key, "payload frame is not at its recorded position")
            raise PayloadTampered("payload frame is not at its recorded position")
        assert partition.env is not None
        try:
            data_key = self.keyring.unwrap(partition.tenant, partition.env, frame.key_id, frame.wrapped_key)
            aad = record_aad(partition.tenant, partition.env, ref.object_key, ref.position)
            plaintext = decrypt_record(data_key, aad, frame.sealed)
        except KeyUnavailable:
            raise PayloadUnavailable("the tenant's key is unavailable (rotated out, shredded, or no permission)") from None
        except DecryptError:
            self._problem(ref.object_key, "payload failed authentication")
            raise PayloadTampered("payload failed to decrypt: it fails authentication (tampered, moved or wrong tenant)") from None
        return json.loads(plaintext)

    def payloads_for(self, tenant: str, trace_id: str, span_id: str | None = None, env: str | None = None) -> list[dict[str, Any]]:
        """The payloads of a trace's (or span's) spans, then of its log records."""
        out = []
        for table in layout.RECORD_TABLES:
            for row in self.find_spans(tenant, trace_id, span_id, env, table=table):
                if row.get("payload_ref"):
                    out.append(self.payload(row["payload_ref"]))
        return out

    def _problem(self, key: str, reason: str) -> None:
        self.problems.append(Problem(key, reason))
        log.error("skipping %s: %s", key, reason)
