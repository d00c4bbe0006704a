"""The storage key layout: Hive-style partitions, the same in a local directory and in S3.

    metrics/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet      (one row per span)
    log_metrics/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet  (one row per log record)
    payloads/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.tvseg
    audit/tenant=<t>/date=<YYYY-MM-DD>/<segment>.jsonl
    evaluations/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet  (kept as long as metrics)

The date is the UTC day the span or log record was received. Spans and log records of one
(tenant, env, day) share a payload segment; their rows go to the two tables, under the same
segment name. DuckDB, Athena, Trino and Spark read the
``name=value`` directories as partition columns as they are.

Every part is validated before a key is built: tenant and env ids with
:func:`policies.tenants.validate_id`, segment names with :data:`SEGMENT_PATTERN_TEXT`. Errors
never repeat the offending value. :func:`parse_key` is the inverse and answers ``None`` for any
key that is not in the layout (it never raises).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from policies.tenants import is_valid_id, validate_id

KINDS = ("metrics", "log_metrics", "payloads", "audit", "evaluations")

#: The tables with one row per stored record (span or log record) and its ``payload_ref``:
#: what erasure, compaction, grants and retention's ``metrics_days`` go through.
RECORD_TABLES = ("metrics", "log_metrics")

#: Every kind partitioned by tenant, env and day (all but audit).
ENV_KINDS = ("metrics", "log_metrics", "payloads", "evaluations")

#: File extension per kind (without the dot).
EXTENSIONS = {"metrics": "parquet", "log_metrics": "parquet", "payloads": "tvseg", "audit": "jsonl", "evaluations": "parquet"}

SEGMENT_PATTERN_TEXT = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}"
_SEGMENT_PATTERN = re.compile(SEGMENT_PATTERN_TEXT)
_DATE_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Partition:
    """One partition directory: ``env`` is ``None`` for audit partitions."""

    kind: str
    tenant: str
    env: str | None
    day: _dt.date

    def prefix(self) -> str:
        """The listing prefix of this partition, ending with ``/``."""
        return partition_prefix(self.kind, self.tenant, self.env, self.day)

    def key(self, segment: str) -> str:
        """The key of one segment in this partition."""
        return _key(self.kind, self.tenant, self.env, self.day, segment)


def metrics_key(tenant: str, env: str, day: _dt.date, segment: str) -> str:
    """``metrics/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet``"""
    return _key("metrics", tenant, env, day, segment)


def log_metrics_key(tenant: str, env: str, day: _dt.date, segment: str) -> str:
    """``log_metrics/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet``"""
    return _key("log_metrics", tenant, env, day, segment)


def sibling_key(key: str, kind: str) -> str:
    """The object of ``kind`` in the same partition and under the same segment name as ``key``
    (e.g. the log_metrics file beside a metrics file). ``key`` must parse and have an env."""
    parsed = parse_key(key)
    if parsed is None or parsed[0].env is None:
        raise ValueError("not a key of an env partition in the layout")
    partition, segment = parsed
    return _key(kind, partition.tenant, partition.env, partition.day, segment)


def payload_key(tenant: str, env: str, day: _dt.date, segment: str) -> str:
    """``payloads/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.tvseg``"""
    return _key("payloads", tenant, env, day, segment)


def evaluations_key(tenant: str, env: str, day: _dt.date, segment: str) -> str:
    """``evaluations/tenant=<t>/env=<e>/date=<YYYY-MM-DD>/<segment>.parquet``"""
    return _key("evaluations", tenant, env, day, segment)


def audit_key(tenant: str, day: _dt.date, segment: str) -> str:
    """``audit/tenant=<t>/date=<YYYY-MM-DD>/<segment>.jsonl``"""
    return _key("audit", tenant, None, day, segment)


def partition_prefix(
    kind: str, tenant: str | None = None, env: str | None = None, day: _dt.date | None = None
) -> str:
    """A listing prefix, from the whole kind down to one day; always ends with ``/``.

    ``partition_prefix("payloads", "acme")`` is ``"payloads/tenant=acme/"``. Parts are given
    from the left: an env needs a tenant, a day needs a tenant (and, except for audit, an env).
    Audit partitions have no env.
    """
    _validate_kind(kind)
    parts = [kind]
    if tenant is None:
        if env is not None or day is not None:
            raise ValueError("partition_prefix: env and day need a tenant")
        return kind + "/"
    parts.append("tenant=" + validate_id(tenant, "tenant id"))
    if kind == "audit":
        if env is not None:
            raise ValueError("partition_prefix: audit partitions have no env")
    elif env is not None:
        parts.append("env=" + validate_id(env, "environment id"))
    elif day is not None:
        raise ValueError("partition_prefix: a day needs an env")
    if day is not None:
        parts.append("date=" + _day_text(day))
    return "/".join(parts) + "/"


def parse_key(key: str) -> tuple[Partition, str] | None:
    """The partition and segment name of a key in the layout; ``None`` for any other key."""
    if not isinstance(key, str):
        return None
    parts = key.split("/")
    if not parts or parts[0] not in KINDS:
        return None
    kind = parts[0]
    expected = 4 if kind == "audit" else 5
    if len(parts) != expected:
        return None
    tenant = _value(parts[1], "tenant")
    if tenant is None or not is_valid_id(tenant):
        return None
    env: str | None = None
    if kind != "audit":
        env = _value(parts[2], "env")
        if env is None or not is_valid_id(env):
            return None
    date_text = _value(parts[-2], "date")
    if date_text is None or not _DATE_PATTERN.fullmatch(date_text):
        return None
    try:
        day = _dt.date.fromisoformat(date_text)
    except ValueError:
        return None
    suffix = "." + EXTENSIONS[kind]
    filename = parts[-1]
    if not filename.endswith(suffix):
        return None
    segment = filename[: -len(suffix)]
    if not _SEGMENT_PATTERN.fullmatch(segment):
        return None
    return Partition(kind, tenant, env, day), segment


def _key(kind: str, tenant: str, env: str | None, day: _dt.date, segment: str) -> str:
    # Validate every part before any of them is joined into a key.
    validate_id(tenant, "tenant id")
    if kind != "audit":
        validate_id(env, "environment id")
    _validate_segment(segment)
    _validate_kind(kind)
    return partition_prefix(kind, tenant, env, day) + f"{segment}.{EXTENSIONS[kind]}"


def _value(part: str, name: str) -> str | None:
    head = name + "="
    return part[len(head) :] if part.startswith(head) else None


def _validate_kind(kind: object) -> None:
    if kind not in KINDS:
        raise ValueError(f"invalid kind: must be one of {', '.join(KINDS)}")


def _validate_segment(segment: object) -> None:
    if not isinstance(segment, str) or not _SEGMENT_PATTERN.fullmatch(segment):
        raise ValueError(f"invalid segment name: must match {SEGMENT_PATTERN_TEXT}")


def _day_text(day: object) -> str:
    """YYYY-MM-DD of a date, or of an aware datetime's UTC day. Naive datetimes are refused."""
    if isinstance(day, _dt.datetime):
        if day.tzinfo is None or day.utcoffset() is None:
            raise ValueError("invalid day: a datetime must be timezone-aware (the UTC day is used)")
        day = day.astimezone(_dt.timezone.utc).date()
    if not isinstance(day, _dt.date):
        raise ValueError("invalid day: must be a datetime.date")
    return day.isoformat()
