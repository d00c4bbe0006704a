"""Authorised payload reads over data written by the VaultSink: every refusal rule with its audit
record, forged and retired-key tokens, cross-tenant use, revocation across instances, the CLI end
to end, and the IAM policy."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from access.grants import GrantError
from access.iam import iam_policy
from policies.config import parse_config
from redactors.batch import SIGNALS
from sidecar.cli import main
from tests.access.vaultdata import MARKER, NOW, RECEIVED, SECRET_B64, Stored, content_of, write_data
from tests.vault.logs_builders import genai_log, logs_batch, make_log
from vault.revocations import Revocations
from vault.store import LocalStore


@pytest.fixture(scope="module", params=SIGNALS)
def stored(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Stored:
    """The same traces, once as spans and once as log records: every rule covers both."""
    return write_data(tmp_path_factory.mktemp("access") / "data", request.param)


@pytest.fixture
def fresh(tmp_path: Path) -> Stored:
    """Data of its own, for tests that rotate keys or revoke grants."""
    return write_data(tmp_path / "data")


def last_audit(stored: Stored, tenant: str = "acme") -> dict:
    return stored.access().audit.show(tenant)[-1]


def test_allowed_read_returns_decrypted_records_and_is_audited(stored: Stored) -> None:
    access = stored.access()
    token = stored.issue()
    trace = stored.traces["acme_prod"]
    result = access.get_payloads(token, trace.upper())
    assert result.status == 200 and result.outcome == "allowed"
    records = result.body["records"]
    assert sorted(r["span_id"] for r in records) == sorted(stored.spans["acme_prod"])
    assert all(r["tenant"] == "acme" and r["env"] == "prod" and content_of(r)["traceId"] == trace for r in records)
    assert MARKER in json.dumps(records)
    record = last_audit(stored)
    assert record["outcome"] == "allowed" and record["rule"] is None and record["action"] == "payload.get"
    assert record["principal"] == "alice@example.com" and record["reason"] == "INC-42 debugging"
    assert record["asked"] == {"tenant": "acme", "env": None, "trace_id": trace, "span_id": None}
    assert record["spans"]["returned"] == 2 and record["claims_verified"] is True
    assert MARKER not in json.dumps(record) and token not in json.dumps(record)

    one = access.get_payloads(token, trace, stored.spans["acme_prod"][1])
    assert [r["span_id"] for r in one.body["records"]] == [stored.spans["acme_prod"][1]]


def test_payload_list_shows_metadata_only(stored: Stored) -> None:
    token = stored.issue(envs=["prod", "dev"])
    result = stored.access().list_reachable(token)
    assert result.status == 200
    traces = {t["trace_id"]: t for t in result.body["traces"]}
    assert set(traces) == {stored.traces["acme_prod"], stored.traces["acme_dev"]}
    kind = "log_records" if stored.signal == "logs" else "spans"
    assert len(traces[stored.traces["acme_prod"]][kind]) == 2
    assert all(not t["spans" if kind == "log_records" else "log_records"] for t in traces.values())
    assert all(item["has_payload"] and item["received_at"] == "2026-11-28T12:30:00Z" for t in traces.values() for item in t[kind])
    assert MARKER not in json.dumps(result.body)
    record = last_audit(stored)
    assert record["action"] == "payload.list" and record["outcome"] == "allowed" and record["spans"]["listed"] == 3


def _forged(stored: Stored) -> str:
    claims = jwt.decode(stored.issue(), options={"verify_signature": False})
    kid = jwt.get_unverified_header(stored.issue())["kid"]
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})


# (case, grant overrides or a token factory, request: (trace name, tenant, env), expected rule,
# audit tenant: None when the token's claims are unverified and the refusal goes to the security log)
REFUSALS = [
    ("bad_signature: forged with another Ed25519 key", _forged, ("acme_prod", None, None), "bad_signature", None),
    ("expired", {"now": NOW - timedelta(hours=3)}, ("acme_prod", None, None), "expired", "acme"),
    ("not_yet_valid", {"not_before": NOW + timedelta(hours=1)}, ("acme_prod", None, None), "not_yet_valid", "acme"),
    ("wrong_issuer", {"issuer": "another-vault"}, ("acme_prod", None, None), "wrong_issuer", "acme"),
    ("tenant_out_of_scope: acme grant on globex data", {}, ("globex_prod", "globex", None), "tenant_out_of_scope", "globex"),
    ("env_out_of_scope: span in dev", {}, ("acme_dev", None, None), "env_out_of_scope", "acme"),
    ("env_out_of_scope: env asked for", {}, ("acme_dev", None, "dev"), "env_out_of_scope", "acme"),
    ("outside_window", {"window_from": RECEIVED + timedelta(minutes=5), "window_to": RECEIVED + timedelta(hours=1)}, ("acme_prod", None, None), "outside_window", "acme"),
    ("trace_not_granted", {"trace_ids": ["ab" * 16]}, ("acme_prod", None, None), "trace_not_granted", "acme"),
    ("malformed_token", lambda s: "definitely-not-a-grant", ("acme_prod", "acme", None), "malformed_token", None),
]


@pytest.mark.parametrize(("grant", "request_", "rule", "audit_tenant"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_each_refusal_is_named_and_audited(stored: Stored, caplog: pytest.LogCaptureFixture, grant, request_, rule: str, audit_tenant: str | None) -> None:
    caplog.set_level(logging.DEBUG)
    token = grant(stored) if callable(grant) else stored.issue(**grant)
    name, tenant, env = request_
    access = stored.access()
    chains_before = {t: len(access.audit.show(t)) for t in ("acme", "globex")}
    security_before = access.security_log.show()
    result = access.get_payloads(token, stored.traces[name], tenant=tenant, env=env)
    assert result.outcome == "denied" and result.rule == rule
    assert result.status == (401 if rule == "malformed_token" else 403)
    assert result.body["rule"] == rule and "records" not in result.body
    if audit_tenant is None:
        assert {t: len(access.audit.show(t)) for t in chains_before} == chains_before, "no tenant chain takes an unverified refusal"
        security = access.security_log.show()
        assert len(security) == len(security_before) + 1
        new = [r for r in security if security.count(r) > security_before.count(r)]
        record = new[0]
        assert all(r == record for r in new) and record["rule"] == rule and record["claims_verified"] is False
        assert "alice@example.com" not in json.dumps(record) and "INC-42" not in json.dumps(record), "no claim of the token"
    else:
        record = last_audit(stored, audit_tenant)
        assert record["outcome"] == "denied" and record["rule"] == rule and record["action"] == "payload.get"
        assert record["grant_id"] and record["principal"] == "alice@example.com"
        assert access.audit.verify(audit_tenant, audit_days=730, now=NOW).ok
    assert record["asked"]["trace_id"] == stored.traces[name]
    for text in (json.dumps(result.body), json.dumps(record), caplog.text):
        assert MARKER not in text and token not in text


def test_revoked_and_honoured_by_a_second_instance(fresh: Stored) -> None:
    token = fresh.issue()
    trace = fresh.traces["acme_prod"]
    ticks = [0.0]
    # Another instance: its own store object over the same storage, its own revocation cache.
    second = fresh.access(store=LocalStore(fresh.store.root))
    second.revocations = Revocations(second.store, ttl_seconds=5, monotonic=lambda: ticks[0])
    assert second.get_payloads(token, trace).allowed

    grant_id = jwt.decode(token, options={"verify_signature": False})["jti"]
    Revocations(fresh.store).revoke(grant_id, by="ops", reason="leaked in a ticket")
    assert fresh.access().get_payloads(token, trace).rule == "revoked"
    ticks[0] = 6.0  # past the second instance's negative-cache ttl
    result = second.get_payloads(token, trace)
    assert result.rule == "revoked" and result.status == 403
    record = last_audit(fresh)
    assert record["rule"] == "revoked" and record["grant_id"] == grant_id and MARKER not in json.dumps(record)
    assert fresh.access().list_reachable(token).rule == "revoked"


def test_token_signed_by_a_rotated_out_and_retired_key(fresh: Stored) -> None:
    old = fresh.issue()
    old_kid = jwt.get_unverified_header(old)["kid"]
    fresh.grant_keys().rotate()
    new = fresh.issue()
    trace = fresh.traces["acme_prod"]
    assert fresh.access().get_payloads(old, trace).allowed, "rotated out, not retired: still valid"
    fresh.grant_keys().retire(old_kid)
    chain_before = len(fresh.access().audit.show("acme"))
    result = fresh.access().get_payloads(old, trace)
    assert result.rule == "unknown_key" and result.status == 403
    assert len(fresh.access().audit.show("acme")) == chain_before, "an unknown key proves nothing: not in the tenant's chain"
    assert fresh.access().security_log.show()[-1]["rule"] == "unknown_key"
    assert fresh.access().get_payloads(new, trace).allowed


def test_tenant_a_token_finds_nothing_of_tenant_b(stored: Stored) -> None:
    token = stored.issue()
    result = stored.access().get_payloads(token, stored.traces["globex_prod"])
    assert result.status == 404 and result.outcome == "not_found" and "records" not in result.body
    record = last_audit(stored, "acme")
    assert record["outcome"] == "not_found" and record["asked"]["trace_id"] == stored.traces["globex_prod"]


def test_partly_in_scope_trace_returns_only_the_granted_spans(fresh: Stored) -> None:
    # acme_prod's second span re-sent under dev: one trace across two envs.
    import asyncio

    from policies.config import SpoolConfig
    from redactors.batch import RedactedBatch
    from tests.access.vaultdata import SECRET
    from tests.redactors.otlp_builders import make_request, make_span
    from vault.keyring import LocalKeyWriter
    from vault.sink import VaultSink

    span = make_span(attributes={"input.value": f"{MARKER} dev part"})
    span.trace_id = bytes.fromhex(fresh.traces["acme_prod"])
    sink = VaultSink(SpoolConfig(fsync=False), fresh.data_dir / "spool2", LocalKeyWriter(fresh.config.keyring_dir(), SECRET), fresh.store)

    async def run() -> None:
        await sink.export(RedactedBatch("acme", "dev", make_request([span]), 1, RECEIVED, "redacted"))
        await sink.flush()

    asyncio.run(run())
    result = fresh.access().get_payloads(fresh.issue(), fresh.traces["acme_prod"])
    assert result.status == 200 and len(result.body["records"]) == 2
    assert result.body["spans"]["withheld"] == 1 and result.body["withheld_rules"] == ["env_out_of_scope"]
    assert "dev part" not in json.dumps(result.body)


def _add_logs(stored: Stored, *records) -> None:
    import asyncio

    from policies.config import SpoolConfig
    from tests.access.vaultdata import SECRET
    from vault.keyring import LocalKeyWriter
    from vault.sink import VaultSink

    sink = VaultSink(SpoolConfig(fsync=False), stored.data_dir / "spool-logs", LocalKeyWriter(stored.config.keyring_dir(), SECRET), stored.store)

    async def run() -> None:
        await sink.export(logs_batch("acme", list(records), RECEIVED))
        await sink.flush()

    asyncio.run(run())


def test_a_grant_for_a_trace_returns_its_spans_and_its_log_records(fresh: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace, (first, second) = fresh.traces["acme_prod"], fresh.spans["acme_prod"]
    _add_logs(
        fresh,
        genai_log(bytes.fromhex(trace), bytes.fromhex(first), body=f"{MARKER} log in the first span"),
        genai_log(bytes.fromhex(trace), bytes.fromhex(second), body=f"{MARKER} log in the second span"),
        genai_log(body=f"{MARKER} another trace"),
    )
    access = fresh.access()
    result = access.get_payloads(fresh.issue(trace_ids=[trace]), trace)
    assert result.status == 200
    by_signal = sorted((r["signal"], r["span_id"]) for r in result.body["records"])
    assert by_signal == sorted([("traces", first), ("traces", second), ("logs", first), ("logs", second)])
    logs = [r for r in result.body["records"] if r["signal"] == "logs"]
    assert all(len(r["record_id"]) == 32 and content_of(r)["traceId"] == trace for r in logs)
    assert "another trace" not in json.dumps(result.body)
    assert last_audit(fresh)["spans"]["returned"] == 4 and MARKER not in json.dumps(last_audit(fresh))

    one_span = access.get_payloads(fresh.issue(), trace, first)
    assert sorted(r["signal"] for r in one_span.body["records"]) == ["logs", "traces"], "the span and the log records emitted in it"
    listed = {t["trace_id"]: t for t in access.list_reachable(fresh.issue()).body["traces"]}
    assert [item["span_id"] for item in listed[trace]["log_records"]] in ([first, second], [second, first])
    assert len(listed[trace]["spans"]) == 2 and MARKER not in json.dumps(listed)

    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config = _config_file(tmp_path, fresh.data_dir)
    token = fresh.issue(now=datetime.now(UTC), window_from=RECEIVED - timedelta(hours=1), window_to=RECEIVED + timedelta(hours=1))
    got = CliRunner().invoke(main, ["payload", "get", "--config", config, "--token", token, "--trace-id", trace])
    assert got.exit_code == 0, got.output
    assert sorted(r["signal"] for r in json.loads(got.stdout)["records"]) == ["logs", "logs", "traces", "traces"]


def test_a_log_record_without_a_trace_is_read_by_its_record_id(fresh: Stored) -> None:
    _add_logs(fresh, make_log(body=f"{MARKER} traceless"))
    access = fresh.access()
    listing = access.list_reachable(fresh.issue()).body["traces"]
    (entry,) = [t for t in listing if t["log_records"]]
    record_id = entry["log_records"][0]["record_id"]
    assert entry["trace_id"] == record_id and entry["log_records"][0]["span_id"] is None

    result = access.get_payloads(fresh.issue(trace_ids=[record_id]), record_id)
    assert result.status == 200 and "traceless" in json.dumps(result.body)
    ((record),) = result.body["records"]
    assert record["trace_id"] is None and record["record_id"] == record_id
    refused = access.get_payloads(fresh.issue(trace_ids=[fresh.traces["acme_prod"]]), record_id)
    assert refused.rule == "trace_not_granted" and "traceless" not in json.dumps(refused.body)


def test_bad_request_values_are_refused_before_any_read(stored: Stored) -> None:
    access = stored.access()
    for trace, span, tenant in (("xyz", None, None), ("a" * 32, "nothex", None), ("a" * 32, None, "../etc")):
        with pytest.raises(GrantError):
            access.get_payloads(stored.issue(), trace, span, tenant=tenant)


# -- the CLI, end to end -------------------------------------------------------------------------


def _config_file(tmp_path: Path, data_dir: Path, extra: dict | None = None) -> str:
    path = tmp_path / "tracevault.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(data_dir), **(extra or {})}))
    return str(path)


def test_cli_issue_get_list_revoke_audit(fresh: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    monkeypatch.delenv("TRACEVAULT_GRANT_TOKEN", raising=False)
    config = _config_file(tmp_path, fresh.data_dir)
    runner = CliRunner()
    window = ["--from", (RECEIVED - timedelta(hours=1)).isoformat(), "--to", (RECEIVED + timedelta(hours=1)).isoformat()]
    issued = runner.invoke(main, ["grant", "issue", "--config", config, "--tenant", "acme", "--env", "prod", "--principal", "bob", "--reason", "INC-7", "--ttl", "15m", *window])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip()
    assert token.count(".") == 2 and "grant " in issued.stderr
    grant_id = jwt.decode(token, options={"verify_signature": False})["jti"]

    trace = fresh.traces["acme_prod"]
    got = runner.invoke(main, ["payload", "get", "--config", config, "--token", token, "--trace-id", trace])
    assert got.exit_code == 0, got.output
    body = json.loads(got.stdout)
    assert len(body["records"]) == 2 and MARKER in got.stdout

    via_stdin = runner.invoke(main, ["payload", "get", "--config", config, "--token", "-", "--trace-id", trace, "--span-id", fresh.spans["acme_prod"][0]], input=token + "\n")
    assert via_stdin.exit_code == 0, via_stdin.output
    assert [r["span_id"] for r in json.loads(via_stdin.stdout)["records"]] == [fresh.spans["acme_prod"][0]]

    listed = runner.invoke(main, ["payload", "list", "--config", config, "--token", token])
    assert listed.exit_code == 0 and MARKER not in listed.stdout
    assert [t["trace_id"] for t in json.loads(listed.stdout)["traces"]] == [trace]

    grants = runner.invoke(main, ["grant", "list", "--config", config, "--tenant", "acme"])
    assert grants.exit_code == 0 and grant_id in grants.stdout and "active" in grants.stdout and token not in grants.stdout

    revoked = runner.invoke(main, ["grant", "revoke", "--config", config, grant_id, "--reason", "done"])
    assert revoked.exit_code == 0, revoked.output
    refused = runner.invoke(main, ["payload", "get", "--config", config, "--token", token, "--trace-id", trace])
    assert refused.exit_code == 1 and "revoked" in refused.output and MARKER not in refused.output
    assert "revoked" in runner.invoke(main, ["grant", "list", "--config", config, "--tenant", "acme"]).stdout

    verified = runner.invoke(main, ["audit", "verify", "--config", config, "--tenant", "acme"])
    assert verified.exit_code == 0 and "ok" in verified.stdout, verified.output
    shown = runner.invoke(main, ["audit", "show", "--config", config, "--tenant", "acme", "--since", "2000-01-01T00:00:00Z"])
    records = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["action"], r["outcome"], r["rule"]) for r in records] == [
        ("grant.issue", "allowed", None),
        ("payload.get", "allowed", None),
        ("payload.get", "allowed", None),
        ("payload.list", "allowed", None),
        ("grant.revoke", "allowed", None),
        ("payload.get", "denied", "revoked"),
    ]
    assert MARKER not in shown.stdout and token not in shown.stdout

    # An edited record makes `audit verify` fail and name the seq.
    key = next(i.key for i in fresh.store.list("audit/tenant=acme/") if "/000000000002-" in i.key)
    fresh.store.put(key, fresh.store.get(key).replace(b'"principal":"bob"', b'"principal":"eve"'))
    broken = runner.invoke(main, ["audit", "verify", "--config", config, "--tenant", "acme"])
    assert broken.exit_code == 1 and "seq 2" in broken.output


def test_cli_keys_rotate_and_retire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config = _config_file(tmp_path, tmp_path / "data")
    runner = CliRunner()
    first = runner.invoke(main, ["grant", "keys", "rotate", "--config", config])
    second = runner.invoke(main, ["grant", "keys", "rotate", "--config", config])
    old_kid, new_kid = first.stdout.split()[-1], second.stdout.split()[-1]
    assert runner.invoke(main, ["grant", "keys", "retire", "--config", config, new_kid]).exit_code == 1
    assert runner.invoke(main, ["grant", "keys", "retire", "--config", config, old_kid]).exit_code == 0
    listing = runner.invoke(main, ["grant", "keys", "list", "--config", config]).stdout
    assert f"{old_kid}  retired" in listing and f"{new_kid}  active" in listing


def test_cli_issue_refuses_a_ttl_over_the_maximum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config = _config_file(tmp_path, tmp_path / "data", {"access": {"max_ttl_seconds": 3600}})
    result = CliRunner().invoke(main, ["grant", "issue", "--config", config, "--tenant", "acme", "--env", "prod", "--principal", "p", "--reason", "r", "--ttl", "2h"])
    assert result.exit_code == 1 and "max_ttl" in result.output and "." not in result.stdout.strip()


# -- IAM policy ------------------------------------------------------------------------------------


def _statements(document: dict) -> list[dict]:
    return document["Statement"]


def test_iam_policy_names_only_the_tenants_prefixes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config_file(tmp_path, tmp_path / "data", {"storage": {"url": "s3://tv-bucket/vault"}, "keyring": {"type": "kms"}})
    result = CliRunner().invoke(main, ["access", "iam-policy", "--config", config, "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["Version"] == "2012-10-17"
    by_sid = {s["Sid"]: s for s in _statements(document)}
    assert by_sid["ListTenantPrefixes"]["Resource"] == "arn:aws:s3:::tv-bucket"
    assert sorted(by_sid["ListTenantPrefixes"]["Condition"]["StringLike"]["s3:prefix"]) == [
        "vault/evaluations/tenant=acme/*",
        "vault/log_metrics/tenant=acme/*",
        "vault/metrics/tenant=acme/*",
        "vault/payloads/tenant=acme/*",
    ]
    assert sorted(by_sid["ReadTenantObjects"]["Resource"]) == [
        "arn:aws:s3:::tv-bucket/vault/evaluations/tenant=acme/*",
        "arn:aws:s3:::tv-bucket/vault/log_metrics/tenant=acme/*",
        "arn:aws:s3:::tv-bucket/vault/metrics/tenant=acme/*",
        "arn:aws:s3:::tv-bucket/vault/payloads/tenant=acme/*",
    ]
    decrypt = by_sid["DecryptTenantDataKeys"]
    assert decrypt["Action"] == "kms:Decrypt"
    assert decrypt["Condition"]["StringEquals"] == {"kms:EncryptionContext:tracevault:tenant": "acme"}
    assert decrypt["Condition"]["ForAnyValue:StringEquals"] == {"kms:ResourceAliases": "alias/tracevault-acme"}
    text = json.dumps(document)
    assert "globex" not in text and "audit/" not in text and "s3:PutObject" not in text and "s3:*" not in text

    scoped = iam_policy(parse_config({"storage": {"url": "s3://tv-bucket"}}), "acme", "prod")
    by_sid = {s["Sid"]: s for s in _statements(scoped)}
    assert by_sid["ReadTenantObjects"]["Resource"] == [
        "arn:aws:s3:::tv-bucket/metrics/tenant=acme/env=prod/*",
        "arn:aws:s3:::tv-bucket/log_metrics/tenant=acme/env=prod/*",
        "arn:aws:s3:::tv-bucket/payloads/tenant=acme/env=prod/*",
        "arn:aws:s3:::tv-bucket/evaluations/tenant=acme/env=prod/*",
    ]
    assert by_sid["DecryptTenantDataKeys"]["Condition"]["StringEquals"] == {
        "kms:EncryptionContext:tracevault:tenant": "acme",
        "kms:EncryptionContext:tracevault:env": "prod",
    }


def test_iam_policy_needs_an_s3_store(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["access", "iam-policy", "--config", _config_file(tmp_path, tmp_path / "data"), "--tenant", "acme"])
    assert result.exit_code == 1 and "s3://" in result.output
    assert CliRunner().invoke(main, ["access", "iam-policy", "--tenant", "../x"]).exit_code == 2


# -- tampered payloads are not "expired" -----------------------------------------------------------


def _flip_last_byte(stored: Stored, ref_text: str) -> None:
    """Change one byte of the frame's GCM tag, in place: the frame still parses, it fails authentication."""
    from vault.segment import PayloadRef

    ref = PayloadRef.parse(ref_text)
    data = bytearray(stored.store.get(ref.object_key))
    data[ref.offset + ref.length - 1] ^= 0x01
    stored.store.put(ref.object_key, bytes(data))


