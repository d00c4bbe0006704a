"""Audit records of retention actions, in the tenant's hash-chained audit log (`vault.audit`).

A record names the action (``subject.erase``), who ran it (the OS user), the tenant, a short
reason and counts. It never holds a raw user id, content or key material: callers pass a
pseudonym and numbers only. Records are kept (and expired) by the tenant's ``audit_days``.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from vault import layout
from vault.audit import AuditLog, record_hash
from vault.store import ObjectStore


def actor() -> str:
    """Who runs the command, for the audit record (the OS user)."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"


def record_key(record: Mapping[str, Any]) -> str:
    """The key under which `AuditLog.append` stored ``record``."""
    day = datetime.fromisoformat(str(record["time"]).replace("Z", "+00:00")).astimezone(UTC).date()
    return layout.audit_key(str(record["tenant"]), day, f"{int(record['seq']):012d}-{record_hash(dict(record))[:16]}")


def write_audit(
    store: ObjectStore,
    tenant: str,
    action: str,
    *,
    reason: str,
    counts: Mapping[str, Any],
    key: bytes | None,
    outcome: str = "allowed",
) -> str:
    """Append one record to ``tenant``'s audit log, signed with ``key`` (:func:`vault.audit.audit_key`
    of the master secret; None writes it unsigned, which `audit verify` reports); returns its key."""
    record = AuditLog(store, key=key).append(
        tenant,
        action=action,
        principal=actor(),
        reason=reason,
        asked={"tenant": tenant},
        outcome=outcome,
        rule=None,
        spans=dict(counts),
    )
    return record_key(record)
