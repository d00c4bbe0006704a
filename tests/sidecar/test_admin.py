"""The admin listener for real: a running aiohttp server on 127.0.0.1 and an HTTP client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from access.service import AccessService
from sidecar.admin import start_admin
from sidecar.metrics import Metrics
from tests.access.vaultdata import MARKER, NOW, Stored, write_data
from tests.sidecar.conftest import free_port
from vault.securitylog import DEFAULT_BURST, SecurityLog


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Stored:
    return write_data(tmp_path_factory.mktemp("admin") / "data")


class Admin:
    """The admin app running in its own thread and event loop, as the sidecar runs it."""

    def __init__(self, stored: Stored, access: AccessService | None = None) -> None:
        import threading

        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stored = stored
        self.access = access or stored.access()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "admin listener did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = self.loop.run_until_complete(
            start_admin(self.stored.config, access=self.access, host="127.0.0.1", port=0)
        )
        self.port = self.runner.addresses[0][1]
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())
        self.loop.close()

    def url(self, *parts: str, **query: str) -> str:
        base = f"http://127.0.0.1:{self.port}/v1/payloads/" + "/".join(parts)
        return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def admin(stored: Stored) -> Iterator[Admin]:
    server = Admin(stored)
    try:
        yield server
    finally:
        server.stop()


def get(url: str, token: str | None = None, scheme: str = "Bearer") -> requests.Response:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return requests.get(url, headers=headers, timeout=10)


def test_allowed_read_over_http(admin: Admin, stored: Stored) -> None:
    token = stored.issue()
    trace = stored.traces["acme_prod"]
    response = get(admin.url(trace), token)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert sorted(r["span_id"] for r in body["records"]) == sorted(stored.spans["acme_prod"])
    assert MARKER in response.text

    span = stored.spans["acme_prod"][0]
    one = get(admin.url(trace, span), token)
    assert one.status_code == 200 and [r["span_id"] for r in one.json()["records"]] == [span]
    record = stored.access().audit.show("acme")[-1]
    assert record["outcome"] == "allowed" and record["asked"]["span_id"] == span


def _forged(stored: Stored) -> str:
    token = stored.issue()
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=jwt.get_unverified_header(token))


CASES: list[tuple[str, Any, Any, int, str | None]] = [
    # (case, token factory, url parts factory, status, rule)
    ("no token", lambda s: None, lambda s: [s.traces["acme_prod"]], 401, "malformed_token"),
    ("not a bearer token", lambda s: "Basic", lambda s: [s.traces["acme_prod"]], 401, "malformed_token"),
    ("malformed token", lambda s: "abc.def", lambda s: [s.traces["acme_prod"]], 401, "malformed_token"),
    ("forged token", _forged, lambda s: [s.traces["acme_prod"]], 403, "bad_signature"),
    ("expired", lambda s: s.issue(now=NOW - timedelta(hours=3)), lambda s: [s.traces["acme_prod"]], 403, "expired"),
    ("env out of scope", lambda s: s.issue(), lambda s: [s.traces["acme_dev"]], 403, "env_out_of_scope"),
    ("trace not granted", lambda s: s.issue(trace_ids=["cd" * 16]), lambda s: [s.traces["acme_prod"]], 403, "trace_not_granted"),
    ("tenant A token on tenant B", lambda s: s.issue(), lambda s: [s.traces["globex_prod"] + "?tenant=globex"], 403, "tenant_out_of_scope"),
    ("nothing matches", lambda s: s.issue(), lambda s: ["ef" * 16], 404, None),
    ("span not in trace", lambda s: s.issue(), lambda s: [s.traces["acme_prod"], "12" * 8], 404, None),
    ("malformed trace id", lambda s: s.issue(), lambda s: ["not-a-trace-id"], 400, None),
]


@pytest.mark.parametrize(("make_token", "parts", "status", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusals_over_http(admin: Admin, stored: Stored, make_token, parts, status: int, rule: str | None) -> None:
    token = make_token(stored)
    url = admin.url(*parts(stored))
    security_before = stored.access().security_log.show()
    if token == "Basic":
        response = get(url, "dXNlcjpwYXNz", scheme="Basic")
    else:
        response = get(url, token)
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("rule") == rule
    assert "records" not in body and MARKER not in response.text
    if token and token != "Basic":
        assert token not in response.text
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if status == 403 and rule == "bad_signature":
        security = stored.access().security_log.show()
        new = [r for r in security if security.count(r) > security_before.count(r)]
        record = new[0]
        assert all(r == record for r in new) and record["rule"] == rule and "alice@example.com" not in json.dumps(record)
        assert all(r["rule"] != rule for r in stored.access().audit.show("acme")), "never in the tenant's chain"
    elif status == 403:
        record = stored.access().audit.show("globex" if rule == "tenant_out_of_scope" else "acme")[-1]
        assert record["outcome"] == "denied" and record["rule"] == rule and MARKER not in json.dumps(record)


def test_only_get_is_served(admin: Admin, stored: Stored) -> None:
    response = requests.post(admin.url(stored.traces["acme_prod"]), headers={"Authorization": f"Bearer {stored.issue()}"}, timeout=10)
    assert response.status_code == 405
    assert requests.get(f"http://127.0.0.1:{admin.port}/v1/traces", timeout=10).status_code == 404


def test_serve_starts_the_admin_listener_only_when_enabled(make_sidecar) -> None:
    server = make_sidecar({"server": {"grpc_enabled": False}, "access": {"admin_enabled": True, "admin_port": 0}}, forward=False)
    admin_port = server.running.admin_port
    assert admin_port and admin_port != server.http_port
    response = requests.get(f"http://127.0.0.1:{admin_port}/v1/payloads/{'ab' * 16}", timeout=10)
    assert response.status_code == 401
    unsigned = _unsigned("acme", 1, "c2ln")
    assert requests.get(f"http://127.0.0.1:{admin_port}/v1/payloads/{'ab' * 16}", headers={"Authorization": f"Bearer {unsigned}"}, timeout=10).status_code == 403
    scraped = requests.get(f"{server.base_url}/metrics", timeout=10).text
    assert 'tracevault_access_unverified_refusals_total{logged="written",rule="bad_signature"} 1.0' in scraped
    assert "tracevault_payloads_tampered_total 0.0" in scraped
    # Never on the OTLP port.
    otlp = requests.get(f"{server.base_url}/v1/payloads/{'ab' * 16}", headers={"Authorization": "Bearer x.y.z"}, timeout=10)
    assert otlp.status_code == 404

    default = make_sidecar({"server": {"grpc_enabled": False}}, forward=False)
    assert default.running.admin_port == 0, "off by default"


def test_admin_port_must_differ_from_the_otlp_ports(stored: Stored) -> None:
    port = free_port()
    config = stored.config.model_copy(update={"server": stored.config.server.model_copy(update={"http_port": port})})
    with pytest.raises(ValueError, match="differ"):
        asyncio.run(start_admin(config, access=stored.access(), port=port))


def test_admin_needs_a_secret_or_an_access_service(stored: Stored, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="master secret"):
        asyncio.run(start_admin(stored.config, port=0))


def _b64(document: dict) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _unsigned(tenant: str, i: int, signature: str) -> str:
    """An alg=none token with attacker-chosen claims; ``signature`` empty or junk."""
    claims = {"iss": "tracevault", "sub": f"mallory-{i}", "tenant": tenant, "reason": f"audit cleanup {i}", "jti": f"{i:032x}",
              "envs": ["prod"], "scope": "payload:read", "iat": 0, "nbf": 0, "exp": 4102444800}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}.{signature}"


def test_unsigned_tokens_never_reach_a_tenant_chain(stored: Stored) -> None:
    """200 alg=none tokens over loopback, claiming acme or globex (and asking for globex): no
    tenant chain grows; the security log takes DEFAULT_BURST records without any claim, counts the
    rest, and /metrics counts all 200."""
    ticks = [0.0]
    metrics = Metrics()
    events = metrics.access_events()
    access = stored.access(events=events, security_log=SecurityLog(stored.store, monotonic=lambda: ticks[0], on_refusal=events.refused_unverified))
    before = {t: len(access.audit.show(t)) for t in ("acme", "globex")}
    security_before = len(access.security_log.show())
    server = Admin(stored, access)
    try:
        statuses = []
        for i in range(200):
            tenant = "globex" if i % 2 else "acme"
            token = _unsigned(tenant, i, "" if i % 4 < 2 else "c2lnbmF0dXJl")
            query = {"tenant": "globex"} if i % 3 == 0 else {}
            statuses.append(get(server.url(stored.traces["acme_prod"], **query), token).status_code)
        ticks[0] = 60.0  # a minute later the bucket has refilled a little
        assert get(server.url(stored.traces["acme_prod"]), _unsigned("acme", 999, "eA")).status_code == 403
    finally:
        server.stop()
    assert set(statuses) <= {401, 403} and statuses.count(401) == 100, "empty signatures are malformed, junk ones bad"
    assert {t: len(access.audit.show(t)) for t in before} == before, "0 records in any tenant's chain"
    records = access.security_log.show()[security_before:]
    assert len(records) == DEFAULT_BURST + 1
    assert records[-1]["suppressed"]["count"] == 200 - DEFAULT_BURST
    assert set(records[-1]["suppressed"]["rules"]) == {"malformed_token", "bad_signature"}
    text = json.dumps(records)
    assert "mallory" not in text and "audit cleanup" not in text and f"{7:032x}" not in text, "no claimed free text"
    assert {r["asked"].get("tenant") for r in records} <= {"globex", None}, "only the tenant the request asked for"
    rendered = metrics.render().decode()
    written = sum(float(line.rsplit(" ", 1)[1]) for line in rendered.splitlines() if line.startswith("tracevault_access_unverified_refusals_total") and 'logged="written"' in line)
    limited = sum(float(line.rsplit(" ", 1)[1]) for line in rendered.splitlines() if line.startswith("tracevault_access_unverified_refusals_total") and 'logged="rate_limited"' in line)
    assert (written, limited) == (DEFAULT_BURST + 1, 200 - DEFAULT_BURST)


def test_a_tampered_payload_over_http_is_502_and_counted(tmp_path: Path) -> None:
    from tests.access.test_access import _flip_last_byte, _refs

    fresh = write_data(tmp_path / "data")
    trace = fresh.traces["acme_prod"]
    for ref in _refs(fresh, trace):
        _flip_last_byte(fresh, ref)
    metrics = Metrics()
    server = Admin(fresh, fresh.access(events=metrics.access_events()))
    try:
        response = get(server.url(trace), fresh.issue())
    finally:
        server.stop()
    assert response.status_code == 502 and response.json()["rule"] == "payload_tampered"
    assert "expired or erased" not in response.text and MARKER not in response.text
    assert fresh.access().audit.show("acme")[-1]["outcome"] == "tampered"
    assert "tracevault_payloads_tampered_total 2.0" in metrics.render().decode()
