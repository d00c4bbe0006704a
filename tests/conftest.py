"""Shared fixtures: one loaded redaction engine per test session (the model loads once), and
moto in server mode: a real S3 and KMS HTTP endpoint on loopback, driven by boto3."""

from __future__ import annotations

import itertools
import threading
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


def atomic_object_puts(patch: pytest.MonkeyPatch) -> threading.Lock:
    """Make moto's PutObject one step, as S3's is.

    moto checks ``If-None-Match: *`` (``backend.get_object(...) is not None``) and stores the
    object later in the same handler, and its server answers each request on its own thread:
    under load two racing conditional PUTs of one key both pass the check and both get 200 (16
    writers on 100 keys: 5 keys with two winners). S3 makes the check and the write atomic and
    answers the loser 412 or 409. The audit chain's fork test relies on exactly that, so every
    object PUT of the moto server runs under one lock. Returns the lock."""
    from moto.s3.responses import S3Response

    lock = threading.Lock()
    original = S3Response.put_object

    def put_object(self: S3Response):  # noqa: ANN202 - moto's own response tuple
        with lock:
            return original(self)

    put_object.__wrapped__ = original  # type: ignore[attr-defined]  # for the test that shows the race
    patch.setattr(S3Response, "put_object", put_object)
    return lock


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        atomic_object_puts(patch)
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
    # The test's name, cut to fit, and a number: two parametrisations of one long-named test
    # would otherwise share a bucket (creating it again in us-east-1 is no error) and see each
    # other's objects.
    stem = request.node.name.lower().replace("_", "-").replace("[", "-").replace("]", "")[:40].strip("-")
    name = f"tv-{stem}-{next(_BUCKETS)}"
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def kms_client(moto_endpoint: str, aws_env: None):
    return boto3.client("kms", endpoint_url=moto_endpoint, region_name=REGION)
