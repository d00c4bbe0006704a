"""Shared fixtures: one loaded redaction engine per test session (the model loads once), and
moto in server mode: a real S3 and KMS HTTP endpoint on loopback, driven by boto3."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from policies.config import Config, parse_config
from redactors.engine import Redactor
from redactors.pii import PiiAnalyzer, load_spacy_model

TEST_MASTER_SECRET = bytes(range(32))


@pytest.fixture(scope="session")
def analyzer() -> PiiAnalyzer:
    return PiiAnalyzer(load_spacy_model(Config().nlp.model))


@pytest.fixture(scope="session")
def redactor(analyzer: PiiAnalyzer) -> Redactor:
    return Redactor.build(Config(), TEST_MASTER_SECRET, analyzer=analyzer)


@pytest.fixture(scope="session")
def make_redactor(analyzer: PiiAnalyzer):
    """Build a redactor for a config document, sharing the loaded model."""

    def build(document: dict, secret: bytes = TEST_MASTER_SECRET) -> Redactor:
        return Redactor.build(parse_config(document), secret, analyzer=analyzer)

    return build


REGION = "us-east-1"
_BUCKETS = itertools.count(1)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials for moto; never real ones, and never the machine's own."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def s3_bucket(moto_endpoint: str, aws_env: None, request: pytest.FixtureRequest) -> str:
    # A counter keeps two parametrized tests whose names share the first 40 characters apart.
    name = "tv-" + request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40].strip("-") + f"-{next(_BUCKETS)}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def kms_client(moto_endpoint: str, aws_env: None):
    return boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION)
