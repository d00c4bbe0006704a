"""Schema version 2: derived signals, costs, evaluations; old files still read; no content anywhere."""

from __future__ import annotations

import io
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from genai_prices import Usage as GpUsage
from genai_prices import calc_price
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from policies.config import PricesConfig
from redactors.batch import RedactedBatch
from redactors.engine import Redactor
from tests.redactors.otlp_builders import make_request
from tests.redactors.otlp_builders import make_span as otlp_span
from tests.vault.test_metrics import EXPECTED_COLUMNS, row_for
from tests.vault.test_sink import SECRET, export_and_flush, run, spool_config
from vault.evaluations import EVALUATIONS_SCHEMA
from vault.keyring import LocalKeyWriter
from vault.metrics import METRICS_SCHEMA, REDACTED, metrics_row, rows_to_parquet
from vault.prices import Pricer, Usage
from vault.sink import VaultSink
from vault.store import LocalStore

RECEIVED = datetime(2026, 11, 28, 12, 30, tzinfo=timezone.utc)
EMAIL = "maria.gonzalez@example.org"
PHONE = "+1 415 555 0199"
CARD = "4111 1111 1111 1111"
PERSON = "Maria Gonzalez"
API_KEY = "sk-" + "proj-" + "Zx8Kq2Lm4Np6Rs8Tv0Wy2Ab4Cd6Ef8Gh0Ij2Kl4"
PLANTED = (EMAIL, PHONE, CARD, PERSON, API_KEY, "Gonzalez", "415 555", "1111 1111")

CHAT = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o"}


