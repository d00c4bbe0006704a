"""Compaction: merge the small Parquet files of a partition into one, in the metrics table (spans)
and the log_metrics table (log records) alike.

The sidecar writes one Parquet file per tenant, env and day per flush (every 30 s by default),
so a busy day holds thousands of small files; queries over them are slow. Compaction merges them.

The swap, and why readers never see a row twice or miss one:

1. The merged file is written under a new name (``compacted-<time>-<random>.parquet``) with the
   Parquet key-value metadata ``tracevault.replaces``: the JSON list of the file names it holds.
2. Then the merged files are deleted.

Between 1 and 2 both copies exist: `vault.reader.VaultReader.read_metrics` skips every file named
in another file's ``replaces``, and when a listed file vanished before it was read, it lists the
partition again (and finds the merged file). A raw DuckDB glob over the store does not know this
and may count the rows twice during that window, which lasts one DeleteObjects call.

A run that dies between 1 and 2 is finished by the next one: files named in a ``replaces`` that
are still there (or that a spool replay wrote again) are deleted first. Payload segments are
never merged (metrics rows point into them by key and offset). Run one compaction at a time:
two runs merging the same files at once would each write a merged file.
"""

from __future__ import annotations

import json
import secrets
import struct
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vault import layout
from vault.logmetrics import TABLE_SCHEMAS
from vault.metrics import conform
from vault.parquet import table_to_parquet
from vault.reader import REPLACES_METADATA_KEY, replaced_keys
from vault.store import ObjectNotFound, ObjectStore, StoreError

#: Files at least this large are not merged again (they are the output of earlier runs).
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024
MERGED_PREFIX = "compacted-"


@dataclass
class PartitionResult:
    partition: str
    files_before: int
    merged_files: int = 0
    rows: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    merged_key: str | None = None
    stale_deleted: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass
class CompactionReport:
    store: str
    tenant: str | None
    day: str | None
    partitions: list[PartitionResult] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(p.error is None for p in self.partitions)

    def as_dict(self) -> dict[str, Any]:
        merged = [p for p in self.partitions if p.merged_key or p.stale_deleted or p.error]
        return {
            "command": "compact",
            "store": self.store,
            "tenant": self.tenant,
            "date": self.day,
            "complete": self.complete,
            "partitions_scanned": len(self.partitions),
            "partitions_compacted": sum(1 for p in self.partitions if p.merged_key),
            "files_merged": sum(p.merged_files for p in self.partitions),
            "rows": sum(p.rows for p in self.partitions),
            "partitions": [p.as_dict() for p in merged],
        }


def compact(
    store: ObjectStore,
    *,
    tenant: str | None = None,
    env: str | None = None,
    day: date | None = None,
    min_files: int = 2,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    now: datetime | None = None,
) -> CompactionReport:
    """Compact every partition of the metrics and log_metrics tables (of a tenant, env and
    day, when given)."""
    if env is not None and tenant is None:
        raise ValueError("an env needs a tenant")
    report = CompactionReport(store.describe(), tenant, day.isoformat() if day else None)
    partitions: dict[layout.Partition, list[tuple[str, int]]] = {}
    for table in layout.RECORD_TABLES:
        for info in store.list(layout.partition_prefix(table, tenant, env)):
            parsed = layout.parse_key(info.key)
            if parsed is None or (day is not None and parsed[0].day != day):
                continue
            partitions.setdefault(parsed[0], []).append((info.key, info.size))
    for partition, files in sorted(partitions.items(), key=lambda item: item[0].prefix()):
        result = PartitionResult(partition.prefix(), len(files))
        report.partitions.append(result)
        try:
            _compact_partition(store, partition, files, result, min_files, max_file_bytes, now or datetime.now(UTC))
        except (StoreError, pa.ArrowException, OSError, ValueError) as exc:
            result.error = str(exc) if isinstance(exc, StoreError) else type(exc).__name__
    return report


def _compact_partition(
    store: ObjectStore,
    partition: layout.Partition,
    files: list[tuple[str, int]],
    result: PartitionResult,
    min_files: int,
    max_file_bytes: int,
    now: datetime,
) -> None:
    replaces: dict[str, set[str]] = {}
    tables: dict[str, pa.Table] = {}
    sizes = dict(files)
    for key, size in files:
        try:
            if size < max_file_bytes:
                table = pq.read_table(pa.BufferReader(store.get(key)))
                tables[key] = table
                replaces[key] = replaced_keys(key, table.schema.metadata)
            else:
                replaces[key] = replaced_keys(key, _footer_metadata(store, key, size))
        except ObjectNotFound:
            sizes.pop(key, None)  # expired or erased since the listing
    stale = sorted(set(sizes) & set().union(*replaces.values()))
    live = [key for key in sizes if key not in stale]
    candidates = [key for key in live if key in tables]
    if len(candidates) < min_files:
        if stale:
            store.delete_many(stale)  # finish an earlier run that died before its deletes
            result.stale_deleted = len(stale)
        return

    merged_rows = sum(tables[key].num_rows for key in candidates)
    schema = TABLE_SCHEMAS[partition.kind]
    merged = pa.concat_tables([conform(tables[key], schema) for key in candidates])
    if merged.num_rows != merged_rows:  # pragma: no cover - concat never drops rows
        raise ValueError("merged row count differs")
    names = set()
    for key in candidates:
        names.add(key.rsplit("/", 1)[1])
        names.update(k.rsplit("/", 1)[1] for k in replaces[key])  # keep the chain for late replays
    metadata = dict(schema.metadata or {})
    metadata[REPLACES_METADATA_KEY] = json.dumps(sorted(names), separators=(",", ":")).encode()
    merged = merged.replace_schema_metadata(metadata)
    merged_key = partition.key(f"{MERGED_PREFIX}{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}")
    # 1. the merged file, naming what it replaces; 2. the merged files go.
    data = table_to_parquet(merged)
    store.put(merged_key, data)
    store.delete_many(candidates + stale)
    result.merged_files = len(candidates)
    result.rows = merged_rows
    result.bytes_before = sum(sizes[key] for key in candidates)
    result.bytes_after = len(data)
    result.merged_key = merged_key
    result.stale_deleted = len(stale)


def _footer_metadata(store: ObjectStore, key: str, size: int) -> dict[bytes, bytes] | None:
    """A large Parquet file's key-value metadata, with two ranged reads of its footer."""
    tail = store.get_range(key, max(0, size - 8), 8)
    if len(tail) != 8 or tail[4:] != b"PAR1":
        raise ValueError("not a Parquet file")
    (footer_length,) = struct.unpack("<I", tail[:4])
    footer = store.get_range(key, max(0, size - 8 - footer_length), footer_length + 8)
    return pq.read_metadata(pa.BufferReader(b"PAR1" + footer)).metadata