def _refs(stored: Stored, trace: str) -> list[str]:
    from vault.reader import VaultReader

    return [row["payload_ref"] for row in VaultReader(stored.store).find_spans("acme", trace)]


def _delete_segments(stored: Stored, trace: str) -> None:
    from vault.segment import PayloadRef

    stored.store.delete_many(sorted({PayloadRef.parse(ref).object_key for ref in _refs(stored, trace)}))


# (case, damage, status, outcome, rule, tampered, returned)
DAMAGE = [
    ("every payload's ciphertext altered", lambda s, t: [_flip_last_byte(s, r) for r in _refs(s, t)], 502, "tampered", "payload_tampered", 2, 0),
    ("one of two altered", lambda s, t: _flip_last_byte(s, _refs(s, t)[0]), 200, "allowed", "payload_tampered", 1, 1),
    ("segment gone: expired (benign twin)", _delete_segments, 404, "not_found", None, 0, 0),
]


@pytest.mark.parametrize(("damage", "status", "outcome", "rule", "tampered", "returned"), [d[1:] for d in DAMAGE], ids=[d[0] for d in DAMAGE])
def test_tampered_payloads_are_reported_audited_and_counted(fresh: Stored, damage, status: int, outcome: str, rule: str | None, tampered: int, returned: int) -> None:
    from sidecar.metrics import Metrics

    trace = fresh.traces["acme_prod"]
    damage(fresh, trace)
    metrics = Metrics()
    result = fresh.access(events=metrics.access_events()).get_payloads(fresh.issue(), trace)
    assert (result.status, result.outcome, result.rule) == (status, outcome, rule)
    assert result.body["spans"]["tampered"] == tampered and result.body["spans"]["returned"] == returned
    text = json.dumps(result.body)
    if tampered:
        assert "expired" not in text.replace("not expired", "") and "failed authentication" in text
    else:
        assert "expired or erased" in text
    record = last_audit(fresh)
    assert (record["outcome"], record["rule"], record["spans"]["tampered"]) == (outcome, rule, tampered)
    assert f"tracevault_payloads_tampered_total {float(tampered)}" in metrics.render().decode()
    assert fresh.access().audit.verify("acme", audit_days=730, now=NOW).ok


