"""What every command shares: one `--config` option, a lazy context, one error mapping.

- `with_context` adds the `--config` option and hands the command a `CliContext` instead of the
  path. The context loads the config, the master secret, the store and the keyring on first use,
  so a command that fails its argument checks never touches them.
- `cli_errors` maps the operator-facing errors of every layer to `click.ClickException` (exit 1,
  the message only; these messages never carry span content or key material). Anything else is a
  bug and keeps its traceback.
- `valid_id` checks a tenant or env id and answers a usage error (exit 2) naming the option.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from policies.config import Config, load_config
from policies.keys import load_master_secret
from policies.resolve import PolicySet
from policies.tenants import InvalidTenantId, validate_id

if TYPE_CHECKING:
    from vault.keyring import Keyring
    from vault.store import ObjectStore

F = TypeVar("F", bound=Callable[..., Any])

CONFIG_HELP = "YAML config; none means the embedded defaults."

# Errors an operator can act on, from every layer, as (module, class): the message is the answer
# (exit 1). Looked up among the modules already imported: an error whose module was never
# imported cannot have been raised, and so `redact` does not import the vault's or the grants'
# code (nor `cryptography`) for this mapping.
OPERATOR_ERRORS: tuple[tuple[str, str], ...] = (
    ("policies.config", "ConfigError"),
    ("policies.keys", "MasterKeyError"),
    ("policies.resolve", "PolicyError"),
    ("redactors.modelerror", "ModelNotInstalled"),
    ("vault.keyring", "KeyUnavailable"),
    ("access.grant_keys", "GrantKeyError"),
    ("access.grants", "GrantError"),
    ("vault.store", "StoreError"),
)


def is_operator_error(exc: BaseException) -> bool:
    return any(
        isinstance(exc, getattr(sys.modules[module], name)) for module, name in OPERATOR_ERRORS if module in sys.modules
    )


def cli_errors(function: F) -> F:
    """Turn the operator-facing errors of the layers below into a one-line error and exit 1."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            if not is_operator_error(exc):
                raise
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


class CliContext:
    """The config and what is built from it, each loaded once and only when a command asks."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
        self._config: Config | None = None
        self._policies: PolicySet | None = None
        self._store: ObjectStore | None = None
        self._secret: bytes | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def policies(self) -> PolicySet:
        if self._policies is None:
            self._policies = PolicySet(self.config)
        return self._policies

    @property
    def store(self) -> ObjectStore:
        if self._store is None:
            from vault.store import open_store

            try:
                self._store = open_store(self.config)
            except ValueError as exc:  # a malformed storage.url
                raise click.ClickException(str(exc)) from None
        return self._store

    def secret(self, *, create: bool = True) -> bytes:
        """The master secret. `create=False` where a fresh one would be wrong (it would match
        nothing written before): erase, shred."""
        if self._secret is None:
            config = self.config
            self._secret = load_master_secret(config.keys.master_key_env, config.master_key_path(), create=create)
        return self._secret

    def keyring(self, *, create_secret: bool = True) -> Keyring:
        """The configured keyring with every role (the CLI is the operator's tool)."""
        from vault.keyring import build_keyring

        config = self.config
        # KMS needs no master secret; the local keyring does.
        master = b"" if config.keyring.type == "kms" else self.secret(create=create_secret)
        try:
            return build_keyring(config, master)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None


def with_context(*, required: bool = False, help_text: str = CONFIG_HELP) -> Callable[[F], F]:
    """The one `--config` option: the command receives `cli: CliContext` in its place."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, config_path: str | None, **kwargs: Any) -> Any:
            return function(*args, cli=CliContext(config_path), **kwargs)

        option = click.option("--config", "config_path", type=click.Path(dir_okay=False), required=required, help=help_text)
        return option(wrapper)  # type: ignore[return-value]

    return decorate


def valid_id(value: str, what: str, hint: str) -> str:
    """A tenant or environment id, or a usage error (exit 2) naming the option."""
    try:
        return validate_id(value, what)
    except InvalidTenantId as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def echo_json(document: Any, *, indent: int | None = 2) -> None:
    click.echo(json.dumps(document, indent=indent, ensure_ascii=False, sort_keys=False, default=str))
