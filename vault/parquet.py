"""The one place that decides how tracevault writes Parquet (metrics files, their compactions
and erasure rewrites all write the same way, so readers see one format)."""

from __future__ import annotations

import io
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

# zstd, Parquet format 2.6, dictionary-encoded columns, column statistics (DuckDB, Athena and
# Trino prune row groups with them).
WRITE_OPTIONS: MappingProxyType[str, Any] = MappingProxyType(
    {"compression": "zstd", "version": "2.6", "use_dictionary": True, "write_statistics": True}
)


def table_to_parquet(table: pa.Table) -> bytes:
    """One Parquet file, in memory; the table's schema (and its metadata) is kept."""
    sink = io.BytesIO()
    pq.write_table(table, sink, **WRITE_OPTIONS)
    return sink.getvalue()
