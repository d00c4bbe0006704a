"""Value shapes: when a value under a known key may be trusted as structure, and numbers of PII shape.

A key alone never makes a value structural: the value must also have the shape that key holds.

- ``number``: an integer, a float, a boolean, or a short numeric string (token counts, ports,
  status codes, scores, timestamps). Kept as they are.
- ``enum``: a short lower-case word (``user``, ``tool_call``, ``stop``, ``application/json``).
- ``token``: a short identifier-like token without spaces (``gpt-4o-mini``, ``get_weather``,
  ``call_0a1b``, ``support-bot``, ``@opentelemetry/instrumentation-http``).

Strings of the ``enum`` and ``token`` shapes must also hold no digit group of PII shape: a
card number (13 to 19 digits, an issuer prefix, a valid Luhn sum), a US SSN (9 digits with the
SSA's validity rules) or a phone number (10 to 15 digits, or 8 to 15 after a ``+``, that
libphonenumber accepts as a number of some region, or of the US without a country code). Separators (``-``, ``.``, ``/``,
``(``, ``)``, a space) inside a digit group are ignored, so ``123-45-6789`` is one group.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import phonenumbers

from redactors.cards import luhn_valid

NUMBER = "number"
ENUM = "enum"
TOKEN = "token"
SHAPES = (NUMBER, ENUM, TOKEN)

_TOKEN = re.compile(r"@?[A-Za-z0-9_][A-Za-z0-9_.:/+\-]{0,127}")
_ENUM = re.compile(r"[a-z][a-z0-9_./+\-]{0,63}")
_NUMERIC = re.compile(r"-?\d{1,19}(?:\.\d{1,17})?(?:[eE][+-]?\d{1,3})?")
# A key that can be trusted as a name without a scan: lower-case, dotted, short (OTel's own
# naming rules). Anything else is scanned as content.
_KEY = re.compile(r"[a-z0-9_][a-z0-9_.\-]{0,127}")
# W3C trace-context `tracestate`: list members `key=value`, at most 32.
_TRACESTATE_KEY = re.compile(r"[a-z0-9][a-z0-9_\-*/@]{0,255}")
_TRACESTATE_VALUE = re.compile(r"[\x21-\x2b\x2d-\x3c\x3e-\x3f\x41-\x7e]{1,256}")  # printable, no , = @
# A schema URL: scheme, host, path of plain segments; no user info, query or fragment.
_SCHEMA_URL = re.compile(r"https?://[a-z0-9.\-]{1,253}(?::\d{1,5})?(?:/[A-Za-z0-9._\-]{1,64}){0,16}/?")
# References (docs/conventions.md, pattern 3): a URI of a storage or web scheme with a plain host
# and plain path segments; no user info, no query, no percent-escapes, no @. A fragment may name
# an attribute (tracevault://...#gen_ai.input.messages).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,31}://\S{1,2040}")
_PLAIN_REFERENCE = re.compile(
    r"(?:s3|gs|az|abfs|abfss|wasbs|https?|tracevault|file)://(?P<host>[A-Za-z0-9.\-]{1,253}(?::\d{1,5})?)"
    r"(?P<path>(?:/[A-Za-z0-9._~=+\-]{0,255}){0,64})(?:#(?P<fragment>[A-Za-z0-9._/\-]{1,255}))?"
)
_ID_SEGMENT = re.compile(r"(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,64}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DIGIT_GROUP = re.compile(r"\+?\d(?:[ ./()\-]?\d)*")
_DIGITS = re.compile(r"\d+")
_NINE_ASCII_DIGITS = re.compile(r"(?:[^0-9]*+[0-9]){9}")  # in ASCII text, str.isdigit is [0-9]
_CARD_FIRST_DIGITS = frozenset("23456")
_MAX_DIGITS = 19


def _ssn_valid(digits: str) -> bool:
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _phone_valid(digits: str, international: bool) -> bool:
    candidates = [("+" + digits, None)]
    if not international and len(digits) == 10:
        candidates.append((digits, "US"))
    for number, region in candidates:
        try:
            if phonenumbers.is_valid_number(phonenumbers.parse(number, region)):
                return True
        except phonenumbers.NumberParseException:
            continue
    return False


def digits_entity(digits: str, international: bool = False, parts: tuple[int, ...] = ()) -> str | None:
    """The PII type a run of digits has the shape of, or None.

    `parts` are the lengths of its separated groups, when it was written with separators: an
    SSN is then only 3-2-4, and a card's groups have three digits or more (so a model name's
    ``4-20250514`` is neither).
    """
    count = len(digits)
    if count < (8 if international else 9) or count > _MAX_DIGITS or not digits.isdigit():
        return None
    grouped = len(parts) > 1
    if 13 <= count and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits) and (not grouped or min(parts) >= 3):
        return "CREDIT_CARD"
    if count == 9 and not international and (not grouped or parts == (3, 2, 4)) and _ssn_valid(digits):
        return "US_SSN"
    if (8 if international else 10) <= count <= 15 and (not grouped or parts[-1] >= 2) and _phone_valid(digits, international):
        return "PHONE_NUMBER"
    return None


def number_entity(number: int | float) -> str | None:
    """The PII type a number (an intValue, a doubleValue, a JSON number) has the shape of."""
    if isinstance(number, bool):
        return None
    if isinstance(number, float):
        if not number.is_integer() or abs(number) >= 1e19:
            return None
        number = int(number)
    return digits_entity(str(abs(number)))


def pii_digit_groups(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, entity) of each digit group of PII shape in ``text``."""
    if (_NINE_ASCII_DIGITS.match(text) is None) if text.isascii() else (sum(ch.isdigit() for ch in text) < 9):
        return
    for match in _DIGIT_GROUP.finditer(text):
        group = match.group()
        parts = tuple(len(part) for part in _DIGITS.findall(group))
        entity = digits_entity("".join(_DIGITS.findall(group)), group.startswith("+"), parts)
        if entity is not None:
            yield match.start(), match.end(), entity


