"""The moto fixtures (moto_endpoint, aws_env, s3_bucket, kms_client) live in tests/conftest.py;
`store` here is the vault's object store, once a local directory and once S3 on moto."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.store import LocalStore, ObjectStore, S3Store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path / "store")
    bucket = request.getfixturevalue("s3_bucket")
    return S3Store(bucket, "vault", endpoint_url=request.getfixturevalue("moto_endpoint"), region="us-east-1")
