"""Places that are not addresses: countries anywhere, places after cues, in fields, by their
shape, in lower and upper case; each table has benign twins that must survive."""

from __future__ import annotations

import pytest

from redactors.pii import PiiAnalyzer

WANTED = frozenset({"PERSON", "LOCATION"})


def _places(analyzer: PiiAnalyzer, text: str) -> list[str]:
    """Every LOCATION the place rules (context recognizer and second opinion) find in `text`."""
    doc = analyzer._nlp(text)
    spans = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
    found = [text[r.start : r.end] for r in analyzer._places.analyze(text)]
    found += [text[r.start : r.end] for r in analyzer._second.analyze(text, spans, WANTED) if r.entity_type == "LOCATION"]
    return found


FOUND = [
    # (text, a place that must be among the findings)
    pytest.param("We now sell in Bosnia and Herzegovina too.", "Bosnia and Herzegovina", id="country-with-and"),
    pytest.param("Trinidad and Tobago leader visits the plant", "Trinidad and Tobago", id="country-with-and-sentence-start"),
    pytest.param("Stamps from Saint Vincent and the Grenadines", "Saint Vincent and the Grenadines", id="country-with-and-the"),
    pytest.param("Cyprus leader gives an order", "Cyprus", id="country-sentence-start-no-cue"),
    pytest.param("Deliver to:\nMaria\nBurkina Faso", "Burkina Faso", id="country-on-its-own-line"),
    pytest.param("SHIP TO:\nJOHN\nGERMANY", "GERMANY", id="country-upper-case-line"),
    pytest.param("Our warehouse in Saskatchewan is full", "Saskatchewan", id="province-anywhere"),
    pytest.param("I'M FLYING TO PARIS ON MONDAY", "PARIS", id="upper-case-city-after-cue"),
    pytest.param("State/Province: Tirol", "Tirol", id="region-field"),
    pytest.param("delivery_city: Quetzaltenango\nstatus: pending", "Quetzaltenango", id="snake-case-city-field"),
    pytest.param("What's the weather like in Fontaine-lès-Dijon today?", "Fontaine-lès-Dijon", id="hyphen-particle-shape"),
    pytest.param("She was born in Ústí nad Labem and moved away.", "Ústí nad Labem", id="particle-inside-known"),
    pytest.param("We moved to Sint-Gillis-bij-Dendermonde in May", "Sint-Gillis-bij-Dendermonde", id="saint-prefix-hyphens"),
    pytest.param("I'm flying from East Brianna to Ohio", "East Brianna", id="direction-and-first-name"),
    pytest.param("I'm in Morelbourg, at the conference", "Morelbourg", id="french-town-ending"),
    pytest.param("Our Kisumu team ships on Monday", "Kisumu", id="known-unseen-no-cue"),
    pytest.param("i'm currently in marseille so the time zone is different", "marseille", id="lower-case-model-says-org"),
    pytest.param("i moved to kisumu last year", "kisumu", id="lower-case-known-unseen"),
    pytest.param("I'm flying from Kitee to Meransen soon.", "Meransen", id="trip-destination-asked-through-the-probes"),
    pytest.param("The shipment left Craggmouth this morning.", "Craggmouth", id="weak-cue-town-shape"),
    pytest.param("Weather alert for Chabařovice: heavy rain expected.", "Chabařovice", id="weak-cue-known-unseen"),
    pytest.param("ARRIVING LARVIK 10:45", "LARVIK", id="upper-case-weak-cue-shouted"),
    pytest.param("WELCOME TO MØLDRUP!", "MØLDRUP", id="upper-case-non-ascii-town-shape"),
    pytest.param("city=Bauershire status=ok", "Bauershire", id="key-value-field"),
    pytest.param("DESTINATION: KORSNÄS", "KORSNÄS", id="upper-case-weak-field"),
    pytest.param("location: Chabařovice", "Chabařovice", id="weak-field-known-unseen"),
    pytest.param("about the Edwardfurt office lease", "Edwardfurt", id="site-town-shape"),
    pytest.param("The Mariager warehouse reported a delay.", "Mariager", id="site-small-town-unseen"),
    pytest.param("We toured Paris and Weismes last summer.", "Weismes", id="second-of-a-list-after-the-models-place"),
    pytest.param("Flights between Zdice and Kokkedal are cancelled.", "Kokkedal", id="second-of-a-list-after-a-weak-cue"),
    pytest.param("Moirano, Italy", "Moirano", id="town-before-its-country"),
    pytest.param("i'm heading to ocotal tomorrow", "ocotal", id="lower-case-after-to"),
    pytest.param("any good restaurants in san marino?", "san marino", id="lower-case-known-seen-words-probe"),
    pytest.param("i moved to elinsjøen last year", "elinsjøen", id="lower-case-town-shape"),
    pytest.param("I'm in Sveinstrøm, at the conference", "Sveinstrøm", id="nordic-town-ending"),
    pytest.param("originally from De Cocksdorp, and i'm 65", "De Cocksdorp", id="dutch-article-and-town-ending"),
    pytest.param("We relocated the team from Lower Cravenings last year.", "Lower Cravenings", id="lower-upper-prefix"),
    pytest.param("SHIPPING HUB: BHIWADI", "BHIWADI", id="upper-case-known-unseen-no-cue"),
    pytest.param("PASO DE LOS LIBRES HAS NEW RULES", "PASO DE LOS LIBRES", id="upper-case-known-with-particles"),
    pytest.param("Deception Bay has new rules since May.", "Deception Bay", id="two-word-known-place-no-cue"),
    pytest.param("ok so bhiwadi has new rules since may, right?", "bhiwadi", id="lower-case-known-unseen-in-english"),
    pytest.param("Møre og Romsdal has new rules.", "Møre og Romsdal", id="norwegian-particle"),
]


