"""`tracevault serve`, `tracevault redact` and `tracevault config-check`."""

from __future__ import annotations

import asyncio
from typing import IO

import click

from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from sidecar import otlp
from sidecar.cli.batch import BatchStats, Progress, stream
from sidecar.cli.context import CliContext, cli_errors, with_context
from sidecar.errors import InvalidRequest, PayloadTooLarge, Unavailable
from sidecar.workers import RedactedDocument, RedactionPool


@click.command()
@with_context()
@cli_errors
def serve(cli: CliContext) -> None:
    """Receive OTLP (HTTP :14318, gRPC :14317), redact, and hand the spans on."""
    from sidecar.server import serve as run

    config = cli.config
    try:
        asyncio.run(run(config))
    except OSError as exc:  # a port in use, a data dir that cannot be created
        raise click.ClickException(str(exc)) from None


def _workers(value: str | None, jsonl: bool) -> int | str:
    """`--workers`: auto, N or 0; by default auto for a stream (--jsonl), 0 for one document."""
    if value is None:
        return "auto" if jsonl else 0
    if value == "auto":
        return value
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        raise click.BadParameter("must be auto, 0 or a positive number of worker processes", param_hint="--workers")
    return count


def _pool(cli: CliContext, workers: int | str) -> RedactionPool:
    config = cli.config
    config = config.model_copy(update={"server": config.server.model_copy(update={"workers": workers})})
    try:
        # Line n on worker n mod N: the same output on every run. No threads here: the fork server may be forked.
        return RedactionPool(config, cli.secret(), lanes=True, may_fork=True)
    except ValueError as exc:  # a bad rule in the redaction settings
        raise click.ClickException(str(exc)) from None


async def _one_document(pool: RedactionPool, text: str, tenant: str | None, chosen: str | None) -> RedactedDocument:
    try:
        await pool.warm_up()
        return await pool.redact_document(text, tenant, chosen)
    finally:
        pool.shutdown()


async def _stream(pool: RedactionPool, input_file: IO[str], tenant: str | None, chosen: str | None, window: int) -> BatchStats:
    progress = Progress()
    try:
        return await stream(pool, input_file, click.echo, window, tenant, progress.update, chosen)
    finally:
        progress.close()
        pool.shutdown()


@click.command()
@with_context()
@click.option("--tenant", help="Tenant id, as if sent in the tenant header.")
@click.option(
    "--signal",
    "chosen",
    type=click.Choice(sorted(otlp.SIGNALS)),
    help="What the input holds; default: detected per request (resourceSpans or resourceLogs).",
)
@click.option("--jsonl", is_flag=True, help="One OTLP/JSON request per line; answers line for line, in order.")
@click.option(
    "--workers", metavar="auto|N|0",
    help="Redaction worker processes, as `server.workers` of the service: auto is one per core, 0 redacts in "
    "this process. Default: auto with --jsonl, else 0.",
)  # fmt: skip
@click.option(
    "--max-in-flight", type=click.IntRange(min=1), default=None,
    help="With --jsonl: most lines held at once (read, not yet written). Default: twice the workers.",
)  # fmt: skip
@click.argument("input_file", default="-", type=click.File("r", encoding="utf-8"))
@cli_errors
def redact(
    cli: CliContext, tenant: str | None, chosen: str | None, jsonl: bool, workers: str | None, max_in_flight: int | None, input_file: IO[str]
) -> None:
    """Redact an OTLP/JSON ExportTraceServiceRequest or ExportLogsServiceRequest exactly as the
    service does; print it."""
    if tenant is not None and not is_valid_id(tenant):
        raise click.BadParameter(f"must match {ID_PATTERN_TEXT}", param_hint="--tenant")
    pool = _pool(cli, _workers(workers, jsonl))
    if not jsonl:
        try:
            done = asyncio.run(_one_document(pool, input_file.read(), tenant, chosen))
        except (InvalidRequest, PayloadTooLarge, Unavailable) as exc:
            raise click.ClickException(str(exc)) from None
        if done.rejected:
            click.echo(f"tracevault: {done.rejected} {done.noun} refused: {done.reason}", err=True)
        if done.failed_closed:
            click.echo("tracevault: redaction passed its deadline or memory limit; every value was masked", err=True)
        click.echo(done.text)
        return
    stats = asyncio.run(_stream(pool, input_file, tenant, chosen, max_in_flight or 2 * pool.size))
    for message in stats.messages:
        click.echo(f"tracevault: {message}", err=True)
    if stats.rejected:
        click.echo(f"tracevault: {stats.rejected} spans or log records refused (invalid tenant ids)", err=True)
    if stats.errors:
        raise click.ClickException(f"{stats.errors} line(s) were not redacted (not valid OTLP/JSON, or the worker died twice)")


@click.command("config-check")
@with_context(required=True, help_text=None)
@cli_errors
def config_check(cli: CliContext) -> None:
    """Validate a config file and its policies without starting anything."""
    click.echo(f"{cli.config_path}: ok ({len(cli.policies.compiled())} policies)")
