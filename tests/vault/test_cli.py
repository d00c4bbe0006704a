"""`tracevault keys rotate`: new data uses the new key version, old data stays readable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from click.testing import CliRunner

from policies.config import parse_config
from redactors.engine import Redactor
from sidecar.cli import main
from tests.vault.test_sink import batch, spool_config
from vault.keyring import LocalKeyring, LocalKeyWriter
from vault.reader import VaultReader
from vault.segment import PayloadRef, decode_frame
from vault.sink import VaultSink
from vault.store import LocalStore

SECRET_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # bytes(range(32))


def test_rotate_then_old_and_new_data_are_readable(redactor: Redactor, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    config_file = tmp_path / "tv.yaml"
    config_file.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data")}))
    config = parse_config({"data_dir": str(tmp_path / "data")})
    store = LocalStore(tmp_path / "data" / "store")
    secret = bytes(range(32))

    def write_one() -> None:
        sink = VaultSink(spool_config(), tmp_path / "data" / "spool", LocalKeyWriter(config.keyring_dir(), secret), store)
        asyncio.run(sink.export(batch(redactor, "acme", spans=1)))
        asyncio.run(sink.flush())

    write_one()
    result = CliRunner().invoke(main, ["keys", "rotate", "--config", str(config_file), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    new_key_id = result.output.strip().rsplit(" ", 1)[-1]
    write_one()

    reader = VaultReader(store, LocalKeyring(config.keyring_dir(), secret))
    refs = [row["payload_ref"] for row in reader.read_metrics("acme").to_pylist()]
    assert len(refs) == 2
    key_ids = {decode_frame(store.get_range(r.object_key, r.offset, r.length)).key_id for r in map(PayloadRef.parse, refs)}
    assert new_key_id in key_ids and len(key_ids) == 2
    assert all(reader.payload(ref) for ref in refs)


def test_rotate_refuses_a_bad_tenant() -> None:
    result = CliRunner().invoke(main, ["keys", "rotate", "--tenant", "../etc"])
    assert result.exit_code == 2
    assert "must match" in result.output
