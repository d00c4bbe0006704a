"""`tracevault secrets add-known`: register a tenant's real credential by keyed digest.

The secret is read from standard input (one line), never from an argument, so that it stays out
of shell histories and process lists. Only its digest is written (redactors/known_secrets.py);
nothing printed contains the secret or the digest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from policies.config import ConfigError, load_config
from policies.resolve import PolicyError, PolicySet
from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from redactors.keys import MasterKeyError, load_master_secret
from redactors.known_secrets import KnownSecretsError, add_entry


@click.group("secrets")
def secrets_group() -> None:
    """Secret detection: a tenant's known secrets."""


@secrets_group.command("add-known")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
@click.option("--tenant", required=True, help="Tenant whose key the digest is made with.")
@click.option("--env", default="default", show_default=True, help="Environment whose policy names the digests file.")
@click.option("--file", "file_path", type=click.Path(dir_okay=False), help="Digests file; default: the policy's known_secrets_file.")
@click.option("--label", help="A note to keep with the entry (letters, digits, _ . : / -); never the secret.")
def add_known(config_path: str | None, tenant: str, env: str, file_path: str | None, label: str | None) -> None:
    """Read a secret from stdin and append its keyed digest to the tenant's digests file."""
    if not is_valid_id(tenant):
        raise click.BadParameter(f"must match {ID_PATTERN_TEXT}", param_hint="--tenant")
    try:
        config = load_config(config_path)
        path = Path(file_path or PolicySet(config).resolve(tenant, env).known_secrets_file)
        if not str(path) or str(path) == ".":
            raise click.ClickException(f"no digests file: pass --file or set known_secrets_file for tenant {tenant}")
        master = load_master_secret(config.keys.master_key_env, config.master_key_path())
        secret = sys.stdin.readline().rstrip("\r\n")
        add_entry(path, master, tenant, secret, label)
    except (ConfigError, PolicyError, MasterKeyError, KnownSecretsError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added a known-secret digest for tenant {tenant} to {path}; restart the sidecar to apply it")


def register(main: click.Group) -> None:
    """Add `secrets` to the `tracevault` command."""
    main.add_command(secrets_group)


__all__ = ["register", "secrets_group"]
