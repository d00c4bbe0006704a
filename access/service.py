"""The authorised, audited payload read: the only way tracevault hands out payload content.

For every attempt: verify the grant (signature, key, validity, issuer, scope) -> check that it is
not revoked -> check the request against the grant (tenant, env, trace id) -> find the spans in
the metrics -> check each span (tenant, env, window, trace ids) -> decrypt the in-scope payloads
with the reader keyring -> append an audit record (allowed, denied or not_found, with the failed
rule) -> answer. The audit record is written before any content is returned; if it cannot be
written, nothing is returned (the store error propagates).

Refusals of tokens whose claims could not be verified (``malformed_token``, ``bad_signature``,
``unknown_key``) are not written to any tenant's chain: nothing such a token says can be trusted,
so they go to the rate-limited security log (:mod:`vault.securitylog`) without any of its claims.

A payload whose ciphertext fails authentication (or whose frame is damaged or misplaced, or whose
reference points outside its tenant and env) is reported as tampered, never as expired: the
answer's ``spans.tampered`` counts it, the audit record has rule ``payload_tampered``, and
``events.payloads_tampered`` is told (the sidecar counts it on /metrics). When every in-scope
payload is tampered, the outcome is ``tampered`` with status 502 (the store handed back data
that is not what was written).

Answers are :class:`AccessResult`: an outcome, an HTTP-like status (200, 401 for a missing or
malformed token, 403 for a refused grant, 404 when nothing matches) and a JSON-able body. A
refusal's body names the rule, never what the data holds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from access.grant_keys import GrantKeys, grant_keys_dir
from access.grants import (
    MALFORMED_TOKEN,
    REVOKED,
    RULES,
    Decision,
    Grant,
    GrantError,
    check_request,
    check_span,
    iso,
    normalise_span_id,
    normalise_trace_id,
    verify_grant,
)
from policies.tenants import is_valid_id
from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES
from redactors.references import Reference, ReferenceError, find_value, parse_reference
from vault import layout
from vault.audit import AuditLog
from vault.audit import audit_key as derive_audit_key
from vault.keyring import DataKeyReader, build_keyring
from vault.reader import PayloadTampered, PayloadUnavailable, VaultReader
from vault.revocations import Revocations
from vault.securitylog import SecurityLog
from vault.segment import PayloadRef
from vault.store import ObjectStore, open_store

log = logging.getLogger("tracevault.access")

#: How many traces `payload list` returns at most.
LIST_LIMIT = 1000
#: The record tables a read goes through, and the signal of their records.
_SIGNAL_TABLES = (("metrics", SIGNAL_TRACES), ("log_metrics", SIGNAL_LOGS))
#: The rule of an audit record whose read met a payload that fails authentication.
PAYLOAD_TAMPERED = "payload_tampered"
#: The one answer to a reference that does not resolve, whatever the reason (never stored, out of
#: the grant's window, expired, erased, or an attribute the span does not have): a reference never
#: says whether its content exists. The audit record keeps the reason.
REFERENCE_NOT_RESOLVED = {
    "error": "not_found",
    "message": "this reference does not resolve to content under this grant",
}


class AccessEvents:
    """Hooks for the sidecar's self-metrics. The default does nothing; no content is passed."""

    def refused_unverified(self, rule: str, written: bool) -> None:
        """A refusal of an unverified token; ``written``: it made it past the rate limit."""

    def payloads_tampered(self, count: int) -> None:
        """``count`` payloads of one read failed authentication."""


@dataclass
class _Reads:
    records: list[dict[str, Any]] = field(default_factory=list)
    unavailable: int = 0
    without_payload: int = 0
    tampered: int = 0


@dataclass
class AccessResult:
    outcome: str  # "allowed", "denied", "not_found" or "tampered"
    status: int  # 200, 401, 403, 404 or 502
    rule: str | None = None
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.outcome == "allowed"


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return None