@pytest.mark.parametrize(("text", "place"), FOUND)
def test_place_found(analyzer: PiiAnalyzer, text: str, place: str) -> None:
    assert place in _places(analyzer, text)


BENIGN = [
    pytest.param("written in Rust, of course", id="small-town-that-is-an-english-word"),
    pytest.param("please upgrade to Python 3 first", id="language-after-to"),
    pytest.param("deploy to Vercel from GitHub", id="product-after-from"),
    pytest.param("the alert fired in New Relic", id="direction-prefix-needs-a-name"),
    pytest.param("a turkey sandwich and chips", id="lower-case-country-word"),
    pytest.param("status: Active\nregion: us-east-1", id="fields-that-hold-no-place"),
    pytest.param("i live in hope that it works", id="lower-case-common-word-after-cue"),
    pytest.param("During 1983, Burgess, Price and Jenkins invested heavily", id="firm-names-no-place"),
    pytest.param("Contact Sam Martens at Tapia Group today", id="known-place-naming-a-firm"),
    pytest.param("Can we move it to Thursday on Friday?", id="english-word-is-no-particle"),
    pytest.param("the following year at Adams, Holland and Wallis", id="country-name-inside-a-firm"),
    pytest.param("Weather alert for the on-call rotation: heavy load expected.", id="weak-cue-common-words"),
    pytest.param("Thanks for Helm charts, they work.", id="weak-cue-product"),
    pytest.param("The Sales office is closed.", id="site-of-a-department"),
    pytest.param("Our Platform team ships on Monday.", id="site-team-of-a-product"),
    pytest.param("Reading the docs helped a lot.", id="known-place-english-word-opening"),
    pytest.param("Nice work on the release!", id="known-place-english-word-praise"),
    pytest.param("The Mobile app crashes on start.", id="known-place-english-word-product"),
    pytest.param("Order from Chester's Pizza again?", id="firm-named-after-a-place"),
    pytest.param("state: RUNNING\noffice: remote\nlocation: cloud", id="fields-holding-states"),
    pytest.param("WELCOME TO THE TEAM!\nDESTINATION: PRODUCTION", id="upper-case-common-words"),
    pytest.param("we moved to kubernetes last year", id="lower-case-product-after-strong-cue"),
    pytest.param("flying to conferences is tiring; moved to backlog", id="lower-case-common-words-after-strong-cue"),
    pytest.param("i'm heading to lunch now, in meetings all day", id="lower-case-after-cues"),
    pytest.param("Access for Alice and Bob was revoked.", id="list-of-names-after-weak-cue"),
    pytest.param("ERROR IN MODULE CORE: RETRY WITH JSON OVER HTTP", id="upper-case-log-words"),
    pytest.param("Harold Wood approved the change.", id="two-word-place-that-is-a-first-and-last-name"),
    pytest.param("die stelle ist auch am ende der woche frei", id="lower-case-german-prose"),
    pytest.param("le choix de la forêt et le plaisir du marche", id="lower-case-french-prose"),
    pytest.param("Open the Release Notes and the Help Center.", id="title-case-ui-phrases"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_twin_has_no_place(analyzer: PiiAnalyzer, text: str) -> None:
    assert _places(analyzer, text) == []


def test_place_ends_before_an_english_word(analyzer: PiiAnalyzer) -> None:
    found = _places(analyzer, "Please rebook me from Tallinn to Riga on Friday.")
    assert "Riga" in found
    assert not any("Friday" in place for place in found)


def test_venue_word_is_not_part_of_the_place(analyzer: PiiAnalyzer) -> None:
    found = _places(analyzer, "Where: Fontaine-sur-Maye Country Club.")
    assert "Fontaine-sur-Maye" in found
    assert not any("Club" in place for place in found)


def test_gazetteer_reads_country_and_town_sections(tmp_path) -> None:
    import gzip

    from redactors.gazetteer import read

    path = tmp_path / "g.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as out:
        out.write("first\tana\nplace\tväxjö\ncountry\tbosnia and herzegovina\ntown\tzweins\n")
    gaz = read(path)
    assert gaz.is_country("Bosnia and Herzegovina") and gaz.is_town("Zweins")
    assert not gaz.is_place("Zweins") and not gaz.is_country("Växjö")


def test_built_gazetteer_keeps_small_towns_apart(analyzer: PiiAnalyzer) -> None:
    gaz = analyzer._second._gaz
    assert gaz.is_country("Trinidad and Tobago") and gaz.is_country("Saskatchewan") and gaz.is_country("Cape Verde")
    # Rust (Austria) has under 5,000 people: a town, never read after a cue when it is an English word.
    assert gaz.is_town("Rust") and not gaz.is_place("Rust")


def test_a_name_before_a_country_is_no_town(analyzer: PiiAnalyzer) -> None:
    found = _places(analyzer, "Hi Maria, Germany is ready")
    assert "Germany" in found
    assert not any("Maria" in place for place in found)


def test_a_list_after_a_place_keeps_english_words(analyzer: PiiAnalyzer) -> None:
    found = _places(analyzer, "We toured Zdice, Price was a bonus.")
    assert "Zdice" in found
    assert "Price" not in found


@pytest.mark.parametrize("word", ["Paris", "NEW YORK", "o'brien", "Växjö", "STRAẞE", "İstanbul", "Ångström", "e\u0301lan"])
def test_fold_keeps_its_answer_on_the_ascii_shortcut(word: str) -> None:
    import unicodedata

    from redactors.gazetteer import fold

    assert fold(word) == unicodedata.normalize("NFC", word).casefold()
