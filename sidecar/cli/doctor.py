"""`tracevault doctor`: check the installation without starting anything (sidecar/doctor.py)."""

from __future__ import annotations

import sys

import click

from sidecar.cli.context import CliContext, with_context


@click.command("doctor")
@with_context()
def doctor(cli: CliContext) -> None:
    """Check the config, master key, keyring, store, model, spool, and that nothing calls out."""
    from sidecar.doctor import FAIL, render, run_checks

    # Each check reports its own failure (a bad config is a failed check, not an error).
    results = run_checks(cli.config_path)
    render(results, click.echo)
    if any(r.status == FAIL for r in results):
        sys.exit(1)
