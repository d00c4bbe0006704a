"""Phone numbers: libphonenumber's matcher (valid numbers only) over a configurable list of regions.

A cheap regex first finds phone-shaped digit runs (seven digits or more, written with the
characters phone numbers are written with, an extension included); only windows around them
go to ``phonenumbers.PhoneNumberMatcher``, once per region until the run is covered. Text with
no such run costs one regex scan. The matcher's answers are kept, only their cost is cut: a
region in which none of the candidates the matcher would try can be a valid number (by the
possible lengths in libphonenumber's own metadata) is not run, and in the others such candidates
are not parsed; a 16-digit card is parsed in three regions instead of 38.

Shapes that are valid numbers somewhere but are something else in traces are not phones:
dates, times, dotted versions and IPs, bare digit runs without a phone word before them (an
epoch timestamp, an order number; a national number with its trunk prefix, "01414960094" or
"0512/46962420", a label after it, "0832652279 fax", a field of a contact record next to an
e-mail address, "jo@x.com, 36532680", or a Chinese mobile's eleven digits, "13812345678", not
after an id word, counts), and runs glued to an id prefix ("INV-5550123").
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers
from phonenumbers import PhoneMetadata
from presidio_analyzer import LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

ENTITY = "PHONE_NUMBER"

# Seven or more digits with the characters phone numbers are written with, and an extension.
# (Written as "a digit, then separators and a digit, six times or more", the same strings as
# "(?:[digits and separators]*\d){6,}" with the same greedy ends and less backtracking. The
# start "+(d", "+d", "(d" or "d" is one character class, then look-behinds for which it was:
# a pattern that starts with a class lets the regex engine skip to those characters.)
_PHONE_RUN = re.compile(
    r"[+(\d](?:(?<=\+)\(?\d|(?<=\()\d|(?<=\d))(?:[ \t().\-/]*\d){6,}(?:[ \t]*,?[ \t]*(?:x|ext\.?|extension|#)[ \t]*\d{1,6})?",
    re.IGNORECASE,
)
_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone[ds]?|call(?:ed|ing|s)?|tel|telephone|mobile|cell|number|whatsapp|sms|text(?:ed)?|fax|"
    r"reach(?:ed)?|reachable|contact(?:ed)?|dial(?:ed|led)?|rang|ring|hotline)\b"
)
# A label after the number: "0832652279 fax", "097422668 (mobile)".
_PHONE_LABEL_AFTER = re.compile(r"(?i)^[\s,;:()\[\]-]{0,3}(?:fax|mobile|cell|office|phone|tel|home|work|landline|whatsapp)\b")
# A national number with its trunk prefix: ten or eleven digits starting with a single 0, or
# an area code and a slash ("0512/46962420", as written in Austria and Germany).
_TRUNK_NATIONAL = re.compile(r"0[1-9]\d{8,9}|0[1-9]\d{1,4}/\d{4,10}")
# A bare number as one field of a contact record, next to an e-mail address on the same line:
# "Jo Doe, jo@x.com, 36532680, Paris".
_RECORD_FIELD_BEFORE = re.compile(r"(?:^|[,;|][ \t]*)$")
_RECORD_FIELD_AFTER = re.compile(r"[ \t]*(?:[,;|]|$)")
_EMAIL_NEARBY = re.compile(r"[\w.+-]@[\w-]+\.\w")
# A Chinese mobile number is written bare: eleven digits, "1" then 3 to 9 (the matcher still
# judges it valid). It is no phone after an id word or as the value of another field ("order
# 13812345678", "ts=13812345678").
_BARE_MOBILE = re.compile(r"1[3-9]\d{9}")
_ID_BEFORE = re.compile(
    r"(?i)(?:\b(?:order|invoice|inv|id|ids|ref|reference|ticket|tracking|account|acct|transaction|txn|sku|serial|"
    r"build|job|run|request|req|case|uid|user|ts|timestamp|epoch|time|trace|span|batch|item|product|no)\b[^\w\n]{0,4}"
    r"|\w[=:][ \t]*)$"
)
_NOT_PHONES = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}(?::\d{2})*)?"  # ISO dates, with a time
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # day-month-year
    r"|\d{1,3}(?:\.\d{1,3}){3}"  # IPv4 and dotted versions
)
_WINDOW = 4
# A candidate made of these only: digits, white space and the separators "-./()". No letter (no
# extension label, no letters read as keypad digits), no "+", "#", ",", ";" or "~".
_PLAIN_CANDIDATE = re.compile(r"[\d\s\-./()]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")


class _RegionLengths:
    """What libphonenumber's `parse(candidate, region)` can make of a plain candidate's digits,
    read from its own metadata, as a necessary condition for a valid number.

    Without "+", the country code comes from the region's international (IDD) prefix at the
    start of the digits, else it is the region's own code, written or not. The national
    significant number is then the digits, less the code's digits if they lead, with a national
    prefix (`national_prefix_for_parsing`, matched at the start) taken off or rewritten by the
    region's `national_prefix_transform_rule`, once or twice, under the metadata of any region
    with that code; nothing else changes its length (leading zeros are kept). A valid number's
    length is one of the possible lengths of its region's general description, its region being
    one with that code. `possible(digits)` is False only when no such reading has one of those
    lengths; it is True (no claim) when the IDD prefix matches or a region of the code declares
    no lengths.
    """

    def __init__(self, region: str) -> None:
        metadata = PhoneMetadata.metadata_for_region(region)
        code = metadata.country_code
        regions = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, (region,))]
        regions = [m for m in regions if m is not None] + [metadata]
        self._code = str(code)
        self._idd = re.compile(metadata.international_prefix) if metadata.international_prefix else None
        prefixes = {(m.national_prefix_for_parsing, m.national_prefix_transform_rule or None) for m in regions if m.national_prefix_for_parsing}
        self._prefixes = tuple((re.compile(pattern), rule) for pattern, rule in prefixes)
        lengths = [m.general_desc.possible_length if m.general_desc is not None else () for m in regions]
        self._lengths = frozenset(n for each in lengths for n in each) if all(lengths) else None

    def possible(self, digits: str) -> bool:
        if self._lengths is None or (self._idd is not None and self._idd.match(digits)):
            return True
        readings = {digits, digits[len(self._code) :]} if digits.startswith(self._code) else {digits}
        for _ in range(2):
            # The readings only grow: one of a possible length already answers.
            if any(len(reading) in self._lengths for reading in readings):
                return True
            readings |= {after for reading in readings for after in self._without_prefix(reading)}
        return any(len(reading) in self._lengths for reading in readings)

    def _without_prefix(self, number: str) -> list[str]:
        """The number with a national prefix taken off, and rewritten where a rule says so."""
        readings = []
        for prefix, rule in self._prefixes:
            match = prefix.match(number)
            if match is not None:
                readings.append(number[match.end() :])
                if rule is not None:  # libphonenumber's own rewrite: re.sub(prefix, rule, number, count=1)
                    readings.append(prefix.sub(rule, number, count=1))
        return readings


def _digits(candidate: str) -> str:
    """`phonenumbers.normalize_digits_only`, the ASCII case without its per-character loop."""
    return _NOT_DIGIT.sub("", candidate) if candidate.isascii() else phonenumbers.normalize_digits_only(candidate)


def _may_be_valid(candidate: str, lengths: _RegionLengths) -> bool:
    return _PLAIN_CANDIDATE.fullmatch(candidate) is None or lengths.possible(_digits(candidate))


class _RegionMatcher(phonenumbers.PhoneNumberMatcher):
    """libphonenumber's matcher (leniency VALID), skipping candidates that cannot parse to a
    valid number of its region (`_RegionLengths`): the matcher itself would reject them, so the
    candidates tried, their order and the matches are the same; only the parse is saved."""

    def __init__(self, text: str, region: str, lengths: _RegionLengths) -> None:
        super().__init__(text, region, leniency=phonenumbers.Leniency.VALID)
        self._lengths = lengths

    def _parse_and_verify(self, candidate: str, offset: int) -> phonenumbers.PhoneNumberMatch | None:
        if not _may_be_valid(candidate, self._lengths):
            return None
        return super()._parse_and_verify(candidate, offset)


class _CandidateRecorder(phonenumbers.PhoneNumberMatcher):
    """The candidates libphonenumber's matcher tries in a text when it finds no valid one.

    The region is read in one place only, the parse of a candidate (`_parse_and_verify`); which
    candidates come next depends only on whether that parse succeeded. So a matcher that finds
    nothing tries these candidates in every region, and a region in which none of them can be
    valid (`_may_be_valid`) finds nothing: it need not run.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text, "ZZ", leniency=phonenumbers.Leniency.VALID)
        self.candidates: list[str] = []

    def _parse_and_verify(self, candidate: str, offset: int) -> None:
        self.candidates.append(candidate)
        return None

    @classmethod
    def tried(cls, text: str) -> list[str]:
        recorder = cls(text)
        for _ in recorder:
            pass  # nothing is ever found: the loop only walks the candidates
        return recorder.candidates