class _Listing:
    """What `list_reachable` answers: per trace, its spans and its log records (metrics only).
    A log record without a trace id is listed under its record id."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._traces: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.records = 0
        self.truncated = False

    def add(self, row: dict[str, Any]) -> None:
        trace = row.get("access_id") or ""
        if trace not in self._traces and len(self._traces) >= self._limit:
            self.truncated = True
            return
        self.records += 1
        entry = self._traces.setdefault(trace, {"spans": [], "log_records": []})
        if row["signal"] == SIGNAL_LOGS:
            entry["log_records"].append(_log_item(row))
        else:
            entry["spans"].append(_span_item(row))

    def traces(self) -> list[dict[str, Any]]:
        def received(entry: dict[str, list[dict[str, Any]]]) -> str:
            return min(item["received_at"] or "" for items in entry.values() for item in items)

        return [
            {
                "trace_id": trace,
                "spans": sorted(entry["spans"], key=lambda item: item["start_time"] or ""),
                "log_records": sorted(entry["log_records"], key=lambda item: item["time"] or ""),
            }
            for trace, entry in sorted(self._traces.items(), key=lambda kv: received(kv[1]))
        ]


def _span_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "span_id": row.get("span_id"),
        "parent_span_id": row.get("parent_span_id"),
        "env": row.get("env"),
        "name": row.get("name"),
        "start_time": _when(row.get("start_time")),
        "end_time": _when(row.get("end_time")),
        "received_at": _when(row.get("received_at")),
        "has_payload": bool(row.get("payload_ref")),
    }


def _log_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "record_id": row.get("record_id"),
        "span_id": row.get("span_id"),
        "env": row.get("env"),
        "event_name": row.get("event_name"),
        "severity_number": row.get("severity_number"),
        "time": _when(row.get("time")),
        "received_at": _when(row.get("received_at")),
        "has_payload": bool(row.get("payload_ref")),
    }


class AccessService:
    """Grants, revocations, the reader and the audit log over one store."""

    def __init__(
        self,
        store: ObjectStore,
        keyring: DataKeyReader | None,
        grant_keys: GrantKeys,
        *,
        issuer: str,
        max_ttl_seconds: int,
        revocations: Revocations | None = None,
        audit: AuditLog | None = None,
        clock: Callable[[], datetime] | None = None,
        security_log: SecurityLog | None = None,
        events: AccessEvents | None = None,
        audit_key: bytes | None = None,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.grant_keys = grant_keys
        self.issuer = issuer
        self.max_ttl_seconds = max_ttl_seconds
        self.revocations = revocations or Revocations(store)
        self.audit = audit or AuditLog(store, clock=clock, key=audit_key)
        self._clock = clock or (lambda: datetime.now(UTC))
        self.events = events or AccessEvents()
        self.security_log = security_log or SecurityLog(store, clock=clock, on_refusal=self.events.refused_unverified)

    @classmethod
    def from_config(
        cls, config: Any, master_secret: bytes, *, store: ObjectStore | None = None, keyring: DataKeyReader | None = None, events: AccessEvents | None = None
    ) -> AccessService:
        """With a *reader* keyring (it can decrypt): only for the CLI and the admin listener."""
        return cls(
            store if store is not None else open_store(config),
            keyring if keyring is not None else build_keyring(config, master_secret),
            GrantKeys(grant_keys_dir(config), master_secret),
            issuer=config.access.issuer,
            max_ttl_seconds=config.access.max_ttl_seconds,
            events=events,
            audit_key=derive_audit_key(master_secret),
        )

    # -- grants ---------------------------------------------------------------------------------

    def authorize(self, token: str) -> Decision:
        """Verify the token and check that it is not revoked. Not audited by itself."""
        decision = verify_grant(token, self.grant_keys, issuer=self.issuer, max_ttl_seconds=self.max_ttl_seconds, now=self._clock())
        if decision.allowed and decision.grant is not None and self.revocations.is_revoked(decision.grant.jti):
            return Decision.deny(REVOKED, decision.grant)
        return decision

    # -- audit ----------------------------------------------------------------------------------

    def _audit(self, tenant: str | None, decision: Decision, *, action: str, asked: dict[str, Any], outcome: str, rule: str | None, spans: dict[str, int] | None = None) -> None:
        grant = decision.grant
        if grant is None:
            # The token's claims are unverified: nothing it says reaches a tenant's chain.
            self.security_log.refused(action=action, rule=rule or "denied", asked=asked)
            return
        if tenant is None:
            raise ValueError("a verified grant always names a tenant")
        self.audit.append(
            tenant,
            action=action,
            asked=asked,
            outcome=outcome,
            rule=rule,
            spans=spans or {},
            claims_verified=True,
            principal=grant.principal,
            grant_id=grant.jti,
            reason=grant.reason,
        )
        log.info("%s %s (%s) for grant %s", action, outcome, rule or "-", grant.jti)

    def _refuse(self, decision: Decision, *, action: str, asked: dict[str, Any], tenant: str | None, rule: str) -> AccessResult:
        self._audit(tenant, decision, action=action, asked=asked, outcome="denied", rule=rule)
        status = 401 if rule == MALFORMED_TOKEN else 403
        return AccessResult("denied", status, rule, {"error": "unauthorized" if status == 401 else "forbidden", "rule": rule, "message": RULES.get(rule, "denied")})

    # -- reads ----------------------------------------------------------------------------------

    def _rows(self, grant: Grant, tenant: str, env: str | None, trace_id: str | None, span_id: str | None) -> list[dict[str, Any]]:
        """The rows of the trace's spans, then of its log records, each with its ``signal`` and
        its ``access_id``: the trace id, or for a log record without one, its record id (which
        then stands for the trace id in requests and grants)."""
        reader = VaultReader(self.store)
        day_from = datetime.fromtimestamp(grant.window_from, UTC).date()
        day_to = datetime.fromtimestamp(grant.window_to, UTC).date()
        rows: list[dict[str, Any]] = []
        for table_name, signal in _SIGNAL_TABLES:
            table = reader.read_metrics(tenant, env, day_from, day_to, table=table_name)
            access_id = pc.coalesce(table["trace_id"], table["record_id"]) if "record_id" in table.column_names else table["trace_id"]
            table = table.append_column("access_id", access_id).append_column("signal", pa.repeat(signal, table.num_rows))
            if trace_id is not None:
                table = table.filter(pc.fill_null(pc.equal(table["access_id"], trace_id), False))
            if span_id is not None:
                table = table.filter(pc.fill_null(pc.equal(table["span_id"], span_id), False))
            rows.extend(table.to_pylist())
        return rows

    def get_payloads(self, token: str, trace_id: str, span_id: str | None = None, *, tenant: str | None = None, env: str | None = None) -> AccessResult:
        """Decrypted payload records of one trace (or one span). Raises GrantError on a
        malformed trace id, span id, tenant or env (a bad request, not an attempt)."""
        trace_id = normalise_trace_id(trace_id)
        span_id = normalise_span_id(span_id) if span_id is not None else None
        for value, what in ((tenant, "tenant"), (env, "env")):
            if value is not None and not is_valid_id(value):
                raise GrantError(f"{what}: not a valid id")
        action = "payload.get"
        decision = self.authorize(token)
        target = tenant or (decision.grant.tenant if decision.grant else None)
        asked = {"tenant": target, "env": env, "trace_id": trace_id, "span_id": span_id}
        if not decision.allowed or decision.grant is None:
            return self._refuse(decision, action=action, asked=asked, tenant=target, rule=decision.rule or MALFORMED_TOKEN)
        grant = decision.grant
        assert target is not None
        rule = check_request(grant, target, trace_id, env)
        if rule is not None:
            return self._refuse(decision, action=action, asked=asked, tenant=target, rule=rule)

        rows = self._rows(grant, target, env, trace_id, span_id)
        if not rows:
            self._audit(target, decision, action=action, asked=asked, outcome="not_found", rule=None, spans={"matched": 0})
            return AccessResult("not_found", 404, None, {"error": "not_found", "message": "no span or log record of this trace is stored in the grant's window"})
        in_scope, withheld = self._in_scope(grant, rows)
        if not in_scope:
            return self._refuse(decision, action=action, asked=asked, tenant=target, rule=next(iter(withheld)))
        reads = self._read_payloads(in_scope, target)
        counts = {
            "matched": len(rows),
            "returned": len(reads.records),
            "withheld": sum(withheld.values()),
            "unavailable": reads.unavailable,
            "without_payload": reads.without_payload,
            "tampered": reads.tampered,
        }
        result = self._read_result(reads, counts)
        self._audit(target, decision, action=action, asked=asked, outcome=result.outcome, rule=result.rule, spans=counts)
        if result.allowed:
            result.body.update({"tenant": target, "trace_id": trace_id, "span_id": span_id, "grant_id": grant.jti, "records": reads.records})
            if withheld:
                result.body["withheld_rules"] = sorted(withheld)
        return result

    def get_reference(self, token: str, uri: str) -> AccessResult:
        """The content one `tracevault://` reference names, decrypted. Raises GrantError on a
        malformed reference (a bad request, not an attempt).

        Refused (403, named rule) when the grant does not cover the reference's tenant, env or
        trace; 502 when the payload fails authentication; otherwise 200 with the value, or the one
        not-found answer (``REFERENCE_NOT_RESOLVED``). Audited as ``payload.ref``."""
        try:
            ref = parse_reference(uri)
        except ReferenceError as exc:
            raise GrantError(str(exc)) from None
        action = "payload.ref"
        asked = {"tenant": ref.tenant, "env": ref.env, "trace_id": ref.trace_id, "span_id": ref.span_id, "attribute": ref.path}
        decision = self.authorize(token)
        if not decision.allowed or decision.grant is None:
            return self._refuse(decision, action=action, asked=asked, tenant=ref.tenant, rule=decision.rule or MALFORMED_TOKEN)
        grant = decision.grant
        rule = check_request(grant, ref.tenant, ref.trace_id, ref.env)
        if rule is not None:
            return self._refuse(decision, action=action, asked=asked, tenant=ref.tenant, rule=rule)
        rows = self._rows(grant, ref.tenant, ref.env, ref.trace_id, ref.span_id)
        in_scope, withheld = self._in_scope(grant, rows)
        reads = self._read_payloads(in_scope, ref.tenant)
        found = next(((record, value) for record in reads.records if (value := find_value(record["payload"], ref)) is not None), None)
        counts = {"matched": len(rows), "withheld": sum(withheld.values()), "unavailable": reads.unavailable,
                  "without_payload": reads.without_payload, "tampered": reads.tampered, "returned": int(found is not None)}  # fmt: skip
        if found is None:
            tampered = bool(reads.tampered) and not reads.records
            outcome, status = ("tampered", 502) if tampered else ("not_found", 404)
            reason = PAYLOAD_TAMPERED if tampered else next(iter(sorted(withheld)), None)
            self._audit(ref.tenant, decision, action=action, asked=asked, outcome=outcome, rule=reason, spans=counts)
            if tampered:
                return self._read_result(reads, counts)
            return AccessResult("not_found", 404, None, dict(REFERENCE_NOT_RESOLVED))
        self._audit(ref.tenant, decision, action=action, asked=asked, outcome="allowed", rule=None, spans=counts)
        return AccessResult("allowed", 200, None, self._reference_body(ref, grant, *found))

    @staticmethod
    def _reference_body(ref: Reference, grant: Grant, record: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        return {
            "ref": ref.uri(),
            "tenant": ref.tenant,
            "env": ref.env,
            "trace_id": ref.trace_id,
            "span_id": ref.span_id,
            "attribute": ref.path,
            "received_at": record["received_at"],
            "grant_id": grant.jti,
            "value": value,  # the stored OTLP/JSON AnyValue (redacted, or the escrow original)
        }

    @staticmethod
    def _in_scope(grant: Grant, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
        """The rows the grant covers, and a count per rule of the ones it does not."""
        in_scope: list[dict[str, Any]] = []
        withheld: dict[str, int] = {}
        for row in rows:
            span_rule = check_span(grant, tenant=row.get("tenant") or "", env=row.get("env") or "", trace_id=row.get("access_id") or "", data_time=row.get("received_at"))
            if span_rule is None:
                in_scope.append(row)
            else:
                withheld[span_rule] = withheld.get(span_rule, 0) + 1
        return in_scope, withheld

    def _read_payloads(self, rows: list[dict[str, Any]], tenant: str) -> _Reads:
        reads = _Reads()
        reader = VaultReader(self.store, self.keyring)
        for row in rows:
            ref_text = row.get("payload_ref")
            if not ref_text:
                reads.without_payload += 1
                continue
            if not self._ref_matches(ref_text, tenant, row.get("env") or ""):
                reads.tampered += 1  # a metrics row edited to point at another tenant's payloads
                log.error("payload_ref of a %s span points outside its tenant and env; withheld as tampered", tenant)
                continue
            try:
                payload = reader.payload(ref_text)
            except PayloadTampered:
                reads.tampered += 1
                continue
            except (PayloadUnavailable, ValueError):
                reads.unavailable += 1
                continue
            record = {
                "signal": row["signal"],
                "tenant": row.get("tenant"),
                "env": row.get("env"),
                "trace_id": row.get("trace_id"),
                "span_id": row.get("span_id"),
                "received_at": _when(row.get("received_at")),
                "payload": payload,
            }
            if row["signal"] == SIGNAL_LOGS:
                record["record_id"] = row.get("record_id")
            reads.records.append(record)
        if reads.tampered:
            self.events.payloads_tampered(reads.tampered)
        return reads

    @staticmethod
    def _read_result(reads: _Reads, counts: dict[str, int]) -> AccessResult:
        """The answer to a read (the caller adds the records to an allowed one)."""
        rule = PAYLOAD_TAMPERED if reads.tampered else None
        if reads.records:
            body: dict[str, Any] = {"spans": counts}
            if reads.tampered:
                body["warning"] = f"{reads.tampered} payload(s) failed authentication (tampered or damaged) and were withheld; this read is audited as such"
            return AccessResult("allowed", 200, rule, body)
        if reads.tampered:
            return AccessResult(
                "tampered", 502, rule,
                {"error": PAYLOAD_TAMPERED, "rule": PAYLOAD_TAMPERED, "spans": counts,
                 "message": f"{reads.tampered} payload(s) failed authentication: the stored ciphertext was altered, moved or damaged (not expired); this read is audited as such"},
            )
        return AccessResult(
            "not_found", 404, None,
            {"error": "not_found", "message": "no payload is available for these spans (payload mode none, expired or erased)", "spans": counts},
        )

    @staticmethod
    def _ref_matches(ref_text: str, tenant: str, env: str) -> bool:
        try:
            parsed = layout.parse_key(PayloadRef.parse(ref_text).object_key)
        except ValueError:
            return False
        return parsed is not None and parsed[0].kind == "payloads" and parsed[0].tenant == tenant and parsed[0].env == env

    def list_reachable(self, token: str, *, env: str | None = None, limit: int = LIST_LIMIT) -> AccessResult:
        """What the grant can reach, from the metrics only: trace ids, times, spans and log
        records, no content."""
        if env is not None and not is_valid_id(env):
            raise GrantError("env: not a valid id")
        action = "payload.list"
        decision = self.authorize(token)
        tenant = decision.grant.tenant if decision.grant else None
        if not decision.allowed or decision.grant is None:
            return self._refuse(decision, action=action, asked={"tenant": tenant, "env": env}, tenant=tenant, rule=decision.rule or MALFORMED_TOKEN)
        grant = decision.grant
        asked = {"tenant": grant.tenant, "env": env, "envs": list(grant.envs), "window": [iso(grant.window_from), iso(grant.window_to)]}
        rule = check_request(grant, grant.tenant, None, env)
        if rule is not None:
            return self._refuse(decision, action=action, asked=asked, tenant=grant.tenant, rule=rule)
        listing = _Listing(limit)
        for each_env in [env] if env else list(grant.envs):
            for row in self._rows(grant, grant.tenant, each_env, None, None):
                if not check_span(grant, tenant=row.get("tenant") or "", env=row.get("env") or "", trace_id=row.get("access_id") or "", data_time=row.get("received_at")):
                    listing.add(row)
        traces = listing.traces()
        self._audit(grant.tenant, decision, action=action, asked=asked, outcome="allowed", rule=None, spans={"listed": listing.records, "traces": len(traces)})
        return AccessResult(
            "allowed", 200, None,
            {"tenant": grant.tenant, "grant_id": grant.jti, "window": {"from": iso(grant.window_from), "to": iso(grant.window_to)}, "traces": traces, "truncated": listing.truncated},
        )
