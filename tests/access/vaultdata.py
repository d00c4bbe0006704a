"""Stored data for the access tests: spans written by the real VaultSink into a LocalStore.

No redactor is needed (the sink stores whatever the redaction step hands it), so these tests do
not load the NER model. Every payload carries MARKER: it must show up in an allowed read and
nowhere else (refusals, audit records, logs).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from access.grant_keys import GrantKeys, grant_keys_dir
from access.grants import issue_grant
from access.service import AccessService
from policies.config import Config, SpoolConfig, parse_config
from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES, RedactedBatch
from tests.redactors.otlp_builders import make_request, make_span
from tests.vault.logs_builders import genai_log, logs_batch
from vault.audit import audit_key
from vault.keyring import LocalKeyring, LocalKeyWriter
from vault.sink import VaultSink
from vault.store import LocalStore

SECRET = bytes(range(32))
SECRET_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # base64 of SECRET
RECEIVED = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
NOW = RECEIVED + timedelta(minutes=10)
MARKER = "confidential-marker-7731"
ISSUER = "tracevault"
MAX_TTL = 7 * 24 * 3600


@dataclass
class Stored:
    data_dir: Path
    config: Config
    store: LocalStore
    #: what the traces are made of: spans ("traces") or log records ("logs")
    signal: str = SIGNAL_TRACES
    #: name -> trace id: acme_prod (2 spans or log records), acme_dev, globex_prod
    traces: dict[str, str] = field(default_factory=dict)
    #: name -> the span ids (of the spans, or of the spans the log records were emitted in)
    spans: dict[str, list[str]] = field(default_factory=dict)

    def grant_keys(self) -> GrantKeys:
        return GrantKeys(grant_keys_dir(self.config), SECRET)

    def access(self, store: LocalStore | None = None, **kwargs: Any) -> AccessService:
        return AccessService(
            store or self.store,
            LocalKeyring(self.config.keyring_dir(), SECRET),
            self.grant_keys(),
            issuer=ISSUER,
            max_ttl_seconds=kwargs.pop("max_ttl_seconds", MAX_TTL),
            clock=kwargs.pop("clock", lambda: NOW),
            audit_key=kwargs.pop("audit_key", audit_key(SECRET)),
            **kwargs,
        )

    def issue(self, **overrides: Any) -> str:
        arguments: dict[str, Any] = {
            "issuer": ISSUER,
            "tenant": "acme",
            "envs": ["prod"],
            "principal": "alice@example.com",
            "reason": "INC-42 debugging",
            "ttl_seconds": 3600,
            "max_ttl_seconds": MAX_TTL,
            "now": NOW,
        }
        arguments.update(overrides)
        token, _grant = issue_grant(self.grant_keys(), **arguments)
        return token


def _batch(tenant: str, env: str, count: int, received: datetime, signal: str) -> tuple[RedactedBatch, str, list[str]]:
    """One trace of ``count`` spans, or (signal logs) of ``count`` log records, each emitted in
    a span of its own; every one carries MARKER."""
    content = f"{MARKER} in {tenant}/{env}"
    if signal == SIGNAL_LOGS:
        trace = os.urandom(16)
        records = [genai_log(trace, os.urandom(8), body=content) for _ in range(count)]
        return logs_batch(tenant, records, received, env=env), trace.hex(), [r.span_id.hex() for r in records]
    built = [make_span(attributes={"gen_ai.operation.name": "chat", "input.value": content}) for _ in range(count)]
    trace_id = built[0].trace_id
    for span in built:
        span.trace_id = trace_id
    request = make_request(built)
    return RedactedBatch(tenant, env, request, count, received, "redacted"), trace_id.hex(), [s.span_id.hex() for s in built]


def content_of(record: dict[str, Any]) -> dict[str, Any]:
    """The span or log record of a returned payload record."""
    return record["payload"]["log_record" if record["signal"] == SIGNAL_LOGS else "span"]


def write_data(data_dir: Path, signal: str = SIGNAL_TRACES) -> Stored:
    """Three traces (see `Stored.traces`), of spans or (signal logs) of log records only."""
    config = parse_config({"data_dir": str(data_dir), "spool": {"fsync": False, "flush_interval_seconds": 3600}})
    store = LocalStore(data_dir / "store")
    stored = Stored(data_dir, config, store, signal)
    writer = LocalKeyWriter(config.keyring_dir(), SECRET)
    sink = VaultSink(SpoolConfig(fsync=False, flush_interval_seconds=3600), config.spool_dir(), writer, store)
    batches = []
    for name, tenant, env, count in (("acme_prod", "acme", "prod", 2), ("acme_dev", "acme", "dev", 1), ("globex_prod", "globex", "prod", 1)):
        batch, trace_id, span_ids = _batch(tenant, env, count, RECEIVED, signal)
        stored.traces[name], stored.spans[name] = trace_id, span_ids
        batches.append(batch)

    async def run() -> None:
        for batch in batches:
            await sink.export(batch)
        await sink.flush()

    asyncio.run(run())
    return stored
