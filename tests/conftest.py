"""Shared fixtures: one loaded redaction engine per test session (the model loads once)."""

from __future__ import annotations

import pytest

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
