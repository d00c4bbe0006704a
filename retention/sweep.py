"""The retention sweep: delete every partition past its window, and report what was done.

Windows come from the policy chain (`PolicySet.resolve(tenant, env)`): payload segments (of
spans and log records alike) by ``payload_days``, the metrics, log_metrics and evaluations
Parquet by ``metrics_days``, audit records by ``audit_days`` (:data:`WINDOW_FIELDS`); in a run
over every tenant, the security log (``access/security-log/date=D/``) by the default tenant's
``audit_days``. A partition ``date=D`` is due when ``D < today - days``, ``today`` being the UTC
day of ``now``.
Audit partitions have no env: their window is the longest ``audit_days`` among the tenant's
default env and its configured envs (deleting audit early is the worse mistake).

Safety, by construction:

- Only keys that parse as the layout (:func:`vault.layout.parse_key`) and whose day is due are
  ever deleted; nothing is deleted by prefix. A key that does not parse is counted as ignored.
- Only keys seen in the listing are deleted. An object written into a due partition after the
  listing (a late spool replay) survives until the next run; a span being ingested now lands in
  today's partition, which is never due (every window is at least one day).
- Deletes are batched (``delete_many``, DeleteObjects on S3) and idempotent, so a run killed
  half-way and started again lists what is left and finishes the job.
- When a batch fails, each of its keys is checked with ``head``: the report counts what is
  really gone and names what is not. `SweepReport.complete` is false when anything due is left.

``dry_run`` lists and reports exactly what a real run would delete, and deletes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from policies.config import Config
from policies.resolve import PolicySet
from retention.progress import Progress
from vault import layout
from vault import securitylog as security_log
from vault.store import ObjectStore, StoreError

#: Keys per delete_many call (S3 DeleteObjects takes at most 1000).
DEFAULT_BATCH = 1000
#: At most this many failed keys are named in a report (the count is always exact).
MAX_REPORTED_ERRORS = 100

#: Reported for every env seen (log_metrics and evaluations when the env has such objects).
ENV_KINDS = ("metrics", "payloads")

#: The policy field that holds each layout kind's window. Log records' metrics rows and the
#: evaluations are kept as long as the span metrics. A kind missing here is refused (ValueError),
#: never guessed.
WINDOW_FIELDS = {
    "metrics": "metrics_days",
    "log_metrics": "metrics_days",
    "payloads": "payload_days",
    "evaluations": "metrics_days",
    "audit": "audit_days",
}


def parse_now(text: str | None) -> datetime:
    """``--now``: an ISO date or date-time; naive values are UTC. None is the current time."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("--now must be an ISO 8601 date or date-time, e.g. 2026-12-31T00:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass
class Tally:
    objects: int = 0
    bytes: int = 0

    def add(self, size: int, count: int = 1) -> None:
        self.objects += count
        self.bytes += size

    def as_dict(self) -> dict[str, int]:
        return {"objects": self.objects, "bytes": self.bytes}


@dataclass
class KindReport:
    """One kind of one (tenant, env): its window, and what was deleted, kept and left over."""

    window_days: int
    delete_before: date  # partitions dated before this day are due
    deleted: Tally = field(default_factory=Tally)
    kept: Tally = field(default_factory=Tally)
    failed: Tally = field(default_factory=Tally)
    deleted_partitions: set[date] = field(default_factory=set)

    def as_dict(self) -> dict[str, Any]:
        return {
            "window_days": self.window_days,
            "delete_before": self.delete_before.isoformat(),
            "deleted": self.deleted.as_dict(),
            "kept": self.kept.as_dict(),
            "failed": self.failed.as_dict(),
            "deleted_partitions": len(self.deleted_partitions),
        }


