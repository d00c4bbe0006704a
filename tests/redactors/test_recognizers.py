"""The direct recognizer path (`RecognizerSet`) against Presidio's `AnalyzerEngine.analyze`.

Same recognizers, same NLP engine, same threshold: the results must be the same spans, types and
scores, on every text of the dev corpus and the public evaluation sets (raw and normalised), with
the NER Doc (NER policy) and without it (patterns-only: Presidio gets the tokenizer's Doc, the
direct path none), and on generated text built to hit the context words and the edge cases.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.eval.evaluate import SOURCES, comparison_rows
from redactors.nerinput import ner_input
from redactors.normalize import normalize
from redactors.pii import LANGUAGE, PiiAnalyzer, candidate_entities

ALL = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "URL"})
PATTERNS = frozenset({"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"})
# The policies' default, and 0: every weak result (SSN shapes at 0.05, "::" at 0.1) is then kept,
# so its score, raised by a context word or not, must match too.
THRESHOLDS = (0.4, 0.0)


def _key(results) -> list[tuple[str, int, int, float]]:
    return sorted((r.entity_type, r.start, r.end, round(r.score, 9)) for r in results)


class Reference:
    """Both paths on one text, as `PiiAnalyzer.analyze` calls them."""

    def __init__(self, analyzer: PiiAnalyzer) -> None:
        self.analyzer = analyzer
        self.engine = analyzer.reference_engine()
        self.nlp_engine = analyzer._engine  # the NLP engine the analyzer gives Presidio

    def differences(self, texts: list[str], entities: frozenset[str], with_ner: bool) -> list[tuple[str, float, list, list]]:
        docs = self.analyzer.artifacts(texts, with_ner)
        found = []
        for text, doc in zip(texts, docs, strict=True):
            candidates = candidate_entities(text, entities)
            if not candidates:
                continue
            tokens = doc if doc is not None else self.analyzer._nlp.make_doc(ner_input(text))
            for threshold in THRESHOLDS:
                direct = self.analyzer._recognizers.analyze(text, candidates, threshold, doc)
                artifacts = self.nlp_engine._doc_to_nlp_artifact(tokens, LANGUAGE)
                presidio = self.engine.analyze(text=text, language=LANGUAGE, entities=candidates, score_threshold=threshold, nlp_artifacts=artifacts)
                if _key(direct) != _key(presidio):
                    found.append((text, threshold, _key(direct), _key(presidio)))
        return found


@pytest.fixture(scope="module")
def reference(analyzer: PiiAnalyzer) -> Reference:
    return Reference(analyzer)


@pytest.fixture(scope="module")
def corpus_texts() -> list[str]:
    texts: dict[str, None] = {}
    for row in comparison_rows(SOURCES):
        texts[row["text"]] = None
        texts[normalize(row["text"]).text] = None  # the detectors read the normalised view
    return list(texts)


def test_corpus_without_ner_matches_presidio(reference: Reference, corpus_texts: list[str]) -> None:
    assert len(corpus_texts) > 3000
    assert reference.differences(corpus_texts, PATTERNS, with_ner=False) == []
    assert reference.differences(corpus_texts, ALL, with_ner=False) == []


def test_corpus_with_ner_matches_presidio(reference: Reference, corpus_texts: list[str]) -> None:
    assert reference.differences(corpus_texts, ALL, with_ner=True) == []


def test_context_words_raise_scores_as_presidio_does(reference: Reference) -> None:
    # Twins: the same weak SSN shape and "::", with and without a context word before it.
    texts = [
        "my ssn: 219-091234 ok", "my ref: 219-091234 ok", "SSN 219091234", "order 219091234",
        "ip :: here", "host :: here", "IBAN GB82WEST12345698765432", "bank transfer to DE89370400440532013000",
        "the IP is 10.0.0.1", "version 10.0.0.1", "mail ops@example.com or email ops@example.com",
    ]  # fmt: skip
    assert reference.differences(texts, PATTERNS, with_ner=False) == []
    direct = reference.analyzer._recognizers.analyze("my ssn: 219-091234 ok", ["US_SSN"], 0.4, None)
    assert [(r.start, r.end, r.score) for r in direct] == [(8, 18, 0.4)]  # raised from 0.05 by "ssn"
    assert reference.analyzer._recognizers.analyze("my ref: 219-091234 ok", ["US_SSN"], 0.4, None) == []


# Texts at the edges of the URL windows (redactors/pii.py): URLs in quotes, after a scheme, at a
# sentence's end, with non-ASCII white space around them, and letters that fold to ASCII.
_WINDOW_EDGES = [
    "Visit docs.python.org. Then 'https://example.com/a?b=1' or \"www.example.org\".", "done.\u00a0example.com\u2028x",
    "ftp://files.example.net/x (mirror: example.co.uk/y)", "e.g. this.\nThat", "K.\u212a x.\u017fe", "no dots here",
]  # fmt: skip


def test_url_window_edges_match_presidio(reference: Reference) -> None:
    assert reference.differences(_WINDOW_EDGES, ALL, with_ner=False) == []
    found = reference.analyzer._recognizers.analyze("Visit docs.python.org. Then", ["URL"], 0.4, None)
    assert [(r.start, r.end) for r in found] == [(6, 21)]


_PIECES = st.sampled_from([
    " ", "  ", "\n", "\t", ":", "::", "-", ".", "@", ",", "/", "(", ")", "+", "\\n", "....",
    "ssn", "SSN", "ip", "IP", "ipv6", "iban", "bank", "email", "the", "is", "my", "a:the", "be", "K",
    "078", "05", "1120", "123", "45", "6789", "4111", "1111", "10.0.0.1", "192.168.1.255", "fe80::1", "2001:db8::ff00:42:8329",
    "GB82WEST12345698765432", "DE89 3704 0044 0532 0130 00", "jane.doe@example.com", "x@y.io", "@", "a@b@c.de",
    "e\u0301", "'", "`", "{", "..", "_", "example.org", "1:2:3:4:5:6:7:8", "ab:cd", "1.2.3", "version ",
    "+1 415 555 0132", "(415) 555-0132", "4111 1111 1111 1111", "078-05-1120", "078 05 1120", "123456789",
    # URLs (OfflineUrlRecognizer reads only runs of non-space characters with a "." before a letter):
    "https://", "http://", "www.", "www2.", "example.com/a?b=1", ".com", ".io", "/path", '"', "\u00a0", "\u2028",
    "docs.python.org", "done.", "A.B", ".\u212a", "x.\u017fe", "\u0130", "e.g.", "3.5", "(", "<", "-x.de-",
])  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(_PIECES, min_size=1, max_size=40).map("".join))
def test_generated_text_matches_presidio(reference: Reference, text: str) -> None:
    assert reference.differences([text], PATTERNS, with_ner=False) == []
    assert reference.differences([text], ALL, with_ner=False) == []


def test_collapsed_digit_views_match_the_recognizers_own_analyze(analyzer: PiiAnalyzer, corpus_texts: list[str]) -> None:
    # DigitsDetector's checks (cards, IBANs upper-cased) go through RecognizerSet.run.
    from redactors.normalize import TextView, collapse_digit_separators

    checked = 0
    for text in corpus_texts:
        view = collapse_digit_separators(TextView(text)).text
        for recognizer, entity, seen in ((analyzer._card, "CREDIT_CARD", view), (analyzer._iban, "IBAN_CODE", view.upper())):
            own = recognizer.analyze(seen, [entity], None)
            checked += bool(own)
            assert _key(analyzer._recognizers.run(recognizer, seen, [entity])) == _key(own), text
    assert checked > 50


def test_a_pattern_that_times_out_fails_the_value_closed(redactor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Presidio skips a pattern whose regex times out; the direct path raises instead, so the text
    becomes the failure token rather than passing with that entity unexamined."""
    import redactors.recognizers as recognizers
    from redactors.textredact import FAILED_TOKEN

    text = "Write to timeout.probe.7731@example.org about order 88213 " * 400
    assert redactor.redact_texts([text + "(once)"])[0].text != FAILED_TOKEN  # the normal path examines it
    monkeypatch.setattr(recognizers, "REGEX_TIMEOUT_SECONDS", 1e-9)
    out = redactor.redact_texts([text + "(twice)"])[0]
    assert out.text == FAILED_TOKEN
    assert "timeout.probe.7731" not in out.text


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ssn 123 - 45 - 6789 on file", True),  # padded separators: the spaced recognizer's
        ("ssn 123 .45. 6789 on file", True),
        ("released 2024-08-06, build 1.22.3333", False),  # benign twins: a date, a dotted version
        ("call 123-456-7890 today", False),
        ("ref x123 - 45 - 6789", False),  # glued to a word: the look-behind refuses it
    ],
)
def test_spaced_ssn_prefilter_keeps_what_the_pattern_finds(analyzer: PiiAnalyzer, text: str, found: bool) -> None:
    from redactors.pii import SpacedSsnRecognizer

    recognizer = next(r for r in analyzer._recognizers._recognizers if isinstance(r, SpacedSsnRecognizer))
    plain = recognizer.analyze(text=text, entities=["US_SSN"], nlp_artifacts=None)
    assert bool(plain) == found
    assert bool(recognizer.possible(text)) or not plain
    assert _key(analyzer._recognizers.run(recognizer, text, ["US_SSN"])) == _key(plain)


