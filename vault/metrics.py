"""Metrics-only records: one row per span, with no free text, written as Parquet.

A row holds identity (tenant, env, hex ids, a label-like span name), timing, status, the call
(operation, provider, models), usage (tokens, time to first token), product dimensions (feature,
prompt version, tool, counts, cache hit), pseudonymised user and session ids, per-entity redaction
counts and a reference to the encrypted payload. It never holds content:

- String dimensions take only values of a strict allow-shape (``redactors.shapes.is_label``): at
  most 128 characters, ASCII letters, digits and ``_ . : / + -`` only (so no spaces, no ``@``, no
  redactor tokens such as ``<EMAIL_ADDRESS:...>``), no digit group of PII shape (a card number,
  with or without dashes, an SSN, a phone number) and no run of six or more digits. Model names
  may carry one eight-digit date stamp (``claude-sonnet-4-20250514``). Anything else is stored
  as ``"<redacted>"``. The values come from the span after redaction, never from the raw one.
- A span name is kept only in an "operation" form (``chat gpt-4o``, ``execute_tool get_weather``,
  ``invoke_agent Planner``), an HTTP form (``GET /users/{id}``) or as one identifier-like token
  (``retrieval.vector_search``); ``GET /users/jane@example.com`` and ``Sarah Connor`` become
  ``"<redacted>"``.
- ``user_hash`` and ``session_hash`` copy only values that are already keyed pseudonyms made by
  the redactor (``pn:<kid>:<tag>``); a raw id gives null.

Attribute values may arrive as string, int, double or bool AnyValues and are coerced ("1840" is
1840 tokens); a value that cannot be coerced is skipped, and when no source gives one the column is
null. Building a row never raises on span data.

Which attributes feed which column is a :class:`MetricsMapping`: for each column, attribute names
tried in order, in the span's attributes first and then in the resource's. A few columns also have
derived fallbacks that apply after the named sources: ``error_type`` (the ``exception`` event),
``ttft_ms`` (any attribute whose name ends in ``ttft_ms``), ``tool_count`` (tool calls in the
output messages) and ``retrieved_documents`` (indexed or listed retrieval documents).

DuckDB reads a tree of these files under the Hive layout as is. ``tenant`` and ``env`` are both
columns in every file and Hive partition keys in the path; DuckDB (1.x and 2.x) then uses the
partition value for the column, and the writer puts the same value in both. A tenant id made only
of digits is auto-cast to an integer by DuckDB's Hive type inference unless the query passes
``hive_types_autocast=false`` (or ``hive_types={'tenant': VARCHAR}``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from redactors.anyvalue import any_to_py
from redactors.shapes import has_pii_digits, is_label
from vault.derived import derived_columns
from vault.parquet import table_to_parquet
from vault.prices import Pricer

if TYPE_CHECKING:  # the vault does not need the OTLP classes at run time, only their fields
    from opentelemetry.proto.common.v1.common_pb2 import KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "DEFAULT_COLUMN_SOURCES",
    "LABEL_MAX_CHARS",
    "METRICS_SCHEMA",
    "MetricsMapping",
    "PSEUDONYM_PATTERN",
    "REDACTED",
    "attribute_columns",
    "conform",
    "guarded",
    "hex_id",
    "label",
    "metrics_row",
    "redaction_counts",
    "timestamp_ns",
    "utc",
    "read_parquet_rows",
    "rows_to_parquet",
]

REDACTED = "<redacted>"
LABEL_MAX_CHARS = 128
PSEUDONYM_PATTERN = re.compile(r"pn:[0-9a-f]{8}:[0-9a-f]{24}")
SCHEMA_VERSION = "2"  # 2 added the columns from cache_write_tokens on; files of version 1 stay readable

_TS = pa.timestamp("ns", tz="UTC")

METRICS_SCHEMA = pa.schema(
    [
        # identity
        pa.field("tenant", pa.string(), nullable=False),
        pa.field("env", pa.string(), nullable=False),
        pa.field("trace_id", pa.string()),
        pa.field("span_id", pa.string()),
        pa.field("parent_span_id", pa.string()),
        pa.field("name", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("start_time", _TS),
        pa.field("end_time", _TS),
        pa.field("duration_ms", pa.float64()),
        pa.field("status_code", pa.string(), nullable=False),
        pa.field("error_type", pa.string()),
        pa.field("service_name", pa.string()),
        # the call
        pa.field("operation", pa.string()),
        pa.field("provider", pa.string()),
        pa.field("request_model", pa.string()),
        pa.field("response_model", pa.string()),
        # usage
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("cache_read_tokens", pa.int64()),
        pa.field("ttft_ms", pa.float64()),
        # product dimensions
        pa.field("feature", pa.string()),
        pa.field("prompt_version", pa.string()),
        pa.field("tool_name", pa.string()),
        pa.field("tool_count", pa.int32()),
        pa.field("retrieved_documents", pa.int32()),
        pa.field("cache_hit", pa.bool_()),
        # identity, pseudonymised
        pa.field("user_hash", pa.string()),
        pa.field("session_hash", pa.string()),
        # bookkeeping
        pa.field("redactions", pa.map_(pa.string(), pa.int32()), nullable=False),
        pa.field("payload_ref", pa.string()),
        pa.field("received_at", _TS, nullable=False),
        # schema version 2: derived signals (docs/storage.md). Appended, so that version-1 files
        # and version-2 files union by name.
        pa.field("cache_write_tokens", pa.int64()),
        pa.field("tpot_ms", pa.float64()),
        pa.field("output_tokens_per_s", pa.float64()),
        pa.field("cost_usd", pa.float64()),
        pa.field("price_source", pa.string()),
        pa.field("price_version", pa.string()),
        pa.field("retry_count", pa.int32()),
        pa.field("finish_reasons", pa.list_(pa.string())),
        pa.field("tool_status", pa.string()),
        pa.field("retrieval_score_min", pa.float64()),
        pa.field("retrieval_score_max", pa.float64()),
        pa.field("retrieval_score_mean", pa.float64()),
        pa.field("input_chars", pa.int64()),
        pa.field("input_words", pa.int64()),
        pa.field("output_chars", pa.int64()),
        pa.field("output_words", pa.int64()),
        pa.field("language", pa.string()),
        pa.field("refusal", pa.bool_()),
    ],
    metadata={"tracevault.schema": "metrics", "tracevault.schema_version": SCHEMA_VERSION},
)

_TAP = "traceloop.association.properties."

DEFAULT_COLUMN_SOURCES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "error_type": ("error.type",),
        "service_name": ("service.name",),
        "operation": ("gen_ai.operation.name", "openinference.span.kind", "traceloop.span.kind"),
        "provider": ("gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
        "request_model": ("gen_ai.request.model", "llm.request.model", "llm.model_name", "model"),
        "response_model": ("gen_ai.response.model", "llm.response.model"),
        "input_tokens": (
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
            "input_tokens",
        ),
        "output_tokens": (
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
            "output_tokens",
        ),
        "cache_read_tokens": (
            "gen_ai.usage.cache_read.input_tokens",
            "gen_ai.usage.cache_read_input_tokens",
            "llm.token_count.prompt_details.cache_read",
        ),
        # A source whose name ends in "_ms" is in milliseconds; any other is in seconds.
        "ttft_ms": ("gen_ai.response.time_to_first_chunk", "ttft_ms"),
        "feature": ("feature", "app.feature", _TAP + "feature", "metadata.feature"),
        "prompt_version": (
            "llm.prompt_template.version",
            "gen_ai.prompt.version",
            "prompt_version",
            "prompt.version",
            "traceloop.prompt.version",
            _TAP + "prompt_version",
            "metadata.prompt_version",
            "langfuse.observation.prompt.version",
        ),
        "tool_name": ("gen_ai.tool.name", "tool.name"),
        "tool_count": ("tool_count", _TAP + "tool_count", "metadata.tool_count"),
        "retrieved_documents": ("retrieved_documents", _TAP + "retrieved_documents", "metadata.retrieved_documents"),
        "cache_hit": ("cache_hit", "cache.hit", _TAP + "cache_hit", "metadata.cache_hit"),
        "user_hash": (
            "user.id",
            "enduser.id",
            "enduser.pseudo.id",
            "user.hash",
            "gen_ai.user",
            "llm.user",
            _TAP + "user_id",
            "langfuse.user.id",
        ),
        "session_hash": ("session.id", "gen_ai.conversation.id", _TAP + "session_id", "langfuse.session.id"),
        "cache_write_tokens": (
            "gen_ai.usage.cache_creation.input_tokens",
            "gen_ai.usage.cache_write.input_tokens",
            "gen_ai.usage.cache_creation_input_tokens",
            "llm.token_count.prompt_details.cache_write",
        ),
        "retry_count": (
            "http.request.resend_count",
            "gen_ai.request.retry_count",
            "retry_count",
            "retry.count",
            _TAP + "retry_count",
            "metadata.retry_count",
        ),
        "finish_reasons": ("gen_ai.response.finish_reasons", "llm.response.finish_reasons", "llm.response.finish_reason"),
    }
)


@dataclass(frozen=True)
class MetricsMapping:
    """For each attribute-fed column, the attribute names tried in order."""

    sources: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: DEFAULT_COLUMN_SOURCES)

    @classmethod
    def with_overrides(cls, overrides: Mapping[str, Sequence[str]]) -> MetricsMapping:
        """The default mapping with some columns' sources replaced (not extended).

        To extend a column, include its defaults: ``{"feature": ("app.area", *DEFAULT_COLUMN_SOURCES["feature"])}``.
        An empty sequence leaves only the column's derived fallback, if it has one.
        """
        merged = dict(DEFAULT_COLUMN_SOURCES)
        for column, names in overrides.items():
            if column not in DEFAULT_COLUMN_SOURCES:
                if column in METRICS_SCHEMA.names:
                    raise ValueError(f"metrics column {column!r} is not fed by attributes and cannot be mapped")
                raise ValueError(f"unknown metrics column {column!r}")
            if isinstance(names, str):
                names = (names,)
            cleaned = tuple(names)
            for name in cleaned:
                if not isinstance(name, str) or not name:
                    raise ValueError(f"sources for metrics column {column!r} must be non-empty attribute names")
            merged[column] = cleaned
        return cls(sources=MappingProxyType(merged))


DEFAULT_MAPPING = MetricsMapping()
DEFAULT_PRICER = Pricer()

# ---------------------------------------------------------------------------------------------
# Label checks: what a metrics string may look like.

_DIGIT_RUN = re.compile(r"\d+")
_DATE_STAMP = re.compile(r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")


def _digit_runs_ok(text: str, limit: int, allow_date_stamp: bool) -> bool:
    for run in _DIGIT_RUN.findall(text):
        if len(run) < limit:
            continue
        if allow_date_stamp and len(run) == 8 and _DATE_STAMP.fullmatch(run):
            continue
        return False
    return True


def _is_label(text: str, *, allow_date_stamp: bool = False) -> bool:
    return is_label(text, LABEL_MAX_CHARS) and _digit_runs_ok(text, 6, allow_date_stamp)


def label(text: str) -> str | None:
    """``text`` as a metrics label: None when blank, ``<redacted>`` when not label-shaped."""
    return _label(text)


def _label(text: str, *, allow_date_stamp: bool = False) -> str | None:
    if not text.strip():
        return None
    if not _is_label(text, allow_date_stamp=allow_date_stamp):
        return REDACTED
    return text


# Span names.
_NAME_MAX_CHARS = 64
_ROUTE = re.compile(r"/[A-Za-z0-9_.{}:/\-]{0,127}")
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})
GENAI_OPERATIONS = frozenset(
    {
        "chat",
        "text_completion",
        "generate_content",
        "embeddings",
        "execute_tool",
        "invoke_agent",
        "create_agent",
        "invoke_workflow",
        "retrieval",
    }
)


def safe_span_name(name: str) -> str:
    """The span name if it is an operation form or an identifier-like token, else ``<redacted>``."""
    if not name:
        return REDACTED
    operation, sep, rest = name.partition(" ")
    if sep and operation in GENAI_OPERATIONS:
        # "{operation} {model}", "execute_tool {tool}", "invoke_agent {agent}"
        if rest.strip() and len(name) <= LABEL_MAX_CHARS and _is_label(rest, allow_date_stamp=True):
            return name
        return REDACTED
    if sep and operation in HTTP_METHODS:
        # "{method} {route}": the route template, no ids in it
        if _ROUTE.fullmatch(rest) and _digit_runs_ok(rest, 4, allow_date_stamp=False) and not has_pii_digits(rest):
            return name
        return REDACTED
    if len(name) <= _NAME_MAX_CHARS and _is_label(name) and _digit_runs_ok(name, 4, allow_date_stamp=False):
        return name
    return REDACTED


# ---------------------------------------------------------------------------------------------
# Coercion of AnyValues. Each returns None for a value it cannot use.

_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1
_JSON_LIMIT = 4 * 1024 * 1024
_SPAN_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS_CODES = {0: "unset", 1: "ok", 2: "error"}
_TRUE = frozenset({"true", "yes", "1", "hit", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "miss", "n", "f"})
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _scalar(value: Any) -> Any:
    """A Python scalar for an AnyValue (or an already plain value); None for arrays, maps, bytes."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    kind = value.WhichOneof("value")
    if kind in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, kind)
    return None


