"""Names in the shapes of bench/eval/nameshapes.py (issue 12): names in capitals and in lower case,
action items, Azerbaijani and Irish spellings, names the context rules or the model ran on into
the words around them; each row beside benign twins of the same shape that must survive."""

from __future__ import annotations

import pytest

from redactors.detectors.base import Finding
from redactors.letters import LOWER, UPPER
from redactors.recurrence import recurring_names

REDACTED = [
    # (text, name words that must be gone, ordinary words that must survive), through the whole redactor.
    pytest.param("PLEASE CALL COSMAS NGUMBAO ABOUT THE DELIVERY", ["COSMAS", "NGUMBAO"], ["PLEASE CALL", "ABOUT THE DELIVERY"], id="caps-pair"),
    # The model reads the pair as a firm, but no word of it is English or known to the model.
    pytest.param("PLEASE CALL ADEBOLA OKONJO ABOUT THE DELIVERY", ["ADEBOLA", "OKONJO"], ["PLEASE CALL", "ABOUT THE DELIVERY"], id="caps-pair-model-says-org"),
    pytest.param("can you check if chidinma nwachukwu is on the list", ["chidinma", "nwachukwu"], ["is on the list"], id="lower-pair-model-says-org"),
    pytest.param("Referred by Dr Ó Murchú for a follow-up scan.", ["Murchú"], ["Referred by Dr", "for a follow-up scan"], id="title-irish-particle"),
    # A run of capitals after "The": the name is the rest ("The Joel Ellis version").
    pytest.param("The Joel Ellis version sold a million copies.", ["Joel", "Ellis"], ["The", "version sold"], id="name-after-the"),
    pytest.param("A new single by ex-Beatle van Dongen is out.", ["Dongen"], ["ex-Beatle", "is out"], id="former-member-particle"),
    pytest.param("Please ask Anne van het Hof to sign.", ["Anne", "Hof"], ["Please ask", "to sign"], id="dutch-van-het"),
    pytest.param("da Costa began writing as a teenager, publishing her first story.", ["Costa"], ["began writing"], id="subject-opened-by-particles"),
    pytest.param("Our 3 founders: da Rosa, Dobre and Roberts.", ["Rosa", "Dobre", "Roberts"], ["Our 3 founders:"], id="colon-list-opened-by-particles"),
    pytest.param(
        "They had 6: Horst-Dieter, Brittany, Rebeka, Lars, Christopher and Florentin.", ["Christopher", "Florentin"], ["They had 6:"], id="long-list-with-a-double-name"
    ),
    pytest.param("Sent by:\n> Lizz van 't Riet\n> 007 Charles Freeway", ["Lizz", "'t", "Riet"], ["Sent by:"], id="dutch-van-t-letter-head"),
    pytest.param("NAME: YUSUF KABIR\nACCOUNT TYPE: SAVINGS", ["YUSUF", "KABIR"], ["ACCOUNT TYPE: SAVINGS"], id="caps-name-field"),
    pytest.param("can you check if harold moseti is on the list", ["harold", "moseti"], ["can you check if", "is on the list"], id="lower-pair-unseen-surname"),
    pytest.param("can you check if flavio ellis is on the list", ["flavio", "ellis"], ["can you check if", "is on the list"], id="lower-pair-no-english-word"),
    pytest.param("hi im aminatu tukur and i cant reset my password", ["aminatu"], ["hi im", "reset my password"], id="lower-introduction"),
    pytest.param("hi im patchaploy posalee and i cant log in", ["patchaploy", "posalee"], ["hi im", "log in"], id="lower-introduction-unseen-pair"),
    pytest.param("hi im tryng to login", [], ["tryng to login"], id="lower-introduction-typo-stays"),
    # Lower-case words the model never saw where a person stands; the same words elsewhere stay.
    pytest.param("last edited by tajudinn qaasim 3 days ago", ["tajudinn", "qaasim"], ["last edited by"], id="lower-unseen-pair-after-by"),
    pytest.param("parin wimolnot wants to cancel the subscription", ["parin", "wimolnot"], ["wants to cancel"], id="lower-unseen-pair-before-a-verb"),
    pytest.param("we use pgbouncer pgpool in front", [], ["pgbouncer pgpool"], id="lower-unseen-tools-stay"),
    # A month that is a first name, before a known surname and a verb people do.
    pytest.param("Born in 1984, June Price studied economics.", ["June", "Price"], ["Born in 1984"], id="month-first-name-subject"),
    pytest.param("In June the price studied by the board fell.", [], ["In June"], id="month-in-a-date-stays"),
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
    pytest.param("Winners:\n1. Ada Obi\n2. Ise van Leeuwen\n3. Tom Baker", ["Ise", "Leeuwen"], ["Winners:"], id="numbered-list-lines"),
    pytest.param("Either Qays or Kevin Smith can approve the request.", ["Qays"], ["Either", "can approve"], id="or-list"),
    pytest.param("Rewrite this so it sounds friendlier: 'Igor, the report is late again.'", ["Igor"], ["the report is late"], id="opening-vocative"),
    pytest.param("Thanks again — Musa", ["Musa"], ["Thanks again"], id="sign-off-after-dash"),
    pytest.param("@ikenna can you review this PR before lunch?", ["ikenna"], ["can you review"], id="mention"),
    pytest.param("HUGO: Get down, now!\nFARHUNNISA: I can't see anything.", ["HUGO", "FARHUNNISA"], ["Get down, now!"], id="caps-speaker-labels"),
    pytest.param(
        "Watching Lukita Maheswara and Mirko Jurlina on stage was magic.", ["Lukita", "Jurlina"], ["Watching", "on stage"], id="english-word-before-model-name"
    ),
    pytest.param("Mayor Valéria Čapka opened the new bridge.", ["Valéria", "Čapka"], ["Mayor", "opened the new bridge"], id="office-before-model-name"),
    pytest.param("Send it to Křížová please.", ["Křížová"], ["Send it to", "please"], id="lone-unseen-name-after-to"),
    pytest.param("Is Schlatter coming to the party?", ["Schlatter"], ["coming to the party"], id="lone-surname-asked-subject"),
    pytest.param("Thanks to Holubec, the launch went smoothly.", ["Holubec"], ["the launch went smoothly"], id="lone-surname-thanks-to"),
    pytest.param("Applicant: Kuiper, Phenphitcha\nVisa type: work", ["Kuiper", "Phenphitcha"], ["Applicant:", "Visa type: work"], id="person-field-inverted"),
    pytest.param("Name: Gatto, Marcelle", ["Gatto", "Marcelle"], ["Name:"], id="name-field-inverted"),
    pytest.param("Beneficiary: Baqar Supasita\nShare: 50%", ["Baqar", "Supasita"], ["Beneficiary:", "Share: 50%"], id="person-field-unseen-words"),
    # Benign twins: capitals, team names in action items, a name field holding a thing, lower-case phrases.
    pytest.param(
        "QUARTERLY BUSINESS REVIEW: REVENUE GROWTH AND HIRING PLAN", [], ["QUARTERLY BUSINESS REVIEW: REVENUE GROWTH AND HIRING PLAN"], id="caps-header"
    ),
    pytest.param("PLEASE SEND THE INVOICE TO ACCOUNTS PAYABLE BEFORE FRIDAY", [], ["SEND THE INVOICE TO ACCOUNTS PAYABLE"], id="caps-sentence"),
    pytest.param("We use AWS LAMBDA and GCP PUBSUB; GRANT ACCESS TO THE BUCKET", [], ["AWS LAMBDA", "GCP PUBSUB", "GRANT ACCESS"], id="caps-acronyms"),
    pytest.param(
        "Action items:\n- Sales to confirm pricing\n- Backend to migrate the queue",
        [],
        ["Sales to confirm pricing", "Backend to migrate the queue"],
        id="action-items-teams",
    ),
    pytest.param("Name: Build Pipeline\nStatus: Passing\nOwner: Platform Team", [], ["Build Pipeline", "Platform Team"], id="name-field-thing"),
    pytest.param("Payee: Electricity Board\nBeneficiary: Savings Account", [], ["Electricity Board", "Savings Account"], id="person-field-thing"),
    pytest.param("The Smith Group won the bid.\nThe Apple Watch band broke.", [], ["The Smith Group", "The Apple Watch"], id="the-before-firms-and-products"),
    pytest.param("Name: Smith, please call back", ["Smith"], ["please call back"], id="name-field-then-a-clause"),
    pytest.param("im sure this is fine, i am going home", [], ["im sure this is fine, i am going home"], id="lower-introduction-twin"),
    pytest.param("can you check if the build is green", [], ["can you check if the build is green"], id="lower-pair-twin"),
    pytest.param(
        "we will grant access once mark may sign; bill to: finance; ask claude about ruby on rails and apple pie",
        [],
        ["will grant access", "mark may sign", "bill to: finance", "ask claude about ruby on rails and apple pie"],
        id="lower-pair-english-twins",
    ),
    pytest.param("Attendees:\n- Tom Baker\n- Finance Team\n- Legal", ["Baker"], ["Finance Team", "Legal"], id="list-lines-teams"),
    pytest.param("ERROR: Connection refused\nWARN: Retrying in 5s\nFATAL: Giving up", [], ["ERROR:", "WARN:", "FATAL:"], id="caps-log-labels"),
    pytest.param("TODO: Fix the parser\nFIXME: Later", [], ["TODO:", "FIXME:"], id="caps-code-markers"),
    pytest.param("Juan Carlos Rodriguez signed it.", ["Juan", "Carlos", "Rodriguez"], ["signed it"], id="three-word-name-kept-whole"),
    pytest.param("Thanks to Terraform, the rollout was easy.", [], ["Thanks to Terraform"], id="lone-product-after-cue"),
    pytest.param("Either Postgres or MySQL works.", [], ["Either Postgres or MySQL works."], id="or-list-products"),
    pytest.param("However, the build failed.", [], ["However, the build failed."], id="opening-word-no-name"),
    pytest.param("Fixed the flaky test — Done", [], ["Fixed the flaky test — Done"], id="dash-before-a-word"),
    pytest.param('@here can you review?\n@app.route("/x")\n@patch("os.getcwd")', [], ["@here", "@app.route", "@patch("], id="group-mention-decorators"),
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


RECURRING = [
    # (text, the PERSON finding's words, what the other mentions must yield)
    pytest.param("Hi Maria Lopez, thanks.\nThe form for Lopez is attached.", "Maria Lopez", ["Lopez"], id="surname-again"),
    pytest.param("Maria Lopez called. Maria's manager agreed.", "Maria Lopez", ["Maria"], id="possessive-again"),
    pytest.param("MARIA LOPEZ\nAccount holder: LOPEZ", "MARIA LOPEZ", ["LOPEZ"], id="capitals-again"),
    pytest.param("Will Smith joined in May. He will call. Smithson Ltd agreed.", "Will Smith", [], id="stop-word-and-longer-word-twins"),
    pytest.param("mark smith asked us to mark the ticket", "mark smith", [], id="lower-case-not-carried"),
    pytest.param("Caller Dean Fox asked for the Caller ID", "Caller Dean Fox", [], id="role-word-not-carried"),
]


@pytest.mark.parametrize(("text", "name", "again"), RECURRING)
def test_a_name_found_once_is_masked_at_its_other_mentions(text: str, name: str, again: list[str]) -> None:
    start = text.index(name)
    found = recurring_names(text, [Finding(start, start + len(name), "PERSON", 0.8)])
    assert [text[f.start : f.end] for f in found] == again
    assert all(f.entity == "PERSON" and f.score == 0.8 for f in found)


def test_other_entities_are_not_carried_over() -> None:
    text = "Paris is nice. I moved to Paris."
    assert recurring_names(text, [Finding(0, 5, "LOCATION", 0.8)]) == []


LONE = [
    # (text, the lone names the cue rule adds): rows and twins (products, places, known first names).
    pytest.param("Send it to Křížová please.", ["Křížová"], id="unseen-non-ascii"),
    pytest.param("Is Schlatter coming? Thanks to Holubec.", ["Schlatter", "Holubec"], id="unseen-surnames"),
    pytest.param("Log in with Okta, deploy to Heroku, ask Gemini, thanks to Terraform.", [], id="products"),
    pytest.param("I moved to Zürich and then to Kraków.", [], id="places"),
    pytest.param("Is Kubernetes running? Built with Docker for Windows.", [], id="tools"),
    pytest.param("Schlatter Holubec came with Křížová Novák.", [], id="pairs-are-read-elsewhere"),
]


@pytest.mark.parametrize(("text", "names"), LONE)
def test_lone_names_after_a_person_cue(analyzer, text: str, names: list[str]) -> None:
    assert sorted(text[r.start : r.end] for r in analyzer._second._cued_lone_names(text)) == sorted(names)


FOREIGN = [
    # (text, the words read as names wherever they stand): unseen words with letters English has
    # none of, lone unseen surnames that are no first names.
    pytest.param("Send it to Pašková please, and cc Dūmiņa-Kölbl.", ["Pašková", "Dūmiņa-Kölbl"], id="names"),
    pytest.param("I moved to Zürich and then to Kraków, the café was naïve.", [], id="places-and-seen-words"),
    pytest.param("Plain ASCII text with Names only.", [], id="ascii"),
    pytest.param("The report came back from Holubec this morning.", ["Holubec"], id="lone-unseen-surname"),
    pytest.param("Monday's Standup moved; Friday Demo stays. Log in with Okta or Jira.", [], id="runs-and-products"),
]


@pytest.mark.parametrize(("text", "names"), FOREIGN)
def test_foreign_words_that_are_no_place_are_names(analyzer, text: str, names: list[str]) -> None:
    assert [text[r.start : r.end] for r in analyzer._second._foreign_words(text)] == names
