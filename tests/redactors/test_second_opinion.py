"""The gazetteers' second opinion on the small model: names and places it must find, and benign
twins (products, firms, common capitalised words) that must survive."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from redactors.gazetteer import Gazetteer, GazetteerUnavailable, fold, load, read
from redactors.second_opinion import SecondOpinion


@pytest.fixture(scope="module")
def opinion(analyzer) -> SecondOpinion:
    # The analyzer's own: built before any text, while the model's vocabulary is still the one it
    # shipped with (texts add their words to it, and "unseen" would then depend on test order).
    return analyzer._second


def _found(opinion: SecondOpinion, analyzer, text: str, entity: str) -> list[str]:
    doc = analyzer._nlp(text)
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    return [text[r.start : r.end] for r in opinion.analyze(text, spans, frozenset({"PERSON", "LOCATION"})) if r.entity_type == entity]


FOUND = [
    # (text, entity, value that must be among the findings)
    pytest.param("Please loop in Concetta Bruscantini before Friday", "PERSON", "Concetta Bruscantini", id="foreign-name-model-says-org"),
    pytest.param("Marleen Pauwels left a 2-star review", "PERSON", "Marleen Pauwels", id="sentence-initial-foreign-name"),
    pytest.param("Ticket reassigned to Ilija Nišević after the escalation", "PERSON", "Ilija Nišević", id="diacritics"),
    pytest.param("They had 3 kids: Ana, Luis and Marta", "PERSON", "Marta", id="enumeration-of-first-names"),
    pytest.param("Meeting notes: Tiit will send the deck", "PERSON", "Tiit", id="unseen-first-name-alone"),
    pytest.param("What's the weather like in Växjö this weekend?", "LOCATION", "Växjö", id="city-after-in"),
    pytest.param("Assistant: noted, your billing country is Cameroon.", "LOCATION", "Cameroon", id="country-after-cue"),
    pytest.param("I'm flying to Oberndorf bei Salzburg tomorrow", "LOCATION", "Oberndorf bei Salzburg", id="multi-word-town"),
    # The floor under naive Presidio: spans the model labelled ORG or NORP.
    pytest.param("Julia Kalamees will be talking in the conference", "PERSON", "Julia Kalamees", id="floor-org-known-first-name"),
    pytest.param("Meeting notes: Riley will send the deck", "PERSON", "Riley", id="floor-org-single-first-name"),
    pytest.param("Passenger name: Palmer/Courtney, seat 14C", "PERSON", "Palmer/Courtney", id="floor-slashed-name"),
    pytest.param("Contact Jack Gill about the Świecie office lease.", "LOCATION", "Świecie", id="floor-norp-unseen-place"),
    pytest.param("When: 2013-09-08\nWhere: Gondomar Country Club.", "LOCATION", "Gondomar", id="floor-place-before-venue-word"),
    pytest.param("What's the weather like in Taylorfort this weekend?", "LOCATION", "Taylorfort", id="town-suffix-after-cue"),
    pytest.param("I'm flying from Joutsa to Knightchester next Tuesday", "LOCATION", "Knightchester", id="town-suffix-unlabelled"),
    pytest.param("leilani adeyemi is the new admin, please transfer ownership", "PERSON", "leilani adeyemi", id="lower-case-full-name"),
]


@pytest.mark.parametrize(("text", "entity", "value"), FOUND)
def test_second_opinion_finds(opinion, analyzer, text: str, entity: str, value: str) -> None:
    assert value in _found(opinion, analyzer, text, entity)


BENIGN = [
    pytest.param("The Street View team met on Monday", id="product-of-common-words"),
    pytest.param("The Smith, Francis and Bell Orchestra was founded in 1986", id="firm-before-a-company-word"),
    pytest.param("Apple Pay and Google Wallet are supported", id="products"),
    pytest.param("Upgrade to Python 3.12 and restart the Worker Pool", id="tech-words"),
    pytest.param("apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\n", id="kubernetes-manifest"),
    pytest.param("Thanks Team, Great Job!", id="capitalised-common-words"),
    pytest.param("We moved the meeting to Slack", id="tool-after-to"),
    pytest.param("Go to Support and Export the Report", id="town-suffix-but-english-word"),
    pytest.param("The recording for Alexander Inc sold a million copies", id="floor-company-word"),
    pytest.param("The Nicholson Orchestra was founded in 1998", id="floor-venue-word"),
    pytest.param("I used to work for Cartwright-Allen as a solicitor", id="floor-firm-after-for"),
    pytest.param("is there a better crafted pop song on this list", id="lower-case-english-pair"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_second_opinion_leaves_benign_text(opinion, analyzer, text: str) -> None:
    assert _found(opinion, analyzer, text, "PERSON") == []
    assert _found(opinion, analyzer, text, "LOCATION") == []


def test_firm_of_surnames_is_no_list_of_people(opinion, analyzer) -> None:
    found = _found(opinion, analyzer, "Gael spent a year at Lee, Perkins and Finch as an assistant", "PERSON")
    assert "Gael" in found  # the person
    assert not {"Lee", "Perkins", "Finch"} & set(found)  # the firm


@pytest.mark.parametrize(
    ("text", "firm"),
    [
        ("Contact Lea at Wong, Crawford and Salas about the lease", "Wong, Crawford and Salas"),
        ("Gerardo Gerber at Morris and Sons", "Morris and Sons"),
        ("Cruz, Jones and Turner is a design agency", "Cruz, Jones and Turner"),
        # A firm's partners: three English surnames, with no cue around them.
        ("Daniel is from Richardson, White and Edwards", "Richardson, White and Edwards"),
        ("Vendor onboarding for Cook, McKenzie and Simpson is blocked", "Cook, McKenzie and Simpson"),
        ("Martina Alfredsson from Rodriguez Group is the keynote speaker", "Rodriguez Group"),
        # After a person's full name, a firm of two words is the last item alone.
        ("This agreement is made between Halima Shehu and Taylor Group.", "Taylor Group"),
        ("Anna Berg, Tom Lind and Baker Group signed.", "Baker Group"),
    ],
)
def test_firms_named_after_people(opinion, text: str, firm: str) -> None:
    assert [text[s:e] for s, e in opinion.people_firms(text)] == [firm]


@pytest.mark.parametrize(
    "text",
    [
        "They had 3 kids: Ana, Luis and Marta",
        "our 3 founders: Fernandes, Müür and Jaroš.",
        "I met with Ana and Luis",
        "our 3 founders: Wilson, Davidson and Sharp.",  # English surnames after a colon: people
        "Thanks to Kowalczyk, Nakamura and Okafor for the review",  # surnames the model never saw
        "Emma, Olivia and Sophia will join the call",  # first names
        "Flights to London, Paris and Berlin are full",  # places
    ],
)
def test_people_listed_are_no_firm(opinion, text: str) -> None:
    assert opinion.people_firms(text) == []


def test_gazetteer_file_round_trip_and_rejects_foreign_files(tmp_path: Path) -> None:
    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("first\tana\nlast\tnišević\nplace\tväxjö\n")
    gaz = read(path)
    assert gaz == Gazetteer(frozenset({"ana"}), frozenset({"nišević"}), frozenset({"växjö"}))
    assert gaz.is_first("ANA") and gaz.is_last("Nišević") and gaz.is_place("Växjö") and not gaz.is_place("Ana")
    bad = tmp_path / "bad.txt.gz"
    with gzip.open(bad, "wt", encoding="utf-8") as out:
        out.write("surname\tx\n")
    with pytest.raises(GazetteerUnavailable):
        read(bad)
    assert fold("STRASSE") == "strasse"


def test_installed_gazetteer_is_compact_and_broad() -> None:
    gaz = load()
    assert 50_000 < len(gaz.first) < 400_000
    assert 50_000 < len(gaz.last) < 400_000
    assert {"växjö", "cameroon", "bayern"} <= gaz.places
    assert gaz.is_first("Concetta") and gaz.is_last("Gebauer")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        pytest.param("I'm flying from Vantaa to Taitai next Tuesday, is the lounge open?", "lounge", id="trip-to-unseen-word"),
        pytest.param("Ticket reassigned from Nancy Stiffel to Valentina Lopez after the escalation.", "escalation", id="from-name-to-name"),
    ],
)
def test_trip_destination_is_asked_through_the_probes(opinion, analyzer, redactor, text: str, kept: str) -> None:
    # "from <place> to <unseen word>": the model is asked about the word in a neutral sentence.
    # That question once raised (an attribute left over from before the batched probes), which
    # failed every such text closed: nothing of it survived.
    opinion.analyze(text, [(e.start_char, e.end_char, e.label_) for e in analyzer._nlp(text).ents], frozenset({"LOCATION"}))
    out = redactor.redact_texts([text])[0].text
    assert kept in out and "REDACTION_FAILED" not in out
