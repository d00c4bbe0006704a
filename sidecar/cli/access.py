"""`tracevault grant|payload|audit|access ...`: grants, audited payload reads, the audit chain and
IAM policies for teams that read the bucket directly."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from access.grant_keys import GrantKeys, grant_keys_dir
from access.grants import (
    JTI,
    GrantError,
    GrantRegistry,
    issue_grant,
    parse_time,
    parse_ttl,
)
from access.iam import iam_policy
from policies.keys import MasterKeyError
from sidecar.cli.context import CliContext, cli_errors, echo_json, valid_id, with_context
from vault.store import StoreError

TOKEN_HELP = "The grant token; '-' reads it from stdin (keeps it out of the process list and shell history)."


def _token(value: str) -> str:
    if value == "-":
        value = sys.stdin.readline()
    return value.strip()


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# ---------------------------------------------------------------------------------------------
# grant


@click.group("grant")
def grant_group() -> None:
    """Issue, revoke and list access grants (signed, scoped tokens)."""


@grant_group.command("issue")
@with_context()
@click.option("--tenant", required=True, help="The tenant whose data the grant covers.")
@click.option("--env", "envs", multiple=True, required=True, help="An environment it covers (repeatable).")
@click.option("--principal", required=True, help="Who may use it (a person or service).")
@click.option("--reason", required=True, help="Why (a ticket, an incident); copied into every audit record.")
@click.option("--ttl", default=None, help="Lifetime: seconds, or 90s, 15m, 1h, 2d. Default: access.default_ttl_seconds.")
@click.option("--from", "window_from", default=None, help="Start of the data window (ISO 8601 or epoch s). Default: a day before now.")
@click.option("--to", "window_to", default=None, help="End of the data window. Default: the grant's expiry.")
@click.option("--trace-id", "trace_ids", multiple=True, help="Only this trace (repeatable).")
@cli_errors
def grant_issue(cli: CliContext, tenant: str, envs: tuple[str, ...], principal: str, reason: str, ttl: str | None, window_from: str | None, window_to: str | None, trace_ids: tuple[str, ...]) -> None:
    """Sign a grant and print the token on stdout (the summary goes to stderr)."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    envs = tuple(valid_id(env, "environment id", "--env") for env in envs)
    config = cli.config
    secret = cli.secret()
    ttl_seconds = parse_ttl(ttl) if ttl is not None else config.access.default_ttl_seconds
    token, grant = issue_grant(
        GrantKeys(grant_keys_dir(config), secret),
        issuer=config.access.issuer,
        tenant=tenant,
        envs=envs,
        principal=principal,
        reason=reason,
        ttl_seconds=ttl_seconds,
        max_ttl_seconds=config.access.max_ttl_seconds,
        window_from=window_from,
        window_to=window_to,
        trace_ids=trace_ids or None,
    )
    store = cli.store
    try:
        GrantRegistry(store).record(grant)
        from vault.audit import AuditLog, audit_key

        AuditLog(store, key=audit_key(secret)).append(
            tenant,
            action="grant.issue",
            principal=grant.principal,
            grant_id=grant.jti,
            reason=grant.reason,
            asked={"tenant": tenant, "envs": list(grant.envs), "window": [grant.describe()["window"]["from"], grant.describe()["window"]["to"]]},
            outcome="allowed",
            rule=None,
            spans={},
            claims_verified=True,
        )
    except StoreError as exc:
        raise click.ClickException(f"the grant was not recorded: {exc}") from None
    described = grant.describe()
    click.echo(
        f"grant {grant.jti} for {grant.principal}: tenant {tenant}, envs {', '.join(grant.envs)}, "
        f"data {described['window']['from']} .. {described['window']['to']}, expires {described['exp']}",
        err=True,
    )
    click.echo(token)


