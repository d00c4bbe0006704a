"""`tracevault keys ...`: key management for the vault's key-encryption keys."""

from __future__ import annotations

import json

import click

from policies.config import Config
from policies.keys import MasterKeyError, load_master_secret
from sidecar.cli.context import CliContext, cli_errors, valid_id, with_context
from vault.keyring import KeyUnavailable


@click.group("keys")
def keys_group() -> None:
    """Manage tenants' key-encryption keys."""


@keys_group.command("rotate")
@with_context()
@click.option("--tenant", required=True, help="Tenant whose key gets a new version.")
@cli_errors
def rotate(cli: CliContext, tenant: str) -> None:
    """Start a new key version for new data; data written before stays readable."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    key_id = cli.keyring().rotate(tenant)
    click.echo(f"tenant {tenant}: new data is now sealed to key {key_id}")


@keys_group.command("shred")
@with_context()
@click.option("--tenant", required=True, help="Tenant whose key-encryption keys are destroyed.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@cli_errors
def shred(cli: CliContext, tenant: str, yes: bool) -> None:
    """Destroy a tenant's key-encryption keys: every payload of the tenant becomes unreadable.

    The local keyring overwrites and deletes the private keys; KMS schedules the key's deletion
    (7 days, the minimum) and removes its alias, so new writes for the tenant fail at once.
    Other tenants are untouched. The act is audited first, in the tenant's audit log.
    """
    tenant = valid_id(tenant, "tenant id", "--tenant")
    config = cli.config
    if not yes:
        click.confirm(
            f"Destroy the key-encryption keys of tenant {tenant}? Every payload of this tenant becomes "
            "unreadable, for good",
            abort=True,
            err=True,
        )
    # The local keyring must never get a fresh master secret here.
    keyring = cli.keyring(create_secret=False)
    # Audit first: an irreversible act that cannot be audited is not done.
    try:
        audit_key = _audit_shred(config, tenant)
    except Exception as exc:  # noqa: BLE001 - store down, no permission: name the type only
        raise click.ClickException(f"audit record not written ({type(exc).__name__}: {exc}); nothing was shredded") from None
    try:
        keyring.shred(tenant)
    except (KeyUnavailable, ValueError) as exc:
        raise click.ClickException(f"{exc} (the audit record {audit_key} says a shred was started; run it again)") from None
    click.echo(json.dumps({"command": "keys shred", "tenant": tenant, "keyring": config.keyring.type, "shredded": True, "audit_key": audit_key}))


def _audit_shred(config: Config, tenant: str) -> str:
    """One record in the tenant's audit log (`vault.audit`); returns its key."""
    import getpass
    from datetime import UTC, datetime

    from vault import layout
    from vault.audit import AuditLog, audit_key, record_hash
    from vault.store import open_store

    try:
        actor = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        actor = "unknown"
    try:
        key: bytes | None = audit_key(load_master_secret(config.keys.master_key_env, config.master_key_path(), create=False))
    except MasterKeyError:
        key = None  # a KMS keyring needs no master secret: the record goes in unsigned, and verify says so
        click.echo("warning: no master secret here, so the audit record is not signed; `tracevault audit verify` will report it", err=True)
    record = AuditLog(open_store(config), key=key).append(
        tenant,
        action="key.shred",
        principal=actor,
        reason=f"crypto-shredding of the tenant's key-encryption keys ({config.keyring.type} keyring)",
        asked={"tenant": tenant},
        outcome="allowed",
        rule=None,
        spans=None,
    )
    day = datetime.fromisoformat(record["time"].replace("Z", "+00:00")).astimezone(UTC).date()
    return layout.audit_key(tenant, day, f"{record['seq']:012d}-{record_hash(record)[:16]}")
