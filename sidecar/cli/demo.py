"""`tracevault demo`: send a GenAI trace to a running sidecar and show what it did (sidecar/demo.py)."""

from __future__ import annotations

import sys

import click

from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from sidecar.cli.context import CliContext, cli_errors, with_context

CONFIG_HELP = "The sidecar's config (for the local side of the comparison); none means the embedded defaults."


@click.command("demo")
@click.option("--url", default="http://127.0.0.1:14318", show_default=True, help="The sidecar's OTLP/HTTP base URL.")
@click.option("--tenant", default="demo", show_default=True, help="Tenant id sent in the tenant header.")
@with_context(help_text=CONFIG_HELP)
@cli_errors
def demo(url: str, tenant: str, cli: CliContext) -> None:
    """Send a GenAI trace with PII and a secret to a running sidecar; show what it does to it."""
    from sidecar.demo import render_plain, render_rich, run_demo

    if not is_valid_id(tenant):
        raise click.BadParameter(f"must match {ID_PATTERN_TEXT}", param_hint="--tenant")
    result = run_demo(url, tenant, cli.config_path)
    if sys.stdout.isatty():
        from rich.console import Console

        render_rich(result, cli.config_path, Console())
    else:
        render_plain(result, cli.config_path, click.echo)
