"""`tracevault demo`: send a realistic GenAI trace to a running sidecar and show what it does.

The trace has four spans: an agent span, a retrieval with a document that names a person and
carries an IBAN, a chat completion whose user message holds a name, an email, a phone number and
a card number, and a tool call whose arguments carry an API key. The demo

1. POSTs it as OTLP/JSON to the sidecar (`/v1/traces`, with the tenant header), using only the
   standard library and the project's own OTLP codec, so it works in a production install;
2. applies the sidecar's transform locally (the `tracevault redact` code path, with the same
   config and master key), and prints, per span, what went in next to what is forwarded and
   stored; the sidecar's own counters from /metrics confirm it did the same;
3. prints the metrics row that the vault stores for each span (no content);
4. ends with the commands that issue a grant and read the stored payload back.

All the personal data in the trace is invented.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from policies.config import Config, ConfigError, load_config
from sidecar import otlp

# Invented data. The API key is assembled so that no scanner mistakes this file for a leak.
PERSON = "Maria Gonzalez"
EMAIL = "maria.gonzalez@example.com"
PHONE = "+1 415 555 0132"
CARD = "4111 1111 1111 1111"
USER_ID = "customer-8812"
SESSION_ID = "sess-5521-a"
API_KEY = "sk-proj-" + "DEMOx7Kq2Lm9Np4Rs8Tv1Wx3Yz5Ab7Cd9Ef2Gh4Jk6"
DOC_PERSON = "John Peterson"
DOC_EMAIL = "j.peterson@corp.example.com"
IBAN = "DE89 3704 0044 0532 0130 00"
RAW_VALUES = (PERSON, EMAIL, PHONE, CARD, USER_ID, SESSION_ID, API_KEY, DOC_PERSON, DOC_EMAIL, IBAN)

COUNT_PREFIX = "tracevault.redactions."
TIMEOUT_SECONDS = 30.0


def _s(key: str, value: str) -> dict:
    return {"key": key, "value": {"stringValue": value}}


def _i(key: str, value: int) -> dict:
    return {"key": key, "value": {"intValue": str(value)}}


def _d(key: str, value: float) -> dict:
    return {"key": key, "value": {"doubleValue": value}}


def build_trace(trace_id: str, now_ns: int) -> dict[str, Any]:
    """An OTLP/JSON ExportTraceServiceRequest: one support-bot turn, four spans."""
    root, retrieve, chat, tool = (secrets.token_hex(8) for _ in range(4))
    ms = 1_000_000
    start = now_ns - 2_000 * ms

    def span(span_id: str, parent: str, name: str, kind: int, begin: int, end: int, attributes: list[dict]) -> dict:
        return {
            "traceId": trace_id, "spanId": span_id, "parentSpanId": parent, "name": name, "kind": kind,
            "startTimeUnixNano": str(start + begin * ms), "endTimeUnixNano": str(start + end * ms),
            "attributes": attributes, "status": {"code": 1},
        }

    messages = [
        {"role": "system", "parts": [{"type": "text", "content": "You are the support assistant of Acme Shop. Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": (
            f"Hi, this is {PERSON}. My card {CARD} was charged twice for order A-1009. "
            f"Call me on {PHONE} or write to {EMAIL}."
        )}]},
    ]
    output = [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": "call_7Qe2", "name": "lookup_order", "arguments": {"order_id": "A-1009"}},
    ]}]
    arguments = {"order_id": "A-1009", "customer_email": EMAIL, "api_key": API_KEY}
    result = {"status": "charged_twice", "refund": "42.00 EUR", "contact": EMAIL}
    document = (
        f"Refunds for duplicate charges: confirm the order, then refund to the original card. "
        f"Escalations go to {DOC_PERSON} ({DOC_EMAIL}); manual transfers from IBAN {IBAN}."
    )
    spans = [
        span(root, "", "invoke_agent support-bot", 1, 0, 1900, [
            _s("gen_ai.operation.name", "invoke_agent"), _s("gen_ai.agent.name", "support-bot"),
            _s("user.id", USER_ID), _s("session.id", SESSION_ID),
        ]),
        span(retrieve, root, "retrieve kb", 1, 20, 180, [
            _s("openinference.span.kind", "RETRIEVER"), _s("input.value", "refund policy for a double charge"),
            _s("retrieval.documents.0.document.id", "kb-112"),
            _s("retrieval.documents.0.document.content", document),
            _d("retrieval.documents.0.document.score", 0.82),
        ]),
        span(chat, root, "chat gpt-4o-mini", 3, 200, 1400, [
            _s("gen_ai.operation.name", "chat"), _s("gen_ai.provider.name", "openai"),
            _s("gen_ai.request.model", "gpt-4o-mini"), _s("gen_ai.response.model", "gpt-4o-mini-2024-07-18"),
            _i("gen_ai.usage.input_tokens", 1840), _i("gen_ai.usage.output_tokens", 96),
            _s("user.id", USER_ID),
            _s("gen_ai.input.messages", json.dumps(messages)),
            _s("gen_ai.output.messages", json.dumps(output)),
        ]),
        span(tool, chat, "execute_tool lookup_order", 1, 1420, 1880, [
            _s("gen_ai.operation.name", "execute_tool"), _s("gen_ai.tool.name", "lookup_order"),
            _s("gen_ai.tool.call.id", "call_7Qe2"),
            _s("gen_ai.tool.call.arguments", json.dumps(arguments)),
            _s("gen_ai.tool.call.result", json.dumps(result)),
        ]),
    ]
    return {"resourceSpans": [{
        "resource": {"attributes": [_s("service.name", "support-bot"), _s("deployment.environment.name", "dev")]},
        "scopeSpans": [{"scope": {"name": "tracevault.demo", "version": "1"}, "spans": spans}],
    }]}


@dataclass
class DemoResult:
    url: str
    tenant: str
    trace_id: str
    status: int
    rejected_spans: int
    sent: ExportTraceServiceRequest
    redacted: ExportTraceServiceRequest
    envs: list[str]
    rows: list[dict[str, Any]]
    counters: dict[str, float] = field(default_factory=dict)  # /metrics deltas; empty when unreadable
    same_key: bool = True  # the local transform used the sidecar's master key source
    store_url: str = ""
    payload_mode: str = "redacted"


# -- talking to the sidecar ----------------------------------------------------------------------


def _post(url: str, body: bytes, tenant: str, header: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{url}/v1/traces", data=body, method="POST",
        headers={"Content-Type": otlp.JSON, header: tenant},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read() or b"{}").get("message", "")
        except ValueError:
            detail = ""
        raise click.ClickException(f"the sidecar answered {exc.code} {exc.reason}{': ' + detail if detail else ''}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise click.ClickException(
            f"no sidecar at {url} ({reason}); start one with `tracevault serve` (or `make run`), or pass --url"
        ) from None


def _counters(url: str) -> dict[str, float] | None:
    """tracevault_* counters from /metrics, or None when they cannot be read."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("tracevault_redactions_total{") or line.startswith(("tracevault_spans_accepted_total ", "tracevault_spans_accepted_total{")):
            series, _, value = line.rpartition(" ")
            try:
                values[series] = float(value)
            except ValueError:
                continue
    return values


# -- the local transform -------------------------------------------------------------------------


def _redact_locally(config: Config, request: ExportTraceServiceRequest, tenant: str) -> tuple[ExportTraceServiceRequest, list[str], bool]:
    from policies.keys import MasterKeyError, load_master_secret
    from redactors.engine import Redactor
    from sidecar.tenancy import group_by_tenant
    from sidecar.transform import redact_request

    same_key = True
    try:
        secret = load_master_secret(config.keys.master_key_env, config.master_key_path(), create=False)
    except MasterKeyError:
        # No key where the sidecar would look: masking is the same, pseudonyms will differ.
        secret, same_key = os.urandom(32), False
    redacted = copy.deepcopy(request)
    # The env of each resource, as the sidecar resolves it (for the metrics rows); refused
    # resources are dropped by redact_request, as by the sidecar.
    envs = []
    for resource_spans in redacted.resource_spans:
        single = ExportTraceServiceRequest(resource_spans=[resource_spans])
        envs.extend(env for _, env in group_by_tenant(single, config.tenancy, tenant, None).groups)
    redact_request(Redactor.build(config, secret), config, redacted, tenant)
    return redacted, envs, same_key


def _metrics_rows(config: Config, redacted: ExportTraceServiceRequest, tenant: str, envs: list[str]) -> list[dict[str, Any]]:
    from vault.metrics import MetricsMapping, metrics_row
    from vault.prices import Pricer

    mapping = MetricsMapping.with_overrides(config.metrics_columns)
    pricer = Pricer(config.prices)
    received = datetime.now(UTC)
    rows = []
    for resource_spans, env in zip(redacted.resource_spans, envs, strict=True):
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                counts = {kv.key[len(COUNT_PREFIX):]: kv.value.int_value for kv in span.attributes if kv.key.startswith(COUNT_PREFIX)}
                rows.append(metrics_row(
                    span, resource_spans.resource, tenant=tenant, env=env, received_at=received,
                    redactions=counts, payload_ref=None, mapping=mapping, pricer=pricer,
                ))
    return rows


def run_demo(url: str, tenant: str, config_path: str | None) -> DemoResult:
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    url = url.rstrip("/")
    trace_id = secrets.token_hex(16)
    sent = otlp.request_from_json_document(build_trace(trace_id, time.time_ns()))
    body = otlp.encode_json_request(sent).encode("utf-8")
    before = _counters(url)
    status, answer = _post(url, body, tenant, config.tenancy.header)
    rejected = int(answer.get("partialSuccess", {}).get("rejectedSpans", 0) or 0)
    after = _counters(url)
    counters = {}
    if before is not None and after is not None:
        counters = {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}
    redacted, envs, same_key = _redact_locally(config, sent, tenant)
    rows = _metrics_rows(config, redacted, tenant, envs)
    from policies.resolve import PolicySet

    mode = PolicySet(config).resolve(tenant, envs[0]).payload_mode if envs else "redacted"
    if not config.vault_enabled:
        mode = "none: vault_enabled is false, nothing is stored"
    return DemoResult(url, tenant, trace_id, status, rejected, sent, redacted, envs, rows, counters, same_key, config.store_url(), mode)


# -- printing -------------------------------------------------------------------------------------


def _text(value: AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind in ("int_value", "double_value", "bool_value"):
        return str(getattr(value, kind))
    if kind is None:
        return ""
    return json.dumps(json_format.MessageToDict(value), ensure_ascii=False)


def span_changes(result: DemoResult) -> list[tuple[str, list[tuple[str, str, str]], list[str], dict[str, int]]]:
    """Per span: (name, [(key, sent, after)], [keys kept as is], {entity: count})."""
    out = []
    sent_spans = [s for rs in result.sent.resource_spans for ss in rs.scope_spans for s in ss.spans]
    after_spans = {s.span_id: s for rs in result.redacted.resource_spans for ss in rs.scope_spans for s in ss.spans}
    for sent in sent_spans:
        after = after_spans.get(sent.span_id)
        if after is None:
            continue
        after_attrs = {kv.key: _text(kv.value) for kv in after.attributes}
        changed, kept = [], []
        if sent.name != after.name:
            changed.append(("(span name)", sent.name, after.name))
        for kv in sent.attributes:
            before, now = _text(kv.value), after_attrs.get(kv.key)
            if now == before:
                kept.append(kv.key)
            else:
                changed.append((kv.key, before, "(removed)" if now is None else now))
        counts = {k[len(COUNT_PREFIX):]: int(v) for k, v in after_attrs.items() if k.startswith(COUNT_PREFIX)}
        out.append((after.name, changed, kept, counts))
    return out


def _row_text(row: dict[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for key, value in row.items():
        if value is None or value == {} or value == []:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, float):
            value = f"{value:.1f}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
        shown.append((key, str(value)))
    return shown


def next_steps(result: DemoResult, config_path: str | None) -> list[str]:
    config = f" --config {config_path}" if config_path else ""
    env = result.envs[0] if result.envs else "default"
    return [
        f"Read the stored payload back (payload_mode {result.payload_mode}; readable after the next vault flush, "
        "spool.flush_interval_seconds):",
        "  # 1. an approver issues a grant scoped to this tenant, env and trace (audited):",
        f"  export TRACEVAULT_GRANT_TOKEN=\"$(tracevault grant issue{config} --tenant {result.tenant} --env {env} "
        f"--principal \"$(whoami)\" --reason 'tracevault demo' --ttl 15m --trace-id {result.trace_id})\"",
        "  # 2. the holder reads the payload with it (every read, allowed or denied, is audited):",
        f"  tracevault payload get{config} --trace-id {result.trace_id}",
        "  # see the metrics (no content) with DuckDB:",
        f"  duckdb -c \"select name, input_tokens, output_tokens, redactions from read_parquet('{_store_path(result.store_url)}/metrics/**/*.parquet', "
        f"hive_partitioning=true, hive_types={{'tenant': VARCHAR, 'env': VARCHAR, 'date': DATE}}) "
        f"where trace_id = '{result.trace_id}'\"",
    ]


def _store_path(url: str) -> str:
    if url.startswith("file://"):
        from urllib.parse import urlsplit
        from urllib.request import url2pathname

        return url2pathname(urlsplit(url).path)
    return url or "<store>"


def _summary(result: DemoResult) -> list[str]:
    spans = otlp.span_count(result.sent)
    lines = [
        f"Sent {spans} spans (trace {result.trace_id}) to {result.url}/v1/traces as tenant {result.tenant}: "
        f"HTTP {result.status}, {spans - result.rejected_spans} accepted, {result.rejected_spans} refused.",
        "Below, per span: what went in, and what tracevault forwards and stores (the same transform as "
        "`tracevault redact`, computed here with the same config).",
    ]
    if not result.same_key:
        lines.append("note: no master key found where the sidecar looks for it; masking is identical, pseudonyms (pn:...) differ.")
    return lines


def _counter_lines(result: DemoResult) -> list[str]:
    if not result.counters:
        return ["The sidecar's /metrics could not be read (or did not move)."]
    accepted = sum(v for k, v in result.counters.items() if k.startswith("tracevault_spans_accepted"))
    entities = {k.split('entity="', 1)[1].split('"', 1)[0]: int(v) for k, v in result.counters.items() if 'entity="' in k}
    text = ", ".join(f"{k} +{v}" for k, v in sorted(entities.items()))
    return [f"The sidecar's own counters (/metrics) moved by: spans accepted +{int(accepted)}; redactions: {text or 'none'}."]


def render_plain(result: DemoResult, config_path: str | None, echo: Callable[[str], None]) -> None:
    for line in _summary(result):
        echo(line)
    for name, changed, kept, counts in span_changes(result):
        echo("")
        echo(f"== span: {name} ==")
        for key, before, after in changed:
            echo(f"{key}")
            echo(f"  in:  {before}")
            echo(f"  out: {after}")
        if kept:
            echo(f"kept as is: {', '.join(kept)}")
        if counts:
            echo("redactions: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    echo("")
    for line in _counter_lines(result):
        echo(line)
    echo("")
    echo("The metrics rows stored in Parquet (no content; metrics/tenant=<t>/env=<e>/date=<day>/...):")
    for row in result.rows:
        echo("  " + "; ".join(f"{k}={v}" for k, v in _row_text(row)))
    echo("")
    for line in next_steps(result, config_path):
        echo(line)


def render_rich(result: DemoResult, config_path: str | None, console: Any) -> None:
    from rich.table import Table

    for line in _summary(result):
        console.print(line, highlight=False)
    for name, changed, kept, counts in span_changes(result):
        table = Table(title=f"span: {name}", show_lines=True, expand=True, title_justify="left")
        table.add_column("attribute", style="bold", overflow="fold", ratio=2)
        table.add_column("sent by the app", style="red", overflow="fold", ratio=3)
        table.add_column("after tracevault (forwarded and stored)", style="green", overflow="fold", ratio=3)
        for key, before, after in changed:
            table.add_row(key, before, after)
        if kept:
            table.add_row("kept as is", ", ".join(kept), ", ".join(kept))
        if counts:
            table.caption = "redactions: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        console.print(table)
    for line in _counter_lines(result):
        console.print(line, highlight=False)
    rows = Table(title="metrics rows stored in Parquet (no content)", expand=True, title_justify="left")
    rows.add_column("span")
    rows.add_column("columns", overflow="fold")
    for row in result.rows:
        rows.add_row(str(row.get("name")), "; ".join(f"{k}={v}" for k, v in _row_text(row) if k != "name"))
    console.print(rows)
    for line in next_steps(result, config_path):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
