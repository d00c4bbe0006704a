"""Payment card numbers: Luhn-valid, 12 to 19 digits, every issuer range, any separators.

Issuer ranges (ISO/IEC 7812 IINs) of the networks in use: Visa (4), Mastercard (51-55 and
2221-2720), Mir (2200-2204), American Express (34, 37), Diners (300-305, 309, 36, 38, 39),
Discover (6011, 644-649, 65), JCB (3528-3589, and the 15-digit 2131 and 1800), UnionPay (62,
81), Maestro (50, 56-69, 6304, 6759, 6761-6763, 6390, 0604), RuPay (60, 65, 81, 82, 508),
Troy (9792), UATP (1). A 12-digit number is a card only with a Maestro prefix; a 13-digit
number starting with 1 only when it is 1800 (a 13-digit 1... run is a millisecond timestamp).
"""

from __future__ import annotations

import re

from presidio_analyzer import Pattern, PatternRecognizer

_PREFIX_13_TO_19 = re.compile(r"0604|1800|2131|1(?=\d{13})|2[2-7]|3|4|5|6|8[1-2]|9792")
_PREFIX_12 = re.compile(r"50|5[6-9]|6|0604")


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_number_valid(digits: str) -> bool:
    """A digit string that an issuer could have issued: length, issuer prefix and Luhn."""
    if not digits.isdigit() or not 12 <= len(digits) <= 19:
        return False
    prefix = _PREFIX_12 if len(digits) == 12 else _PREFIX_13_TO_19
    return prefix.match(digits) is not None and luhn_valid(digits)


class CardRecognizer(PatternRecognizer):
    """Card numbers of 12 to 19 digits, in groups separated by a space, hyphen or dot; Luhn-checked."""

    PATTERNS = [Pattern("card (luhn)", r"(?<![\w.+-])\d(?:[ .-]?\d){11,18}(?![\w]|[.-]\d)", 0.3)]

    def __init__(self) -> None:
        super().__init__(supported_entity="CREDIT_CARD", patterns=self.PATTERNS, name="CardRecognizer", supported_language="en")

    def validate_result(self, pattern_text: str) -> bool:
        return card_number_valid(re.sub(r"\D", "", pattern_text))

    # A necessary condition for a match: twelve digits (redactors/recognizers.py skips the regex without it).
    possible = staticmethod(re.compile(r"(?:\D*+\d){12}").match)  # possessive: \D and \d never overlap
