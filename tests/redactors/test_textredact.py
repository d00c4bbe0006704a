"""Free-text redaction: entities, evasions, methods, over-redaction and fail-closed behaviour."""

from __future__ import annotations

from collections import Counter

import pytest

from policies.config import Config
from policies.resolve import PolicySet
from redactors.detectors import SecretsDetector, build_detectors
from redactors.engine import Redactor
from redactors.identifiers import Pseudonymizer
from redactors.pii import PiiAnalyzer, PiiFinding
from redactors.textredact import FAILED_TOKEN, Finding, TextRedactor, mask_partially, merge_overlaps

ENTITY_ROWS = [
    # (text, planted value, entity)
    ("write to maria.gonzalez@example.org today", "maria.gonzalez@example.org", "EMAIL_ADDRESS"),
    ("my cell is (415) 555-0132, call after 5", "(415) 555-0132", "PHONE_NUMBER"),
    ("UK office: +44 20 7946 0958", "+44 20 7946 0958", "PHONE_NUMBER"),
    ("card 5500 0000 0000 0004 exp 12/29", "5500 0000 0000 0004", "CREDIT_CARD"),
    ("ssn 536-22-8714 on file", "536-22-8714", "US_SSN"),
    ("pay to GB33BUKB20201555555555 please", "GB33BUKB20201555555555", "IBAN_CODE"),
    ("login from 203.0.113.77 blocked", "203.0.113.77", "IP_ADDRESS"),
    ("v6 peer 2001:db8:85a3::8a2e:370:7334 connected", "2001:db8:85a3::8a2e:370:7334", "IP_ADDRESS"),
    ("Hi, my name is Priya Raman and I need help", "Priya Raman", "PERSON"),
    ("my name is john smith", "john smith", "PERSON"),
    ("Hello Dmitri,\nyour order shipped.", "Dmitri", "PERSON"),
    ("Please reset it.\nThanks,\nKwame", "Kwame", "PERSON"),
    ("I moved to Seattle last year", "Seattle", "LOCATION"),
    ("she called back from 4155550132 twice", "4155550132", "PHONE_NUMBER"),
    ("i'm currently in edinburgh so the time zone differs", "edinburgh", "LOCATION"),
    ("deliver to Friedrichstrasse 876, Berlin please", "Friedrichstrasse 876", "LOCATION"),
    ("Thanks for the quick fix.\nCheers, Sofia W.", "Sofia W.", "PERSON"),
    ("Rebook my flight from Marseille on Monday", "Marseille", "LOCATION"),
]


@pytest.mark.parametrize(("text", "planted", "entity"), ENTITY_ROWS)
def test_entities_are_replaced(redactor: Redactor, text: str, planted: str, entity: str) -> None:
    result = redactor.redact_text(text)
    assert planted not in result.text
    assert f"<{entity}>" in result.text
    assert result.counts[entity] >= 1


EVASION_ROWS = [
    # (text, planted fragments that must vanish)
    ("mail ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｏｒｇ now", ["ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｏｒｇ", "ｍａｒｉａ"]),
    ("mail ma\u200bria@exa\u200cmple.org now", ["ma\u200bria@exa\u200cmple.org", "exa\u200cmple"]),
    ("mail maria%40example.org now", ["maria%40example.org"]),
    ("mail maria\\u0040example.org now", ["maria\\u0040example.org"]),
    ("card 4111 - 1111 - 1111 - 1111 thanks", ["4111 - 1111 - 1111 - 1111", "1111 - 1111"]),
    ("card 4111.1111.1111.1111 thanks", ["4111.1111.1111.1111"]),
    ("card ４１１１ １１１１ １１１１ １１１１ thanks", ["４１１１ １１１１ １１１１ １１１１"]),
    ("card 4111\u200b1111\u200b1111\u200b1111 thanks", ["4111\u200b1111"]),
]


@pytest.mark.parametrize(("text", "vanish"), EVASION_ROWS)
def test_evasions_are_caught_and_the_original_span_masked(redactor: Redactor, text: str, vanish: list[str]) -> None:
    result = redactor.redact_text(text)
    for fragment in vanish:
        assert fragment not in result.text
    assert result.text.startswith(text[:4]) and result.text.endswith(text[-4:]), "surrounding text is kept"
    assert sum(result.counts.values()) >= 1