@grant_group.command("revoke")
@with_context()
@click.argument("grant_id")
@click.option("--reason", default="", help="Why it is revoked.")
@cli_errors
def grant_revoke(cli: CliContext, grant_id: str, reason: str) -> None:
    """Revoke a grant by id: every instance refuses it from then on (within a few seconds)."""
    grant_id = grant_id.strip().lower()
    if not JTI.fullmatch(grant_id):
        raise click.BadParameter("a grant id is 32 hex digits", param_hint="GRANT_ID")
    store = cli.store
    secret = cli.secret()
    from vault.audit import AuditLog, audit_key
    from vault.revocations import Revocations

    try:
        entry = GrantRegistry(store).find(grant_id)
        document = Revocations(store).revoke(grant_id, by=_operator(), reason=reason)
        tenant = entry.get("tenant") if entry else None
        if isinstance(tenant, str):
            AuditLog(store, key=audit_key(secret)).append(
                tenant,
                action="grant.revoke",
                principal=entry.get("sub") if entry else None,
                grant_id=grant_id,
                reason=reason or None,
                asked={"tenant": tenant},
                outcome="allowed",
                rule=None,
                spans={},
                claims_verified=True,
            )
    except (StoreError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if entry is None:
        click.echo(f"warning: grant {grant_id} is not in the registry; revoked anyway", err=True)
    click.echo(f"grant {grant_id} revoked at {document['revoked_at']}")


@grant_group.command("list")
@with_context()
@click.option("--tenant", required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@cli_errors
def grant_list(cli: CliContext, tenant: str, as_json: bool) -> None:
    """Grants issued for a tenant (claims only, never tokens), with their status."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    store = cli.store
    from vault.revocations import Revocations

    entries = GrantRegistry(store).list(tenant)
    revoked = Revocations(store).all()
    now = datetime.now(UTC)
    for entry in entries:
        if entry.get("jti") in revoked:
            entry["status"] = "revoked"
        else:
            try:
                entry["status"] = "expired" if parse_time(str(entry.get("exp"))) <= now else "active"
            except GrantError:
                entry["status"] = "unknown"
    if as_json:
        echo_json(entries)
        return
    if not entries:
        click.echo(f"no grants issued for tenant {tenant}")
        return
    for entry in entries:
        window = entry.get("window") or {}
        traces = entry.get("trace_ids")
        click.echo(
            f"{entry.get('jti')}  {entry.get('status'):<8} {entry.get('sub')}  envs={','.join(entry.get('envs') or [])}  "
            f"data={window.get('from')}..{window.get('to')}  expires={entry.get('exp')}"
            + (f"  traces={len(traces)}" if traces else "")
            + f"  reason={entry.get('reason')!r}"
        )


@grant_group.group("keys")
def grant_keys_group() -> None:
    """The Ed25519 keys that sign grants."""


@grant_keys_group.command("rotate")
@with_context()
@cli_errors
def grant_keys_rotate(cli: CliContext) -> None:
    """Sign new grants with a new key; grants signed before keep verifying until their key is retired."""
    kid = GrantKeys(grant_keys_dir(cli.config), cli.secret()).rotate()
    click.echo(f"new grants are signed with key {kid}")


@grant_keys_group.command("retire")
@with_context()
@click.argument("kid")
@cli_errors
def grant_keys_retire(cli: CliContext, kid: str) -> None:
    """Refuse every grant signed by KID (not the active key: rotate first)."""
    GrantKeys(grant_keys_dir(cli.config), cli.secret()).retire(kid.strip())
    click.echo(f"key {kid.strip()} retired: grants it signed are refused (unknown_key)")


@grant_keys_group.command("list")
@with_context()
@cli_errors
def grant_keys_list(cli: CliContext) -> None:
    """Key ids and their status (active, verify-only, retired). No key material."""
    infos = GrantKeys(grant_keys_dir(cli.config), cli.secret()).list()
    if not infos:
        click.echo("no grant keys yet (the first `grant issue` creates one)")
    for info in infos:
        click.echo(f"{info.kid}  {info.status}" + (f"  created {info.created}" if info.created else ""))


# ---------------------------------------------------------------------------------------------
# payload


@click.group("payload")
def payload_group() -> None:
    """Read payloads with a grant; every attempt is audited."""


def _access(cli: CliContext):
    from access.service import AccessService

    try:
        return AccessService.from_config(cli.config, cli.secret(), store=cli.store)
    except ValueError as exc:  # a keyring the config cannot build
        raise click.ClickException(str(exc)) from None


def _answer(result: Any) -> None:
    if result.status == 200:
        echo_json(result.body)
        if result.body.get("warning"):
            click.echo(f"warning: {result.body['warning']}", err=True)
        return
    if result.outcome == "tampered":
        raise click.ClickException(f"tampered: {result.body.get('message')}")
    if result.rule:
        raise click.ClickException(f"refused ({result.rule}): {result.body.get('message')}")
    raise click.ClickException(str(result.body.get("message", "not found")))


@payload_group.command("get")
@with_context()
@click.option("--token", required=True, envvar="TRACEVAULT_GRANT_TOKEN", help=TOKEN_HELP + " Env: TRACEVAULT_GRANT_TOKEN.")
@click.option("--trace-id", default=None, help="Trace id (32 hex digits); for a log record without a trace, its record id.")
@click.option("--span-id", default=None, help="Only this span and the log records emitted in it (16 hex digits).")
@click.option("--ref", "reference", default=None, help="Instead of --trace-id: a tracevault:// reference from a forwarded span; prints the value it names.")
@click.option("--tenant", default=None, help="The data's tenant (default: the grant's).")
@click.option("--env", default=None, help="Only this environment.")
@cli_errors
def payload_get(cli: CliContext, token: str, trace_id: str | None, span_id: str | None, reference: str | None, tenant: str | None, env: str | None) -> None:
    """Print the decrypted payload records of a trace's spans and log records (or one span's), or
    the value a reference names, as JSON."""
    if (trace_id is None) == (reference is None):
        raise click.UsageError("give either --trace-id or --ref")
    if reference is not None and (span_id or tenant or env):
        raise click.UsageError("--ref names its tenant, env, trace and span itself: no --span-id, --tenant or --env with it")
    access = _access(cli)
    try:
        if reference is not None:
            result = access.get_reference(_token(token), reference)
        else:
            assert trace_id is not None
            result = access.get_payloads(_token(token), trace_id, span_id, tenant=tenant, env=env)
    except GrantError as exc:  # a malformed token, id or reference is a usage error (exit 2)
        raise click.BadParameter(str(exc)) from None
    _answer(result)


@payload_group.command("list")
@with_context()
@click.option("--token", required=True, envvar="TRACEVAULT_GRANT_TOKEN", help=TOKEN_HELP + " Env: TRACEVAULT_GRANT_TOKEN.")
@click.option("--env", default=None, help="Only this environment.")
@cli_errors
def payload_list(cli: CliContext, token: str, env: str | None) -> None:
    """List what the grant can reach: trace ids, times, spans and log records from the metrics, no content."""
    access = _access(cli)
    try:
        result = access.list_reachable(_token(token), env=env)
    except GrantError as exc:  # a malformed token is a usage error (exit 2)
        raise click.BadParameter(str(exc)) from None
    _answer(result)


# ---------------------------------------------------------------------------------------------
# audit


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log of payload access."""


def _audit_log(cli: CliContext):
    """The tenant chains, with the audit key (from the master secret) that checks signatures."""
    from vault.audit import AuditLog, audit_key

    try:
        secret = cli.secret(create=False)
    except MasterKeyError as exc:
        raise click.ClickException(f"{exc} (the audit key is derived from it)") from None
    return AuditLog(cli.store, key=audit_key(secret))


def _since(value: str | None, hint: str) -> datetime | None:
    try:
        return parse_time(value, hint) if value else None
    except GrantError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


@audit_group.command("verify")
@with_context()
@click.option("--tenant", required=True)
@click.option("--now", "now_text", default=None, help="Check retention as at this time (ISO 8601 or epoch s); default: now.")
@cli_errors
def audit_verify(cli: CliContext, tenant: str, now_text: str | None) -> None:
    """Check the tenant's chain: exit 1 and name the seq when a record was edited, deleted,
    reordered, forged or forked, or the end of the chain is not anchored by the signed head.
    Records missing from the start are accepted only when the tenant's audit_days had made them due."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    now = _since(now_text, "--now")
    audit_days = cli.policies.audit_days(tenant)
    report = _audit_log(cli).verify(tenant, audit_days=audit_days, now=now)
    for note in report.notes:
        click.echo(f"note: {note}")
    if report.ok:
        span = f" (seq {report.first_seq}..{report.last_seq})" if report.records else ""
        click.echo(f"audit chain of tenant {tenant}: ok, {report.records} records{span}, audit_days {audit_days}")
        return
    for problem in report.problems:
        click.echo(f"problem: {problem}")
    raise click.ClickException(f"audit chain of tenant {tenant} is broken: {len(report.problems)} problem(s)")


@audit_group.command("show")
@with_context()
@click.option("--tenant", required=True)
@click.option("--since", default=None, help="Only records from this time on (ISO 8601 or epoch s).")
@cli_errors
def audit_show(cli: CliContext, tenant: str, since: str | None) -> None:
    """Print the tenant's genuine audit records, one JSON object per line, oldest first.

    Objects that are not genuine records (another name, a content that does not match its name,
    no valid signature) are left out and counted on stderr; `audit verify` names them."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    since_time = _since(since, "--since")
    listing = _audit_log(cli).read(tenant, since_time)
    for record in listing.records:
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))
    if listing.skipped:
        click.echo(f"warning: {listing.skipped} object(s) under the tenant's audit prefix are not genuine records and were not shown; run `tracevault audit verify`", err=True)


