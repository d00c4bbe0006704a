"""The spec of issue 11, end to end: a marker planted in every field of the schema survives
nowhere: not in the forwarded bytes (the real forwarder, to a loopback next hop), not in any
stored object (spool and store files, the Parquet read back with pyarrow and DuckDB, the
payloads decrypted with the reader's keyring), and not in the server's log.

The requests are built from the protobuf descriptors (`tests/redactors/planted.py`), so a field
that OTLP adds later is planted too. Both signals: trace requests go to /v1/traces, logs requests
to /v1/logs (forwarded to the next hop's /v1/logs; the vault refuses logs batches until it stores
them, so nothing of them is stored either).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import requests
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.config import parse_config
from sidecar import otlp
from tests.redactors.planted import CORE, REQUEST_TYPES, Plants, build, planted_requests, rotation
from tests.redactors.test_every_field import assert_no_marker
from tests.sidecar.conftest import MASTER_SECRET, WAIT_SECONDS, NextHop, sidecar_document, start_sidecar
from vault.keyring import LocalKeyring
from vault.reader import VaultReader
from vault.store import LocalStore

MIB = 1024 * 1024


class _LogCapture(logging.Handler):
    """Every record any logger emits while the server runs, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_log() -> Iterator[_LogCapture]:
    capture = _LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def _stored_text(data_dir: Path) -> tuple[bytes, str]:
    """Raw bytes of every file written, and the text of every Parquet file read back."""
    raw = b""
    cells = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            raw += path.read_bytes()
            if path.suffix == ".parquet":
                cells.append(json.dumps(pq.read_table(io.BytesIO(path.read_bytes())).to_pylist(), default=str))
    query = f"select * from read_parquet('{data_dir}/store/metrics/**/*.parquet', hive_partitioning=true)"
    cells.append(json.dumps(duckdb.sql(query).fetchall(), default=str))
    return raw, "\n".join(cells)


def _decrypted_payloads(data_dir: Path) -> str:
    config = parse_config({"data_dir": str(data_dir)})
    reader = VaultReader(LocalStore(data_dir / "store"), LocalKeyring(config.keyring_dir(), MASTER_SECRET))
    rows = reader.read_metrics("acme").to_pylist()
    assert rows and all(row["payload_ref"] for row in rows)
    return json.dumps([reader.payload(row["payload_ref"]) for row in rows], ensure_ascii=False)


def test_no_planted_marker_survives_anywhere(tmp_path: Path, next_hop: NextHop, server_log: _LogCapture) -> None:
    data_dir = tmp_path / "data"
    overrides = {
        "vault_enabled": True,
        "spool": {"flush_interval_seconds": 0.2},
        "server": {"max_body_bytes": 4 * MIB, "max_decompressed_bytes": 8 * MIB},
    }
    server = start_sidecar(parse_config(sidecar_document(data_dir, next_hop, overrides)))
    planted: list[Plants] = []

    def send(request: Message, plants: Plants) -> None:
        signal = next(s for s in otlp.SIGNALS.values() if isinstance(request, s.request_type))
        response = requests.post(
            server.url(signal),
            data=request.SerializeToString(),
            headers={"Content-Type": otlp.PROTOBUF, "X-Tenant-Id": "acme"},
            timeout=WAIT_SECONDS,
        )
        assert response.status_code == 200
        planted.append(plants)
        attempt = next_hop.wait_for_attempts(len(planted))[-1]
        assert attempt.request is not None and attempt.path == signal.path
        assert_no_marker(attempt.request, plants)

    @settings(max_examples=4, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(request_and_plants=st.sampled_from(REQUEST_TYPES).flatmap(planted_requests))
    def send_drawn(request_and_plants: tuple[Message, Plants]) -> None:
        send(*request_and_plants)

    try:
        for request_type in REQUEST_TYPES:
            send(*build(request_type, rotation()))  # the deterministic cover of every variant
        send_drawn()
    finally:
        server.stop()  # drains and flushes the spool into the store

    raw, parquet_text = _stored_text(data_dir)
    payload_text = _decrypted_payloads(data_dir)
    log_text = "\n".join(server_log.lines)
    assert "<EMAIL_ADDRESS>" in payload_text, "the payloads were decrypted and hold redacted content"
    for text in (raw, parquet_text.encode(), payload_text.encode(), log_text.encode()):
        assert CORE.encode() not in text, "a planted marker was stored or logged"
    for plants in planted:
        for marker in plants.strings:
            for text in (raw, parquet_text.encode(), payload_text.encode(), log_text.encode()):
                assert marker.encode() not in text, "a planted value was stored or logged"
        for number in plants.numbers:
            for text in (parquet_text, payload_text, log_text):
                assert str(number) not in text, "a planted number was stored or logged"
