"""The cue look-ahead (redactors/cues.py): derived from the alternation, refused where it cannot
be, and never changing what a rule matches."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from redactors import namecues, pii, second_opinion
from redactors.cues import first_letters


@pytest.mark.parametrize(
    ("alternation", "letters"),
    [
        ("spoke with|talked to", "STst"),
        ("cc\\s*:?|on behalf of(?: my \\w+)?,?", "COco"),
        ("(?:applicant|payee)[ \\t]*:|name\\s*:", "ANPanp"),
        ("a(?:b|c)|(?:d|(?:e|f))g", "ADEFadef"),
        ("x[|]y|z", "XZxz"),  # a bar inside a character set splits nothing
    ],
)
def test_letters_come_from_every_alternative(alternation: str, letters: str) -> None:
    assert first_letters(alternation) == f"(?=[{letters}])(?:{alternation})"


@pytest.mark.parametrize("alternation", ["ok|\\d+", "ok|[ab]c", "ok|(?:a|b)?c", "ok|a?b", "ok|élan", "ok|", "ok|(?:a"])
def test_alternatives_without_a_first_letter_are_refused(alternation: str) -> None:
    with pytest.raises(ValueError):
        first_letters(alternation)


_LOOKAHEAD = re.compile(r"\(\?=\[[A-Za-z]+\]\)")


def _rules_with_lookahead() -> list[re.Pattern[str]]:
    patterns = [rule.pattern for rule in pii._name_rules()] + [pii._PLACE_CUES, namecues._OBJECT]
    patterns += [second_opinion._CUE_WORD, second_opinion._STRONG_PERSON_CUE, second_opinion._PERSON_CUE]
    return [p for p in patterns if _LOOKAHEAD.search(p.pattern)]


def test_the_context_rules_use_the_lookahead() -> None:
    assert len(_rules_with_lookahead()) >= 11


_PIECES = st.sampled_from([
    " ", "\n", "\t", ",", ":", ".", "'", "my name is", "MY NAME IS", "call me", "Name:", "signed", "Applicant:", "payee :",
    "i am", "I'm", "this is", "It's", "mr", "Dr.", "Mrs", "regards", "Best", "thanks,", "Cheers", "spoke with", "CC:",
    "assigned to", "on behalf of my team,", "Owner:", "lives in", "Flying to", "from", "near", "Maria", "lopez", "Kerala",
    "Ana Lucia", "\u017f", "\u212a", "\u0130", "\u0131", "ſigned", "\u212aerala", "İ am", "ıt's", "Please reach", "EMAIL",
    "with", "thanks to", "According to", "for", "between", "Toured", "-", "x", "Holubec", "Tiit Kask", "Ana Lucia Costa",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=25).map("".join))
def test_the_lookahead_changes_no_match(text: str) -> None:
    for pattern in _rules_with_lookahead():
        plain = re.compile(_LOOKAHEAD.sub("", pattern.pattern), pattern.flags)
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in plain.finditer(text)]
