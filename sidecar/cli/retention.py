"""`tracevault retention run|lifecycle`, `tracevault erase` and `tracevault compact`.

Every command prints one JSON report on stdout; progress and failures go to stderr. Exit codes:
0 when the job is complete, 1 when something was left undone (the report says what), 2 for
usage errors.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click

from retention import sweep as sweeping
from sidecar.cli.context import CliContext, cli_errors, valid_id, with_context
from vault.store import StoreError

# erase, compact and lifecycle import pyarrow and boto3 parts: loaded by their commands only,
# so that `tracevault serve` and `redact` do not pay for them at start.


def _optional_id(value: str | None, what: str, hint: str) -> str | None:
    return None if value is None else valid_id(value, what, hint)


def _emit(report: dict[str, Any]) -> None:
    click.echo(json.dumps(report, indent=2, sort_keys=False))


def _fail(message: str) -> None:
    click.echo(f"tracevault: {message}", err=True)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# retention


@click.group("retention")
def retention_group() -> None:
    """Expire data by policy: the cron sweep and S3 lifecycle rules."""


@retention_group.command("run")
@with_context()
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend it is this time (UTC unless an offset is given).")
@click.option("--tenant", help="Only this tenant.")
@click.option("--batch-size", default=sweeping.DEFAULT_BATCH, show_default=True, type=click.IntRange(1, 1000), help="Keys per delete call.")
@cli_errors
def run(cli: CliContext, dry_run: bool, now_text: str | None, tenant: str | None, batch_size: int) -> None:
    """Delete every partition past its window: payloads, metrics, log_metrics and audit, each by its own.

    Safe to re-run at any time; exit code 0 only when everything due is gone.
    """
    tenant = _optional_id(tenant, "tenant id", "--tenant")
    try:
        now = sweeping.parse_now(now_text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    config = cli.config
    policies = cli.policies
    store = cli.store
    report = sweeping.sweep(store, config, now=now, dry_run=dry_run, tenant=tenant, batch_size=batch_size, policies=policies)
    _emit(report.as_dict())
    if not report.complete:
        first = report.errors[0] if report.errors else {"key": "?", "error": "?"}
        failed = report.totals()["failed"]["objects"]
        _fail(
            f"retention incomplete: {failed} due objects not deleted, {report.error_count} errors "
            f"(first: {first['key']}: {first['error']}); run it again"
        )


@retention_group.command("lifecycle")
@with_context()
@click.option("--apply", "apply_rules", is_flag=True, help="Put the rules on the S3 bucket (other rules of the bucket are kept).")
@cli_errors
def lifecycle(cli: CliContext, apply_rules: bool) -> None:
    """Render the retention policy as S3 lifecycle rules (one per tenant, env and kind)."""
    from retention import lifecycle as lifecycle_rules
    from vault.store import S3Store

    config = cli.config
    policies = cli.policies
    store = cli.store
    if apply_rules and not isinstance(store, S3Store):
        raise click.ClickException(
            f"--apply needs an S3 store, and {store.describe()} is a local directory: "
            "it has no lifecycle rules; `tracevault retention run` from cron enforces retention there"
        )
    try:
        tenants = lifecycle_rules.known_tenants(store, config)
    except StoreError as exc:
        raise click.ClickException(f"cannot list the store: {exc}") from None
    rules = lifecycle_rules.render_rules(config, tenants, store.prefix if isinstance(store, S3Store) else "", policies)
    try:
        lifecycle_rules.check_rule_count(len(rules))
        configuration = lifecycle_rules.apply_rules(store, rules) if apply_rules else {"Rules": rules}
    except lifecycle_rules.LifecycleError as exc:
        raise click.ClickException(str(exc)) from None
    _emit(
        {
            "command": "retention lifecycle",
            "store": store.describe(),
            "applied": apply_rules,
            "tracevault_rules": len(rules),
            "LifecycleConfiguration": configuration,
        }
    )


# ---------------------------------------------------------------------------------------------
# erase


@click.command("erase")
@with_context()
@click.option("--tenant", required=True, help="The user's tenant.")
@click.option("--user-id", required=True, help="The user's raw id, as the application sent it; `-` reads it from stdin (keeps it out of shell history).")
@click.option("--dry-run", is_flag=True, help="Report what would be removed; change nothing.")
@click.option(
    "--spans-only",
    is_flag=True,
    help="Remove only the spans that carry the user id; keep the other spans of the user's traces (model calls, tools), which may hold the user's prompts.",
)
@click.option(
    "--whole-traces",
    is_flag=True,
    help="The default (accepted for compatibility): remove every span of each trace that holds one of the user's spans.",
)
@cli_errors
def erase(cli: CliContext, tenant: str, user_id: str, dry_run: bool, spans_only: bool, whole_traces: bool) -> None:
    """Remove every record of one user: metrics and log_metrics rows and payloads, then audit it.

    By default every span and log record of the user's traces goes (the model-call and tool
    spans of a conversation, and the content events logged in them, hold the user's prompts
    without a user id); `--spans-only` keeps them.
    Run it after the sidecar has flushed (records still in its spool are reported and make the
    exit code 1); re-running is safe.
    """
    if spans_only and whole_traces:
        raise click.UsageError("--spans-only and --whole-traces contradict each other")
    from retention import erase as erasure

    tenant = valid_id(tenant, "tenant id", "--tenant")
    if user_id == "-":
        user_id = sys.stdin.readline().rstrip("\r\n")
    if not user_id.strip():
        raise click.BadParameter("must not be empty", param_hint="--user-id")
    # Never create a master secret here: a fresh one would give a pseudonym that matches nothing.
    master = cli.secret(create=False)
    pseudonym = erasure.pseudonym_for(master, tenant, user_id)
    del user_id
    store = cli.store
    spool_dir = cli.config.spool_dir()
    report = erasure.erase_user(store, tenant, pseudonym, dry_run=dry_run, spool_dir=spool_dir, whole_traces=not spans_only)
    if not dry_run:
        from retention.auditlog import write_audit
        from vault.audit import audit_key

        try:
            report.audit_key = write_audit(
                store,
                tenant,
                "subject.erase",
                key=audit_key(master),
                reason=f"subject erasure of {pseudonym}" + ("" if report.complete else " (incomplete: run again)"),
                counts={"complete": report.complete, "verified": report.verified, "whole_traces": report.whole_traces, **report.counts()},
                outcome="allowed" if report.metrics_rows_removed or report.payload_records_removed or report.evaluations_rows_removed else "not_found",
            )
        except (StoreError, ValueError) as exc:
            report.error("audit", f"audit record not written: {exc}")
    result = report.as_dict()
    result["spool"]["dir_exists"] = spool_dir.is_dir()
    _emit(result)
    if report.spool_pending_records:
        _fail(
            f"erasure incomplete: {report.spool_pending_records} records of this user are still in the spool "
            f"({spool_dir}); run erase again after the sidecar has flushed them"
        )
    if not report.complete:
        first = report.errors[0] if report.errors else {"key": "?", "error": "not verified"}
        _fail(f"erasure incomplete ({first['key']}: {first['error']}); run it again")


# ---------------------------------------------------------------------------------------------
# compact


@click.command("compact")
@with_context()
@click.option("--tenant", help="Only this tenant.")
@click.option("--env", help="Only this env (needs --tenant).")
@click.option("--date", "day_text", metavar="YYYY-MM-DD", help="Only this day's partitions.")
@click.option("--min-files", default=2, show_default=True, type=click.IntRange(2), help="Merge a partition only when it has this many small files.")
@cli_errors
def compact(cli: CliContext, tenant: str | None, env: str | None, day_text: str | None, min_files: int) -> None:
    """Merge the small metrics and log_metrics Parquet files of each partition into one (payloads untouched)."""
    from retention import compact as compaction

    tenant = _optional_id(tenant, "tenant id", "--tenant")
    env = _optional_id(env, "environment", "--env")
    if env is not None and tenant is None:
        raise click.BadParameter("--env needs --tenant", param_hint="--env")
    day = None
    if day_text is not None:
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise click.BadParameter("must be YYYY-MM-DD", param_hint="--date") from None
    store = cli.store
    try:
        report = compaction.compact(store, tenant=tenant, env=env, day=day, min_files=min_files)
    except StoreError as exc:
        raise click.ClickException(f"cannot list the store: {exc}") from None
    _emit(report.as_dict())
    if not report.complete:
        failed = [p for p in report.partitions if p.error]
        _fail(f"compaction incomplete: {len(failed)} partitions failed (first: {failed[0].partition}: {failed[0].error})")


COMMANDS = (retention_group, erase, compact)