@pytest.mark.parametrize(
    ("attributes", "span_kwargs", "expected"),
    [
        # TPOT: (1250 ms - 250 ms) / (11 - 1) = 100 ms; tokens/s = 11 / 1.25 s
        ({**CHAT, "gen_ai.usage.output_tokens": 11, "gen_ai.response.time_to_first_chunk": 0.25}, {}, {"tpot_ms": 100.0, "output_tokens_per_s": 8.8}),
        # one output token: no TPOT; no TTFT: no TPOT; tokens/s still known
        ({**CHAT, "gen_ai.usage.output_tokens": 1, "gen_ai.response.time_to_first_chunk": 0.25}, {}, {"tpot_ms": None, "output_tokens_per_s": 0.8}),
        ({**CHAT, "gen_ai.usage.output_tokens": 5}, {}, {"tpot_ms": None, "output_tokens_per_s": 4.0}),
        # TTFT longer than the span: no TPOT (never negative)
        ({**CHAT, "gen_ai.usage.output_tokens": 5, "ttft_ms": 5000}, {}, {"tpot_ms": None}),
        ({"http.request.resend_count": 2}, {}, {"retry_count": 2}),
        ({"retry_count": "3"}, {}, {"retry_count": 3}),
        ({"http.request.resend_count": -1}, {}, {"retry_count": None}),
        ({"gen_ai.response.finish_reasons": ["stop", "tool_calls"]}, {}, {"finish_reasons": ["stop", "tool_calls"]}),
        ({"gen_ai.response.finish_reasons": json.dumps(["length"])}, {}, {"finish_reasons": ["length"]}),
        ({"gen_ai.completion.0.finish_reason": "content_filter"}, {}, {"finish_reasons": ["content_filter"], "refusal": True}),
        ({"gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [], "finish_reason": "stop"}])}, {}, {"finish_reasons": ["stop"]}),
        # a finish reason that is not a label is masked, never copied
        ({"gen_ai.response.finish_reasons": [f"stop {EMAIL}"]}, {}, {"finish_reasons": [REDACTED]}),
        ({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"}, {"name": "execute_tool lookup"}, {"tool_status": "ok"}),
        ({"gen_ai.operation.name": "execute_tool", "error.type": "TimeoutError"}, {"name": "execute_tool lookup"}, {"tool_status": "error", "error_type": "TimeoutError"}),
        ({"gen_ai.operation.name": "execute_tool"}, {"name": "execute_tool lookup", "status": Status.STATUS_CODE_ERROR}, {"tool_status": "error"}),
        ({"openinference.span.kind": "TOOL"}, {"name": "tool.execute"}, {"tool_status": "ok"}),
        (CHAT, {}, {"tool_status": None}),
        (
            {f"retrieval.documents.{i}.document.score": s for i, s in enumerate([0.9, 0.5, 0.7])},
            {"name": "retrieval.vector_search"},
            {"retrieval_score_min": 0.5, "retrieval_score_max": 0.9, "retrieval_score_mean": pytest.approx(0.7)},
        ),
        ({"gen_ai.retrieval.documents": json.dumps([{"id": "a", "score": -0.25}, {"id": "b", "score": 0.75}])}, {}, {"retrieval_score_min": -0.25, "retrieval_score_mean": 0.25}),
        ({"gen_ai.retrieval.documents": json.dumps([{"id": "a"}])}, {}, {"retrieval_score_min": None}),
        # the signals the redaction step attached, accepted only in their shapes
        (
            {"tracevault.signal.input_chars": 40, "tracevault.signal.input_words": 8, "tracevault.signal.output_chars": 12,
             "tracevault.signal.output_words": 2, "tracevault.signal.language": "de", "tracevault.signal.refusal": False},
            {},
            {"input_chars": 40, "input_words": 8, "output_chars": 12, "output_words": 2, "language": "de", "refusal": False},
        ),
        (
            {"tracevault.signal.input_chars": EMAIL, "tracevault.signal.output_words": -3, "tracevault.signal.language": "maria",
             "tracevault.signal.refusal": "yes"},
            {},
            {"input_chars": None, "output_words": None, "language": None, "refusal": None},
        ),
        ({"tracevault.signal.language": "DE"}, {}, {"language": None}),
    ],
)
def test_derived_columns(attributes: dict[str, Any], span_kwargs: dict[str, Any], expected: dict[str, Any]) -> None:
    row = row_for(attributes, **span_kwargs)
    for column, value in expected.items():
        assert row[column] == value, column


@pytest.mark.parametrize(
    ("attributes", "cost", "source"),
    [
        ({**CHAT, "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100}, 0.0035, "genai-prices"),
        ({**CHAT, "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100}, 0.0035, "genai-prices"),
        # unknown model: null, never a guess
        ({**CHAT, "gen_ai.request.model": "acme-finetune-7", "gen_ai.usage.input_tokens": 1000}, None, None),
        # no usage: no cost
        (CHAT, None, None),
    ],
)
def test_cost_from_genai_prices(attributes: dict[str, Any], cost: float | None, source: str | None) -> None:
    row = row_for(attributes)
    assert row["cost_usd"] == (pytest.approx(cost) if cost is not None else None)
    assert row["price_source"] == source
    assert (row["price_version"] is None) == (source is None)


def test_tenant_overrides_win_and_other_tenants_keep_list_prices() -> None:
    config = PricesConfig.model_validate(
        {"tenants": {"acme": {"version": "contract-2026", "models": {"GPT-4o": {"input_mtok": 1.0, "output_mtok": 4.0, "cache_read_mtok": 0.5}}}}}
    )
    pricer = Pricer(config)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, cache_read_tokens=500_000)
    acme = pricer.cost("acme", "openai", ("gpt-4o",), usage, date(2026, 1, 1))
    assert acme is not None and (acme.usd, acme.source, acme.version) == (pytest.approx(0.5 + 4.0 + 0.25), "tenant-override", "contract-2026")
    other = pricer.cost("globex", "openai", ("gpt-4o",), usage, date(2026, 1, 1))
    assert other is not None and other.source == "genai-prices"
    # an override for one model leaves the tenant's other models on list prices
    mini = pricer.cost("acme", "openai", ("gpt-4o-mini",), usage, date(2026, 1, 1))
    assert mini is not None and mini.source == "genai-prices"


@pytest.mark.parametrize(
    ("provider", "model"),
    [("openai", "gpt-4o"), ("openai", "gpt-4o-mini-2024-07-18"), ("anthropic", "claude-sonnet-4-20250514"), ("google", "gemini-2.5-pro")],
)
@pytest.mark.parametrize("usage", [Usage(1000, 200), Usage(12_000, 800, 3000, 500), Usage(0, 5000), Usage(250_000, 10, 1000, 0)])
def test_cached_rates_match_genai_prices(provider: str, model: str, usage: Usage) -> None:
    ours = Pricer().cost("t", provider, (model,), usage, date(2026, 1, 5))
    theirs = calc_price(
        GpUsage(input_tokens=usage.input_tokens, output_tokens=usage.output_tokens, cache_read_tokens=usage.cache_read_tokens or 0,
                cache_write_tokens=usage.cache_write_tokens or 0),
        model, provider_id=provider, genai_request_timestamp=datetime(2026, 1, 5, 12, tzinfo=timezone.utc),
    )
    assert ours is not None and ours.usd == pytest.approx(float(theirs.total_price), rel=1e-9)


def test_a_known_provider_with_an_unknown_model_is_not_priced_as_another_provider() -> None:
    assert Pricer().cost("t", "anthropic", ("gpt-4o",), Usage(1000, 10), date(2026, 1, 5)) is None


V1_SCHEMA = pa.schema([f for f in METRICS_SCHEMA if f.name in {name for name, _ in EXPECTED_COLUMNS[:33]}], metadata={"tracevault.schema_version": "1"})


def test_version_1_and_version_2_files_union_by_name(tmp_path: Path) -> None:
    old_row = {k: v for k, v in row_for({**CHAT, "gen_ai.usage.input_tokens": 7}).items() if k in V1_SCHEMA.names}
    old = pa.Table.from_pylist([{**old_row, "redactions": []}], schema=V1_SCHEMA)
    directory = tmp_path / "metrics" / "tenant=a" / "env=prod" / "date=2025-11-28"
    directory.mkdir(parents=True)
    pq.write_table(old, directory / "old.parquet")
    new_row = row_for({**CHAT, "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 10, "tracevault.signal.language": "fr"})
    (directory / "new.parquet").write_bytes(rows_to_parquet([new_row]))
    assert pq.read_schema(directory / "new.parquet").metadata[b"tracevault.schema_version"] == b"2"

    got = duckdb.sql(
        f"select input_tokens, language, cost_usd is not null from read_parquet('{tmp_path}/metrics/**/*.parquet', "
        "hive_partitioning=true, union_by_name=true) order by input_tokens"
    ).fetchall()
    assert got == [(7, None, False), (1000, "fr", True)]
    table = ds.dataset(tmp_path / "metrics", format="parquet", schema=METRICS_SCHEMA, partitioning="hive").to_table()
    assert sorted(zip(table.column("input_tokens").to_pylist(), table.column("language").to_pylist())) == [(7, None), (1000, "fr")]


# --- through the real redactor and the vault --------------------------------------------------------


def planted_request() -> Any:
    messages_in = [{"role": "system", "parts": [{"type": "text", "content": "You are a support assistant."}]},
                   {"role": "user", "parts": [{"type": "text", "content": f"Hi, I am {PERSON}, mail {EMAIL}, call {PHONE}, card {CARD}. Where is my parcel?"}]}]
    messages_out = [{"role": "assistant", "parts": [{"type": "text", "content": f"I'm sorry, but I can't help with that, {PERSON}."}], "finish_reason": f"stop {EMAIL}"}]
    chat = otlp_span(
        "chat gpt-4o",
        {**CHAT, "gen_ai.usage.input_tokens": 900, "gen_ai.usage.output_tokens": 40, "gen_ai.response.time_to_first_chunk": 0.2,
         "gen_ai.input.messages": json.dumps(messages_in), "gen_ai.output.messages": json.dumps(messages_out),
         "gen_ai.response.finish_reasons": ["stop", EMAIL], "http.request.resend_count": 1,
         # forged signals from the client: dropped by the walker, never read
         "tracevault.signal.language": EMAIL, "tracevault.signal.input_chars": 5},
        events=[("gen_ai.evaluation.result", {"gen_ai.evaluation.name": "relevance", "gen_ai.evaluation.score.value": 0.25,
                                              "gen_ai.evaluation.score.label": "irrelevant",
                                              "gen_ai.evaluation.explanation": f"{PERSON} asked about {EMAIL} and key {API_KEY}"}),
                ("gen_ai.evaluation.result", {"gen_ai.evaluation.name": f"judge {EMAIL}", "gen_ai.evaluation.score.label": f"{PERSON} said no thanks"})],
    )
    tool = otlp_span("execute_tool lookup", {"gen_ai.operation.name": "execute_tool", "error.type": f"{EMAIL} not found",
                                             "gen_ai.tool.call.arguments": json.dumps({"email": EMAIL, "api_key": API_KEY})})
    retrieval = otlp_span("retrieval.vector_search", {"retrieval.documents.0.document.content": f"{PERSON} lives at 12 Baker Street", "retrieval.documents.0.document.score": 0.81})
    return make_request([chat, tool, retrieval])


def test_planted_pii_and_secrets_reach_no_column(redactor: Redactor, tmp_path: Path) -> None:
    request = planted_request()
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    store = LocalStore(tmp_path / "store")
    sink = VaultSink(spool_config(), tmp_path / "spool", LocalKeyWriter(tmp_path / "keys", SECRET), store)
    run(export_and_flush(sink, RedactedBatch("acme", "prod", request, 3, RECEIVED, "redacted", None)))

    dumps = []
    for prefix in ("metrics/", "evaluations/"):
        for info in store.list(prefix):
            dumps.append(json.dumps(pq.read_table(io.BytesIO(store.get(info.key))).to_pylist(), default=str))
    assert len(dumps) == 2, "one metrics and one evaluations file"
    for dump in dumps:
        for planted in PLANTED:
            assert planted not in dump
        assert "parcel" not in dump and "Baker" not in dump and "sorry" not in dump

    rows = {r["name"]: r for r in duckdb.sql(f"select * from read_parquet('{tmp_path}/store/metrics/**/*.parquet')").to_arrow_table().to_pylist()}
    chat = rows["chat gpt-4o"]
    # measured on the original text: the user turn only, before masking
    user_turn = f"Hi, I am {PERSON}, mail {EMAIL}, call {PHONE}, card {CARD}. Where is my parcel?"
    assert (chat["input_chars"], chat["input_words"]) == (len(user_turn), len(user_turn.split()))
    assert chat["output_words"] == len(f"I'm sorry, but I can't help with that, {PERSON}.".split())
    assert chat["language"] == "en" and chat["refusal"] is True
    assert chat["finish_reasons"] == ["stop", REDACTED] and chat["retry_count"] == 1
    assert chat["tpot_ms"] is not None and chat["cost_usd"] is not None
    assert rows["execute_tool lookup"]["tool_status"] == "error" and rows["execute_tool lookup"]["error_type"] == REDACTED
    assert rows["retrieval.vector_search"]["retrieval_score_mean"] == pytest.approx(0.81)

    evaluations = duckdb.sql(f"select * from read_parquet('{tmp_path}/store/evaluations/**/*.parquet', hive_partitioning=true) order by score_value").fetchall()
    table = duckdb.sql(f"select name, score_value, score_label, trace_id = '{chat['trace_id']}', span_id = '{chat['span_id']}' "
                       f"from read_parquet('{tmp_path}/store/evaluations/**/*.parquet') order by score_value nulls last").fetchall()
    assert len(evaluations) == 2
    assert table[0] == ("relevance", 0.25, "irrelevant", True, True)
    assert table[1][0] == REDACTED and table[1][2] == REDACTED
    assert {f.name for f in EVALUATIONS_SCHEMA} >= {"name", "score_value", "score_label", "trace_id", "span_id"}
    assert "explanation" not in EVALUATIONS_SCHEMA.names


def test_redacted_spans_carry_only_shaped_signals(redactor: Redactor) -> None:
    request = planted_request()
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    chat = request.resource_spans[0].scope_spans[0].spans[0]
    signals = {kv.key: kv.value for kv in chat.attributes if kv.key.startswith("tracevault.signal.")}
    assert signals["tracevault.signal.language"].string_value == "en"
    assert signals["tracevault.signal.input_chars"].int_value > 5, "the forged value was replaced"
    assert sum(1 for kv in chat.attributes if kv.key == "tracevault.signal.language") == 1
    assert {v.WhichOneof("value") for v in signals.values()} <= {"int_value", "bool_value", "string_value"}


def test_metrics_row_without_signals_has_null_signal_columns() -> None:
    request = make_request([otlp_span("chat gpt-4o", CHAT)])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    row = metrics_row(span, request.resource_spans[0].resource, tenant="a", env="prod", received_at=RECEIVED, redactions={}, payload_ref=None)
    assert [row[c] for c in ("input_chars", "language", "refusal", "cost_usd")] == [None, None, None, None]


def test_the_reader_and_compaction_read_version_1_files_beside_version_2(tmp_path: Path) -> None:
    from retention.compact import compact
    from vault.reader import VaultReader

    store = LocalStore(tmp_path / "store")
    old_row = {k: v for k, v in row_for({**CHAT, "gen_ai.usage.input_tokens": 7}).items() if k in V1_SCHEMA.names}
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{**old_row, "redactions": []}], schema=V1_SCHEMA), sink)
    store.put("metrics/tenant=a/env=prod/date=2025-11-28/old.parquet", sink.getvalue())
    store.put("metrics/tenant=a/env=prod/date=2025-11-28/new.parquet", rows_to_parquet([row_for({**CHAT, "gen_ai.usage.input_tokens": 9})]))
    table = VaultReader(store).read_metrics("a")
    assert table.schema == METRICS_SCHEMA
    assert sorted(zip(table.column("input_tokens").to_pylist(), table.column("price_source").to_pylist())) == [(7, None), (9, "genai-prices")]
    report = compact(store, tenant="a")
    assert report.partitions[0].error is None
    merged = VaultReader(store).read_metrics("a")
    assert merged.num_rows == 2 and len([i for i in store.list("metrics/")]) == 1


def test_evaluations_expire_with_the_metrics_window(tmp_path: Path) -> None:
    from policies.config import parse_config
    from retention.sweep import sweep
    from vault.evaluations import rows_to_parquet as evaluations_parquet

    store = LocalStore(tmp_path / "store")
    row = {"tenant": "a", "env": "prod", "source": "span_event", "received_at": RECEIVED, "name": "relevance", "score_value": 1.0}
    for day in ("2025-01-01", "2026-11-27"):
        store.put(f"evaluations/tenant=a/env=prod/date={day}/seg.parquet", evaluations_parquet([row]))
    config = parse_config({"data_dir": str(tmp_path), "defaults": {"metrics_days": 30}})
    report = sweep(store, config, now=RECEIVED)
    assert [info.key for info in store.list("evaluations/")] == ["evaluations/tenant=a/env=prod/date=2026-11-27/seg.parquet"]
    assert report.as_dict()["tenants"]["a"]["envs"]["prod"]["evaluations"]["deleted"]["objects"] == 1


def test_fail_closed_drops_forged_signals(redactor: Redactor) -> None:
    request = make_request([otlp_span("chat gpt-4o", {"tracevault.signal.input_chars": 5, "tracevault.signal.refusal": True})])
    redactor.fail_closed(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert not [kv.key for kv in span.attributes if kv.key.startswith("tracevault.signal.")]
