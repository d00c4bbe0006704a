"""A trace forwarded as references (`content_in_forward: reference`), for real.

The OTel SDK exporter sends GenAI spans to a running sidecar with its vault and admin listener;
the next hop (a real OTLP/HTTP receiver) records what is forwarded. The forwarded spans hold no
content, only `*_ref` references; every reference resolves with a grant, over the admin
listener and through `tracevault payload get --ref`, to the redacted content, and every read is
audited. A reference never says whether its content exists: a span that was never stored, an
attribute the span does not have and content that retention expired all get one answer.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
import yaml
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from access.grant_keys import GrantKeys, grant_keys_dir
from access.grants import issue_grant
from policies.config import Config, parse_config
from redactors.references import is_content_key, parse_reference
from tests.sidecar.conftest import (
    EMAIL,
    MASTER_SECRET,
    OPENAI_KEY,
    PERSON,
    USER_ID,
    WAIT_SECONDS,
    NextHop,
    genai_spans,
    sidecar_document,
    start_sidecar,
)
from tests.sidecar.test_vault_e2e import reader_for, wait_until
from vault.audit import AuditLog
from vault.audit import audit_key as derive_audit_key
from vault.store import LocalStore

ROOT = Path(__file__).resolve().parents[2]
TRACEVAULT = ROOT / ".venv" / "bin" / "tracevault"
PLANTED = [EMAIL, OPENAI_KEY, PERSON, USER_ID]
CONTENT_PHRASES = ["Mail me at", "helpful support bot", "auth with"]


def _document(data_dir: Path, hop: NextHop) -> dict:
    return sidecar_document(
        data_dir,
        hop,
        {
            "vault_enabled": True,
            "spool": {"fsync": True, "flush_interval_seconds": 0.2},
            "access": {"admin_enabled": True, "admin_port": 0},
            "defaults": {"content_in_forward": "reference"},
        },
    )


def _grant(config: Config, tenant: str = "acme", envs: tuple[str, ...] = ("default",)) -> str:
    token, _ = issue_grant(
        GrantKeys(grant_keys_dir(config), MASTER_SECRET),
        issuer=config.access.issuer, tenant=tenant, envs=list(envs), principal="alice@example.com",
        reason="INC-15 references", ttl_seconds=3600, max_ttl_seconds=config.access.max_ttl_seconds,
    )  # fmt: skip
    return token


def _resolve(admin_port: int, token: str, ref: str) -> requests.Response:
    url = f"http://127.0.0.1:{admin_port}/v1/references?ref={quote(ref, safe='')}"
    return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=WAIT_SECONDS)


def _spans(received) -> list:
    request = received.request
    return [span for rs in request.resource_spans for ss in rs.scope_spans for span in ss.spans] if request is not None else []


def _forwarded_refs(hop: NextHop) -> list[tuple[str, str]]:
    """(attribute key, reference) of every `*_ref` attribute the next hop received."""
    refs = []
    for received in hop.received:
        for span in _spans(received):
            holders = [span.attributes, *(event.attributes for event in span.events)]
            refs += [(kv.key, kv.value.string_value) for attrs in holders for kv in attrs if kv.key.endswith("_ref")]
    return refs


def _cli(config_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRACEVAULT_MASTER_KEY": os.environ["TRACEVAULT_MASTER_KEY"]}
    return subprocess.run([str(TRACEVAULT), *args, "--config", str(config_path)], capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def referenced(tmp_path: Path, next_hop: NextHop):
    """A running sidecar that forwarded one GenAI trace as references and stored it."""
    document = _document(tmp_path / "data", next_hop)
    config_path = tmp_path / "tracevault.yaml"
    config_path.write_text(yaml.safe_dump(document))
    server = start_sidecar(parse_config(document))
    exporter = OTLPSpanExporter(endpoint=server.traces_url, headers={"X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    try:
        assert exporter.export(genai_spans()) == SpanExportResult.SUCCESS
        wait_until(lambda: len(next_hop.received) == 1, "the background forward")
        reader = reader_for(tmp_path / "data")
        wait_until(lambda: len(reader.read_metrics("acme")) == 2, "the spool flush")
        yield server, config_path
    finally:
        exporter.shutdown()
        server.stop()


def test_forwarded_spans_hold_references_that_resolve_with_a_grant(referenced, next_hop: NextHop, tmp_path: Path) -> None:
    server, config_path = referenced
    spans = _spans(next_hop.received[0])
    assert len(spans) == 2
    forwarded = b"".join(r.request.SerializeToString() for r in next_hop.received)
    for text in [*PLANTED, *CONTENT_PHRASES]:
        assert text.encode() not in forwarded, "content left with the forwarded spans"
    for span in spans:
        assert not [kv.key for kv in span.attributes if is_content_key(kv.key)]
    chat = next(s for s in spans if s.name == "chat gpt-4o")
    values = {kv.key: kv.value for kv in chat.attributes}
    assert values["gen_ai.usage.input_tokens"].int_value == 57 and values["gen_ai.request.model"].string_value == "gpt-4o"
    refs = _forwarded_refs(next_hop)
    assert sorted(key for key, _ in refs) == ["gen_ai.input.messages_ref", "gen_ai.tool.call.arguments_ref"]

    token = _grant(server.config)
    resolved = {}
    for key, ref in refs:
        parsed = parse_reference(ref)
        assert (parsed.tenant, parsed.env, parsed.trace_id, parsed.span_id) == ("acme", "default", chat.trace_id.hex(), chat.span_id.hex())
        response = _resolve(server.running.admin_port, token, ref)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["ref"] == ref and body["attribute"] == key.removesuffix("_ref")
        resolved[key] = body["value"]["stringValue"]
    messages = json.loads(resolved["gen_ai.input.messages_ref"])
    assert "Mail me at <EMAIL_ADDRESS>" in messages[1]["parts"][0]["content"] and "helpful support bot" in messages[0]["parts"][0]["content"]
    assert "<SECRET:" in resolved["gen_ai.tool.call.arguments_ref"]
    for text in PLANTED:
        assert text not in json.dumps(resolved), "a reference resolved to unredacted content"

    # The CLI resolves the same reference, as its own process.
    key, ref = refs[0]
    run = _cli(config_path, "payload", "get", "--token", token, "--ref", ref)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["value"]["stringValue"] == resolved[key]

    # Every read is audited, with the attribute the reference named.
    store = LocalStore(tmp_path / "data" / "store")
    records = [r for r in AuditLog(store, key=derive_audit_key(MASTER_SECRET)).show("acme") if r["action"] == "payload.ref"]
    assert [(r["outcome"], r["asked"]["attribute"], r["asked"]["span_id"]) for r in records] == [
        *[("allowed", k.removesuffix("_ref"), chat.span_id.hex()) for k, _ in refs],
        ("allowed", key.removesuffix("_ref"), chat.span_id.hex()),
    ]
    assert all(r["principal"] == "alice@example.com" and r["reason"] == "INC-15 references" for r in records)


def test_a_reference_never_says_whether_its_content_exists(referenced, next_hop: NextHop, tmp_path: Path) -> None:
    server, config_path = referenced
    token = _grant(server.config)
    key, ref = _forwarded_refs(next_hop)[0]
    trace_id, span_id = parse_reference(ref).trace_id, parse_reference(ref).span_id
    port = server.running.admin_port
    never_stored = f"tracevault://acme/default/{trace_id}/{'0' * 15}1#gen_ai.input.messages"
    no_such_attribute = f"tracevault://acme/default/{trace_id}/{span_id}#gen_ai.output.messages"
    answers = [_resolve(port, token, r) for r in (never_stored, no_such_attribute)]

    # Retention expires the payloads (the metrics rows stay): the same reference, the same answer.
    assert _resolve(port, token, ref).status_code == 200
    assert list((tmp_path / "data" / "store").glob("payloads/**/*.*"))
    later = (datetime.now(UTC) + timedelta(days=server.config.defaults.payload_days or 30) + timedelta(days=10)).isoformat()
    run = _cli(config_path, "retention", "run", "--now", later)
    assert run.returncode == 0, run.stderr
    assert not list((tmp_path / "data" / "store").glob("payloads/**/*.*")), "retention removed the payloads"
    answers.append(_resolve(port, token, ref))
    assert {a.status_code for a in answers} == {404}
    assert len({a.text for a in answers}) == 1, "expired, never stored and absent look alike"
    cli = _cli(config_path, "payload", "get", "--token", token, "--ref", ref)
    assert cli.returncode != 0 and "does not resolve" in cli.stderr

    # The audit keeps what the answer does not say.
    store = LocalStore(tmp_path / "data" / "store")
    records = [r for r in AuditLog(store, key=derive_audit_key(MASTER_SECRET)).show("acme") if r["action"] == "payload.ref"]
    assert [r["outcome"] for r in records] == ["not_found", "not_found", "allowed", "not_found", "not_found"]
    assert [r["spans"]["matched"] for r in records[:4]] == [0, 1, 1, 1] and records[3]["spans"]["unavailable"] == 1


def test_bad_and_foreign_references_are_refused(referenced, next_hop: NextHop) -> None:
    server, config_path = referenced
    _, ref = _forwarded_refs(next_hop)[0]
    port = server.running.admin_port
    token = _grant(server.config)
    foreign = ref.replace("tracevault://acme/", "tracevault://globex/")
    response = _resolve(port, token, foreign)
    assert response.status_code == 403 and response.json()["rule"] == "tenant_out_of_scope"
    other_env = ref.replace("/default/", "/prod/")
    assert _resolve(port, token, other_env).json()["rule"] == "env_out_of_scope"
    for bad in ("s3://bucket/key.json", ref.split("#")[0], ref.replace("tracevault://", "tracevault:/")):
        response = _resolve(port, token, bad)
        assert response.status_code == 400 and "not a tracevault reference" in response.json()["message"]
    assert _resolve(port, "not-a-token", ref).status_code == 401
    globex = _grant(server.config, tenant="globex")
    response = _resolve(port, globex, ref)
    assert response.status_code == 403 and response.json()["rule"] == "tenant_out_of_scope"
    run = _cli(config_path, "payload", "get", "--token", token, "--ref", "s3://bucket/key.json")
    assert run.returncode == 2 and "not a tracevault reference" in run.stderr
    run = _cli(config_path, "payload", "get", "--token", token, "--ref", ref, "--trace-id", "0" * 32)
    assert run.returncode == 2 and "either --trace-id or --ref" in run.stderr


def test_incoming_references_pass_through_the_server_intact(make_sidecar, next_hop: NextHop) -> None:
    """A span in pattern 3 (an upload hook wrote references, no content) reaches the next hop with
    its references unchanged (reference mode keeps them too: they are not content, see
    tests/redactors/test_references.py)."""
    from sidecar import otlp

    refs = {
        "gen_ai.input.messages_ref": "s3://genai-content/4bf92f3577b34da6a3ce929d0e0e4736/inputs.json",
        "gen_ai.output.messages_ref": "gs://genai-content/4bf92f3577b34da6a3ce929d0e0e4736/outputs.json",
        "gen_ai.system_instructions_ref": "tracevault://acme/default/4bf92f3577b34da6a3ce929d0e0e4736/4539148803436467#gen_ai.system_instructions",
        "gen_ai.tool.definitions_ref": "https://uploads.example.com/7f3e9a2c-1b4d-4e8f-9a6b-3c2d1e0f9a8b/tools.json",
    }
    span = {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "name": "chat gpt-4o", "kind": 3,
        "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000500000000",
        "attributes": [{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                       *({"key": k, "value": {"stringValue": v}} for k, v in refs.items())],
    }  # fmt: skip
    body = json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "app"}, "spans": [span]}]}]})
    server = make_sidecar()
    response = requests.post(server.traces_url, data=body, headers={"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    assert response.status_code == 200
    forwarded = _spans(next_hop.received[-1])[0]
    values = {kv.key: kv.value.string_value for kv in forwarded.attributes}
    assert {k: values[k] for k in refs} == refs
    assert not [k for k in values if k.startswith("tracevault.redactions.")], "nothing was found to redact"


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"vault_enabled": False, "tenants": {"acme": {"environments": {"prod": {"content_in_forward": "reference"}}}}},
         "content_in_forward: reference needs the vault (vault_enabled: true): the references of acme/prod"),
        ({"defaults": {"content_in_forward": "refs"}}, "defaults.content_in_forward: Input should be 'redacted', 'reference' or 'none'"),
    ],
)  # fmt: skip
def test_serve_refuses_to_start_with_a_bad_content_in_forward(tmp_path: Path, policy: dict, message: str) -> None:
    config_path = tmp_path / "tracevault.yaml"
    config_path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "server": {"http_port": 0, "grpc_port": 0, "workers": 0}, **policy}))
    run = _cli(config_path, "serve")
    assert run.returncode == 1 and message in run.stderr
