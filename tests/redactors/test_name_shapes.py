"""Names in the shapes of bench/eval/nameshapes.py (issue 12): names in capitals and in lower case,
action items, Azerbaijani and Irish spellings, names the context rules or the model ran on into
the words around them; each row beside benign twins of the same shape that must survive."""

from __future__ import annotations

import pytest

from redactors.letters import LOWER, UPPER

REDACTED = [
    # (text, name words that must be gone, ordinary words that must survive), through the whole redactor.
    pytest.param("PLEASE CALL COSMAS NGUMBAO ABOUT THE DELIVERY", ["COSMAS", "NGUMBAO"], ["PLEASE CALL", "ABOUT THE DELIVERY"], id="caps-pair"),
    pytest.param("NAME: YUSUF KABIR\nACCOUNT TYPE: SAVINGS", ["YUSUF", "KABIR"], ["ACCOUNT TYPE: SAVINGS"], id="caps-name-field"),
    pytest.param("can you check if harold moseti is on the list", ["harold", "moseti"], ["can you check if", "is on the list"], id="lower-pair-unseen-surname"),
    pytest.param("hi im aminatu tukur and i cant reset my password", ["aminatu"], ["hi im", "reset my password"], id="lower-introduction"),
    pytest.param(
        "Action items:\n- Jill to draft the RFC\n- Aadhya to book the room",
        ["Jill", "Aadhya"],
        ["to draft the RFC", "to book the room"],
        id="action-items",
    ),
    pytest.param("Cc: Şəfa Qasımov; Kərim Yusifqızı\nSubject: Q3", ["Şəfa", "Qasımov", "Kərim"], ["Subject: Q3"], id="azerbaijani-letters"),
    pytest.param("Ticket reported by Brid Ó Fuaruisce: printer jams.", ["Brid", "Fuaruisce"], ["printer jams"], id="irish-particle"),
    pytest.param("My colleague Sharon Jackson keeps taking credit for my work.", ["Sharon", "Jackson"], ["keeps taking credit"], id="relation-stops-at-verb"),
    pytest.param("Caller Manon Jacob says the router reboots.", ["Manon", "Jacob"], ["Caller", "says the router"], id="role-before-model-name"),
    pytest.param("Good morning Mr Dean, your table is ready.", ["Dean"], ["Good morning Mr", "your table"], id="title-before-model-name"),
    pytest.param("Account owner Ruqayya Mohammed approved the discount.", ["Ruqayya", "Mohammed"], ["approved the discount"], id="role-field-stops-at-verb"),
    # Benign twins: capitals, team names in action items, a name field holding a thing, lower-case phrases.
    pytest.param(
        "QUARTERLY BUSINESS REVIEW: REVENUE GROWTH AND HIRING PLAN", [], ["QUARTERLY BUSINESS REVIEW: REVENUE GROWTH AND HIRING PLAN"], id="caps-header"
    ),
    pytest.param("PLEASE SEND THE INVOICE TO ACCOUNTS PAYABLE BEFORE FRIDAY", [], ["SEND THE INVOICE TO ACCOUNTS PAYABLE"], id="caps-sentence"),
    pytest.param(
        "Action items:\n- Sales to confirm pricing\n- Backend to migrate the queue",
        [],
        ["Sales to confirm pricing", "Backend to migrate the queue"],
        id="action-items-teams",
    ),
    pytest.param("Name: Build Pipeline\nStatus: Passing\nOwner: Platform Team", [], ["Build Pipeline", "Platform Team"], id="name-field-thing"),
    pytest.param("im sure this is fine, i am going home", [], ["im sure this is fine, i am going home"], id="lower-introduction-twin"),
    pytest.param("can you check if the build is green", [], ["can you check if the build is green"], id="lower-pair-twin"),
]


@pytest.mark.parametrize(("text", "gone", "kept"), REDACTED)
def test_names_are_redacted_and_twins_kept(redactor, text: str, gone: list[str], kept: list[str]) -> None:
    out = redactor.redact_texts([text])[0].text
    assert not [word for word in gone if word in out], out
    assert all(phrase in out for phrase in kept), out


@pytest.mark.parametrize(("upper", "lower"), [("Ə", "ə"), ("Ɛ", "ɛ"), ("Ɔ", "ɔ"), ("Ɓ", "ɓ"), ("Ş", "ş")])
def test_lower_case_partners_of_upper_letters_are_letters(upper: str, lower: str) -> None:
    assert upper in UPPER and lower in LOWER
    assert lower not in UPPER
