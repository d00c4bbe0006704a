"""The `tracevault` command: every command group, registered here and only here.

One module per group under `sidecar/cli/`; they share `sidecar/cli/context.py` (the `--config`
option, the lazy context and the error mapping).
"""

from __future__ import annotations

import logging
import sys

import click

from sidecar.cli import access, demo, doctor, keys, observe, redact, retention, secrets


@click.group()
@click.option("--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def main(log_level: str) -> None:
    """tracevault: the privacy layer for LLM observability."""
    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


COMMANDS: tuple[click.Command, ...] = (
    redact.serve,
    redact.redact,
    redact.config_check,
    keys.keys_group,
    *access.GROUPS,
    *retention.COMMANDS,
    *secrets.COMMANDS,
    doctor.doctor,
    demo.demo,
    *observe.COMMANDS,
)

for _command in COMMANDS:
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