@dataclass
class SweepReport:
    now: datetime
    dry_run: bool
    store: str
    tenant_filter: str | None = None
    # tenant -> env -> kind -> report; audit lives under env None.
    groups: dict[str, dict[str | None, dict[str, KindReport]]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    error_count: int = 0
    ignored_keys: int = 0
    #: The security log (unverified-token refusals), swept in a run over every tenant.
    security_log: KindReport | None = None

    @property
    def complete(self) -> bool:
        """True when everything due was deleted (or, in a dry run, could be listed)."""
        return self.error_count == 0

    def error(self, key: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"key": key, "error": message})

    def totals(self) -> dict[str, dict[str, int]]:
        out = {name: Tally() for name in ("deleted", "kept", "failed")}
        for envs in self.groups.values():
            for kinds in envs.values():
                for report in kinds.values():
                    for name, tally in out.items():
                        other: Tally = getattr(report, name)
                        tally.add(other.bytes, other.objects)
        return {name: tally.as_dict() for name, tally in out.items()}

    def as_dict(self) -> dict[str, Any]:
        tenants: dict[str, Any] = {}
        for tenant in sorted(self.groups):
            envs = self.groups[tenant]
            tenants[tenant] = {
                "envs": {
                    env: {kind: envs[env][kind].as_dict() for kind in layout.ENV_KINDS if kind in envs[env]}
                    for env in sorted(e for e in envs if e is not None)
                },
            }
            if None in envs:
                tenants[tenant]["audit"] = envs[None]["audit"].as_dict()
        return {
            "command": "retention run",
            "now": self.now.isoformat(),
            "today": self.now.date().isoformat(),
            "dry_run": self.dry_run,
            "store": self.store,
            "tenant": self.tenant_filter,
            "complete": self.complete,
            "tenants": tenants,
            "totals": self.totals(),
            "security_log": self.security_log.as_dict() if self.security_log else None,
            "ignored_keys": self.ignored_keys,
            "errors": self.errors,
            "error_count": self.error_count,
        }


class Windows:
    """Retention windows per (tenant, env, kind), resolved through the policy chain."""

    def __init__(self, config: Config, policies: PolicySet | None = None) -> None:
        self._config = config
        self._policies = policies or PolicySet(config)
        self._audit: dict[str, int] = {}

    def days(self, kind: str, tenant: str, env: str | None) -> int:
        """``payload_days`` for payloads; ``metrics_days`` for the metrics, log_metrics and
        evaluations tables; ``audit_days`` for audit (:data:`WINDOW_FIELDS`)."""
        window = WINDOW_FIELDS.get(kind)
        if window is None:
            raise ValueError(f"no retention window for the kind {kind!r}: add it to retention.sweep.WINDOW_FIELDS")
        if kind == "audit":
            return self._audit_days(tenant)
        if env is None:
            raise ValueError(f"the {kind} window depends on the env: give one")
        return int(getattr(self._policies.resolve(tenant, env), window))

    def _audit_days(self, tenant: str) -> int:
        cached = self._audit.get(tenant)
        if cached is None:
            cached = self._audit[tenant] = self._policies.audit_days(tenant)
        return cached


@dataclass(frozen=True, slots=True)
class _Due:
    key: str
    size: int
    tenant: str
    env: str | None
    kind: str
    day: date


def sweep(
    store: ObjectStore,
    config: Config,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    tenant: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int], Progress] | None = None,
    policies: PolicySet | None = None,
) -> SweepReport:
    """Delete (or, with ``dry_run``, only count) every object past its window."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    report = SweepReport(now=moment, dry_run=dry_run, store=store.describe(), tenant_filter=tenant)
    windows = Windows(config, policies)
    groups = _Groups(report, windows, moment.date())
    due = _list_due(store, tenant, report, groups.get)
    make_progress = progress or (lambda label, total: Progress(label, total))
    label = "retention (dry run): due" if dry_run else "retention: deleting"
    with make_progress(label, len(due)) as bar:
        for start in range(0, len(due), batch_size):
            batch = due[start : start + batch_size]
            gone = {item.key for item in batch} if dry_run else _delete_batch(store, [item.key for item in batch], report)
            for item in batch:
                kind_report = groups.get(item.kind, item.tenant, item.env)
                if item.key in gone:
                    kind_report.deleted.add(item.size)
                    kind_report.deleted_partitions.add(item.day)
                else:
                    kind_report.failed.add(item.size)
            bar.advance(len(batch), batch[-1].key.rsplit("/", 1)[0])
    if tenant is None:
        days = windows.days("audit", config.tenancy.default_tenant, None)
        _sweep_security_log(store, report, KindReport(days, moment.date() - timedelta(days=days)), dry_run, batch_size)
    return report


class _Groups:
    """The report's (tenant, env, kind) entries, created with their windows on first sight."""

    def __init__(self, report: SweepReport, windows: Windows, today: date) -> None:
        self._report, self._windows, self._today = report, windows, today

    def _new(self, kind: str, tenant: str, env: str | None) -> KindReport:
        days = self._windows.days(kind, tenant, env)
        return KindReport(days, self._today - timedelta(days=days))

    def get(self, kind: str, tenant: str, env: str | None) -> KindReport:
        envs = self._report.groups.setdefault(tenant, {})
        kinds = envs.setdefault(env, {})
        found = kinds.get(kind)
        if found is None:
            found = kinds[kind] = self._new(kind, tenant, env)
            if env is not None:  # both env kinds are reported for every env seen, and audit per tenant
                for other in ENV_KINDS:
                    if other not in kinds:
                        kinds[other] = self._new(other, tenant, env)
            if None not in envs:
                envs[None] = {"audit": self._new("audit", tenant, None)}
        return found