def has_pii_digits(text: str) -> bool:
    return next(pii_digit_groups(text), None) is not None


def string_fits(text: str, shape: str) -> bool:
    """Whether ``text`` has the string form of ``shape`` (its digit groups are checked apart)."""
    if shape == NUMBER:
        return _NUMERIC.fullmatch(text.strip()) is not None
    if shape == ENUM:
        return _ENUM.fullmatch(text) is not None
    return _TOKEN.fullmatch(text) is not None


def is_label(text: str, max_chars: int = 128) -> bool:
    """A token of at most ``max_chars``, no ``@``, no PII-shaped digit group (metrics columns)."""
    return len(text) <= max_chars and "@" not in text and _TOKEN.fullmatch(text) is not None and not has_pii_digits(text)


def is_plain_key(key: str) -> bool:
    """A key that is a name by its shape alone; the caller still scans it for secrets."""
    return _KEY.fullmatch(key) is not None and not has_pii_digits(key)


def is_trace_state(text: str) -> bool:
    members = text.split(",")
    if len(members) > 32:
        return False
    for member in members:
        member = member.strip(" \t")
        if not member:
            continue
        key, sep, value = member.partition("=")
        if not sep or not _TRACESTATE_KEY.fullmatch(key) or not _TRACESTATE_VALUE.fullmatch(value):
            return False
    return not has_pii_digits(text)


def is_uri(text: str) -> bool:
    """An absolute URI without spaces (`scheme://...`)."""
    return _URI.fullmatch(text) is not None


def plain_reference_parts(text: str) -> tuple[str, list[str], str] | None:
    """(scheme://host, path segments, fragment) of a URI of a storage or web scheme with a plain
    host and path (no user info, query or escapes); None for any other value."""
    match = _PLAIN_REFERENCE.fullmatch(text)
    if match is None:
        return None
    prefix = text[: match.start("path")]
    return prefix, match.group("path").split("/"), match.group("fragment") or ""


def is_id_segment(segment: str) -> bool:
    """A path segment that is an id: 16 to 64 hex digits with at least one letter (all digits
    could be a card number), or a UUID."""
    return _ID_SEGMENT.fullmatch(segment) is not None


def is_schema_url(text: str) -> bool:
    return len(text) <= 512 and _SCHEMA_URL.fullmatch(text) is not None and not has_pii_digits(text)