_STREET_PIECES = st.sampled_from([
    " ", "  ", "\t", "\n", ",", ", ", ":", '"', "-", ".", "ß", "ẞ", "\u017f", "K",
    "Haupt", "strasse", "STRASSE", "straße", "str.", "weg", "Gasse", "platz", "allee", "laan", "straat", "gade", "vej", "väg", "gatan",
    "way", "Kings", "gate", "12", "5", "876", "1718", "94105", "94105-1234", "a", "Springfield", "San Jose", "CA", "ny",
    "SW1A", "1AA", "2aa", "M1", "1AE", "EC1A 1BB", '"city"', '"zip"', '"address_line_2"', '"postcode"', ": ", '"Lyon"',
    "Main", "St", "Street", "Suite", "4", "rue", "Via", "Roma",
])  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(_STREET_PIECES, min_size=1, max_size=30).map("".join))
def test_street_pattern_gates_skip_only_texts_without_a_match(reference: Reference, text: str) -> None:
    # The direct path skips a pattern whose gate finds nothing; Presidio runs every pattern.
    assert reference.differences([text], frozenset({"LOCATION"}), with_ner=False) == []


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("street (suffix)", "Delivered to Friedrichstrasse 876, Berlin"),
        ("street (suffix)", "Kungsgatan\t12"),
        ("city, state zip", "Springfield, IL 62704-1234"),
        ("uk postcode", "London SW1A 1AA"),
        ("address field", '{"postcode": "75001", "city": "Paris"}'),
    ],
)
def test_street_pattern_gate_is_in_every_match(pattern: str, text: str) -> None:
    import regex

    from redactors.pii import StreetAddressRecognizer

    recognizer = StreetAddressRecognizer()
    source = next(p for p in recognizer.patterns if p.name == pattern)
    assert regex.search(source.regex, text, flags=recognizer.global_regex_flags) is not None  # the pattern matches
    assert recognizer.gates[pattern].search(text) is not None  # and so its gate does
    assert recognizer.gates[pattern].search(text.replace(" ", "").replace("\t", "").replace('"', "")) is None  # no gap, no quote: no gate