def _as_number(value: Any) -> int | float | None:
    """An int or float from an AnyValue, a number or a short numeric string; None for booleans,
    arrays, maps and text that is no number."""
    value = _scalar(value)
    if isinstance(value, bool) or value is None:
        return None
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text or len(text) > 32:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _as_count(value: Any, maximum: int = _INT64_MAX) -> int | None:
    value = _as_number(value)
    if value is None:
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        value = int(value)
    if 0 <= value <= maximum:
        return value
    return None


def _as_float(value: Any) -> float | None:
    value = _as_number(value)
    if value is None:
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        return None
    return number


def _as_bool(value: Any) -> bool | None:
    value = _scalar(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, float):
        return {0.0: False, 1.0: True}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _as_text(value: Any) -> str | None:
    value = _scalar(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return value


def _as_label(value: Any) -> str | None:
    text = _as_text(value)
    return None if text is None else _label(text)


def _as_model(value: Any) -> str | None:
    text = _as_text(value)
    return None if text is None else _label(text, allow_date_stamp=True)


def _as_operation(value: Any) -> str | None:
    text = _as_label(value)
    return text.lower() if text is not None and text != REDACTED else text


def _as_pseudonym(value: Any) -> str | None:
    value = _scalar(value)
    if isinstance(value, str) and PSEUDONYM_PATTERN.fullmatch(value):
        return value
    return None


# ---------------------------------------------------------------------------------------------
# Attribute lookup.


def _loads(text: str) -> Any:
    if len(text) > _JSON_LIMIT:
        return None
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "["):
        return None
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        return None


