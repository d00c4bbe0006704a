"""Metrics records: which attribute feeds which column, no free text, and Parquet that DuckDB reads."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from redactors.walker import py_to_any
from vault.metrics import (
    DEFAULT_COLUMN_SOURCES,
    METRICS_SCHEMA,
    REDACTED,
    MetricsMapping,
    metrics_row,
    read_parquet_rows,
    rows_to_parquet,
)

TRACE_HEX = "5b8efff798038103d269b633813fc60c"
SPAN_HEX = "eee19b7ec3c1b174"
PARENT_HEX = "eee19b7ec3c1b173"
USER_PN = "pn:3fa9c2d1:9f2c4e0a1b2c3d4e5f607182"
SESSION_PN = "pn:3fa9c2d1:0123456789abcdef01234567"
RECEIVED = datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc)
START_NS = 1_764_322_200_000_000_000  # 2025-11-28T09:30:00Z


# --- builders: protobuf spans straight from AnyValue / KeyValue ---------------------------------


def av(obj: Any) -> AnyValue:
    return obj if isinstance(obj, AnyValue) else py_to_any(obj)


def make_span(
    attributes: dict[str, Any] | None = None,
    *,
    name: str = "chat gpt-4o",
    kind: int = Span.SPAN_KIND_CLIENT,
    status: int = Status.STATUS_CODE_UNSET,
    parent: str = "",
    events: list[tuple[str, dict[str, Any]]] = (),
    start_ns: int = START_NS,
    end_ns: int = START_NS + 1_250_000_000,
) -> Span:
    span = Span(
        trace_id=bytes.fromhex(TRACE_HEX),
        span_id=bytes.fromhex(SPAN_HEX),
        parent_span_id=bytes.fromhex(parent),
        name=name,
        kind=kind,
        start_time_unix_nano=start_ns,
        end_time_unix_nano=end_ns,
        status=Status(code=status),
    )
    for key, obj in (attributes or {}).items():
        span.attributes.append(KeyValue(key=key, value=av(obj)))
    for event_name, event_attributes in events:
        event = span.events.add(name=event_name, time_unix_nano=start_ns + 1)
        for key, obj in event_attributes.items():
            event.attributes.append(KeyValue(key=key, value=av(obj)))
    return span


def make_resource(attributes: dict[str, Any] | None = None) -> Resource:
    resource = Resource()
    for key, obj in (attributes or {"service.name": "support-bot"}).items():
        resource.attributes.append(KeyValue(key=key, value=av(obj)))
    return resource


def row_for(
    attributes: dict[str, Any] | None = None,
    resource: dict[str, Any] | None = None,
    *,
    mapping: MetricsMapping | None = None,
    tenant: str = "a",
    env: str = "prod",
    redactions: dict[str, int] | None = None,
    payload_ref: str | None = None,
    **span_kwargs: Any,
) -> dict[str, Any]:
    return metrics_row(
        make_span(attributes, **span_kwargs),
        make_resource(resource),
        tenant=tenant,
        env=env,
        received_at=RECEIVED,
        redactions=redactions or {},
        payload_ref=payload_ref,
        mapping=mapping or MetricsMapping(),
    )


# --- the schema ---------------------------------------------------------------------------------

EXPECTED_COLUMNS = [
    ("tenant", pa.string()),
    ("env", pa.string()),
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("parent_span_id", pa.string()),
    ("name", pa.string()),
    ("kind", pa.string()),
    ("start_time", pa.timestamp("ns", tz="UTC")),
    ("end_time", pa.timestamp("ns", tz="UTC")),
    ("duration_ms", pa.float64()),
    ("status_code", pa.string()),
    ("error_type", pa.string()),
    ("service_name", pa.string()),
    ("operation", pa.string()),
    ("provider", pa.string()),
    ("request_model", pa.string()),
    ("response_model", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("cache_read_tokens", pa.int64()),
    ("ttft_ms", pa.float64()),
    ("feature", pa.string()),
    ("prompt_version", pa.string()),
    ("tool_name", pa.string()),
    ("tool_count", pa.int32()),
    ("retrieved_documents", pa.int32()),
    ("cache_hit", pa.bool_()),
    ("user_hash", pa.string()),
    ("session_hash", pa.string()),
    ("redactions", pa.map_(pa.string(), pa.int32())),
    ("payload_ref", pa.string()),
    ("received_at", pa.timestamp("ns", tz="UTC")),
    # schema version 2, appended
    ("cache_write_tokens", pa.int64()),
    ("tpot_ms", pa.float64()),
    ("output_tokens_per_s", pa.float64()),
    ("cost_usd", pa.float64()),
    ("price_source", pa.string()),
    ("price_version", pa.string()),
    ("retry_count", pa.int32()),
    ("finish_reasons", pa.list_(pa.string())),
    ("tool_status", pa.string()),
    ("retrieval_score_min", pa.float64()),
    ("retrieval_score_max", pa.float64()),
    ("retrieval_score_mean", pa.float64()),
    ("input_chars", pa.int64()),
    ("input_words", pa.int64()),
    ("output_chars", pa.int64()),
    ("output_words", pa.int64()),
    ("language", pa.string()),
    ("refusal", pa.bool_()),
]


def test_schema_columns_names_order_and_types() -> None:
    assert [(f.name, f.type) for f in METRICS_SCHEMA] == EXPECTED_COLUMNS


def test_row_keys_follow_the_schema() -> None:
    assert list(row_for()) == METRICS_SCHEMA.names


def test_every_mapped_column_is_a_schema_column() -> None:
    assert set(DEFAULT_COLUMN_SOURCES) <= set(METRICS_SCHEMA.names)


# --- which attribute feeds which column, per convention -------------------------------------------

CONVENTION_CASES = [
    # OTel GenAI, current names
    ("otel-operation", {"gen_ai.operation.name": "chat"}, "operation", "chat"),
    ("otel-provider", {"gen_ai.provider.name": "openai"}, "provider", "openai"),
    ("otel-request-model", {"gen_ai.request.model": "gpt-4o"}, "request_model", "gpt-4o"),
    ("otel-response-model", {"gen_ai.response.model": "gpt-4o-2024-08-06"}, "response_model", "gpt-4o-2024-08-06"),
    ("otel-dated-model", {"gen_ai.request.model": "claude-sonnet-4-20250514"}, "request_model", "claude-sonnet-4-20250514"),
    ("otel-input-tokens", {"gen_ai.usage.input_tokens": 1840}, "input_tokens", 1840),
    ("otel-output-tokens", {"gen_ai.usage.output_tokens": 322}, "output_tokens", 322),
    ("otel-cache-read", {"gen_ai.usage.cache_read.input_tokens": 1024}, "cache_read_tokens", 1024),
    ("otel-ttft-seconds", {"gen_ai.response.time_to_first_chunk": 0.79}, "ttft_ms", 790.0),
    ("otel-tool-name", {"gen_ai.tool.name": "get_weather"}, "tool_name", "get_weather"),
    ("otel-error-type", {"error.type": "timeout"}, "error_type", "timeout"),
    ("otel-conversation", {"gen_ai.conversation.id": SESSION_PN}, "session_hash", SESSION_PN),
    ("otel-prompt-version", {"gen_ai.prompt.version": "v3"}, "prompt_version", "v3"),
    (
        "otel-output-tool-calls",
        {
            "gen_ai.output.messages": json.dumps(
                [
                    {
                        "role": "assistant",
                        "parts": [
                            {"type": "text", "content": "checking"},
                            {"type": "tool_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
                            {"type": "tool_call", "id": "c2", "name": "get_time", "arguments": {}},
                        ],
                        "finish_reason": "tool_call",
                    }
                ]
            )
        },
        "tool_count",
        2,
    ),
    (
        "otel-output-tool-calls-structured",
        {"gen_ai.output.messages": [{"role": "assistant", "parts": [{"type": "tool_call", "name": "f"}]}]},
        "tool_count",
        1,
    ),
    (
        "otel-output-no-tool-calls",
        {"gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}])},
        "tool_count",
        0,
    ),
    ("otel-retrieval-documents", {"gen_ai.retrieval.documents": json.dumps([{"id": "d1", "score": 0.9}, {"id": "d2", "score": 0.5}])}, "retrieved_documents", 2),
    # OTel GenAI, older names
    ("otel-old-system", {"gen_ai.system": "anthropic"}, "provider", "anthropic"),
    ("otel-old-prompt-tokens", {"gen_ai.usage.prompt_tokens": 100}, "input_tokens", 100),
    ("otel-old-completion-tokens", {"gen_ai.usage.completion_tokens": 20}, "output_tokens", 20),
    ("otel-old-cache-read", {"gen_ai.usage.cache_read_input_tokens": 64}, "cache_read_tokens", 64),
    # OpenInference
    ("oi-span-kind", {"openinference.span.kind": "LLM"}, "operation", "llm"),
    ("oi-retriever-kind", {"openinference.span.kind": "RETRIEVER"}, "operation", "retriever"),
    ("oi-provider", {"llm.provider": "openai"}, "provider", "openai"),
    ("oi-system", {"llm.system": "openai"}, "provider", "openai"),
    ("oi-model-name", {"llm.model_name": "gpt-4o-mini"}, "request_model", "gpt-4o-mini"),
    ("oi-prompt-tokens", {"llm.token_count.prompt": 1200}, "input_tokens", 1200),
    ("oi-completion-tokens", {"llm.token_count.completion": 80}, "output_tokens", 80),
    ("oi-cache-read", {"llm.token_count.prompt_details.cache_read": 512}, "cache_read_tokens", 512),
    ("oi-prompt-version", {"llm.prompt_template.version": "support_v14"}, "prompt_version", "support_v14"),
    ("oi-tool-name", {"tool.name": "search_kb"}, "tool_name", "search_kb"),
    ("oi-user", {"user.id": USER_PN}, "user_hash", USER_PN),
    ("oi-session", {"session.id": SESSION_PN}, "session_hash", SESSION_PN),
    ("oi-metadata-feature", {"metadata": json.dumps({"feature": "support_answer", "cache_hit": True})}, "feature", "support_answer"),
    ("oi-metadata-cache-hit", {"metadata": json.dumps({"feature": "support_answer", "cache_hit": True})}, "cache_hit", True),
    (
        "oi-documents-indexed",
        {
            "retrieval.documents.0.document.id": "d1",
            "retrieval.documents.0.document.content": "<redacted text>",
            "retrieval.documents.1.document.id": "d2",
            "retrieval.documents.2.document.score": 0.3,
        },
        "retrieved_documents",
        3,
    ),
    (
        "oi-output-tool-calls",
        {
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "get_weather",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": "{}",
            "llm.output_messages.0.message.tool_calls.1.tool_call.function.name": "get_time",
        },
        "tool_count",
        2,
    ),
    # OpenLLMetry / Traceloop
    ("ollm-span-kind", {"traceloop.span.kind": "workflow"}, "operation", "workflow"),
    ("ollm-request-model", {"llm.request.model": "gpt-3.5-turbo"}, "request_model", "gpt-3.5-turbo"),
    ("ollm-response-model", {"llm.response.model": "gpt-3.5-turbo-0125"}, "response_model", "gpt-3.5-turbo-0125"),
    ("ollm-usage-prompt", {"llm.usage.prompt_tokens": 42}, "input_tokens", 42),
    ("ollm-prompt-version", {"traceloop.prompt.version": 7}, "prompt_version", "7"),
    ("ollm-assoc-feature", {"traceloop.association.properties.feature": "summarise"}, "feature", "summarise"),
    ("ollm-assoc-prompt-version", {"traceloop.association.properties.prompt_version": "p2"}, "prompt_version", "p2"),
    ("ollm-assoc-user", {"traceloop.association.properties.user_id": USER_PN}, "user_hash", USER_PN),
    ("ollm-assoc-session", {"traceloop.association.properties.session_id": SESSION_PN}, "session_hash", SESSION_PN),
    (
        "ollm-completion-tool-calls",
        {"gen_ai.completion.0.tool_calls.0.name": "lookup", "gen_ai.completion.0.tool_calls.0.arguments": "{}"},
        "tool_count",
        1,
    ),
    # The tutorial's span metadata
    ("tutorial-feature", {"feature": "support_answer"}, "feature", "support_answer"),
    ("tutorial-prompt-version", {"prompt_version": "support_v14"}, "prompt_version", "support_v14"),
    ("tutorial-model", {"model": "model_route_mid"}, "request_model", "model_route_mid"),
    ("tutorial-input-tokens", {"input_tokens": 1840}, "input_tokens", 1840),
    ("tutorial-output-tokens", {"output_tokens": 322}, "output_tokens", 322),
    ("tutorial-cache-hit", {"cache_hit": False}, "cache_hit", False),
    ("tutorial-retrieved-documents", {"retrieved_documents": 5}, "retrieved_documents", 5),
    ("tutorial-tool-count", {"tool_count": 1}, "tool_count", 1),
    ("tutorial-ttft-ms", {"ttft_ms": 790}, "ttft_ms", 790.0),
    ("suffix-ttft-ms", {"app.stream.ttft_ms": 120.5}, "ttft_ms", 120.5),
    # Other identity attributes
    ("enduser-id", {"enduser.id": USER_PN}, "user_hash", USER_PN),
]


@pytest.mark.parametrize(("attributes", "column", "expected"), [c[1:] for c in CONVENTION_CASES], ids=[c[0] for c in CONVENTION_CASES])
def test_convention_attribute_feeds_column(attributes: dict[str, Any], column: str, expected: Any) -> None:
    assert row_for(attributes)[column] == expected


def test_tutorial_metadata_as_one_span() -> None:
    tutorial = {
        "tenant_id": "tenant_a",
        "feature": "support_answer",
        "prompt_version": "support_v14",
        "model": "model_route_mid",
        "input_tokens": 1840,
        "output_tokens": 322,
        "cache_hit": False,
        "retrieved_documents": 5,
        "tool_count": 1,
    }
    row = row_for(tutorial, name="model.call")
    assert {k: row[k] for k in ("name", "feature", "prompt_version", "request_model", "input_tokens", "output_tokens", "cache_hit", "retrieved_documents", "tool_count")} == {
        "name": "model.call",
        "feature": "support_answer",
        "prompt_version": "support_v14",
        "request_model": "model_route_mid",
        "input_tokens": 1840,
        "output_tokens": 322,
        "cache_hit": False,
        "retrieved_documents": 5,
        "tool_count": 1,
    }
    assert row["tenant"] == "a"  # the tenant comes from the sidecar, never from an attribute


def test_resource_attributes_feed_service_name_and_fallbacks() -> None:
    row = row_for({"feature": "span_level"}, {"service.name": "rag-api", "feature": "resource_level", "gen_ai.provider.name": "aws.bedrock"})
    assert row["service_name"] == "rag-api"
    assert row["feature"] == "span_level"  # span attributes win over resource attributes
    assert row["provider"] == "aws.bedrock"  # resource attributes fill what spans lack


def test_first_source_wins_and_bad_values_fall_through() -> None:
    both = row_for({"gen_ai.usage.input_tokens": 10, "gen_ai.usage.prompt_tokens": 99})
    assert both["input_tokens"] == 10
    bad_first = row_for({"gen_ai.usage.input_tokens": "lots", "llm.token_count.prompt": 7})
    assert bad_first["input_tokens"] == 7
    raw_then_pseudonym = row_for({"user.id": "jane@example.com", "enduser.id": USER_PN})
    assert raw_then_pseudonym["user_hash"] == USER_PN


def test_exception_event_gives_error_type_and_error_type_attribute_wins() -> None:
    event = [("exception", {"exception.type": "openai.RateLimitError", "exception.message": "quota for jane@x.com"})]
    assert row_for(events=event, status=Status.STATUS_CODE_ERROR)["error_type"] == "openai.RateLimitError"
    assert row_for({"error.type": "429"}, events=event)["error_type"] == "429"
    sentence = [("exception", {"exception.type": "could not reach the server at all"})]
    assert row_for(events=sentence)["error_type"] == REDACTED


# --- coercion of AnyValue kinds --------------------------------------------------------------------

COERCION_CASES = [
    ("input_tokens", "gen_ai.usage.input_tokens", "1840", 1840),
    ("input_tokens", "gen_ai.usage.input_tokens", " 1840 ", 1840),
    ("input_tokens", "gen_ai.usage.input_tokens", 1840.0, 1840),
    ("input_tokens", "gen_ai.usage.input_tokens", "1840.0", 1840),
    ("input_tokens", "gen_ai.usage.input_tokens", 18.5, None),
    ("input_tokens", "gen_ai.usage.input_tokens", -3, None),
    ("input_tokens", "gen_ai.usage.input_tokens", True, None),
    ("input_tokens", "gen_ai.usage.input_tokens", "many", None),
    ("input_tokens", "gen_ai.usage.input_tokens", "nan", None),
    ("input_tokens", "gen_ai.usage.input_tokens", "1e400", None),
    ("input_tokens", "gen_ai.usage.input_tokens", [1, 2], None),
    ("input_tokens", "gen_ai.usage.input_tokens", b"\x01", None),
    ("input_tokens", "gen_ai.usage.input_tokens", {"n": 1}, None),
    ("input_tokens", "gen_ai.usage.input_tokens", 2**63 - 1, 2**63 - 1),
    ("tool_count", "tool_count", "3", 3),
    ("tool_count", "tool_count", 2**40, None),  # beyond int32: null, not an overflow
    ("ttft_ms", "gen_ai.response.time_to_first_chunk", "0.5", 500.0),
    ("ttft_ms", "gen_ai.response.time_to_first_chunk", 2, 2000.0),
    ("ttft_ms", "gen_ai.response.time_to_first_chunk", float("nan"), None),
    ("ttft_ms", "gen_ai.response.time_to_first_chunk", float("inf"), None),
    ("ttft_ms", "gen_ai.response.time_to_first_chunk", -1.0, None),
    ("cache_hit", "cache_hit", True, True),
    ("cache_hit", "cache_hit", "true", True),
    ("cache_hit", "cache_hit", "False", False),
    ("cache_hit", "cache_hit", 1, True),
    ("cache_hit", "cache_hit", 0, False),
    ("cache_hit", "cache_hit", 7, None),
    ("cache_hit", "cache_hit", "maybe", None),
    ("prompt_version", "prompt_version", 14, "14"),
    ("prompt_version", "prompt_version", 1.5, "1.5"),
    ("prompt_version", "prompt_version", True, "true"),
    ("prompt_version", "prompt_version", "", None),
    ("prompt_version", "prompt_version", ["v1"], None),
]


@pytest.mark.parametrize(("column", "key", "given_value", "expected"), COERCION_CASES)
def test_values_are_coerced_or_null(column: str, key: str, given_value: Any, expected: Any) -> None:
    assert row_for({key: given_value})[column] == expected


# --- identity, timing, status -------------------------------------------------------------------------


def test_identity_ids_are_lowercase_hex_and_parent_null_when_empty() -> None:
    span = make_span(parent=PARENT_HEX.upper())
    span.trace_id = bytes.fromhex(TRACE_HEX.upper())
    row = metrics_row(span, make_resource(), tenant="a", env="prod", received_at=RECEIVED, redactions={}, payload_ref=None, mapping=MetricsMapping())
    assert (row["trace_id"], row["span_id"], row["parent_span_id"]) == (TRACE_HEX, SPAN_HEX, PARENT_HEX)
    assert re.fullmatch(r"[0-9a-f]{32}", row["trace_id"])
    assert row_for()["parent_span_id"] is None


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (Span.SPAN_KIND_UNSPECIFIED, "unspecified"),
        (Span.SPAN_KIND_INTERNAL, "internal"),
        (Span.SPAN_KIND_SERVER, "server"),
        (Span.SPAN_KIND_CLIENT, "client"),
        (Span.SPAN_KIND_PRODUCER, "producer"),
        (Span.SPAN_KIND_CONSUMER, "consumer"),
        (42, "unspecified"),
    ],
)
def test_kind(kind: int, expected: str) -> None:
    assert row_for(kind=kind)["kind"] == expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [(Status.STATUS_CODE_UNSET, "unset"), (Status.STATUS_CODE_OK, "ok"), (Status.STATUS_CODE_ERROR, "error"), (9, "unset")],
)
def test_status(status: int, expected: str) -> None:
    assert row_for(status=status)["status_code"] == expected


def test_times_duration_and_received_at() -> None:
    row = row_for(start_ns=START_NS, end_ns=START_NS + 1_250_500_000)
    assert row["start_time"] == datetime(2025, 11, 28, 9, 30, tzinfo=timezone.utc)
    assert row["end_time"] - row["start_time"] == timedelta(seconds=1, microseconds=250_500)
    assert row["duration_ms"] == pytest.approx(1250.5)
    assert row["received_at"] == RECEIVED
    assert row_for(start_ns=0, end_ns=0)[("start_time")] is None
    assert row_for(start_ns=0, end_ns=0)["duration_ms"] is None
    assert row_for(start_ns=START_NS, end_ns=START_NS - 1)["duration_ms"] is None
    naive = metrics_row(make_span(), make_resource(), tenant="a", env="prod", received_at=datetime(2026, 1, 1), redactions={}, payload_ref=None, mapping=MetricsMapping())
    assert naive["received_at"] == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_redactions_and_payload_ref_pass_through() -> None:
    row = row_for(redactions={"EMAIL_ADDRESS": 2, "PERSON": 1, "bad key with many words": 3, "NEG": -1}, payload_ref="payloads/tenant=a/x.tvseg#3")
    assert row["redactions"] == {"EMAIL_ADDRESS": 2, "PERSON": 1}
    assert row["payload_ref"] == "payloads/tenant=a/x.tvseg#3"


# --- no free text ------------------------------------------------------------------------------------------

NAME_CASES = [
    ("chat gpt-4o", "chat gpt-4o"),
    ("chat claude-sonnet-4-20250514", "chat claude-sonnet-4-20250514"),
    ("embeddings text-embedding-3-small", "embeddings text-embedding-3-small"),
    ("execute_tool get_weather", "execute_tool get_weather"),
    ("invoke_agent Planner", "invoke_agent Planner"),
    # A two-word agent name cannot be told apart from a person's name: not kept (issue 11).
    ("invoke_agent Math Tutor", REDACTED),
    ("Sarah Connor", REDACTED),
    ("chat 4111-1111-1111-1111", REDACTED),
    ("GET /users/123-45-6789", REDACTED),
    ("lookup +1-212-555-0147", REDACTED),
    ("chat", "chat"),
    ("retrieval.vector_search", "retrieval.vector_search"),
    ("gateway.rate_limit", "gateway.rate_limit"),
    ("GET /users/{id}", "GET /users/{id}"),
    ("POST /v1/chat/completions", "POST /v1/chat/completions"),
    ("grpc.health.v1.Health/Check", "grpc.health.v1.Health/Check"),
    ("GET /users/jane@x.com", REDACTED),
    ("GET /orders/12345", REDACTED),
    ("chat jane@x.com", REDACTED),
    ("invoke_agent the agent that helps jane", REDACTED),
    ("execute_tool call_4155550123", REDACTED),
    ("Summarise the contract for ACME please", REDACTED),
    ("GET /users/jane＠x.com", REDACTED),  # fullwidth at sign
    ("line\nbreak", REDACTED),
    ("x" * 65, REDACTED),
    ("GET /users/<EMAIL_ADDRESS:3fa9c2d1>", REDACTED),
    ("", REDACTED),
]


@pytest.mark.parametrize(("name", "expected"), NAME_CASES)
def test_span_name_keeps_only_operation_form(name: str, expected: str) -> None:
    assert row_for(name=name)["name"] == expected


LABEL_CASES = [
    ("feature", "support_answer", "support_answer"),
    # Strict allow-shape (issue 11): no spaces (a person's name), no PII-shaped digit groups.
    ("feature", "support answer", REDACTED),
    ("feature", "Sarah Connor", REDACTED),
    ("feature", "4111-1111-1111-1111", REDACTED),
    ("feature", "123-45-6789", REDACTED),
    ("feature", "212-555-0147", REDACTED),
    ("feature", "+44-7911-123456", REDACTED),
    ("feature", "billing.checkout-v2", "billing.checkout-v2"),
    ("feature", "caf\u00e9", REDACTED),
    ("feature", "Please summarise my last three invoices", REDACTED),
    ("feature", "jane@example.com", REDACTED),
    ("feature", "acct_12345678", REDACTED),
    ("feature", "<EMAIL_ADDRESS:3fa9c2d1>", REDACTED),
    ("feature", "tab\there", REDACTED),
    ("feature", "f" * 300, REDACTED),
    ("feature", "f" * 128, "f" * 128),
    ("prompt_version", "v12345", "v12345"),
    ("prompt_version", "v123456", REDACTED),
    ("request_model", "claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022"),
    ("request_model", "ft:gpt-4o-mini:acme:4155550123", REDACTED),
    ("tool_name", "send email to bob", REDACTED),
    ("service_name", "billing@prod", REDACTED),
    ("service_name", "support-bot", "support-bot"),
    ("error_type", "builtins.ValueError", "builtins.ValueError"),
    ("error_type", "Sarah Connor", REDACTED),
    ("response_model", "gpt-4o-2024-08-06", "gpt-4o-2024-08-06"),
]


@pytest.mark.parametrize(("column", "given_value", "expected"), LABEL_CASES)
def test_string_dimensions_are_labels(column: str, given_value: str, expected: str) -> None:
    key = DEFAULT_COLUMN_SOURCES[column][0]
    assert row_for({key: given_value})[column] == expected


@pytest.mark.parametrize("raw", ["jane@example.com", "12345", "user-42", "pn:3fa9c2d1:short", USER_PN.upper(), "<PERSON:3fa9c2d1>"])
def test_user_and_session_hash_only_copy_pseudonyms(raw: str) -> None:
    row = row_for({"user.id": raw, "session.id": raw, "gen_ai.conversation.id": raw})
    assert row["user_hash"] is None
    assert row["session_hash"] is None


def test_no_value_from_the_content_reaches_the_row() -> None:
    secret_text = "Jane Doe jane@example.com 4111111111111111"
    attributes = {
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": secret_text}]}]),
        "input.value": secret_text,
        "feature": secret_text,
        "user.id": "jane@example.com",
        "gen_ai.request.model": secret_text,
        "metadata": json.dumps({"feature": secret_text}),
    }
    row = row_for(attributes, name=f"chat {secret_text}", events=[("exception", {"exception.type": secret_text})])
    flat = json.dumps(row, default=str)
    for fragment in ("jane", "Jane", "4111", "Doe"):
        assert fragment not in flat


ANY_SOURCE_KEY = sorted({name for names in DEFAULT_COLUMN_SOURCES.values() for name in names} | {"metadata", "gen_ai.output.messages", "retrieval.documents.0.document.id"})
scalars = st.one_of(
    st.text(max_size=80),
    st.emails(),
    st.sampled_from(["Jane Doe lives at 12 Rue de Rivoli", "4111 1111 1111 1111", "+1 415 555 0123", "pn:3fa9c2d1:9f2c4e0a1b2c3d4e5f607182", "[{", "{}", "[]"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.binary(max_size=8),
)
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=6)
STRING_DIMENSIONS = ("error_type", "service_name", "operation", "provider", "request_model", "response_model", "feature", "prompt_version", "tool_name")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(attributes=st.dictionaries(st.sampled_from(ANY_SOURCE_KEY), values, max_size=10), resource=st.dictionaries(st.sampled_from(ANY_SOURCE_KEY), values, max_size=4), name=st.text(max_size=80))
def test_any_attribute_values_give_a_row_without_free_text(attributes: dict[str, Any], resource: dict[str, Any], name: str) -> None:
    row = row_for(attributes, resource or {"service.name": "x"}, name=name)
    for column in (*STRING_DIMENSIONS, "name"):
        text = row[column]
        if text is None or text == REDACTED:
            continue
        assert "@" not in text and len(text) <= 128
        assert "\n" not in text
        assert len(text.split()) <= 3
    for column in ("user_hash", "session_hash"):
        assert row[column] is None or re.fullmatch(r"pn:[0-9a-f]{8}:[0-9a-f]{24}", row[column])
    rows_to_parquet([row])  # and it always fits the schema


# --- mapping overrides ------------------------------------------------------------------------------------


def test_with_overrides_replaces_one_column_and_leaves_defaults() -> None:
    mapping = MetricsMapping.with_overrides({"feature": ("app.area",)})
    assert mapping.sources["feature"] == ("app.area",)
    assert mapping.sources["input_tokens"] == DEFAULT_COLUMN_SOURCES["input_tokens"]
    row = row_for({"app.area": "billing", "feature": "ignored"}, mapping=mapping)
    assert row["feature"] == "billing"
    assert MetricsMapping().sources["feature"] == DEFAULT_COLUMN_SOURCES["feature"]


def test_with_overrides_extends_by_including_defaults() -> None:
    mapping = MetricsMapping.with_overrides({"input_tokens": ("my.tokens_in", *DEFAULT_COLUMN_SOURCES["input_tokens"])})
    assert row_for({"my.tokens_in": "5"}, mapping=mapping)["input_tokens"] == 5
    assert row_for({"gen_ai.usage.input_tokens": 6}, mapping=mapping)["input_tokens"] == 6


@pytest.mark.parametrize("column", ["no_such_column", "trace_id", "tenant"])
def test_with_overrides_rejects_unknown_columns_by_name(column: str) -> None:
    with pytest.raises(ValueError, match=column):
        MetricsMapping.with_overrides({column: ("x",)})


# --- Parquet, read back with pyarrow and DuckDB -----------------------------------------------------------------


def sample_rows(tenant: str, env: str, tokens: list[int]) -> list[dict[str, Any]]:
    rows = []
    for i, n in enumerate(tokens):
        span = make_span({"gen_ai.usage.input_tokens": n, "gen_ai.operation.name": "chat", "user.id": USER_PN})
        span.span_id = bytes([i + 1]) * 8
        rows.append(
            metrics_row(
                span,
                make_resource(),
                tenant=tenant,
                env=env,
                received_at=RECEIVED,
                redactions={"EMAIL_ADDRESS": i},
                payload_ref=f"payloads/tenant={tenant}/seg.tvseg#{i}",
                mapping=MetricsMapping(),
            )
        )
    return rows


def test_parquet_round_trip_with_pyarrow() -> None:
    rows = sample_rows("a", "prod", [10, 20]) + [row_for({}, start_ns=0, end_ns=0)]
    data = rows_to_parquet(rows)
    table = pq.read_table(io.BytesIO(data))
    assert table.schema.equals(METRICS_SCHEMA, check_metadata=False)
    assert pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0).column(0).compression == "ZSTD"
    assert read_parquet_rows(data) == rows
    assert table.column("start_time").to_pylist()[0] == datetime(2025, 11, 28, 9, 30, tzinfo=timezone.utc)


def test_parquet_of_no_rows_keeps_the_schema() -> None:
    data = rows_to_parquet([])
    assert pq.read_table(io.BytesIO(data)).schema.equals(METRICS_SCHEMA, check_metadata=False)
    assert read_parquet_rows(data) == []


def test_rows_to_parquet_rejects_malformed_rows() -> None:
    good = row_for()
    with pytest.raises(ValueError, match="tenant"):
        rows_to_parquet([{**good, "tenant": None}])
    with pytest.raises(ValueError, match="prompt"):
        rows_to_parquet([{**good, "prompt": "hello"}])


def write_hive(root: Path, tenant: str, env: str, day: str, segment: str, rows: list[dict[str, Any]]) -> Path:
    path = root / "metrics" / f"tenant={tenant}" / f"env={env}" / f"date={day}" / f"{segment}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(rows_to_parquet(rows))
    return path


def test_duckdb_reads_the_hive_layout(tmp_path: Path) -> None:
    write_hive(tmp_path, "a", "prod", "2026-11-28", "x", sample_rows("a", "prod", [100, 200]))
    write_hive(tmp_path, "b", "prod", "2026-11-28", "y", sample_rows("b", "prod", [7]))
    con = duckdb.connect()
    # tenant and env are both file columns and Hive partition keys: DuckDB merges them (the
    # partition value is used), no conflict, no union_by_name needed.
    query = f"select tenant, sum(input_tokens) from read_parquet('{tmp_path}/metrics/**/*.parquet', hive_partitioning=true) group by 1"
    assert dict(con.sql(query).fetchall()) == {"a": 300, "b": 7}

    source = f"read_parquet('{tmp_path}/metrics/**/*.parquet', hive_partitioning=true)"
    types = dict((name, kind) for name, kind, *_ in con.sql(f"describe select * from {source}").fetchall())
    assert types["tenant"] == "VARCHAR" and types["env"] == "VARCHAR" and types["date"] == "DATE"
    assert types["trace_id"] == "VARCHAR" and types["input_tokens"] == "BIGINT"
    assert types["redactions"] == "MAP(VARCHAR, INTEGER)"
    assert list(types).count("tenant") == 1

    # A trace id pasted from any UI (lowercase hex, as in OTLP/JSON) finds its spans.
    found = con.sql(f"select tenant, span_id, user_hash from {source} where trace_id = '{TRACE_HEX}' order by tenant, span_id").fetchall()
    assert found == [("a", "0101010101010101", USER_PN), ("a", "0202020202020202", USER_PN), ("b", "0101010101010101", USER_PN)]
    # Tenant filters prune files by path.
    assert con.sql(f"select count(*) from {source} where tenant = 'b' and env = 'prod'").fetchall() == [(1,)]
    # Timestamps keep nanoseconds; map columns are queryable.
    assert con.sql(f"select max(epoch_ns(start_time)), max(redactions['EMAIL_ADDRESS']) from {source}").fetchall() == [(START_NS, 1)]


def test_duckdb_numeric_tenant_ids_need_hive_types_autocast_off(tmp_path: Path) -> None:
    # Tenant ids may be all digits ([a-z0-9][a-z0-9._-]{0,62}). DuckDB's Hive type inference then
    # makes the partition column an integer, whatever the file column says.
    write_hive(tmp_path, "42", "prod", "2026-11-28", "x", sample_rows("42", "prod", [5]))
    glob = f"{tmp_path}/metrics/**/*.parquet"
    con = duckdb.connect()
    assert con.sql(f"select tenant from read_parquet('{glob}', hive_partitioning=true)").fetchall() == [(42,)]
    assert con.sql(f"select tenant from read_parquet('{glob}', hive_partitioning=true, hive_types_autocast=false)").fetchall() == [("42",)]
    assert con.sql(f"select tenant from read_parquet('{glob}', hive_partitioning=false)").fetchall() == [("42",)]


def test_pyarrow_dataset_reads_the_hive_layout(tmp_path: Path) -> None:
    write_hive(tmp_path, "a", "prod", "2026-11-28", "x", sample_rows("a", "prod", [1, 2]))
    write_hive(tmp_path, "b", "dev", "2026-11-29", "y", sample_rows("b", "dev", [3]))
    dataset = ds.dataset(tmp_path / "metrics", format="parquet", partitioning="hive")
    table = dataset.to_table(filter=ds.field("tenant") == "a")
    assert table.num_rows == 2 and set(table.column("env").to_pylist()) == {"prod"}
    assert dataset.schema.field("tenant").type == pa.string()
