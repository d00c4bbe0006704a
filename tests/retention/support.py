"""Helpers for the retention tests: a vault on either store, written through the real sink.

No NER model is loaded: the batches are built already redacted (user ids are the keyed pseudonyms
the redactor would make with the test master secret), so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from policies.config import Config, SpoolConfig, parse_config
from redactors.batch import SIGNAL_LOGS, SIGNAL_TRACES, RedactedBatch
from redactors.identifiers import Pseudonymizer
from tests.redactors.otlp_builders import make_request, make_span
from tests.vault.logs_builders import genai_log, logs_batch
from vault.keyring import LocalKeyring, LocalKeyWriter
from vault.sink import VaultSink
from vault.store import ObjectStore

SECRET = bytes(range(32))
SECRET_B64 = base64.b64encode(SECRET).decode()


def pseudonym(tenant: str, user: str) -> str:
    return Pseudonymizer(SECRET).for_tenant(tenant).identifier(user)


#: The record table and the payload document key of each signal's records.
TABLE = {SIGNAL_TRACES: "metrics", SIGNAL_LOGS: "log_metrics"}
CONTENT = {SIGNAL_TRACES: "span", SIGNAL_LOGS: "log_record"}


def make_batch(tenant: str, received: datetime, users: Sequence[str], env: str = "prod", mode: str = "redacted", signal: str = SIGNAL_TRACES) -> RedactedBatch:
    """One batch, one span (or log record) per user, as the redactor would hand it over (ids
    already pseudonyms)."""
    if signal == SIGNAL_LOGS:
        records = [genai_log(user=pseudonym(tenant, user), tokens=10 + i, body=f"question number {i} <PERSON>") for i, user in enumerate(users)]
        return logs_batch(tenant, records, received, env=env, mode=mode)
    spans = [
        make_span(
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 10 + i,
                "user.id": pseudonym(tenant, user),
                "input.value": f"question number {i} <PERSON>",
            }
        )
        for i, user in enumerate(users)
    ]
    return RedactedBatch(tenant, env, make_request(spans), len(spans), received, mode, None)


def spool_config() -> SpoolConfig:
    return SpoolConfig.model_validate({"fsync": False, "flush_interval_seconds": 3600.0})


@dataclass
class Vault:
    """A config file, its store, and ways to write and read data as the sidecar and a reader do."""

    tmp: Path
    config_doc: dict[str, Any]
    store: ObjectStore

    @property
    def config(self) -> Config:
        return parse_config(self.config_doc)

    @property
    def config_file(self) -> str:
        path = self.tmp / "tracevault.yaml"
        path.write_text(yaml.safe_dump(self.config_doc))
        return str(path)

    def keyring(self) -> LocalKeyring:
        return LocalKeyring(self.config.keyring_dir(), SECRET)

    def sink(self) -> VaultSink:
        return VaultSink(spool_config(), self.config.spool_dir(), LocalKeyWriter(self.config.keyring_dir(), SECRET), self.store)

    def ingest(self, *batches: RedactedBatch) -> None:
        sink = self.sink()

        async def go() -> None:
            for item in batches:
                await sink.export(item)
            await sink.flush()

        asyncio.run(go())

    def snapshot(self) -> dict[str, bytes]:
        return {info.key: self.store.get(info.key) for info in self.store.list("")}

    def keys(self, prefix: str = "") -> list[str]:
        return [info.key for info in self.store.list(prefix)]


class Killed(BaseException):
    """A simulated kill -9: nothing after it runs (not an Exception, so nothing catches it)."""


class FaultyStore:
    """Wraps a store; ``hooks[operation](call number, args)`` runs before each call and may raise."""

    def __init__(self, inner: ObjectStore, **hooks: Callable[..., None]) -> None:
        self.inner = inner
        self.hooks = hooks
        self.calls: dict[str, int] = {}

    def _before(self, operation: str, *args: Any) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        hook = self.hooks.get(operation)
        if hook is not None:
            hook(self.calls[operation], *args)

    def put(self, key: str, data: bytes) -> None:
        self._before("put", key)
        self.inner.put(key, data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        self._before("put_if_absent", key)
        return self.inner.put_if_absent(key, data)

    def get(self, key: str) -> bytes:
        self._before("get", key)
        return self.inner.get(key)

    def get_range(self, key: str, start: int, length: int) -> bytes:
        self._before("get_range", key)
        return self.inner.get_range(key, start, length)

    def head(self, key: str):  # noqa: ANN201
        self._before("head", key)
        return self.inner.head(key)

    def list(self, prefix: str = ""):  # noqa: ANN201
        self._before("list", prefix)
        return self.inner.list(prefix)

    def delete_many(self, keys: Sequence[str]) -> int:
        self._before("delete_many", list(keys))
        return self.inner.delete_many(keys)

    def describe(self) -> str:
        return self.inner.describe()

