"""Names found by the structure around them (``redactors.namecues``): rows that must be found, and
benign twins of the same shape (role labels, headers, products, firms, common words) that must survive."""

from __future__ import annotations

import pytest


def _added(analyzer, text: str) -> list[str]:
    """The names the second opinion (with these cues) adds to the model's."""
    doc = analyzer._nlp(text)
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    return [text[r.start : r.end] for r in analyzer._second.analyze(text, spans, frozenset({"PERSON"})) if r.entity_type == "PERSON"]


def _names(analyzer, text: str) -> list[str]:
    """What the model tags PERSON, and what the second opinion adds."""
    return [e.text for e in analyzer._nlp(text).ents if e.label_ == "PERSON"] + _added(analyzer, text)


FOUND = [
    # (text, names that must be among the findings)
    pytest.param("Marit: Did you lock the door?\nTarjei: Yes, twice.", ["Marit", "Tarjei"], id="dialogue-labels"),
    pytest.param("> Zdravko: Where is the key?\n> Ingrid: Under the mat.", ["Zdravko", "Ingrid"], id="quoted-dialogue"),
    pytest.param('Ksenija: "Where were you last night?"', ["Ksenija"], id="lone-label-quoted-speech"),
    pytest.param("Scene 2\\nOyelaran: You came back.\\nBrunetti: I had to.", ["Oyelaran", "Brunetti"], id="escaped-line-breaks"),
    pytest.param("Tickets for the Henrike Bjørnstad show sold out.", ["Henrike Bjørnstad"], id="pair-no-cue"),
    pytest.param("Notes from Ailbhe McGonagle and Siobhán O'Dowd", ["Ailbhe McGonagle", "Siobhán O'Dowd"], id="pair-mc-o-shapes"),
    pytest.param("Julia Connor again.", ["Julia Connor"], id="pair-model-says-org"),
    pytest.param("The Maksimiljan Dolenc version was a hit", ["Maksimiljan Dolenc"], id="pair-after-article"),
    pytest.param("Müür and Watkins were the engineers.", ["Müür", "Watkins"], id="list-next-to-tagged-name"),
    pytest.param("The panel: Oyelaran, Brunetti and Kowalczyk.", ["Oyelaran", "Brunetti", "Kowalczyk"], id="list-after-colon"),
    pytest.param("Please update Ingrid's phone number", ["Ingrid"], id="possessive-personal-noun"),
    pytest.param("Thanks. Gandi lives on the corner.", ["Gandi"], id="subject-of-person-verb"),
    pytest.param("a 2009 film starring Wojciechowska", ["Wojciechowska"], id="credit"),
    pytest.param("Thanks for waiting, Ingrid. The refund is on its way.", ["Ingrid"], id="addressed-after-comma"),
    pytest.param("Order 4471 never arrived. Appreciate the help. Marit", ["Marit"], id="sign-off-after-last-sentence"),
    pytest.param("The invoice is attached.\n- Tarjei", ["Tarjei"], id="sign-off-own-line"),
    pytest.param("Karina Lindqvist here. My account is locked.", ["Karina Lindqvist"], id="introduces-itself"),
]


@pytest.mark.parametrize(("text", "names"), FOUND)
def test_names_from_structure_are_found(analyzer, text: str, names: list[str]) -> None:
    found = _names(analyzer, text)
    assert set(names) <= set(found), found


BENIGN = [
    pytest.param("User: my order is late\nAssistant: Sorry, let me check.", id="role-labels"),
    pytest.param("File \"/srv/app/handlers.py\", line 88\nKeyError: 'amount'", id="exception-label-quoted"),
    pytest.param("Subject: Renewal\nNote: bring the invoice.\nStatus: open", id="header-labels"),
    pytest.param("Visual Studio Code is installed", id="products"),
    pytest.param("Kafka: connection refused by the peer\nPostgres: ready to accept connections", id="log-component-labels"),
    pytest.param("She joined Morgan Stanley in May", id="firm-after-joined"),
    pytest.param("Apples, Pears and Plums are in season", id="list-of-common-words"),
    pytest.param("She spent a year at Lee, Perkins and Finch", id="firm-list-after-at"),
    pytest.param("Open the Settings page and click Save", id="ui-words"),
    pytest.param("The company's address is on the invoice", id="possessive-common-word"),
    pytest.param("Support said the ticket was closed.", id="subject-common-word"),
    pytest.param("a report written by Finance", id="credit-common-word"),
    pytest.param("Thanks for the fix, Great.", id="addressed-rare-name-that-is-a-word"),
    pytest.param("The build passed. Fixed", id="last-word-is-a-rare-name"),
    pytest.param("Ticket closed.\n- Fixed", id="status-word-signature"),
    pytest.param("Support here, how can I help?", id="role-introduces-itself"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_twins_survive(analyzer, text: str) -> None:
    assert _added(analyzer, text) == []

