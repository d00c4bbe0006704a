"""The dev-corpus evaluation: scoring rules on hand-made rows, corpus invariants, and the full run.

The fast tests pin what counts as a leak and how recall and benign share are computed. The slow
test redacts the whole checked-in corpus and asserts the product targets: it is the regression
guard against leaks, so its thresholds are the real ones (never lower them to make it pass;
fix the engine).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest

from bench.eval import corpus
from bench.eval.evaluate import (
    BENIGN_TARGET,
    FAILED_TOKEN,
    TARGETS,
    Report,
    Tally,
    canonical,
    check_targets,
    evaluate,
    format_report,
    group_of,
    leak_reason,
    partial_digits,
    score,
)

# Token-looking test values are assembled at run time, as in the generator.
OPENAI_KEY = "s" + "k-" + "Zq3" * 16
FULLWIDTH_EMAIL = "".join(chr(ord(c) + 0xFEE0) for c in "john@example.com")

# --------------------------------------------------------------------------- leak rules

LEAK_ROWS = [
    # (planted value, entity, redacted output, expected reason or None)
    pytest.param("john.smith@gmail.com", "EMAIL_ADDRESS", "mail <EMAIL_ADDRESS> today", None, id="email-masked"),
    pytest.param("john.smith@gmail.com", "EMAIL_ADDRESS", "mail john.smith@gmail.com today", "verbatim", id="email-verbatim"),
    pytest.param("john.smith@gmail.com", "EMAIL_ADDRESS", "mail john.smith@<URL> today", "email-local-part", id="email-domain-only-masked"),
    pytest.param("jo@x.io", "EMAIL_ADDRESS", "jo@<URL>", None, id="email-short-local-part-ignored"),
    pytest.param(FULLWIDTH_EMAIL, "EMAIL_ADDRESS", "to john@example.com", "canonical", id="email-fullwidth-vs-ascii"),
    pytest.param("jo\u200bhn@example.com", "EMAIL_ADDRESS", "to jo\u200bhn@example.com", "verbatim", id="email-zero-width-kept"),
    pytest.param("jo\u200bhn@example.com", "EMAIL_ADDRESS", "to <EMAIL_ADDRESS>", None, id="email-zero-width-masked"),
    pytest.param("john%40example.com", "EMAIL_ADDRESS", "?e=john@example.com", "canonical", id="email-url-encoded-decoded"),
    pytest.param("john\\u0040example.com", "EMAIL_ADDRESS", "john%40example.com", "canonical", id="email-u-escape-vs-percent"),
    pytest.param("4111 1111 1111 1111", "CREDIT_CARD", "card <CREDIT_CARD>", None, id="card-masked"),
    pytest.param("4111 1111 1111 1111", "CREDIT_CARD", "card 4111111111111111", "digits", id="card-reformatted"),
    pytest.param("4111111111111111", "CREDIT_CARD", "card 4111 - 1111 - 1111 - 1111", "digits", id="card-odd-separators"),
    pytest.param("4111 1111 1111 1111", "CREDIT_CARD", "card 4111 1111 1111 <CREDIT_CARD>", "partial-digits", id="card-half-masked"),
    pytest.param("4111 1111 1111 1111", "CREDIT_CARD", "card **** **** **** 1111", None, id="card-last-four-kept"),
    pytest.param("４１１１ １１１１ １１１１ １１１１", "CREDIT_CARD", "card 4111-1111-1111-1111", "digits", id="card-fullwidth-digits"),
    pytest.param("(415) 867-5309", "PHONE_NUMBER", "call 415.867.5309", "digits", id="phone-reformatted"),
    pytest.param("+44 20 7946 0958", "PHONE_NUMBER", "call +44 <PHONE_NUMBER>", None, id="phone-country-code-kept"),
    pytest.param("+44 20 7946 0958", "PHONE_NUMBER", "call +44 20 <PHONE_NUMBER>", None, id="phone-area-code-kept"),
    pytest.param("+44 20 7946 0958", "PHONE_NUMBER", "call +44 20 7946 <PHONE_NUMBER>", "partial-digits", id="phone-8-of-12-digits-kept"),
    pytest.param("536-22-8714", "US_SSN", "ssn 536 22 8714", "digits", id="ssn-reformatted"),
    pytest.param("536-22-8714", "US_SSN", "ssn <US_SSN>", None, id="ssn-masked"),
    pytest.param("DE89 3704 0044 0532 0130 00", "IBAN_CODE", "iban DE89370400440532013000", "digits", id="iban-compacted"),
    pytest.param("GB29 NWBK 6016 1331 9268 19", "IBAN_CODE", "iban gb29nwbk60161331926819", "partial-digits", id="iban-lowercased"),
    pytest.param("DE89 3704 0044 0532 0130 00", "IBAN_CODE", "iban DE89 3704 <IBAN_CODE>", None, id="iban-bank-code-only"),
    pytest.param("203.0.113.77", "IP_ADDRESS", "from <IP_ADDRESS>", None, id="ip-masked"),
    pytest.param("203.0.113.77", "IP_ADDRESS", "from 203.0.113.77:443", "verbatim", id="ip-with-port"),
    pytest.param("Maria Gonzalez", "PERSON", "I spoke with <PERSON> yesterday", None, id="name-masked"),
    pytest.param("Maria Gonzalez", "PERSON", "I spoke with Maria <PERSON> yesterday", "name-token", id="name-first-token-left"),
    pytest.param("maria gonzalez", "PERSON", "i spoke with maria gonzalez", "verbatim", id="name-lower-verbatim"),
    pytest.param("Lin Chen", "PERSON", "Linux user <PERSON>", None, id="name-token-inside-word-ignored"),
    pytest.param("Li Wei", "PERSON", "Li <PERSON>", None, id="name-two-letter-token-ignored"),
    pytest.param("Ma\u200bria Gonzalez", "PERSON", "Ma\u200bria <PERSON>", "name-token", id="name-zero-width-token-left"),
    pytest.param("221B Baker Street", "LOCATION", "at 221B <LOCATION>", None, id="location-exact-only"),
    pytest.param("221B Baker Street", "LOCATION", "at 221B Baker Street, London", "verbatim", id="location-verbatim"),
    pytest.param(OPENAI_KEY, "SECRET", "key <SECRET:openai>", None, id="secret-masked"),
    pytest.param(OPENAI_KEY, "SECRET", "key <SECRET:openai>" + OPENAI_KEY[-20:], "secret-fragment", id="secret-tail-left"),
    pytest.param(OPENAI_KEY, "SECRET", "key " + OPENAI_KEY[:10] + "<SECRET:openai>", None, id="secret-prefix-only-left"),
    pytest.param("hunter22", "SECRET", "password: hunter<SECRET>", None, id="secret-short-fragment-ignored"),
    pytest.param("hunter22", "SECRET", "password: hunter22", "verbatim", id="secret-short-verbatim"),
]


@pytest.mark.parametrize(("value", "entity", "output", "expected"), LEAK_ROWS)
def test_leak_reason(value: str, entity: str, output: str, expected: str | None) -> None:
    assert leak_reason(value, entity, output) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FULLWIDTH_EMAIL, "john@example.com"),
        ("jo\u200bhn@exa\u2060mple.com", "john@example.com"),
        ("john%40example.com", "john@example.com"),
        ("john\\u0040example.com", "john@example.com"),
        ("john\\x40example.com", "john@example.com"),
        ("john&#64;example.com", "john@example.com"),
        ("john [at] example [dot] com", "john@example.com"),
        ("price: 10% off, 4.50 EUR", "price: 10% off, 4.50 EUR"),
    ],
)
def test_canonical(text: str, expected: str) -> None:
    assert canonical(text) == expected


@pytest.mark.parametrize(("n", "expected"), [(6, 6), (8, 8), (9, 8), (11, 8), (14, 9), (16, 10), (20, 12), (26, 16)])
def test_partial_digits(n: int, expected: int) -> None:
    assert partial_digits(n) == expected


@pytest.mark.parametrize(
    ("category", "entity", "group"),
    [
        ("structured", "EMAIL_ADDRESS", "structured"),
        ("mixed", "IP_ADDRESS", "structured"),
        ("mixed", "PERSON", "person"),
        ("structured", "PERSON", "person"),
        ("location", "LOCATION", "location"),
        ("secret", "SECRET", "secret"),
        ("evasion", "CREDIT_CARD", "evasion"),
        ("evasion", "SECRET", "evasion"),
    ],
)
def test_group_of(category: str, entity: str, group: str) -> None:
    assert group_of(category, entity) == group


# --------------------------------------------------------------------------- scoring


def _row(id_: str, category: str, text: str, planted: list[tuple[str, str]], benign: list[str]) -> dict:
    return {
        "id": id_,
        "category": category,
        "pattern": f"{category}/test",
        "text": text,
        "planted": [{"value": v, "entity": e} for v, e in planted],
        "benign": benign,
    }


TINY_ROWS = [
    _row("s-1", "structured", "mail ann.lee@gmail.com about order 42", [("ann.lee@gmail.com", "EMAIL_ADDRESS")], ["order 42"]),
    _row("p-1", "person", "I spoke with Maria Gonzalez", [("Maria Gonzalez", "PERSON")], []),
    _row("k-1", "secret", "password: Falcon!Tundra42", [("Falcon!Tundra42", "SECRET")], []),
    _row("e-1", "evasion", "key " + OPENAI_KEY, [(OPENAI_KEY, "SECRET")], []),
    _row("b-1", "benign", "gpt-4o-mini took 812 ms", [], ["gpt-4o-mini took 812 ms"]),
]


def test_score_counts_groups_leaks_and_benign() -> None:
    outputs = [
        "mail <EMAIL_ADDRESS> about order 42",
        "I spoke with Maria <PERSON>",  # first name left: a leak
        "password: <SECRET:password>",
        "key " + OPENAI_KEY,  # evasion row, secret left
        "<PERSON> took 812 ms",  # over-redaction
    ]
    report = score(TINY_ROWS, outputs)
    assert report.rows == 5
    assert report.categories == Counter({"structured": 1, "person": 1, "secret": 1, "evasion": 1, "benign": 1})
    assert (report.groups["structured"].planted, report.groups["structured"].leaked) == (1, 0)
    assert (report.groups["person"].planted, report.groups["person"].leaked) == (1, 1)
    assert (report.groups["secret"].planted, report.groups["secret"].leaked) == (1, 0)
    assert (report.groups["evasion"].planted, report.groups["evasion"].leaked) == (1, 1)
    assert report.entities[("evasion", "SECRET")].leaked == 1
    # Secrets are counted across groups: the evasion row's key is a leaked secret.
    assert (report.secrets.planted, report.leaked_secrets) == (2, 1)
    assert [(m.id, m.entity, m.reason) for m in report.leaks] == [("p-1", "PERSON", "name-token"), ("e-1", "SECRET", "verbatim")]
    assert (report.benign.planted, report.benign.removed) == (2, 1)
    assert report.benign_kept == 0.5
    assert [m.id for m in report.benign_lost] == ["b-1"]
    assert report.failed_rows == []


def test_score_fail_closed_row_counts_as_removed_and_benign_lost() -> None:
    report = score(TINY_ROWS[:1], [FAILED_TOKEN])
    assert report.failed_rows == ["s-1"]
    assert report.groups["structured"].leaked == 0
    assert report.benign_kept == 0.0


def test_score_needs_one_output_per_row() -> None:
    with pytest.raises(ValueError):
        score(TINY_ROWS, ["x"])


def _report(structured: tuple[int, int], person: tuple[int, int], secrets_leaked: int, benign: tuple[int, int]) -> Report:
    report = Report(rows=1)
    report.groups["structured"] = Tally(*structured)
    report.groups["person"] = Tally(*person)
    report.secrets = Tally(10, secrets_leaked)
    report.benign = Tally(*benign)
    return report


@pytest.mark.parametrize(
    ("report", "missed"),
    [
        pytest.param(_report((100, 1), (10, 1), 0, (100, 5)), [], id="all-met-at-the-limits"),
        pytest.param(_report((100, 2), (10, 1), 0, (100, 5)), ["structured recall 98.0% < 99%"], id="structured"),
        pytest.param(_report((100, 0), (10, 2), 0, (100, 0)), ["person recall 80.0% < 90%"], id="person"),
        pytest.param(_report((100, 0), (10, 0), 1, (100, 0)), ["1 leaked secret(s) > 0"], id="one-secret"),
        pytest.param(_report((100, 0), (10, 0), 0, (100, 6)), ["benign kept 94.0% < 95%"], id="benign"),
        pytest.param(_report((0, 0), (10, 0), 0, (100, 0)), ["structured: nothing planted"], id="empty-group"),
    ],
)
def test_check_targets(report: Report, missed: list[str]) -> None:
    assert check_targets(report) == missed


def test_targets_are_the_product_targets() -> None:
    assert TARGETS == {"structured": 0.99, "person": 0.90}
    assert BENIGN_TARGET == 0.95


def test_report_names_ids_and_never_values() -> None:
    outputs = list(TINY_ROWS[i]["text"] for i in range(4)) + ["<PERSON> took 812 ms"]
    report = score(TINY_ROWS, outputs)
    text = format_report(report)
    for row in TINY_ROWS:
        for planted in row["planted"]:
            assert planted["value"] not in text
            for token in corpus.name_tokens(planted["value"]):
                assert not re.search(rf"\b{re.escape(token)}\b", text)
    for id_ in ("s-1", "p-1", "k-1", "e-1", "b-1"):
        assert id_ in text
    assert "TARGETS MISSED" in text


# --------------------------------------------------------------------------- the corpus itself


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return corpus.load()


def test_checked_in_corpus_is_generated_and_in_sync(rows: list[dict]) -> None:
    # Regenerate with `python -m bench.eval.corpus --write` after changing the generator.
    assert corpus.CORPUS_PATH.read_text(encoding="utf-8") == corpus.dumps(corpus.generate())
    assert corpus.generate(seed=1) == corpus.generate(seed=1)
    assert corpus.generate(seed=1) != corpus.generate(seed=2)


def test_corpus_shape(rows: list[dict]) -> None:
    assert 300 <= len(rows) <= 1500
    assert corpus.CORPUS_PATH.stat().st_size < 1_000_000
    assert len({r["id"] for r in rows}) == len(rows)
    categories = Counter(r["category"] for r in rows)
    assert set(categories) == set(corpus.CATEGORIES)
    assert min(categories.values()) >= 100
    entities = Counter(p["entity"] for r in rows for p in r["planted"])
    assert set(entities) == set(corpus.ENTITIES)
    assert min(entities.values()) >= 50
    # Lower-case names and several name contexts are present.
    patterns = {r["pattern"] for r in rows}
    for needle in ("person/lower/", "person/greeting/", "person/signoff/", "person/mid/", "evasion/email/", "evasion/card/"):
        assert sum(p.startswith(needle) for p in patterns) >= 3, needle
    for row in rows:
        corpus.check_row(corpus.Row(row["id"], row["category"], row["pattern"], row["text"], row["planted"], row["benign"]))


def _phone_valid(number: str) -> bool:
    for region in (None, "US", "GB", "DE", "FR"):
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def test_planted_structured_values_are_valid(rows: list[dict]) -> None:
    checked: Counter[str] = Counter()
    for row in rows:
        for planted in row["planted"]:
            value = canonical(planted["value"])
            entity = planted["entity"]
            digits = re.sub(r"[^0-9]", "", value)
            if entity == "CREDIT_CARD":
                assert corpus.luhn_ok(digits) and 14 <= len(digits) <= 16, row["id"]
            elif entity == "IBAN_CODE":
                assert corpus.iban_ok(value), row["id"]
            elif entity == "US_SSN":
                assert corpus.ssn_ok(value), row["id"]
            elif entity == "PHONE_NUMBER":
                assert _phone_valid(value), row["id"]
            elif entity == "EMAIL_ADDRESS" and "[at]" not in planted["value"]:
                assert re.fullmatch(r"[\w.+\-]+@[\w\-]+(\.[\w\-]+)+", value), row["id"]
            else:
                continue
            checked[entity] += 1
    assert min(checked.values()) >= 50


def test_generator_source_holds_no_token_literals() -> None:
    source = Path(corpus.__file__).read_text(encoding="utf-8")
    for pattern in (r"sk-[A-Za-z0-9_-]{20}", r"AKIA[A-Z2-7]{16}", r"gh[pousr]_[A-Za-z0-9]{30}", r"xox[bp]-\d", r"AIza[\w-]{30}"):
        assert not re.search(pattern, source), pattern


def _perfect(row: dict) -> str:
    text = row["text"]
    for planted in sorted(row["planted"], key=lambda p: -len(p["value"])):
        text = text.replace(planted["value"], f"<{planted['entity']}>")
    return text


def test_oracle_outputs_score_perfectly(rows: list[dict]) -> None:
    """A redactor that masks exactly the planted values meets every target with 100%."""
    report = score(rows, [_perfect(r) for r in rows])
    assert all(t.leaked == 0 for t in report.groups.values()), [m.id for m in report.leaks]
    assert report.benign_kept == 1.0
    assert check_targets(report) == []


def test_identity_outputs_leak_everything(rows: list[dict]) -> None:
    """Unredacted text leaks every planted value: the leak test sees each one."""
    report = score(rows, [r["text"] for r in rows])
    assert report.groups and all(t.leaked == t.planted for t in report.groups.values())
    assert report.benign_kept == 1.0


# --------------------------------------------------------------------------- the full run


@pytest.mark.slow
def test_full_evaluation_meets_targets(redactor) -> None:
    report = evaluate(corpus.CORPUS_PATH, redactor)
    assert report.rows == len(corpus.load())
    missed = check_targets(report)
    if missed:
        # The report lists failing ids and patterns only, so it is safe to show in CI logs.
        pytest.fail("targets missed: " + "; ".join(missed) + "\n\n" + format_report(report, max_listed=60), pytrace=False)
