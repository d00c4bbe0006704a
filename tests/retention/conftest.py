"""The `vault` fixture: a config, its store (local directory or S3 on moto) and helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.retention.support import SECRET_B64, Vault
from vault.store import LocalStore, ObjectStore, S3Store


@pytest.fixture(params=["local", "s3"])
def vault(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    monkeypatch.setenv("TRACEVAULT_MASTER_KEY", SECRET_B64)
    data_dir = tmp_path / "data"
    doc: dict[str, Any] = {"data_dir": str(data_dir), "spool": {"fsync": False}}
    if request.param == "local":
        store: ObjectStore = LocalStore(data_dir / "store")
        doc["storage"] = {"url": (data_dir / "store").as_uri()}
    else:
        bucket = request.getfixturevalue("s3_bucket")
        endpoint = request.getfixturevalue("moto_endpoint")
        store = S3Store(bucket, "vault", endpoint_url=endpoint, region="us-east-1")
        doc["storage"] = {"url": f"s3://{bucket}/vault", "endpoint_url": endpoint, "region": "us-east-1", "max_attempts": 1}
    return Vault(tmp_path, doc, store)