def test_cli_audit_verify_checks_retention_and_show_hides_forgeries(fresh: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the CLI, with the config's retention: deleting the first records while they are
    within audit_days fails; the retention sweep deleting them once due passes."""
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config = _config_file(tmp_path, fresh.data_dir, {"defaults": {"audit_days": 1}})
    runner = CliRunner()
    access = fresh.access()
    for _ in range(3):
        assert access.get_payloads(fresh.issue(), fresh.traces["acme_prod"]).allowed  # 3 records on 2026-11-28
    verify_at = ["audit", "verify", "--config", config, "--tenant", "acme", "--now"]
    assert runner.invoke(main, [*verify_at, "2026-11-28T13:00:00Z"]).exit_code == 0

    first = next(i.key for i in fresh.store.list("audit/tenant=acme/") if "/000000000001-" in i.key and "claim" not in i.key)
    saved = fresh.store.get(first)
    fresh.store.delete_many([first])
    deleted = runner.invoke(main, [*verify_at, "2026-11-28T13:00:00Z"])
    assert deleted.exit_code == 1 and "seq 1: missing" in deleted.output and "not due for retention" in deleted.output
    fresh.store.put(first, saved)

    forged = "audit/tenant=acme/date=2026-11-28/erase-0001.jsonl"
    fresh.store.put(forged, b'{"action": "payload.get", "principal": "auditor", "outcome": "allowed"}\n')
    shown = runner.invoke(main, ["audit", "show", "--config", config, "--tenant", "acme"])
    assert shown.exit_code == 0 and "auditor" not in shown.stdout and "1 object(s)" in shown.stderr
    assert len(shown.stdout.splitlines()) == 3
    assert "not a chain record" in runner.invoke(main, [*verify_at, "2026-11-28T13:00:00Z"]).output
    fresh.store.delete_many([forged])

    swept = runner.invoke(main, ["retention", "run", "--config", config, "--now", "2026-12-01T00:00:00Z"])
    assert swept.exit_code == 0, swept.output
    assert not list(fresh.store.list("audit/tenant=acme/date=2026-11-28/"))
    expired = runner.invoke(main, [*verify_at, "2026-12-01T00:00:00Z"])
    assert expired.exit_code == 0 and "expired (retention)" in expired.output, expired.output


def test_cli_audit_security_shows_unverified_refusals(fresh: Stored, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config = _config_file(tmp_path, fresh.data_dir)
    refused = CliRunner().invoke(main, ["payload", "get", "--config", config, "--token", _forged(fresh), "--trace-id", fresh.traces["acme_prod"]])
    assert refused.exit_code == 1 and "bad_signature" in refused.output
    shown = CliRunner().invoke(main, ["audit", "security", "--config", config])
    assert shown.exit_code == 0
    (record,) = [json.loads(line) for line in shown.stdout.splitlines()]
    assert record["rule"] == "bad_signature" and record["asked"]["trace_id"] == fresh.traces["acme_prod"]
    assert "alice@example.com" not in shown.stdout
