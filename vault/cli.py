"""`tracevault keys ...`: key management for the vault's key-encryption keys."""

from __future__ import annotations

import click

from policies.config import ConfigError, load_config
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
