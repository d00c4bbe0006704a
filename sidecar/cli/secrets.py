"""`tracevault secrets add-known`: register a tenant's real credential by keyed digest.

The secret is read from standard input (one line), never from an argument, so that it stays out
of shell histories and process lists. Only its digest is written (redactors/known_secrets.py,
docs/secrets.md); nothing printed contains the secret or the digest.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from redactors.known_secrets import KnownSecretsError, add_entry
from sidecar.cli.context import CliContext, cli_errors, valid_id, with_context


@click.group("secrets")
def secrets_group() -> None:
    """Secret detection: a tenant's known secrets."""


@secrets_group.command("add-known")
@with_context()
@click.option("--tenant", required=True, help="Tenant whose key the digest is made with.")
@click.option("--env", default="default", show_default=True, help="Environment whose policy names the digests file.")
@click.option("--file", "file_path", type=click.Path(dir_okay=False), help="Digests file; default: the policy's known_secrets_file.")
@click.option("--label", help="A note to keep with the entry (letters, digits, _ . : / -); never the secret.")
@cli_errors
def add_known(cli: CliContext, tenant: str, env: str, file_path: str | None, label: str | None) -> None:
    """Read a secret from stdin and append its keyed digest to the tenant's digests file."""
    tenant = valid_id(tenant, "tenant id", "--tenant")
    env = valid_id(env, "env id", "--env")
    path_text = file_path or cli.policies.resolve(tenant, env).known_secrets_file
    if not path_text:
        raise click.ClickException(f"no digests file: pass --file or set known_secrets_file for tenant {tenant}")
    path = Path(path_text)
    secret = sys.stdin.readline().rstrip("\r\n")
    try:
        add_entry(path, cli.secret(), tenant, secret, label)
    except KnownSecretsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added a known-secret digest for tenant {tenant} to {path}; restart the sidecar to apply it")


COMMANDS: tuple[click.Command, ...] = (secrets_group,)
