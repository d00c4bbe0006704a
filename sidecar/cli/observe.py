"""`tracevault report` and `tracevault alerts check`: read metrics rows only, never a payload."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click

from policies.config import Config, ConfigError, load_config
from policies.tenants import InvalidTenantId, validate_id
from vault.store import ObjectStore, StoreError, open_store

_CONFIG_OPTION = click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config; none means the embedded defaults.")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
DEFAULT_DAYS = 7
ALERT_EXIT = 3  # distinct from errors (1) and usage mistakes (2)


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _store(config: Config) -> ObjectStore:
    try:
        return open_store(config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _tenant(value: str, hint: str = "--tenant") -> str:
    try:
        return validate_id(value, "tenant id")
    except InvalidTenantId as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def parse_moment(text: str | None, hint: str) -> datetime | None:
    """An ISO date or datetime; UTC unless it carries an offset."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("expected an ISO date or datetime, such as 2026-01-02 or 2026-01-02T11:00:00Z", param_hint=hint) from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@click.command()
@_CONFIG_OPTION
@click.option("--tenant", required=True, help="The tenant to report on.")
@click.option("--since", "since_text", metavar="ISO", help=f"Window start (span start time); default {DEFAULT_DAYS} days before --until.")
@click.option("--until", "until_text", metavar="ISO", help="Window end, exclusive; default now.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "html"]), default="table", show_default=True)
@click.option("--html", "as_html", is_flag=True, help="Shorthand for --format html.")
@click.option("--trace", "trace_id", help="A trace id (32 hex digits) whose waterfall the HTML shows first.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file instead of stdout.")
def report(config_path: str | None, tenant: str, since_text: str | None, until_text: str | None, fmt: str, as_html: bool,
           trace_id: str | None, output: Path | None) -> None:
    """A tenant's latency, TTFT/TPOT, cost, refusals, tool failures, retrieval scores and language
    mix over a window, from metrics rows only (no grant)."""
    from observe.html import render_html
    from observe.report import build_report, render_json, render_table

    tenant = _tenant(tenant)
    until = parse_moment(until_text, "--until") or datetime.now(timezone.utc)
    since = parse_moment(since_text, "--since") or until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise click.BadParameter("--since must be before --until", param_hint="--since")
    if trace_id is not None and not _TRACE_ID.fullmatch(trace_id.lower()):
        raise click.BadParameter("a trace id is 32 lowercase hex digits", param_hint="--trace")
    config = _config(config_path)
    try:
        built = build_report(_store(config), tenant, since, until, (trace_id.lower(),) if trace_id else ())
    except StoreError as exc:
        raise click.ClickException(f"cannot read the store: {exc}") from None
    fmt = "html" if as_html else fmt
    text = render_html(built, trace_id.lower() if trace_id else None) if fmt == "html" else render_json(built) if fmt == "json" else render_table(built)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output} ({built.rows} spans)", err=True)
    else:
        click.echo(text)


@click.group("alerts")
def alerts_group() -> None:
    """The tutorial's alerts over metrics rows, for cron."""


@alerts_group.command("check")
@_CONFIG_OPTION
@click.option("--tenant", help="Only this tenant; default every tenant in the store.")
@click.option("--now", "now_text", metavar="ISO", help="Pretend it is this time (UTC unless an offset is given).")
def check(config_path: str | None, tenant: str | None, now_text: str | None) -> None:
    """Window vs baseline for each alert; JSON on stdout; exit 3 when any alert fires."""
    from observe.alerts import check as run_check
    from observe.alerts import tenants_in

    now = parse_moment(now_text, "--now") or datetime.now(timezone.utc)
    config = _config(config_path)
    store = _store(config)
    try:
        tenants = [_tenant(tenant)] if tenant is not None else tenants_in(store)
        document = run_check(store, config.alerts, now, tenants)
    except StoreError as exc:
        raise click.ClickException(f"cannot read the store: {exc}") from None
    click.echo(json.dumps(document, indent=2))
    if document["firing"]:
        sys.exit(ALERT_EXIT)


COMMANDS: tuple[click.Command, ...] = (report, alerts_group)

__all__ = ["COMMANDS", "alerts_group", "report"]
