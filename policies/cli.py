"""`tracevault grant|payload|audit|access ...`: grants, audited payload reads, the audit chain and
IAM policies for teams that read the bucket directly. `register(main)` adds the groups."""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import click

from policies.config import Config, ConfigError, load_config
from policies.grant_keys import GrantKeyError, GrantKeys, grant_keys_dir
from policies.grants import (
    JTI,
    GrantError,
    GrantRegistry,
    issue_grant,
    parse_time,
    parse_ttl,
)
from policies.tenants import InvalidTenantId, validate_id
from redactors.keys import MasterKeyError, load_master_secret
from vault.keyring import KeyUnavailable
from vault.store import StoreError

CONFIG_OPTION = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults."
)
TOKEN_HELP = "The grant token; '-' reads it from stdin (keeps it out of the process list and shell history)."


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _secret(config: Config) -> bytes:
    try:
        return load_master_secret(config.keys.master_key_env, config.master_key_path())
    except MasterKeyError as exc:
        raise click.ClickException(str(exc)) from None


def _id(value: str, what: str, hint: str) -> str:
    try:
        return validate_id(value, what)
    except InvalidTenantId as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _token(value: str) -> str:
    if value == "-":
        value = sys.stdin.readline()
    return value.strip()


def _store(config: Config):
    from vault.store import open_store

    try:
        return open_store(config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _echo_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False, default=str))


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
@CONFIG_OPTION
@click.option("--tenant", required=True, help="The tenant whose data the grant covers.")
@click.option("--env", "envs", multiple=True, required=True, help="An environment it covers (repeatable).")
@click.option("--principal", required=True, help="Who may use it (a person or service).")
@click.option("--reason", required=True, help="Why (a ticket, an incident); copied into every audit record.")
@click.option("--ttl", default=None, help="Lifetime: seconds, or 90s, 15m, 1h, 2d. Default: access.default_ttl_seconds.")
@click.option("--from", "window_from", default=None, help="Start of the data window (ISO 8601 or epoch s). Default: a day before now.")
@click.option("--to", "window_to", default=None, help="End of the data window. Default: the grant's expiry.")
@click.option("--trace-id", "trace_ids", multiple=True, help="Only this trace (repeatable).")
def grant_issue(config_path: str | None, tenant: str, envs: tuple[str, ...], principal: str, reason: str, ttl: str | None, window_from: str | None, window_to: str | None, trace_ids: tuple[str, ...]) -> None:
    """Sign a grant and print the token on stdout (the summary goes to stderr)."""
    tenant = _id(tenant, "tenant id", "--tenant")
    envs = tuple(_id(env, "environment id", "--env") for env in envs)
    config = _config(config_path)
    secret = _secret(config)
    try:
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
    except GrantError as exc:
        raise click.ClickException(str(exc)) from None
    store = _store(config)
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
@CONFIG_OPTION
@click.argument("grant_id")
@click.option("--reason", default="", help="Why it is revoked.")
def grant_revoke(config_path: str | None, grant_id: str, reason: str) -> None:
    """Revoke a grant by id: every instance refuses it from then on (within a few seconds)."""
    grant_id = grant_id.strip().lower()
    if not JTI.fullmatch(grant_id):
        raise click.BadParameter("a grant id is 32 hex digits", param_hint="GRANT_ID")
    config = _config(config_path)
    store = _store(config)
    secret = _secret(config)
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
@CONFIG_OPTION
@click.option("--tenant", required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def grant_list(config_path: str | None, tenant: str, as_json: bool) -> None:
    """Grants issued for a tenant (claims only, never tokens), with their status."""
    tenant = _id(tenant, "tenant id", "--tenant")
    config = _config(config_path)
    store = _store(config)
    from vault.revocations import Revocations

    try:
        entries = GrantRegistry(store).list(tenant)
        revoked = Revocations(store).all()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
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
        _echo_json(entries)
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
@CONFIG_OPTION
def grant_keys_rotate(config_path: str | None) -> None:
    """Sign new grants with a new key; grants signed before keep verifying until their key is retired."""
    config = _config(config_path)
    try:
        kid = GrantKeys(grant_keys_dir(config), _secret(config)).rotate()
    except GrantKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new grants are signed with key {kid}")


@grant_keys_group.command("retire")
@CONFIG_OPTION
@click.argument("kid")
def grant_keys_retire(config_path: str | None, kid: str) -> None:
    """Refuse every grant signed by KID (not the active key: rotate first)."""
    config = _config(config_path)
    try:
        GrantKeys(grant_keys_dir(config), _secret(config)).retire(kid.strip())
    except GrantKeyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {kid.strip()} retired: grants it signed are refused (unknown_key)")


@grant_keys_group.command("list")
@CONFIG_OPTION
def grant_keys_list(config_path: str | None) -> None:
    """Key ids and their status (active, verify-only, retired). No key material."""
    config = _config(config_path)
    try:
        infos = GrantKeys(grant_keys_dir(config), _secret(config)).list()
    except GrantKeyError as exc:
        raise click.ClickException(str(exc)) from None
    if not infos:
        click.echo("no grant keys yet (the first `grant issue` creates one)")
    for info in infos:
        click.echo(f"{info.kid}  {info.status}" + (f"  created {info.created}" if info.created else ""))


# ---------------------------------------------------------------------------------------------
# payload


@click.group("payload")
def payload_group() -> None:
    """Read payloads with a grant; every attempt is audited."""


def _access(config: Config):
    from policies.access import AccessService

    try:
        return AccessService.from_config(config, _secret(config), store=_store(config))
    except (KeyUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


def _answer(result: Any) -> None:
    if result.status == 200:
        _echo_json(result.body)
        if result.body.get("warning"):
            click.echo(f"warning: {result.body['warning']}", err=True)
        return
    if result.outcome == "tampered":
        raise click.ClickException(f"tampered: {result.body.get('message')}")
    if result.rule:
        raise click.ClickException(f"refused ({result.rule}): {result.body.get('message')}")
    raise click.ClickException(str(result.body.get("message", "not found")))


@payload_group.command("get")
@CONFIG_OPTION
@click.option("--token", required=True, envvar="TRACEVAULT_GRANT_TOKEN", help=TOKEN_HELP + " Env: TRACEVAULT_GRANT_TOKEN.")
@click.option("--trace-id", required=True, help="Trace id (32 hex digits).")
@click.option("--span-id", default=None, help="Only this span (16 hex digits).")
@click.option("--tenant", default=None, help="The data's tenant (default: the grant's).")
@click.option("--env", default=None, help="Only this environment.")
def payload_get(config_path: str | None, token: str, trace_id: str, span_id: str | None, tenant: str | None, env: str | None) -> None:
    """Print the decrypted payload records of a trace (or one span) as JSON."""
    config = _config(config_path)
    access = _access(config)
    try:
        result = access.get_payloads(_token(token), trace_id, span_id, tenant=tenant, env=env)
    except GrantError as exc:
        raise click.BadParameter(str(exc)) from None
    except (StoreError, KeyUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    _answer(result)


@payload_group.command("list")
@CONFIG_OPTION
@click.option("--token", required=True, envvar="TRACEVAULT_GRANT_TOKEN", help=TOKEN_HELP + " Env: TRACEVAULT_GRANT_TOKEN.")
@click.option("--env", default=None, help="Only this environment.")
def payload_list(config_path: str | None, token: str, env: str | None) -> None:
    """List what the grant can reach: trace ids, times and spans from the metrics, no content."""
    config = _config(config_path)
    access = _access(config)
    try:
        result = access.list_reachable(_token(token), env=env)
    except GrantError as exc:
        raise click.BadParameter(str(exc)) from None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    _answer(result)


# ---------------------------------------------------------------------------------------------
# audit


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit log of payload access."""


def _audit_log(config: Config):
    """The tenant chains, with the audit key (from the master secret) that checks signatures."""
    from vault.audit import AuditLog, audit_key

    try:
        secret = load_master_secret(config.keys.master_key_env, config.master_key_path(), create=False)
    except MasterKeyError as exc:
        raise click.ClickException(f"{exc} (the audit key is derived from it)") from None
    return AuditLog(_store(config), key=audit_key(secret))


@audit_group.command("verify")
@CONFIG_OPTION
@click.option("--tenant", required=True)
@click.option("--now", "now_text", default=None, help="Check retention as at this time (ISO 8601 or epoch s); default: now.")
def audit_verify(config_path: str | None, tenant: str, now_text: str | None) -> None:
    """Check the tenant's chain: exit 1 and name the seq when a record was edited, deleted,
    reordered, forged or forked, or the end of the chain is not anchored by the signed head.
    Records missing from the start are accepted only when the tenant's audit_days had made them due."""
    from policies.resolve import PolicyError, PolicySet

    tenant = _id(tenant, "tenant id", "--tenant")
    try:
        now = parse_time(now_text, "--now") if now_text else None
    except GrantError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    config = _config(config_path)
    try:
        audit_days = PolicySet(config).audit_days(tenant)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        report = _audit_log(config).verify(tenant, audit_days=audit_days, now=now)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
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
@CONFIG_OPTION
@click.option("--tenant", required=True)
@click.option("--since", default=None, help="Only records from this time on (ISO 8601 or epoch s).")
def audit_show(config_path: str | None, tenant: str, since: str | None) -> None:
    """Print the tenant's genuine audit records, one JSON object per line, oldest first.

    Objects that are not genuine records (another name, a content that does not match its name,
    no valid signature) are left out and counted on stderr; `audit verify` names them."""
    tenant = _id(tenant, "tenant id", "--tenant")
    try:
        since_time = parse_time(since, "--since") if since else None
    except GrantError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        listing = _audit_log(_config(config_path)).read(tenant, since_time)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    for record in listing.records:
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))
    if listing.skipped:
        click.echo(f"warning: {listing.skipped} object(s) under the tenant's audit prefix are not genuine records and were not shown; run `tracevault audit verify`", err=True)


@audit_group.command("security")
@CONFIG_OPTION
@click.option("--since", default=None, help="Only records from this time on (ISO 8601 or epoch s).")
def audit_security(config_path: str | None, since: str | None) -> None:
    """Print the security log: refusals of tokens whose claims could not be verified (forged,
    unsigned or malformed), kept out of the tenants' chains. One JSON object per line."""
    from vault.securitylog import SecurityLog

    try:
        since_time = parse_time(since, "--since") if since else None
    except GrantError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    try:
        records = SecurityLog(_store(_config(config_path))).show(since_time)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    for record in records:
        click.echo(json.dumps(record, ensure_ascii=False, sort_keys=True))


# ---------------------------------------------------------------------------------------------
# access


@click.group("access")
def access_group() -> None:
    """Access outside tracevault: IAM policies for teams that read the bucket directly."""


def iam_policy(config: Config, tenant: str, env: str | None = None) -> dict[str, Any]:
    """An IAM policy allowing only the tenant's (env's) metrics and payload prefixes in the
    configured S3 bucket, and kms:Decrypt only under the tenant's encryption context."""
    parts = urlsplit(config.store_url())
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("iam-policy needs an s3:// storage.url")
    bucket = parts.netloc
    base = unquote(parts.path).strip("/")
    prefixes = []
    for kind in ("metrics", "payloads"):
        prefix = f"{kind}/tenant={tenant}/" + (f"env={env}/" if env else "")
        prefixes.append(f"{base}/{prefix}" if base else prefix)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ListTenantPrefixes",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [p + "*" for p in prefixes]}},
        },
        {
            "Sid": "ReadTenantObjects",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes],
        },
    ]
    context: dict[str, str] = {"kms:EncryptionContext:tracevault:tenant": tenant}
    if env:
        context["kms:EncryptionContext:tracevault:env"] = env
    decrypt: dict[str, Any] = {
        "Sid": "DecryptTenantDataKeys",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": context},
    }
    key_ref = config.keyring.kms_key_id.replace("{tenant}", tenant)
    if key_ref.startswith("arn:"):
        decrypt["Resource"] = key_ref
    elif key_ref.startswith("alias/"):
        decrypt["Condition"]["ForAnyValue:StringEquals"] = {"kms:ResourceAliases": key_ref}
    statements.append(decrypt)
    if config.storage.sse_kms_key_id:
        statements.append(
            {
                "Sid": "DecryptBucketSseForTenantObjects",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": config.storage.sse_kms_key_id,
                "Condition": {"StringLike": {"kms:EncryptionContext:aws:s3:arn": [f"arn:aws:s3:::{bucket}/{p}*" for p in prefixes]}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


@access_group.command("iam-policy")
@CONFIG_OPTION
@click.option("--tenant", required=True)
@click.option("--env", default=None, help="Only this environment's prefixes and encryption context.")
def access_iam_policy(config_path: str | None, tenant: str, env: str | None) -> None:
    """Print an AWS IAM policy for reading one tenant's data straight from the bucket."""
    tenant = _id(tenant, "tenant id", "--tenant")
    if env is not None:
        env = _id(env, "environment id", "--env")
    config = _config(config_path)
    try:
        document = iam_policy(config, tenant, env)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if config.keyring.type != "kms":
        click.echo("note: keyring.type is local: payloads are sealed to local keys, so this policy yields ciphertext only", err=True)
    click.echo("note: reads straight from the bucket bypass grants and tracevault's audit (use CloudTrail data events)", err=True)
    _echo_json(document)


def register(main: click.Group) -> None:
    """Add the access groups to the `tracevault` command."""
    for group in (grant_group, payload_group, audit_group, access_group):
        main.add_command(group)
