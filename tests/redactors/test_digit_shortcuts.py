"""DigitsDetector's gate: a view it skips holds nothing the collapsed-view checks would find.

`_may_hold` reads the view for what a card (twelve digits with short separator runs between
them) or an IBAN (two capitals and two digits, upper-cased) needs after collapsing. Where it says
no, the checks themselves (collapse, then cards and IBANs) must find nothing: on every text of
the dev corpus and the public sets, raw and normalised, gitleaks' examples, the bench's
workloads and generated digit text.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.common import Source
from bench.eval.evaluate import SOURCES, comparison_rows
from bench.secrets import load_examples
from bench.workload import DEFAULT_SEED, REALISTIC, UNIQUE
from redactors.detectors import pii as detectors
from redactors.normalize import TextView, collapse_digit_separators, normalize
from redactors.pii import PiiAnalyzer

BOTH = frozenset({"CREDIT_CARD", "IBAN_CODE"})
WANTED = (BOTH, frozenset({"CREDIT_CARD"}), frozenset({"IBAN_CODE"}))


def _checked(analyzer: PiiAnalyzer, text: str, entities: frozenset[str]) -> list[tuple[int, int, str]]:
    """What DigitsDetector finds in a view with two digits, without the gate."""
    view = TextView(text)
    collapsed = collapse_digit_separators(view)
    found = analyzer.analyze_collapsed_digits(collapsed.text, entities, 0.0, cards=collapsed.text != view.text)
    return [(f.start, f.end, f.entity) for f in found]


def _gated_wrongly(analyzer: PiiAnalyzer, texts: list[str]) -> list[str]:
    return [
        text for text in texts for entities in WANTED
        if not detectors._may_hold(text, entities) and _checked(analyzer, text, entities)
    ]  # fmt: skip


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found: dict[str, None] = {}
    examples = load_examples()
    raw = [row["text"] for row in comparison_rows(SOURCES)]
    raw += [p["text"] for p in examples["positives"]] + [n["text"] for n in examples["negatives"]]
    for kind in (REALISTIC, UNIQUE):
        raw += Source(kind, DEFAULT_SEED).take(60).string_values()
    for text in raw:
        found[text] = None
        found[normalize(text).text] = None
    return [text for text in found if detectors._TWO_DIGITS.match(text)]


def test_corpora_skip_only_views_without_cards_or_ibans(analyzer: PiiAnalyzer, texts: list[str]) -> None:
    assert len(texts) > 1000
    assert _gated_wrongly(analyzer, texts) == []
    # The gate is not vacuous: most views are skipped, and the ones with findings are not.
    skipped = sum(not detectors._may_hold(text, BOTH) for text in texts)
    with_findings = sum(bool(_checked(analyzer, text, BOTH)) for text in texts)
    assert skipped > len(texts) // 2 and with_findings > 20


_PIECES = st.sampled_from([
    "4111", "1111", "5500", "0000", "4", "41", "GB", "gb", "DE", "de", "89", "3704", "NL91ABNA0417164300", " ", "  ", "   ",
    "    ", "-", ".", "\t", "\u2013", "\u00a0", "\u2009", "/", "x", "\u0663", "\uff11", "\ufb00", "\u0131", "\u017f",
    "GB82 WEST 1234 5698 7654 32", "4111 1111 1111 1111", "4111-1111-1111-1111", "DE89 3704 0044 0532 0130 00", "card ",
])  # fmt: skip


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=24).map("".join))
def test_generated_digit_text_skips_only_views_without_cards_or_ibans(analyzer: PiiAnalyzer, text: str) -> None:
    assert _gated_wrongly(analyzer, [text]) == []


def test_the_gate_reads_the_separators_collapsing_removes() -> None:
    from redactors import normalize as normalization

    assert normalization._DIGIT_SEP_RE.pattern == rf"\d{detectors._SEPARATORS}{{1,3}}(?=\d)"


def test_the_gate_keeps_cards_and_ibans_with_separators() -> None:
    for text in ("pay 4111 - 1111 - 1111 - 1111 now", "iban de89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32"):
        assert detectors._may_hold(text, BOTH), text
    assert not detectors._may_hold("order 1234-5678 on 2024-01-05, ref AB 12", BOTH)