BENIGN = [
    "The model gpt-4o-mini returned 512 tokens in 1.3 seconds.",
    "Retry with exponential backoff: 0.5s, 1s, 2s, 4s.",
    "def add(a, b):\n    return a + b",
    "Order #4471 contains 3 items and ships on 2024-05-14.",
    "Set max_tokens to 1024 and temperature to 0.2.",
    "Use the /v1/chat/completions endpoint with stream=true.",
    "Version 3.8.0 fixes the tokenizer regression.",
    "The invoice total is $1,249.99 including tax.",
    "Invoice 1700000000 was created by the batch job.",
    "I'd like to upgrade to the Team plan.",
    "The technician will visit between 9am and 11am.",
    "Upgrade to Python 3.12 before the release.",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_text_survives(redactor: Redactor, text: str) -> None:
    result = redactor.redact_text(text)
    assert result.text == text
    assert not result.counts


@pytest.mark.parametrize(
    ("method", "text", "expected"),
    [
        ("replace", "card 4111 1111 1111 1111", "card <CREDIT_CARD>"),
        ("mask", "card 4111 1111 1111 1111", "card **** **** **** 1111"),
        ("remove", "card 4111 1111 1111 1111", "card "),
    ],
)
def test_methods(make_redactor, method: str, text: str, expected: str) -> None:
    redactor = make_redactor({"defaults": {"methods": {"CREDIT_CARD": method}}})
    assert redactor.redact_text(text).text == expected


def test_pseudonym_method_is_keyed_and_stable_within_a_tenant(make_redactor) -> None:
    redactor = make_redactor({"defaults": {"default_method": "pseudonym"}})
    first = redactor.redact_text("mail maria@example.org", tenant="acme").text
    assert first.startswith("mail <EMAIL_ADDRESS:") and first.endswith(">")
    assert len(first.split(":")[1].rstrip(">")) == 8
    assert redactor.redact_text("ask maria@example.org", tenant="acme").text.endswith(first[5:])
    # A full-width twin is the same person: the pseudonym is computed on the normalised form.
    assert redactor.redact_text("mail ｍａｒｉａ＠ｅｘａｍｐｌｅ．ｏｒｇ", tenant="acme").text == first
    assert redactor.redact_text("mail maria@example.org", tenant="globex").text != first


def test_secrets_are_stripped_whatever_the_method(make_redactor) -> None:
    redactor = make_redactor({"defaults": {"default_method": "mask", "entities": []}})
    token = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    result = redactor.redact_text(f"export GITHUB_TOKEN={token}")
    assert token not in result.text
    assert "<SECRET:" in result.text
    assert result.counts["SECRET"] == 1


@pytest.mark.parametrize(
    ("entity", "value", "expected"),
    [
        ("CREDIT_CARD", "4111-1111-1111-1111", "****-****-****-1111"),
        ("PHONE_NUMBER", "+1 415 555 0132", "+* *** *** 0132"),
        ("EMAIL_ADDRESS", "maria@example.org", "m****@*******.***"),
        ("PERSON", "Jo", "**"),
    ],
)
def test_mask_partially(entity: str, value: str, expected: str) -> None:
    assert mask_partially(entity, value) == expected


@pytest.mark.parametrize(
    ("findings", "expected"),
    [
        ([Finding(0, 5, "PERSON", 0.8), Finding(3, 10, "EMAIL_ADDRESS", 1.0)], [(0, 10, "EMAIL_ADDRESS")]),
        ([Finding(0, 10, "EMAIL_ADDRESS", 1.0), Finding(2, 4, "SECRET", 1.0, "token")], [(0, 10, "SECRET")]),
        ([Finding(0, 3, "PERSON", 0.8), Finding(5, 9, "PERSON", 0.8)], [(0, 3, "PERSON"), (5, 9, "PERSON")]),
    ],
)
def test_merge_overlaps_masks_the_union(findings: list[Finding], expected: list[tuple[int, int, str]]) -> None:
    assert [(f.start, f.end, f.entity) for f in merge_overlaps(findings)] == expected


class ExplodingAnalyzer(PiiAnalyzer):
    """Fault injection at the detector boundary: raises on texts containing a marker."""

    def analyze(self, text, artifacts, entities, threshold) -> list[PiiFinding]:  # type: ignore[override]
        if "EXPLODE" in text:
            raise RuntimeError("detector failure")
        return super().analyze(text, artifacts, entities, threshold)


def test_a_failing_detector_fails_closed_for_that_value_only(analyzer: PiiAnalyzer) -> None:
    text = TextRedactor(build_detectors(SecretsDetector(), ExplodingAnalyzer(analyzer._nlp)))
    policy = PolicySet(Config()).resolve("default", "default")
    pseudo = Pseudonymizer(bytes(32)).for_tenant("default")
    results = text.redact_many(["EXPLODE maria@example.org", "hello maria@example.org"], policy, pseudo)
    assert results[0].text == FAILED_TOKEN
    assert results[0].counts == Counter({"REDACTION_FAILED": 1})
    assert results[1].text == "hello <EMAIL_ADDRESS>"


def test_long_text_is_chunked_and_still_redacted(make_redactor, analyzer: PiiAnalyzer) -> None:
    filler = "The quick brown fox jumps over the lazy dog. " * 300
    text = filler + "Contact maria@example.org or call (415) 555-0132." + filler
    chunks = analyzer.chunks(text)
    assert len(chunks) == 1  # default chunk size is large
    small = PiiAnalyzer(analyzer._nlp, max_text_chars=4000)
    pieces = small.chunks(text)
    assert len(pieces) > 3 and "".join(piece for _, piece in pieces) == text
    redactor = Redactor.build(Config(), bytes(32), analyzer=small)
    result = redactor.redact_text(text)
    assert "maria@example.org" not in result.text and "555-0132" not in result.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello there", ["LOCATION", "PERSON"]),
        ("mail me: a@b.io", ["EMAIL_ADDRESS", "LOCATION", "PERSON"]),
        ("ip 10.1.2.3", ["IP_ADDRESS", "LOCATION", "PERSON"]),
        ("v6 fe80::1", ["IP_ADDRESS", "LOCATION", "PERSON"]),
        ("call 212 555 0199", ["CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "LOCATION", "PERSON", "PHONE_NUMBER", "US_SSN"]),
        ("room 123 456", ["IP_ADDRESS", "LOCATION", "PERSON"]),  # six digits: four for an IP, not seven
        ("1 2 3 4 x 5 6 7", ["CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "LOCATION", "PERSON", "PHONE_NUMBER", "US_SSN"]),
        ("fe80::1 ok 12", ["IP_ADDRESS", "LOCATION", "PERSON"]),
    ],
)
def test_candidate_entities_prefilter(text: str, expected: list[str]) -> None:
    from policies.resolve import BUILTIN_POLICY
    from redactors.pii import candidate_entities

    assert candidate_entities(text, frozenset(BUILTIN_POLICY.entities or [])) == expected
