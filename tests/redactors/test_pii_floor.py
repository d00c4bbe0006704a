"""Through the whole redactor: what naive Presidio masks we mask too (the floor), and the
benign twins that must survive it."""

from __future__ import annotations

import pytest

FOUND = [
    # (text, value that must be gone)
    pytest.param("I'd like to join accounts with ms. Lucas", "Lucas", id="honorific"),
    pytest.param("Hello, this is Dr. Santiago Castro. Who are you?", "Santiago Castro", id="honorific-full-name"),
    pytest.param("Julia Kalamees will be talking in the conference", "Kalamees", id="org-label-known-first-name"),
    pytest.param("Passenger name: Palmer/Courtney, seat 14C, departing tomorrow.", "Courtney", id="slashed-surname-given-name"),
    pytest.param("The parcel was left at 64 Collin Sound instead of my door.", "Collin Sound", id="fac-with-house-number"),
    pytest.param("a fully professional orchestra serving Niue", "Niue", id="org-label-country-after-cue"),
    pytest.param("What's your last name? Smith", "Smith", id="answer-on-the-question-line"),
    pytest.param("Marina Štrljić\\n\\nLawyer\\n\\nPersonal Info:", "Štrljić", id="org-label-across-escaped-lines"),
    # The model runs a name on into the number after it ("Maria Garcia 0049"); the name is kept.
    pytest.param("Call Maria Garcia 0049 30 1234567 after lunch", "Garcia", id="name-run-into-a-phone-number"),
    pytest.param("Escalate to Fatima Zahra 0612345678", "Zahra", id="name-run-into-a-digit-run"),
    # Three surnames read as a firm's partners, unless the words around them make them people.
    pytest.param("I met Wilson, Davidson and Sharp yesterday", "Davidson", id="surnames-after-met"),
    pytest.param("Wilson, Davidson and Sharp were hired last week", "Davidson", id="surnames-before-a-plural-verb"),
    # A person's full name listed with a firm: the firm is the last item only.
    pytest.param("This agreement is made between Halima Shehu and Taylor Group.", "Shehu", id="person-and-a-firm"),
]


@pytest.mark.parametrize(("text", "value"), FOUND)
def test_floor_finds(redactor, text: str, value: str) -> None:
    out = redactor.redact_texts([text])[0].text
    assert value not in out, out


BENIGN = [
    # (text, words that must survive)
    pytest.param("Hello, this is Mr. Emma Meindl.", ("Hello", "this is Mr."), id="title-kept-name-masked"),
    pytest.param("We moved the meeting to Slack", ("Slack",), id="tool-after-a-place-cue"),
    pytest.param("The recording for Alexander Inc sold a million copies", ("Alexander Inc",), id="company-word"),
    pytest.param("Go to Support and Export the Report", ("Support", "Export", "Report"), id="town-suffix-english-words"),
    pytest.param("Contact Lea at Wong, Crawford and Salas about the lease", ("Wong, Crawford and Salas",), id="firm-named-after-people"),
    # A product and its version: common words before the digits are no name cut out of a span.
    pytest.param("Windows Server 2019 is old", ("Windows Server 2019",), id="product-version-common-words"),
    pytest.param("Visual Studio 2022 crashed again", ("Visual Studio 2022",), id="ide-version"),
    pytest.param("Red Hat 9 release notes", ("Red Hat 9",), id="distribution-version"),
    pytest.param("Richardson, White and Edwards is hiring a paralegal", ("Richardson, White and Edwards",), id="partners-firm-singular-verb"),
    pytest.param("This agreement is made between Halima Shehu and Taylor Group.", ("Taylor Group",), id="firm-after-a-person"),
    pytest.param("The Smith, Francis and Bell Orchestra was founded in 1986", ("Smith, Francis and Bell Orchestra",), id="partners-before-a-company-word"),
    pytest.param("Williams-Willis, Cook, Burke and Stewart is a law firm.", ("Cook, Burke and Stewart",), id="partners-after-a-double-name"),
    pytest.param("Perry and Sons, King, Waters and Duncan won the case.", ("King, Waters and Duncan",), id="partners-after-a-firm"),
]


@pytest.mark.parametrize(("text", "kept"), BENIGN)
def test_floor_benign_twins_survive(redactor, text: str, kept: tuple[str, ...]) -> None:
    out = redactor.redact_texts([text])[0].text
    assert all(word in out for word in kept), out
