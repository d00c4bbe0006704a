"""`tracevault keys ...`: key management for the vault's key-encryption keys."""

from __future__ import annotations

import json

import click

from policies.config import Config, ConfigError, load_config
from policies.tenants import InvalidTenantId, validate_id
from redactors.keys import MasterKeyError, load_master_secret
from vault.keyring import KeyUnavailable, build_keyring


def _tenant(value: str) -> str:
    try:
        return validate_id(value, "tenant id")
    except InvalidTenantId as exc:
        raise click.BadParameter(str(exc), param_hint="--tenant") from None


@click.group("keys")
def keys_group() -> None:
    """Manage tenants' key-encryption keys."""


@keys_group.command("rotate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
@click.option("--tenant", required=True, help="Tenant whose key gets a new version.")
def rotate(config_path: str | None, tenant: str) -> None:
    """Start a new key version for new data; data written before stays readable."""
    tenant = _tenant(tenant)
    try:
        config = load_config(config_path)
        keyring = build_keyring(config, load_master_secret(config.keys.master_key_env, config.master_key_path()))
        key_id = keyring.rotate(tenant)
    except (ConfigError, MasterKeyError, KeyUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"tenant {tenant}: new data is now sealed to key {key_id}")


@keys_group.command("shred")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
@click.option("--tenant", required=True, help="Tenant whose key-encryption keys are destroyed.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def shred(config_path: str | None, tenant: str, yes: bool) -> None:
    """Destroy a tenant's key-encryption keys: every payload of the tenant becomes unreadable.

    The local keyring overwrites and deletes the private keys; KMS schedules the key's deletion
    (7 days, the minimum) and removes its alias, so new writes for the tenant fail at once.
    Other tenants are untouched. The act is audited first, in the tenant's audit log.
    """
    tenant = _tenant(tenant)
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if not yes:
        click.confirm(
            f"Destroy the key-encryption keys of tenant {tenant}? Every payload of this tenant becomes "
            "unreadable, for good",
            abort=True,
            err=True,
        )
    try:
        # KMS needs no master secret; the local keyring does, and must never get a fresh one here.
        master = b"" if config.keyring.type == "kms" else load_master_secret(
            config.keys.master_key_env, config.master_key_path(), create=False
        )
        keyring = build_keyring(config, master)
    except (MasterKeyError, KeyUnavailable, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
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
