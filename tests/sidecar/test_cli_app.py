"""The `tracevault` group imports a command's module only when the command is looked up."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

import sidecar.cli
from sidecar.cli import main
from sidecar.cli.app import COMMAND_MODULES, LazyCommands

ROOT = Path(__file__).resolve().parents[2]


def _top_level_commands() -> dict[str, click.Command]:
    """Every command defined at module level under sidecar/cli/ that no group there holds."""
    defined: list[click.Command] = []
    for info in pkgutil.iter_modules(sidecar.cli.__path__):
        module = importlib.import_module(f"sidecar.cli.{info.name}")
        defined += [value for value in vars(module).values() if isinstance(value, click.Command) and value is not main]
    held = {id(sub) for group in defined if isinstance(group, click.Group) for sub in group.commands.values()}
    return {command.name: command for command in defined if id(command) not in held}


def test_every_command_defined_is_registered_under_its_name() -> None:
    expected = _top_level_commands()
    assert set(main.commands) == set(expected) == set(COMMAND_MODULES)
    for name, command in expected.items():
        assert main.commands[name] is command
        assert main.get_command(click.Context(main), name) is command


def test_lazy_commands_behave_as_a_mapping() -> None:
    commands = LazyCommands({"doctor": ("doctor", "doctor")})
    extra = click.Command("extra")
    commands["extra"] = extra
    assert list(commands) == ["doctor", "extra"] and len(commands) == 2
    assert commands.get("nothing") is None and "nothing" not in commands
    del commands["doctor"]
    assert list(commands) == ["extra"] and commands["extra"] is extra
    with pytest.raises(KeyError):
        del commands["doctor"]
    wrong = LazyCommands({"doctor": ("demo", "demo")})
    with pytest.raises(RuntimeError, match="registered as"):
        wrong["doctor"]


def _modules_after(code: str) -> set[str]:
    program = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_importing_the_cli_imports_no_command() -> None:
    loaded = _modules_after("import sidecar.cli")
    assert not {name for name in loaded if name.startswith("sidecar.cli.") and name != "sidecar.cli.app"}
    assert not {"policies.config", "vault.store", "redactors.engine", "spacy"} & loaded


def test_redact_imports_neither_the_grants_nor_retention() -> None:
    loaded = _modules_after("from sidecar.cli import main\nmain.commands['redact']")
    assert "sidecar.cli.redact" in loaded
    assert not {"sidecar.cli.access", "sidecar.cli.retention", "sidecar.cli.observe", "access.iam", "retention.sweep", "spacy"} & loaded
    # nor, for the error mapping of sidecar/cli/context.py, the vault's or the grants' code
    assert not {"access.grants", "access.grant_keys", "vault.store", "vault.keyring", "jwt"} & loaded
