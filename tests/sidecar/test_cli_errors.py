"""sidecar/cli/context.py maps the operator-facing errors of every layer to a one-line exit 1,
finding their classes among the modules already imported: each listed error must be mapped,
and any other error (a bug) must keep its traceback."""

from __future__ import annotations

import importlib

import click
import pytest

from sidecar.cli.context import OPERATOR_ERRORS, cli_errors, is_operator_error


def _error(module: str, name: str) -> Exception:
    cls = getattr(importlib.import_module(module), name)
    return cls.__new__(cls)  # no constructor arguments needed to test the class


@pytest.mark.parametrize(("module", "name"), OPERATOR_ERRORS, ids=[name for _, name in OPERATOR_ERRORS])
def test_every_operator_error_is_mapped(module: str, name: str) -> None:
    error = _error(module, name)
    assert is_operator_error(error)

    @cli_errors
    def command() -> None:
        raise error

    with pytest.raises(click.ClickException):
        command()


@pytest.mark.parametrize("error", [ValueError("bad"), KeyError("k"), RuntimeError("bug"), OSError("disk"), TypeError("t")])
def test_other_errors_keep_their_traceback(error: Exception) -> None:
    assert not is_operator_error(error)

    @cli_errors
    def command() -> None:
        raise error

    with pytest.raises(type(error)) as raised:
        command()
    assert raised.value is error