def _sweep_security_log(store: ObjectStore, report: SweepReport, kind_report: KindReport, dry_run: bool, batch_size: int) -> None:
    """Delete the security log's ``date=`` partitions older than ``kind_report``'s window."""
    report.security_log = kind_report
    due: list[tuple[str, int, date]] = []
    try:
        for info in store.list(security_log.PREFIX):
            day = security_log.day_of(info.key)
            if day is None:
                report.ignored_keys += 1
            elif day < kind_report.delete_before:
                due.append((info.key, info.size, day))
            else:
                kind_report.kept.add(info.size)
    except Exception as exc:  # noqa: BLE001 - a listing failure is reported, never hidden
        report.error(security_log.PREFIX, f"listing failed: {_reason(exc)}")
        return
    for start in range(0, len(due), batch_size):
        batch = due[start : start + batch_size]
        gone = {key for key, _, _ in batch} if dry_run else _delete_batch(store, [key for key, _, _ in batch], report)
        for key, size, day in batch:
            if key in gone:
                kind_report.deleted.add(size)
                kind_report.deleted_partitions.add(day)
            else:
                kind_report.failed.add(size)


def _list_due(store: ObjectStore, tenant: str | None, report: SweepReport, group: Callable[[str, str, str | None], KindReport]) -> list[_Due]:
    """List every kind's partitions; answer what is due, and count what is kept in ``group``'s reports."""
    due: list[_Due] = []
    for kind in layout.KINDS:
        prefix = layout.partition_prefix(kind, tenant)
        try:
            for info in store.list(prefix):
                parsed = layout.parse_key(info.key)
                if parsed is None:
                    report.ignored_keys += 1
                    continue
                partition, _ = parsed
                kind_report = group(kind, partition.tenant, partition.env)
                if partition.day < kind_report.delete_before:
                    due.append(_Due(info.key, info.size, partition.tenant, partition.env, kind, partition.day))
                else:
                    kind_report.kept.add(info.size)
        except Exception as exc:  # noqa: BLE001 - a listing failure is reported, never hidden
            report.error(prefix, f"listing failed: {_reason(exc)}")
            # What this kind's listing did not reach is neither deleted nor known to be kept.
            continue
    return due


def _delete_batch(store: ObjectStore, keys: list[str], report: SweepReport) -> set[str]:
    """Delete ``keys``; answer the set that is really gone. Failures are added to the report."""
    try:
        store.delete_many(keys)
        return set(keys)
    except Exception as exc:  # noqa: BLE001 - find out key by key what is left
        reason = _reason(exc)
    gone: set[str] = set()
    for key in keys:
        try:
            present = store.head(key) is not None
        except Exception as head_exc:  # noqa: BLE001 - the key is reported as failed, state unknown
            report.error(key, f"delete failed ({reason}); state unknown ({_reason(head_exc)})")
            continue
        if present:
            report.error(key, f"delete failed: {reason}")
        else:
            gone.add(key)
    return gone


def _reason(exc: BaseException) -> str:
    # Store errors name the operation, key and code only (vault.store); others by type.
    return str(exc) if isinstance(exc, StoreError) else type(exc).__name__

