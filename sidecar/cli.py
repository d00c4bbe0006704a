"""The `tracevault` command. Each package's CLI group is assembled here."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import IO

import click
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from policies.config import Config, ConfigError, load_config
from policies.resolve import PolicyError
from policies.tenants import ID_PATTERN_TEXT, is_valid_id
from redactors.engine import Redactor
from redactors.keys import MasterKeyError, load_master_secret
from redactors.pii import ModelNotInstalled
from sidecar import otlp
from sidecar.errors import InvalidRequest
from sidecar.tenancy import group_by_tenant


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _redactor(config: Config) -> Redactor:
    try:
        secret = load_master_secret(config.keys.master_key_env, config.master_key_path())
        return Redactor.build(config, secret)
    except (MasterKeyError, PolicyError, ModelNotInstalled, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
@click.option("--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def main(log_level: str) -> None:
    """tracevault: the privacy layer for LLM observability."""
    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
def serve(config_path: str | None) -> None:
    """Receive OTLP (HTTP :14318, gRPC :14317), redact, and hand the spans on."""
    from sidecar.server import serve as run

    config = _config(config_path)
    try:
        asyncio.run(run(config))
    except (MasterKeyError, PolicyError, ModelNotInstalled, OSError) as exc:
        raise click.ClickException(str(exc)) from None


def redact_request(redactor: Redactor, config: Config, request: ExportTraceServiceRequest, tenant: str | None) -> tuple[int, str]:
    """The service's transform, in place: group by tenant, redact each group; drop refused resources.

    Returns (rejected spans, reason).
    """
    groups = group_by_tenant(request, config.tenancy, tenant, None)
    for (group_tenant, env), resource_spans in groups.groups.items():
        redactor.redact_resource_spans(resource_spans, group_tenant, env)
    for index in reversed(groups.rejected_indices):
        del request.resource_spans[index]
    return groups.rejected_spans, groups.error_message


def _redact_document(redactor: Redactor, config: Config, text: str, tenant: str | None) -> str:
    request = otlp.decode_json_request(text)
    rejected, reason = redact_request(redactor, config, request, tenant)
    if rejected:
        click.echo(f"tracevault: {rejected} spans refused: {reason}", err=True)
    return otlp.encode_json_request(request)


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
@click.option("--tenant", help="Tenant id, as if sent in the tenant header.")
@click.option("--jsonl", is_flag=True, help="One OTLP/JSON request per line; answers line for line.")
@click.argument("input_file", default="-", type=click.File("r", encoding="utf-8"))
def redact(config_path: str | None, tenant: str | None, jsonl: bool, input_file: IO[str]) -> None:
    """Redact an OTLP/JSON ExportTraceServiceRequest exactly as the service does; print it."""
    if tenant is not None and not is_valid_id(tenant):
        raise click.BadParameter(f"must match {ID_PATTERN_TEXT}", param_hint="--tenant")
    config = _config(config_path)
    redactor = _redactor(config)
    if not jsonl:
        try:
            click.echo(_redact_document(redactor, config, input_file.read(), tenant))
        except InvalidRequest as exc:
            raise click.ClickException(str(exc)) from None
        return
    failures = 0
    for number, line in enumerate(input_file, start=1):
        if not line.strip():
            click.echo("")
            continue
        try:
            click.echo(_redact_document(redactor, config, line, tenant))
        except InvalidRequest as exc:
            failures += 1
            # Answer line for line: the error takes the line's place, and the exit code says so.
            click.echo(json.dumps({"error": str(exc), "line": number}))
    if failures:
        raise click.ClickException(f"{failures} line(s) were not valid OTLP/JSON")


@main.command("config-check")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), required=True)
def config_check(config_path: str) -> None:
    """Validate a config file and its policies without starting anything."""
    from policies.resolve import PolicySet

    config = _config(config_path)
    try:
        policies = PolicySet(config)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{config_path}: ok ({len(policies.compiled())} policies)")


def _register_groups() -> None:
    """Each package's CLI group lives with its package; the one command assembles them."""
    from retention.cli import register as register_retention
    from policies.cli import register as register_access
    from vault.cli import keys_group

    main.add_command(keys_group)
    register_access(main)
    register_retention(main)
    from sidecar.demo import demo
    from sidecar.doctor import doctor

    main.add_command(doctor)
    main.add_command(demo)
    from observe.cli import register as register_observe

    register_observe(main)


_register_groups()

if __name__ == "__main__":  # pragma: no cover
    main()
