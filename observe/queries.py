"""The shipped SQL views (``observe/queries/*.sql``), run on DuckDB over metrics rows.

Two ways in:

- :func:`connect_hive`: over a store root in the Hive layout, exactly as a user would run the
  files by hand (``00_sources.sql`` with ``{root}`` filled in, then every view).
- :func:`connect`: over tables already read through the object store (local directory or S3, no
  DuckDB extension needed), filtered to one tenant and a time window. The report and the alert
  check use this one.

Each file after ``00_sources.sql`` creates views over the ``metrics`` relation only; its header
comment says what changes for Athena or Trino.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vault import layout
from vault.evaluations import EVALUATIONS_SCHEMA
from vault.metrics import METRICS_SCHEMA
from vault.reader import VaultReader
from vault.store import ObjectStore

QUERY_DIR = Path(__file__).resolve().parent / "queries"
SOURCES_FILE = "00_sources.sql"
EVALUATIONS_PREFIX = "20_"  # views over the evaluations table (created only when it exists)
_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+)", re.IGNORECASE)
#: How long before a window's start a span may have been received on an earlier day's partition.
_RECEIVE_SLACK = timedelta(days=2)


def view_files(evaluations: bool = True) -> list[Path]:
    return sorted(
        p for p in QUERY_DIR.glob("*.sql")
        if p.name != SOURCES_FILE and (evaluations or not p.name.startswith(EVALUATIONS_PREFIX))
    )


def view_names() -> list[str]:
    return [name for path in view_files() for name in _VIEW.findall(path.read_text(encoding="utf-8"))]


def _create_views(con: duckdb.DuckDBPyConnection, evaluations: bool = True) -> duckdb.DuckDBPyConnection:
    for path in view_files(evaluations):
        con.execute(path.read_text(encoding="utf-8"))
    return con


def connect_hive(root: str | Path) -> duckdb.DuckDBPyConnection:
    """A connection with ``metrics`` over ``<root>/metrics/**`` (and ``evaluations`` and
    ``log_metrics`` when those tables have files) and every view over them. ``log_metrics``
    (one row per log record) joins ``metrics`` on ``trace_id`` and ``span_id``."""
    text = (QUERY_DIR / SOURCES_FILE).read_text(encoding="utf-8")
    quoted_root = str(root).rstrip("/").replace("'", "''")  # a SQL string literal; views cannot take parameters
    con = duckdb.connect()
    con.execute(text.replace("{root}", quoted_root))
    _optional_table(con, root, quoted_root, "log_metrics")
    return _create_views(con, _optional_table(con, root, quoted_root, "evaluations"))


def _optional_table(con: duckdb.DuckDBPyConnection, root: str | Path, quoted_root: str, table: str) -> bool:
    """A view named ``table`` over ``<root>/<table>/**``, when that table has files."""
    if not any(Path(root, table).glob("**/*.parquet")):
        return False
    con.execute(
        f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet('{quoted_root}/{table}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true, hive_types_autocast = false)"
    )
    return True


def connect(metrics: pa.Table, evaluations: pa.Table | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with ``metrics`` (and ``evaluations``) from tables, and every view."""
    con = duckdb.connect()
    con.register("metrics_rows", metrics)
    con.execute("CREATE VIEW metrics AS SELECT * FROM metrics_rows")
    con.register("evaluation_rows", evaluations if evaluations is not None else EVALUATIONS_SCHEMA.empty_table())
    con.execute("CREATE VIEW evaluations AS SELECT * FROM evaluation_rows")
    return _create_views(con)


def load_metrics(store: ObjectStore, tenant: str, since: datetime | None, until: datetime | None) -> pa.Table:
    """A tenant's metrics rows whose span started in [since, until), every schema version conformed."""
    day_from = (since - _RECEIVE_SLACK).date() if since is not None else None
    table = VaultReader(store).read_metrics(tenant, day_from=day_from)
    return _window(table, "start_time", since, until)


def load_evaluations(store: ObjectStore, tenant: str, since: datetime | None, until: datetime | None) -> pa.Table:
    """A tenant's evaluation rows whose event (or, without one, receipt) falls in [since, until)."""
    tables = []
    for info in store.list(layout.partition_prefix("evaluations", tenant)):
        if layout.parse_key(info.key) is not None:
            tables.append(pq.read_table(io.BytesIO(store.get(info.key))).select(EVALUATIONS_SCHEMA.names).cast(EVALUATIONS_SCHEMA))
    table = pa.concat_tables(tables) if tables else EVALUATIONS_SCHEMA.empty_table()
    moment = pc.coalesce(table["event_time"], table["received_at"])
    return _window(table.append_column("_moment", moment), "_moment", since, until).drop_columns(["_moment"])


def _window(table: pa.Table, column: str, since: datetime | None, until: datetime | None) -> pa.Table:
    mask = None
    if since is not None:
        mask = pc.greater_equal(table[column], pa.scalar(since, METRICS_SCHEMA.field("start_time").type))
    if until is not None:
        upper = pc.less(table[column], pa.scalar(until, METRICS_SCHEMA.field("start_time").type))
        mask = upper if mask is None else pc.and_(mask, upper)
    return table if mask is None else table.filter(pc.fill_null(mask, False))
