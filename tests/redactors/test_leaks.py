"""Issue 12's leaks, each as a class: the leaking rows and the benign twins that must survive."""

from __future__ import annotations

import pytest

from redactors.engine import Redactor

# A verb or greeting whose object is a person, then a full name: the whole name goes, the verb stays.
_OBJECTS = [
    ("Reach Ana Lucia Costa at the front desk.", ["Ana", "Lucia", "Costa"], ["Reach", "front desk"]),
    ("Please reach Ana Lucia Costa tomorrow.", ["Ana", "Lucia", "Costa"], ["Please reach", "tomorrow"]),
    ("Call Maria Jose Fernandez today.", ["Maria", "Jose", "Fernandez"], ["Call", "today"]),
    ("Mail Tom Baker the contract.", ["Tom", "Baker"], ["Mail", "the contract"]),
    ("Email John Smith the invoice.", ["John", "Smith"], ["Email", "the invoice"]),
    ("Hi Ana Lucia Costa, thanks.", ["Ana", "Lucia", "Costa"], ["Hi", "thanks"]),
    ("Text Maria Fernandez when you land.", ["Maria", "Fernandez"], ["Text", "when you land"]),
]
# Twins: the same verbs before capitalised words that name no one.
_OBJECT_TWINS = [
    "Call Center Support is open until six.",
    "Reach Out Today is the banner text.",
    "Email Marketing Team owns the newsletter.",
    "Mail Merge failed on row 3.",
    "Meet Google Drive, the new storage.",
    "Contact Us Page returns 404.",
    "Reach the front desk by noon.",
    "Mail the contract to legal.",
]


@pytest.mark.parametrize(("text", "gone", "kept"), _OBJECTS)
def test_a_name_after_a_persons_verb_goes_whole_and_the_verb_stays(redactor: Redactor, text: str, gone: list[str], kept: list[str]) -> None:
    out = redactor.redact_texts([text])[0].text
    assert [word for word in gone if word in out] == []
    assert [phrase for phrase in kept if phrase not in out] == []


@pytest.mark.parametrize("text", _OBJECT_TWINS)
def test_the_verbs_before_other_capitalised_words_change_nothing(redactor: Redactor, text: str) -> None:
    assert redactor.redact_texts([text])[0].text == text
