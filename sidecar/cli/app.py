"""The `tracevault` command: every command group, registered here and only here.

One module per group under `sidecar/cli/`; they share `sidecar/cli/context.py` (the `--config`
option, the lazy context and the error mapping). A command's module is imported when the
command is looked up, not before: `tracevault redact` never imports the vault's readers or the
grant machinery, and the redaction fork server (a fresh interpreter that re-runs this script's
imports) starts without them.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator, MutableMapping

import click

# Each command's name -> the module under sidecar/cli/ that defines it, and the attribute.
COMMAND_MODULES: dict[str, tuple[str, str]] = {
    "serve": ("redact", "serve"),
    "redact": ("redact", "redact"),
    "config-check": ("redact", "config_check"),
    "keys": ("keys", "keys_group"),
    "grant": ("access", "grant_group"),
    "payload": ("access", "payload_group"),
    "audit": ("access", "audit_group"),
    "access": ("access", "access_group"),
    "retention": ("retention", "retention_group"),
    "erase": ("retention", "erase"),
    "compact": ("retention", "compact"),
    "secrets": ("secrets", "secrets_group"),
    "doctor": ("doctor", "doctor"),
    "demo": ("demo", "demo"),
    "report": ("observe", "report"),
    "alerts": ("observe", "alerts_group"),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The group's commands by name; each module is imported on the first look-up of one of its
    commands (iterating over the names imports nothing)."""

    def __init__(self, modules: dict[str, tuple[str, str]]) -> None:
        self._modules = dict(modules)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attribute = self._modules[name]  # KeyError: no such command
            command = getattr(importlib.import_module(f"sidecar.cli.{module}"), attribute)
            if command.name != name:
                raise RuntimeError(f"sidecar.cli.{module}.{attribute} is the command {command.name!r}, registered as {name!r}")
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if self._modules.pop(name, None) is None and name not in self._loaded:
            raise KeyError(name)
        self._loaded.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._modules.keys() | self._loaded.keys()))

    def __len__(self) -> int:
        return len(self._modules.keys() | self._loaded.keys())


@click.group()
@click.option("--log-level", default="INFO", show_default=True, type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]))
def main(log_level: str) -> None:
    """tracevault: the privacy layer for LLM observability."""
    logging.basicConfig(level=log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


main.commands = LazyCommands(COMMAND_MODULES)

if __name__ == "__main__":  # pragma: no cover
    main()
