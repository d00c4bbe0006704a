"""The phone matcher's shortcuts find exactly what libphonenumber's plain matcher finds.

`MatcherPhoneRecognizer._numbers` skips a region in which none of the candidates the matcher
tries can be a valid number (`_CandidateRecorder`, `_RegionLengths`) and, in the regions it runs,
does not parse such candidates (`_RegionMatcher`). The reference below is the loop as it was:
`phonenumbers.PhoneNumberMatcher` in every region in turn until the digit run is covered. Both
run on every text of the dev corpus and the public sets (libphonenumber's own example numbers
among them, raw and normalised), gitleaks' examples, the bench's workloads and generated digit
text, with the default regions and with regions whose metadata has every special case (shared
country codes, rewritten national prefixes, IDD prefixes that do not start with 0, leading zeros).
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.common import Source
from bench.eval.evaluate import SOURCES, comparison_rows
from bench.secrets import load_examples
from bench.workload import DEFAULT_SEED, REALISTIC, UNIQUE
from policies.config import DEFAULT_PHONE_REGIONS
from redactors import phones
from redactors.normalize import normalize

# Shared codes (US/CA/JM, GB/JE, RU/KZ), prefix rewrites (AR, BR, JP, MX), IDD prefixes starting
# with 1 (CL, CN, AU), Italian leading zeros (IT), four-digit numbers (AT, DE), 001 (KR).
SPECIAL_REGIONS = ("US", "CA", "JM", "GB", "JE", "RU", "KZ", "AR", "BR", "JP", "MX", "CL", "CN", "AU", "IT", "AT", "DE", "KR", "SM", "VA")
REGION_SETS = (DEFAULT_PHONE_REGIONS, SPECIAL_REGIONS)


class PlainMatcher(phones.MatcherPhoneRecognizer):
    """The recognizer with libphonenumber's matcher run as it is, in every region in turn."""

    def _numbers(self, window: str, run_start: int, run_end: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        regions = self.regions[:1] if window[run_start : run_start + 1] == "+" else self.regions
        for region in regions:
            for match in phonenumbers.PhoneNumberMatcher(window, region, leniency=phonenumbers.Leniency.VALID):
                if (match.start, match.end) not in spans:
                    spans.append((match.start, match.end))
            if any(s <= run_start and e >= run_end - 1 for s, e in spans):
                break
        return spans


def _found(recognizer: phones.MatcherPhoneRecognizer, text: str) -> list[tuple[int, int, float]]:
    return sorted((r.start, r.end, r.score) for r in recognizer.analyze(text, ["PHONE_NUMBER"]))


def _differences(texts: list[str], regions: tuple[str, ...]) -> list[str]:
    ours, plain = phones.MatcherPhoneRecognizer(regions), PlainMatcher(regions)
    return [text for text in texts if _found(ours, text) != _found(plain, text)]


def _bench_texts() -> list[str]:
    texts: list[str] = []
    for kind in (REALISTIC, UNIQUE):
        texts += Source(kind, DEFAULT_SEED).take(60).string_values()
    return texts


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found: dict[str, None] = {}
    examples = load_examples()
    raw = [row["text"] for row in comparison_rows(SOURCES)]
    raw += [p["text"] for p in examples["positives"]] + [n["text"] for n in examples["negatives"]]
    raw += _bench_texts()
    for text in raw:
        found[text] = None
        found[normalize(text).text] = None  # the recognizers read the normalised view
    return [text for text in found if phones._PHONE_RUN.search(text)]


@pytest.mark.parametrize("regions", REGION_SETS, ids=("default", "special"))
def test_corpora_find_what_the_plain_matcher_finds(texts: list[str], regions: tuple[str, ...]) -> None:
    assert len(texts) > 1000
    assert _differences(texts, regions) == []


def test_every_region_s_example_numbers_are_found_as_the_plain_matcher_finds_them() -> None:
    # libphonenumber's example number of every type of every region, national and international,
    # each read with its own region in the list (and with the default list).
    texts = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            for form in (phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL):
                texts.append((region, f"call {phonenumbers.format_number(number, form)} today"))
    assert len(texts) > 1000
    ours_default, plain_default = phones.MatcherPhoneRecognizer(DEFAULT_PHONE_REGIONS), PlainMatcher(DEFAULT_PHONE_REGIONS)
    differ = [text for _, text in texts if _found(ours_default, text) != _found(plain_default, text)]
    for region in sorted({region for region, _ in texts}):
        ours, plain = phones.MatcherPhoneRecognizer((region, "US")), PlainMatcher((region, "US"))
        differ += [text for r, text in texts if r == region and _found(ours, text) != _found(plain, text)]
    assert differ == []


_PIECES = st.sampled_from([
    "0", "00", "1", "011", "0011", "4", "15", "9", "44", "49", "81", "7", "2345", "67890", "123456", "555", " ", "-",
    ".", "/", "(", ")", "+", "\t", " - ", "x", " ext. ", "#", ",", ";", "~", "call ", "phone: ", "a", "\u0661\u0662",
    "\u2013", "\u00a0", "4111 1111 1111 1111", "2024-01-05", "10.0.0.1",
])  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=30).map("".join))
def test_generated_digit_text_finds_what_the_plain_matcher_finds(text: str) -> None:
    for regions in REGION_SETS:
        assert _differences([text], regions) == []


