"""`tracevault serve`, `tracevault redact` and `tracevault config-check`."""

from __future__ import annotations

import asyncio
import json
from typing import IO

import click

from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from redactors.engine import Redactor
from sidecar import otlp
from sidecar.cli.context import CliContext, cli_errors, with_context
from sidecar.errors import InvalidRequest
from sidecar.transform import redact_request


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


def _redactor(cli: CliContext) -> Redactor:
    try:
        return Redactor.build(cli.config, cli.secret())
    except ValueError as exc:  # a bad rule in the redaction settings
        raise click.ClickException(str(exc)) from None


def _signal(document: object, chosen: str | None) -> otlp.Signal:
    """The signal of a document: its top-level key (resourceSpans or resourceLogs), which
    `--signal` must agree with; a document with neither is of `--signal`, else a trace request."""
    present = otlp.signals_in_document(document)
    if len(present) > 1:
        raise InvalidRequest("the request holds both resourceSpans and resourceLogs; send one signal per request")
    if chosen is None:
        return present[0] if present else otlp.TRACES
    if present and present[0].name != chosen:
        raise InvalidRequest(f"the request holds {present[0].json_resources}, not the {chosen} that --signal names")
    return otlp.SIGNALS[chosen]


def _redact_document(redactor: Redactor, cli: CliContext, text: str, tenant: str | None, chosen: str | None) -> str:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise InvalidRequest("body is not valid JSON") from None
    signal = _signal(document, chosen)
    request = otlp.request_from_json_document(document, signal)
    rejected, reason = redact_request(redactor, cli.config, request, tenant, signal)
    if rejected:
        click.echo(f"tracevault: {rejected} {signal.noun} refused: {reason}", err=True)
    return otlp.encode_json_request(request)


@click.command()
@with_context()
@click.option("--tenant", help="Tenant id, as if sent in the tenant header.")
@click.option(
    "--signal",
    "chosen",
    type=click.Choice(sorted(otlp.SIGNALS)),
    help="What the input holds; default: detected per request (resourceSpans or resourceLogs).",
)
@click.option("--jsonl", is_flag=True, help="One OTLP/JSON request per line; answers line for line.")
@click.argument("input_file", default="-", type=click.File("r", encoding="utf-8"))
@cli_errors
def redact(cli: CliContext, tenant: str | None, chosen: str | None, jsonl: bool, input_file: IO[str]) -> None:
    """Redact an OTLP/JSON ExportTraceServiceRequest or ExportLogsServiceRequest exactly as the
    service does; print it."""
    if tenant is not None and not is_valid_id(tenant):
        raise click.BadParameter(f"must match {ID_PATTERN_TEXT}", param_hint="--tenant")
    redactor = _redactor(cli)
    if not jsonl:
        try:
            click.echo(_redact_document(redactor, cli, input_file.read(), tenant, chosen))
        except InvalidRequest as exc:
            raise click.ClickException(str(exc)) from None
        return
    failures = 0
    for number, line in enumerate(input_file, start=1):
        if not line.strip():
            click.echo("")
            continue
        try:
            click.echo(_redact_document(redactor, cli, line, tenant, chosen))
        except InvalidRequest as exc:
            failures += 1
            # Answer line for line: the error takes the line's place, and the exit code says so.
            click.echo(json.dumps({"error": str(exc), "line": number}))
    if failures:
        raise click.ClickException(f"{failures} line(s) were not valid OTLP/JSON")


@click.command("config-check")
@with_context(required=True, help_text=None)
@cli_errors
def config_check(cli: CliContext) -> None:
    """Validate a config file and its policies without starting anything."""
    click.echo(f"{cli.config_path}: ok ({len(cli.policies.compiled())} policies)")
