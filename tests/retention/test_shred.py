"""`tracevault keys shred`: every payload of the tenant fails to decrypt, other tenants still do;
confirmation unless --yes; audited. Local keyring, and AWS KMS on moto."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from redactors.batch import SIGNAL_LOGS, SIGNALS
from sidecar.cli import main
from tests.retention.support import Vault, make_batch, spool_config
from vault import layout
from vault.audit import AuditLog
from vault.keyring import KmsKeyring, KmsKeyWriter
from vault.reader import PayloadUnavailable, VaultReader
from vault.sink import VaultSink

RECEIVED = datetime(2026, 5, 5, 9, tzinfo=UTC)


def readable(reader: VaultReader, tenant: str) -> list[bool]:
    """For each stored span and log record of the tenant: whether its payload decrypts."""
    out = []
    rows = [row for table in layout.RECORD_TABLES for row in reader.read_metrics(tenant, table=table).to_pylist()]
    for row in rows:
        try:
            reader.payload(row["payload_ref"])
            out.append(True)
        except PayloadUnavailable:
            out.append(False)
    return out


def shred(vault: Vault, tenant: str, *args: str, input: str | None = None):
    return CliRunner().invoke(main, ["keys", "shred", "--config", vault.config_file, "--tenant", tenant, *args], input=input)


@pytest.mark.parametrize("signal", SIGNALS)
def test_shred_local_keyring(vault: Vault, signal: str) -> None:
    vault.ingest(
        make_batch("acme", RECEIVED, ["a", "b", "c"], signal=signal),
        make_batch("acme", RECEIVED, ["d"], env="dev", signal=signal),
        make_batch("globex", RECEIVED, ["a", "b"], signal=signal),
    )
    reader = VaultReader(vault.store, vault.keyring())
    assert readable(reader, "acme") == [True] * 4

    declined = shred(vault, "acme", input="n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert readable(reader, "acme") == [True] * 4, "declining changes nothing"

    result = shred(vault, "acme", "--yes")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["shredded"] and report["keyring"] == "local"
    assert readable(VaultReader(vault.store, vault.keyring()), "acme") == [False] * 4
    assert readable(VaultReader(vault.store, vault.keyring()), "globex") == [True] * 2
    (record,) = AuditLog(vault.store).show("acme")
    assert record["action"] == "key.shred" and record["outcome"] == "allowed"
    assert report["audit_key"] in vault.keys("audit/")
    assert AuditLog(vault.store).verify("acme").ok
    # New writes for the shredded tenant fail instead of silently starting a new key history.
    with pytest.raises(Exception, match="shredded"):
        vault.ingest(make_batch("acme", RECEIVED, ["e"], signal=signal))


def test_shred_confirmed_interactively(vault: Vault) -> None:
    vault.ingest(make_batch("acme", RECEIVED, ["a"]))
    result = shred(vault, "acme", input="y\n")
    assert result.exit_code == 0, result.output
    assert "Destroy the key-encryption keys of tenant acme?" in result.output
    assert readable(VaultReader(vault.store, vault.keyring()), "acme") == [False]


def test_shred_kms(s3_bucket: str, moto_endpoint: str, kms_client, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vault.store import S3Store

    suffix = tmp_path.name[-6:].replace("_", "")
    doc = {
        "data_dir": str(tmp_path / "data"),
        "storage": {"url": f"s3://{s3_bucket}/vault", "endpoint_url": moto_endpoint, "region": "us-east-1"},
        "keyring": {"type": "kms", "endpoint_url": moto_endpoint, "region": "us-east-1", "kms_key_id": "alias/tv-shred-%s-{tenant}" % suffix},
    }
    vault = Vault(tmp_path, doc, S3Store(s3_bucket, "vault", endpoint_url=moto_endpoint, region="us-east-1"))
    keyring = KmsKeyring(vault.config.keyring, kms_client)
    for tenant in ("acme", "globex"):
        keyring.ensure_tenant_key(tenant)
    sink = VaultSink(spool_config(), vault.config.spool_dir(), KmsKeyWriter(vault.config.keyring, kms_client), vault.store)
    async def go() -> None:
        await sink.export(make_batch("acme", RECEIVED, ["a", "b"]))
        await sink.export(make_batch("acme", RECEIVED, ["c"], signal=SIGNAL_LOGS))
        await sink.export(make_batch("globex", RECEIVED, ["a"], signal=SIGNAL_LOGS))
        await sink.flush()

    asyncio.run(go())
    reader = VaultReader(vault.store, keyring)
    assert readable(reader, "acme") == [True, True, True]

    result = shred(vault, "acme", "--yes")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["keyring"] == "kms"
    assert readable(reader, "acme") == [False, False, False], "its spans and its log records"
    assert readable(reader, "globex") == [True]
    aliases = kms_client.list_aliases()["Aliases"]
    assert f"alias/tv-shred-{suffix}-acme" not in {a["AliasName"] for a in aliases}, "new writes fail at once"
    states = {kms_client.describe_key(KeyId=a["TargetKeyId"])["KeyMetadata"]["KeyState"] for a in aliases if a["AliasName"].endswith(f"{suffix}-globex")}
    assert states == {"Enabled"}
    assert [r["action"] for r in AuditLog(vault.store).show("acme")] == ["key.shred"]


def test_no_shred_without_an_audit_record(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.retention.support import SECRET_B64
    from vault.store import LocalStore

    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    root = tmp_path / "store"
    vault = Vault(tmp_path, {"data_dir": str(tmp_path / "data"), "storage": {"url": root.as_uri()}}, LocalStore(root))
    vault.ingest(make_batch("acme", RECEIVED, ["a"]))
    blocker = root / "audit"
    blocker.write_bytes(b"")  # a file where the audit directory should be: the audit write fails
    result = shred(vault, "acme", "--yes")
    assert result.exit_code == 1 and "nothing was shredded" in result.output
    assert readable(VaultReader(vault.store, vault.keyring()), "acme") == [True]