class MatcherPhoneRecognizer(LocalRecognizer):
    """Phone numbers that libphonenumber judges valid for one of `regions` (E.164 in any region)."""

    def __init__(self, regions: Sequence[str]) -> None:
        unknown = sorted(set(regions) - phonenumbers.SUPPORTED_REGIONS)
        if unknown or not regions:
            raise ValueError(f"phone regions must be libphonenumber regions; unknown: {', '.join(unknown) or '(none given)'}")
        self.regions = tuple(regions)
        self._lengths = {region: _RegionLengths(region) for region in self.regions}
        super().__init__(supported_entities=[ENTITY], supported_language="en", name="MatcherPhoneRecognizer")

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        found: dict[tuple[int, int], RecognizerResult] = {}
        for run in _PHONE_RUN.finditer(text):
            if not self._worth_matching(text, run.start(), run.end()):
                continue  # the same tests as below, on the whole run: most ids and dates stop here
            start, end = max(0, run.start() - _WINDOW), min(len(text), run.end() + _WINDOW)
            for span in self._numbers(text[start:end], run.start() - start, run.end() - start):
                span = (span[0] + start, span[1] + start)
                if self._plausible(text, *span):
                    found.setdefault(span, RecognizerResult(ENTITY, span[0], span[1], 0.7))
        return list(found.values())

    def _numbers(self, window: str, run_start: int, run_end: int) -> list[tuple[int, int]]:
        """Spans of valid numbers in the window; regions are tried until the digit run is covered.

        The same spans as `phonenumbers.PhoneNumberMatcher` in each region in turn (tested in
        tests/redactors/test_phones_cards.py on the corpora): a region that cannot find any is
        skipped, and in the others candidates that cannot be valid there are not parsed."""
        spans: list[tuple[int, int]] = []
        regions = self.regions[:1] if window[run_start : run_start + 1] == "+" else self.regions
        candidates = _CandidateRecorder.tried(window)
        # _may_be_valid per region, the candidate's own part read once: a candidate that is not
        # plain may be valid anywhere; a plain one, where its digits have a possible length.
        plain_digits = [_digits(c) for c in candidates if _PLAIN_CANDIDATE.fullmatch(c) is not None]
        any_region = len(plain_digits) < len(candidates)
        for region in regions:
            lengths = self._lengths[region]
            if not any_region and not any(lengths.possible(digits) for digits in plain_digits):
                continue  # it would find nothing (_CandidateRecorder)
            for match in _RegionMatcher(window, region, lengths):
                span = (match.start, match.end)
                if span not in spans:
                    spans.append(span)
            if any(s <= run_start and e >= run_end - 1 for s, e in spans):
                break
        return spans

    @staticmethod
    def _worth_matching(text: str, start: int, end: int) -> bool:
        """Whether a digit run could hold a number `_plausible` accepts (cheap; no matcher)."""
        run = text[start:end]
        if _NOT_PHONES.fullmatch(run.strip()):
            return False
        shaped = run.startswith("+") or any(ch in run for ch in " -.()") or _TRUNK_NATIONAL.fullmatch(run)
        return bool(shaped) or _said_to_be_phone(text, start, end) or _bare_mobile(text, start, end)

    @staticmethod
    def _plausible(text: str, start: int, end: int) -> bool:
        matched = text[start:end]
        before = text[start - 1 : start] if start else ""
        if before and (before.isalnum() or before in "#-_/."):
            return False
        if _NOT_PHONES.fullmatch(matched.strip()):
            return False
        if matched.startswith("+") or any(ch in matched for ch in " -.()") or _TRUNK_NATIONAL.fullmatch(matched):
            return True
        return _said_to_be_phone(text, start, end) or _bare_mobile(text, start, end)


def _bare_mobile(text: str, start: int, end: int) -> bool:
    """Eleven digits in a Chinese mobile's shape, not after an id word or a field's key."""
    return _BARE_MOBILE.fullmatch(text, start, end) is not None and _ID_BEFORE.search(text, max(0, start - 24), start) is None


def _said_to_be_phone(text: str, start: int, end: int) -> bool:
    """A bare digit run is a phone number when a phone word comes before it, a label after it,
    or it is a field of a contact record with an e-mail address on the same line."""
    if _PHONE_CONTEXT.search(text[max(0, start - 40) : start]) or _PHONE_LABEL_AFTER.match(text[end : end + 16]):
        return True
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    return (
        _RECORD_FIELD_BEFORE.search(text[max(line_start, start - 4) : start]) is not None
        and _RECORD_FIELD_AFTER.match(text, end, line_end) is not None
        and _EMAIL_NEARBY.search(text, max(line_start, start - 80), min(line_end, end + 80)) is not None
    )