@audit_group.command("security")
@with_context()
@click.option("--since", default=None, help="Only records from this time on (ISO 8601 or epoch s).")
@cli_errors
def audit_security(cli: CliContext, since: str | None) -> None:
    """Print the security log: refusals of tokens whose claims could not be verified (forged,
    unsigned or malformed), kept out of the tenants' chains. One JSON object per line."""
    from vault.securitylog import SecurityLog

    since_time = _since(since, "--since")
    for record in SecurityLog(cli.store).show(since_time):
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))


# ---------------------------------------------------------------------------------------------
# access


@click.group("access")
def access_group() -> None:
    """Access outside tracevault: IAM policies for teams that read the bucket directly."""


@access_group.command("iam-policy")
@with_context()
@click.option("--tenant", required=True)
@click.option("--env", default=None, help="Only this environment's prefixes and encryption context.")
@cli_errors
def access_iam_policy(cli: CliContext, tenant: str, env: str | None) -> None:
    """Print an AWS IAM policy for reading one tenant's data straight from the bucket."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    if env is not None:
        env = valid_id(env, "environment id", "--env")
    config = cli.config
    try:
        document = iam_policy(config, tenant, env)
    except ValueError as exc:  # not an s3:// store
        raise click.ClickException(str(exc)) from None
    if config.keyring.type != "kms":
        click.echo("note: keyring.type is local: payloads are sealed to local keys, so this policy yields ciphertext only", err=True)
    click.echo("note: reads straight from the bucket bypass grants and tracevault's audit (use CloudTrail data events)", err=True)
    echo_json(document)


GROUPS = (grant_group, payload_group, audit_group, access_group)