def _to_py(value: Any) -> Any:
    """AnyValue to Python; a top-level JSON string of a list or object is parsed (content is often sent so)."""
    if not hasattr(value, "WhichOneof"):
        return value
    if value.WhichOneof("value") == "string_value":
        parsed = _loads(value.string_value)
        return value.string_value if parsed is None else parsed
    return any_to_py(value, max_depth=32, too_deep_as_none=True)


class _Attributes:
    """Span attributes, then resource attributes, by exact key; first occurrence wins."""

    def __init__(self, span_attributes: Iterable[KeyValue], resource_attributes: Iterable[KeyValue]) -> None:
        self.span = self._index(span_attributes)
        self.resource = self._index(resource_attributes)

    @staticmethod
    def _index(attributes: Iterable[KeyValue]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for kv in attributes:
            found.setdefault(kv.key, kv.value)
        # Nested metadata: kvlist attributes, and OpenInference's `metadata` JSON object, are
        # reachable as "<key>.<subkey>" unless that key already exists.
        for key, value in list(found.items()):
            kind = value.WhichOneof("value")
            if kind == "kvlist_value":
                for kv in value.kvlist_value.values:
                    found.setdefault(f"{key}.{kv.key}", kv.value)
            elif kind == "string_value" and key == "metadata":
                parsed = _loads(value.string_value)
                if isinstance(parsed, dict):
                    for sub, sub_value in parsed.items():
                        if isinstance(sub_value, (str, int, float, bool)):
                            found.setdefault(f"{key}.{sub}", sub_value)
        return found

    def candidates(self, names: Sequence[str]) -> Iterable[tuple[str, Any]]:
        for table in (self.span, self.resource):
            for name in names:
                if name in table:
                    yield name, table[name]

    def first(self, names: Sequence[str], coerce: Callable[[Any], Any]) -> Any:
        for _, value in self.candidates(names):
            result = coerce(value)
            if result is not None:
                return result
        return None


def hex_id(raw: bytes) -> str | None:
    return raw.hex() if raw else None


def timestamp_ns(ns: int) -> datetime | None:
    if not ns or ns > _INT64_MAX:
        return None
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _error_type(span: Span, attrs: _Attributes, names: Sequence[str]) -> str | None:
    found = attrs.first(names, _as_label)
    if found is not None:
        return found
    for event in span.events:
        if event.name != "exception":
            continue
        for kv in event.attributes:
            if kv.key == "exception.type":
                found = _as_label(kv.value)
                if found is not None:
                    return found
    return None


def _ttft_ms(attrs: _Attributes, names: Sequence[str]) -> float | None:
    for name, value in attrs.candidates(names):
        number = _as_float(value)
        if number is not None:
            return number if name.endswith("_ms") else number * 1000.0
    for table in (attrs.span, attrs.resource):
        for key in sorted(table):
            if key.endswith("ttft_ms"):
                number = _as_float(table[key])
                if number is not None:
                    return number
    return None


_OI_TOOL_CALL = re.compile(r"llm\.output_messages\.(\d+)\.message\.tool_calls\.(\d+)\.")
_OLLM_TOOL_CALL = re.compile(r"gen_ai\.completion\.(\d+)\.tool_calls\.(\d+)\.")
_OI_DOCUMENT = re.compile(r"retrieval\.documents\.(\d+)\.")


def _count_output_tool_calls(value: Any) -> int | None:
    messages = _to_py(value)
    if not isinstance(messages, list):
        return None
    count = 0
    for message in messages:
        if not isinstance(message, dict):
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            count += sum(1 for part in parts if isinstance(part, dict) and part.get("type") == "tool_call")
    return count


def _tool_count(attrs: _Attributes, names: Sequence[str]) -> int | None:
    explicit = attrs.first(names, lambda v: _as_count(v, _INT32_MAX))
    if explicit is not None:
        return explicit
    if "gen_ai.output.messages" in attrs.span:
        counted = _count_output_tool_calls(attrs.span["gen_ai.output.messages"])
        if counted is not None:
            return counted
    calls: set[tuple[str, ...]] = set()
    for key in attrs.span:
        match = _OI_TOOL_CALL.match(key) or _OLLM_TOOL_CALL.match(key)
        if match:
            calls.add((match.re.pattern, *match.groups()))
    return len(calls) if calls else None


def _retrieved_documents(attrs: _Attributes, names: Sequence[str]) -> int | None:
    explicit = attrs.first(names, lambda v: _as_count(v, _INT32_MAX))
    if explicit is not None:
        return explicit
    indices = {match.group(1) for key in attrs.span if (match := _OI_DOCUMENT.match(key))}
    if indices:
        return min(len(indices), _INT32_MAX)
    if "gen_ai.retrieval.documents" in attrs.span:
        documents = _to_py(attrs.span["gen_ai.retrieval.documents"])
        if isinstance(documents, list):
            return min(len(documents), _INT32_MAX)
    return None


def redaction_counts(redactions: Mapping[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entity, count in sorted(redactions.items(), key=lambda item: str(item[0])):
        if not isinstance(entity, str) or not entity or isinstance(count, bool) or not isinstance(count, int):
            continue
        label = _label(entity)
        if label is None or label == REDACTED or count < 0:
            continue
        counts[label] = min(count, _INT32_MAX)
    return counts


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


_COERCERS: dict[str, Callable[[Any], Any]] = {
    "service_name": _as_label,
    "operation": _as_operation,
    "provider": _as_label,
    "request_model": _as_model,
    "response_model": _as_model,
    "input_tokens": _as_count,
    "output_tokens": _as_count,
    "cache_read_tokens": _as_count,
    "feature": _as_label,
    "prompt_version": _as_label,
    "tool_name": _as_label,
    "cache_hit": _as_bool,
    "user_hash": _as_pseudonym,
    "session_hash": _as_pseudonym,
    "cache_write_tokens": _as_count,
    "retry_count": lambda value: _as_count(value, _INT32_MAX),
}


def guarded(compute: Callable[[], Any]) -> Any:
    # Span data never makes a row fail: a column that cannot be computed is null.
    try:
        return compute()
    except Exception:  # noqa: BLE001 - fail to null, never to an exception or to content
        return None


def record_attributes(attributes: Iterable[KeyValue], resource_attributes: Iterable[KeyValue]) -> _Attributes:
    """A record's (span's or log record's) attributes, then its resource's, for lookups."""
    return guarded(lambda: _Attributes(attributes, resource_attributes)) or _Attributes((), ())


def attribute_columns(attrs: _Attributes, mapping: MetricsMapping, columns: Iterable[str]) -> dict[str, Any]:
    """The attribute-fed ``columns`` of one record, each from its mapped sources, coerced and
    shape-checked as the metrics table does it (the log_metrics table uses the same code)."""
    sources = mapping.sources

    def column(name: str) -> Any:
        return guarded(lambda: attrs.first(sources.get(name, ()), _COERCERS[name]))

    return {name: column(name) for name in columns}


def metrics_row(
    span: Span,
    resource: Resource,
    *,
    tenant: str,
    env: str,
    received_at: datetime,
    redactions: Mapping[str, int],
    payload_ref: str | None,
    mapping: MetricsMapping = DEFAULT_MAPPING,
    pricer: Pricer | None = None,
) -> dict[str, Any]:
    """The metrics record of one (already redacted) span, keyed by :data:`METRICS_SCHEMA` names.

    ``pricer`` prices the call into ``cost_usd`` (the default: genai-prices, no overrides)."""
    sources = mapping.sources
    attrs = record_attributes(span.attributes, resource.attributes)
    start_ns, end_ns = int(span.start_time_unix_nano), int(span.end_time_unix_nano)
    duration = (end_ns - start_ns) / 1e6 if 0 < start_ns <= end_ns <= _INT64_MAX else None
    row = attribute_columns(attrs, mapping, _COERCERS)  # the columns fed by attributes alone
    row |= {
        "tenant": tenant,
        "env": env,
        "trace_id": hex_id(span.trace_id),
        "span_id": hex_id(span.span_id),
        "parent_span_id": hex_id(span.parent_span_id),
        "name": guarded(lambda: safe_span_name(span.name)) or REDACTED,
        "kind": _SPAN_KINDS.get(int(span.kind), "unspecified"),
        "start_time": timestamp_ns(start_ns),
        "end_time": timestamp_ns(end_ns),
        "duration_ms": duration,
        "status_code": _STATUS_CODES.get(int(span.status.code), "unset"),
        "error_type": guarded(lambda: _error_type(span, attrs, sources.get("error_type", ()))),
        "ttft_ms": guarded(lambda: _ttft_ms(attrs, sources.get("ttft_ms", ()))),
        "tool_count": guarded(lambda: _tool_count(attrs, sources.get("tool_count", ()))),
        "retrieved_documents": guarded(lambda: _retrieved_documents(attrs, sources.get("retrieved_documents", ()))),
        "redactions": redaction_counts(redactions),
        "payload_ref": payload_ref,
        "received_at": utc(received_at),
    }
    derived_columns(row, attrs, sources, pricer or DEFAULT_PRICER, label=_label, guard=guarded)
    return {name: row.get(name) for name in METRICS_SCHEMA.names}


# ---------------------------------------------------------------------------------------------
# Parquet.

def _prepare(row: Mapping[str, Any], index: int, schema: pa.Schema) -> dict[str, Any]:
    unknown = set(row) - set(schema.names)
    if unknown:
        raise ValueError(f"metrics row {index} has unknown columns: {sorted(unknown)}")
    out = {name: row.get(name) for name in schema.names}
    for schema_field in schema:
        value = out[schema_field.name]
        if value is None and not schema_field.nullable:
            raise ValueError(f"metrics row {index} lacks required column {schema_field.name!r}")
        if pa.types.is_timestamp(schema_field.type):
            if isinstance(value, datetime):
                out[schema_field.name] = utc(value)
            elif isinstance(value, date):
                raise ValueError(f"metrics row {index}: column {schema_field.name!r} needs a datetime, not a date")
        elif pa.types.is_map(schema_field.type) and isinstance(value, Mapping):
            out[schema_field.name] = sorted(value.items())
    return out


def rows_to_parquet(rows: Sequence[Mapping[str, Any]], schema: pa.Schema = METRICS_SCHEMA) -> bytes:
    """One zstd-compressed Parquet file whose schema is ``schema`` (:data:`METRICS_SCHEMA`, or
    the log_metrics table's)."""
    prepared = [_prepare(row, i, schema) for i, row in enumerate(rows)]
    table = pa.Table.from_pylist(prepared, schema=schema)
    return table_to_parquet(table)


def conform(table: pa.Table, schema: pa.Schema = METRICS_SCHEMA) -> pa.Table:
    """A metrics table of any schema version as ``schema``: columns an older file lacks are
    added as nulls (what DuckDB's ``union_by_name`` does), then the types are cast."""
    missing = [f for f in schema if f.name not in table.column_names]
    for schema_field in missing:
        table = table.append_column(schema_field.name, pa.nulls(table.num_rows, schema_field.type))
    return table.select(schema.names).cast(schema)


def read_parquet_rows(data: bytes) -> list[dict[str, Any]]:
    """Rows of a metrics Parquet file, shaped as :func:`metrics_row` makes them.

    Timestamps come back as UTC datetimes (a sub-microsecond part, if any, is dropped) and
    ``redactions`` as a dict.
    """
    table = pq.read_table(pa.BufferReader(data))
    columns = []
    for i, schema_field in enumerate(table.schema):
        column = table.column(i)
        if pa.types.is_timestamp(schema_field.type) and schema_field.type.unit == "ns":
            column = column.cast(pa.timestamp("us", tz=schema_field.type.tz or "UTC"), safe=False)
        columns.append(column)
    table = pa.Table.from_arrays(columns, names=table.column_names)
    rows = table.to_pylist()
    map_columns = [f.name for f in table.schema if pa.types.is_map(f.type)]
    time_columns = [f.name for f in table.schema if pa.types.is_timestamp(f.type) and f.type.tz]
    for row in rows:
        for name in map_columns:
            if row[name] is not None:
                row[name] = dict(row[name])
        for name in time_columns:
            if row[name] is not None:
                row[name] = row[name].astimezone(timezone.utc)
    return rows