def test_a_card_number_parses_in_few_regions() -> None:
    # What the shortcut is for: a 16-digit card is read in the regions whose numbers can be
    # that long or as short as its groups, not in all 38.
    window = "ard 5136 4992 0225 6384, ca"
    candidates = phones._CandidateRecorder.tried(window)
    recognizer = phones.MatcherPhoneRecognizer(DEFAULT_PHONE_REGIONS)
    live = [r for r in recognizer.regions if any(phones._may_be_valid(c, recognizer._lengths[r]) for c in candidates)]
    assert candidates and len(live) < len(DEFAULT_PHONE_REGIONS) // 2
    assert _found(recognizer, "my card 5136 4992 0225 6384, call") == _found(PlainMatcher(DEFAULT_PHONE_REGIONS), "my card 5136 4992 0225 6384, call")


def _possible_as_written(lengths: phones._RegionLengths, digits: str) -> bool:
    """`_RegionLengths.possible` as first written: every reading made before any is measured."""
    if lengths._lengths is None or (lengths._idd is not None and lengths._idd.match(digits)):
        return True
    readings = {digits, digits[len(lengths._code) :]} if digits.startswith(lengths._code) else {digits}
    for _ in range(2):
        readings |= {after for reading in readings for after in lengths._without_prefix(reading)}
    return any(len(reading) in lengths._lengths for reading in readings)


_DIGIT_RUNS = st.lists(st.sampled_from(["0", "00", "1", "011", "0011", "15", "9", "44", "49", "54", "55", "81", "7", "8", "2345", "67890"]),
                       min_size=1, max_size=8).map("".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_DIGIT_RUNS)
def test_possible_answers_as_when_every_reading_is_made_first(digits: str) -> None:
    for region in sorted(set(SPECIAL_REGIONS) | set(DEFAULT_PHONE_REGIONS)):
        lengths = phones._RegionLengths(region)
        assert lengths.possible(digits) == _possible_as_written(lengths, digits), region


_RUN_AS_WRITTEN = re.compile(r"(?=[+(\d])\+?\(?\d(?:[ \t().\-/]*\d){6,}(?:[ \t]*,?[ \t]*(?:x|ext\.?|extension|#)[ \t]*\d{1,6})?", re.IGNORECASE)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=30).map("".join))
def test_phone_runs_are_the_look_ahead_pattern_s(text: str) -> None:
    assert [m.span() for m in phones._PHONE_RUN.finditer(text)] == [m.span() for m in _RUN_AS_WRITTEN.finditer(text)]


@pytest.mark.parametrize("text", ["call +(44) 20 7946 0958", "+1 415 555 0100 x12", "(415) 555-0100", "tel 4155550100", "ids 12 34 56"])
def test_phone_runs_start_as_before(text: str) -> None:
    assert [m.group() for m in phones._PHONE_RUN.finditer(text)] == [m.group() for m in _RUN_AS_WRITTEN.finditer(text)]
