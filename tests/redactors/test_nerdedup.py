"""NER once per distinct sentence (redactors/nerdedup.py): the same entities as NER over each
text whole, where nothing repeats; one NER pass for a sentence repeated across texts."""

from __future__ import annotations

import pytest

from bench.workload import DEFAULT_SEED
from redactors import nerdedup
from redactors.nerdedup import Probes, SentenceNer, may_hold_a_name, sentences
from redactors.nerinput import ner_input
from redactors.pii import NameContextRecognizer, PiiAnalyzer, PlaceContextRecognizer
from redactors.second_opinion import SecondOpinion


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi, this is Julia Connor. I live in Denver.", ["Hi, this is Julia Connor.", "I live in Denver."]),
        ("I spoke to Mr. Smith today. Done!", ["I spoke to Mr. Smith today.", "Done!"]),  # no split after "Mr."
        ("Ask J. R. Tolkien. Then e.g. Rome.", ["Ask J. R. Tolkien.", "Then e.g. Rome."]),  # initials, "e.g."
        ("First paragraph\n\nsecond one\nsame paragraph", ["First paragraph", "second one\nsame paragraph"]),
        ("version 3.2.1 is out. ok", ["version 3.2.1 is out. ok"]),  # no capital after the stop: one piece
        ("Is it? \"Yes,\" she said. 42 items.", ["Is it?", "\"Yes,\" she said.", "42 items."]),
        ("   ", []),
    ],
)
def test_sentences_cut_at_sentence_ends_and_blank_lines_and_keep_offsets(text: str, expected: list[str]) -> None:
    pieces = list(sentences(text))
    assert [piece for _, piece in pieces] == expected
    assert all(text[offset : offset + len(piece)] == piece for offset, piece in pieces)


TEXTS = [
    "Hello, my name is Sarah Connor and I moved to Toronto last May.",
    "Maria Gonzalez called from Rotterdam. She wants a refund for order 1234.\n\nThanks, David Okafor",
    "The Ridgeline 2 tent ships from Reno. Call Priya Patel at the Boise office.",
    "nothing to see here",
]


def _entities(doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def _read(text: str, entities: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The entities in sentences that may hold a name (the others are not read: "She wants a
    refund for order 1234." has a DATE for the model, and nothing the analyzer keeps)."""
    read = [(at, at + len(sentence)) for at, sentence in sentences(text) if may_hold_a_name(sentence)]
    return [(s, e, label) for s, e, label in entities if any(a <= s < b for a, b in read)]


def test_texts_with_nothing_repeated_get_the_entities_of_ner_over_each_whole_text(analyzer: PiiAnalyzer) -> None:
    nlp = analyzer._nlp
    ner = SentenceNer(nlp, batch_size=8)
    whole = [_read(text, _entities(doc)) for text, doc in zip(TEXTS, nlp.pipe(TEXTS), strict=True)]
    assert [_entities(doc) for doc in ner.docs(TEXTS)] == whole
    assert any(whole)  # the model found something to compare
    assert ner.skipped == 2  # "She wants a refund for order 1234." and "nothing to see here": not read
    assert ner.misses == sum(len(list(sentences(t))) for t in TEXTS) - 2 and ner.hits == 0


def test_a_repeated_sentence_is_read_once_and_mapped_onto_every_text(analyzer: PiiAnalyzer) -> None:
    nlp = analyzer._nlp
    shared = "Please send the parcel to Maria Gonzalez in Rotterdam."
    texts = [f"Order 7 is late. {shared}", f"{shared}\n\nIt is a gift.", shared]
    ner = SentenceNer(nlp, batch_size=8)
    docs = ner.docs(texts)
    assert ner.misses == 2 and ner.hits == 0  # the shared sentence once, and "Order 7 is late."
    assert ner.skipped == 1  # "It is a gift.": nothing in it can start a name
    reference = _entities(nlp(shared))
    assert reference
    for text, doc in zip(texts, docs, strict=True):
        offset = text.index(shared)
        assert [(s - offset, e - offset, label) for s, e, label in _entities(doc) if s >= offset and e <= offset + len(shared)] == reference
    again = ner.docs([shared])  # the next request: from the cache
    assert ner.hits == 1 and _entities(again[0]) == reference


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("Maria Gonzalez in Rotterdam has order 4821.", "Maria Gonzalez in Rotterdam has order 9037.", True),
        ("Ship 12 tents to Anna Berg in Oslo by May 3.", "Ship 98 tents to Anna Berg in Oslo by May 7.", True),
        # Twins read on their own: another number of digits, another letter.
        ("Maria Gonzalez in Rotterdam has order 4821.", "Maria Gonzalez in Rotterdam has order 48210.", False),
        ("Maria Gonzalez in Rotterdam has order 4821.", "Maria Gonzalez in Rotterdam has order 482l.", False),
    ],
)
def test_sentences_that_differ_only_in_their_digits_share_one_reading(analyzer: PiiAnalyzer, first: str, second: str, shared: bool) -> None:
    ner = SentenceNer(analyzer._nlp, batch_size=8)
    one, two = ner.docs([first, second])
    assert (ner.misses, ner.hits) == (1 if shared else 2, 0)
    names = {e.text for e in one.ents if e.label_ in ("PERSON", "GPE")}
    assert names and names == {e.text for e in two.ents if e.label_ in ("PERSON", "GPE")}
    ner.docs([second.translate(str.maketrans("0123456789", "1234567890"))])  # the next request, other digits: from the cache
    assert (ner.misses, ner.hits) == (1 if shared else 2, 1)


def test_the_cache_holds_no_text_and_is_bounded(analyzer: PiiAnalyzer) -> None:
    ner = SentenceNer(analyzer._nlp, batch_size=8, max_entries=2)
    ner.docs(TEXTS[:2])
    assert len(ner) == 2
    stored = repr(list(ner._cache._entries.items()))
    assert "Connor" not in stored and "Gonzalez" not in stored and "Rotterdam" not in stored
    off = SentenceNer(analyzer._nlp, batch_size=8, max_entries=0)
    off.docs(TEXTS)
    assert len(off) == 0


# Texts whose candidates the context recognizers confirm with the model ("spoke with dave
# hughes" -> "I spoke with Dave Hughes yesterday."), with a benign twin the model turns down.
PROBED = [
    "I spoke with dave hughes about the refund.",
    "Thanks, I talked to priya patel and Lena Fischer, Tom Baker.",
    "Our customer is currently in edinburgh, moving to lisbon soon.",
    "I spoke with dave hughes again. I'm in trouble, please tell everyone.",  # a repeat, and twins
    "nothing to ask about here",
]


def _context(analyzer: PiiAnalyzer, probes: Probes, text: str) -> list[tuple[int, int, str]]:
    places = PlaceContextRecognizer(analyzer._nlp, analyzer._second._gaz, analyzer._second.unseen, probes)
    names = NameContextRecognizer(probes)
    found = [(r.start, r.end, r.entity_type) for r in names.analyze(text, ["PERSON"])]
    return found + [(r.start, r.end, r.entity_type) for r in places.analyze(text)]


def test_probes_batched_give_the_answers_of_one_call_each_from_one_pipe(analyzer: PiiAnalyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    nlp = analyzer._nlp
    one_by_one = Probes(nlp, batch_size=8, max_entries=0)  # no cache: every question its own nlp() call
    expected = [_context(analyzer, one_by_one, text) for text in PROBED]
    assert any(expected) and not expected[-1]
    assert one_by_one.asked > 4  # the texts did ask the model

    pipes: list[int] = []
    real_pipe = nlp.pipe

    def counting_pipe(texts, **kwargs):  # a spy on spaCy: the real pipe, counted
        texts = list(texts)
        pipes.append(len(texts))
        return real_pipe(texts, **kwargs)

    monkeypatch.setattr(nlp, "pipe", counting_pipe)
    probes = Probes(nlp, batch_size=8)
    assert probes.batched(lambda text: _context(analyzer, probes, text), PROBED) == expected
    assert len(pipes) == 1 and pipes[0] == probes.asked < one_by_one.asked  # one pipe, each distinct sentence once
    asked = probes.asked
    assert probes.batched(lambda text: _context(analyzer, probes, text), PROBED) == expected
    assert probes.asked == asked and len(pipes) == 1  # the next batch: every answer from the cache


def test_a_question_is_unanswered_only_in_a_first_pass_before_the_pipe(analyzer: PiiAnalyzer) -> None:
    probes = Probes(analyzer._nlp, batch_size=8)
    sentence = "I spoke with Dave Hughes yesterday."
    assert not probes.unanswered(sentence)  # outside a batch, a question is answered when asked
    seen: list[bool] = []

    def run(item: int) -> None:
        seen.append(probes.unanswered(sentence))
        probes.entities(sentence)
        seen.append(probes.unanswered(sentence))

    probes.batched(run, [1])
    assert seen == [True, True, False, False]  # first pass: recorded, not read; second pass: read


def test_probe_answers_are_cached_without_text_and_bounded(analyzer: PiiAnalyzer) -> None:
    probes = Probes(analyzer._nlp, batch_size=8, max_entries=3)
    assert probes.entities_many(["I spoke with Dave Hughes yesterday.", "She lives in Lisbon."])
    assert probes.batched(lambda text: _context(analyzer, probes, text), PROBED)
    assert len(probes) == 3
    stored = repr(list(probes._cache._entries.items()))
    assert not any(word in stored for word in ("Dave", "Hughes", "Lisbon", "Priya", "spoke", "lives"))


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Maria called yesterday.", True),  # a name first
        ("The tent ships from Reno.", True),  # a capital after the first word
        ("Will called back.", True),  # an opening word that is also a given name
        ("we met in 東京 last year", True),  # a script without case
        ("i think the owner is Łukasz", True),
        ("The parcel ships today.", False),  # the only capital: an opening word
        ("If I can, I'll send it.", False),  # the pronoun I
        ('"Please keep the receipt," she said.', False),
        ("1. the item is back in stock", False),
        ("nothing to see here", False),
    ],
)
def test_a_sentence_may_hold_a_name_only_with_a_capital_that_can_start_one(sentence: str, expected: bool) -> None:
    assert may_hold_a_name(sentence) is expected


def _found(analyzer: PiiAnalyzer, text: str) -> set[tuple[str, str]]:
    wanted = frozenset({"PERSON", "LOCATION"})
    [artifact] = analyzer.artifacts([text], with_ner=True)
    found = analyzer.analyze(text, artifact, wanted, 0.4) + analyzer.analyze_context(text, wanted, 0.4)
    return {(f.entity, text[f.start : f.end]) for f in found}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Lower-case names and places (issue 12) come from rules and probes, not from NER.
        ("i talked to priya patel about it. the refund is done.", {"priya patel"}),
        ("my name is dave. please call back.", {"dave"}),
        ("i'm currently in edinburgh. the parcel is late.", {"edinburgh"}),
        ("The refund is done. Maria Gonzalez called from Rotterdam.", {"Maria Gonzalez", "Rotterdam"}),
        ("The parcel ships today. It is a gift.", set()),  # benign twin: nothing read, nothing found
    ],
)
def test_sentences_not_read_lose_no_name(analyzer: PiiAnalyzer, text: str, expected: set[str]) -> None:
    assert any(not may_hold_a_name(sentence) for _, sentence in sentences(text))
    assert {value for _, value in _found(analyzer, text)} == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("The order number is NW-288511.", False),  # capitals only inside a machine identifier
        ("NW-500850", False),
        ("Your tracking code is 1Z6DRKRBTR4PSAM1SJ.", False),  # the full stop is a token of its own
        ("I have 500MB left.", True),  # "500MB" is two tokens, "MB" one with no digit
        ("Order NW-1 for Maria", True),  # a name beside the identifier
        ("ref 4711 from Acme", True),
        ("We shipped R2-D2 to you", False),  # "We" opens the sentence, "R2-D2" a machine token whole
        ("Send R2-D2 to Lisbon", True),
    ],
)
def test_capitals_inside_machine_tokens_start_no_name(analyzer: PiiAnalyzer, sentence: str, expected: bool) -> None:
    assert may_hold_a_name(sentence, analyzer._nlp.tokenizer) is expected
    assert may_hold_a_name(sentence) is True  # without the tokenizer, every such capital counts


ALL_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION", "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS", "URL"})


@pytest.fixture(scope="module")
def texts_with_unread_sentences(analyzer: PiiAnalyzer) -> list[str]:
    """Every dev-corpus and public-set text, every text of the three bench workloads (raw and
    normalised), that has a sentence SentenceNer does not read."""
    from bench.common import Source, content_texts
    from bench.eval.evaluate import SOURCES, comparison_rows
    from redactors.normalize import normalize

    raw = [row["text"] for row in comparison_rows(SOURCES)]
    for kind in ("realistic", "unique", "mixed"):
        raw += content_texts(Source(kind, 20250601).take(40))
    texts = dict.fromkeys(view for text in raw for view in (text, normalize(text).text))
    tokenizer = analyzer._nlp.tokenizer
    return [text for text in texts if any(not may_hold_a_name(s, tokenizer) for _, s in sentences(ner_input(text)))]


def test_sentences_not_read_change_no_finding_of_any_corpus_or_bench_text(analyzer: PiiAnalyzer, texts_with_unread_sentences: list[str]) -> None:
    """The differential check of `may_hold_a_name` (openers, the pronoun, machine tokens): each
    text's findings with its unread sentences skipped and with every sentence read."""
    texts = texts_with_unread_sentences
    assert len(texts) > 1000
    assert any(may_hold_a_name(s) is not may_hold_a_name(s, analyzer._nlp.tokenizer) for t in texts for _, s in sentences(ner_input(t)))
    found = []
    for ner in (SentenceNer(analyzer._nlp, batch_size=64), SentenceNer(analyzer._nlp, batch_size=64, read_all=True)):
        docs = ner.docs([ner_input(text) for text in texts])  # one batch, as a request's texts are read
        found.append([sorted((f.start, f.end, f.entity, f.score, f.rule) for f in analyzer.analyze(text, doc, ALL_ENTITIES, 0.4)) for text, doc in zip(texts, docs, strict=True)])
    assert found[0] and any(found[0])
    differences = [(text[:200], skipped, read) for text, skipped, read in zip(texts, *found, strict=True) if skipped != read]
    assert differences == [], "\n".join(map(repr, differences))


def test_runs_read_with_their_context_find_what_a_wider_context_finds(analyzer: PiiAnalyzer, monkeypatch: pytest.MonkeyPatch) -> None:
    """CONTEXT_WORDS against eight words (the first setting) on the bench workloads, each trace's
    texts one batch and the cache kept across traces, as requests are read: sentences seen before
    make most texts runs with context. One word of context is not enough ("Madison" of the mixed
    workload is no PERSON then)."""
    from bench.common import Source, content_texts
    from bench.workload import Workload

    batches = []
    for kind in ("unique", "mixed"):
        workload = Source(kind, DEFAULT_SEED).take(60)
        batches += [[ner_input(text) for text in content_texts(Workload(kind, [trace]))] for trace in workload.traces]
    runs, all_runs = [], nerdedup._runs
    monkeypatch.setattr(nerdedup, "_runs", lambda item: (runs.append((run, item.text)) or run for run in all_runs(item)))
    found = []
    for words in (nerdedup.CONTEXT_WORDS, 8):
        monkeypatch.setattr(nerdedup, "CONTEXT_WORDS", words)
        ner = SentenceNer(analyzer._nlp, batch_size=64)
        found.append([_entities(doc) for batch in batches for doc in ner.docs(batch)])
    assert sum(len(run.segment) < len(text) for run, text in runs) > 500  # runs with context, not whole texts
    assert any(found[1])
    assert [i for i, (a, b) in enumerate(zip(*found, strict=True)) if a != b] == []


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("Thanks for the help.\n-- Jennifer", "-- Jennifer", "Jennifer"),  # leading symbols are no part of a name
        ("pip install x && pytest", "&&", None),  # symbols only: no one's name
        ('He said "Maria Lopez" did it', '"Maria Lopez', "Maria Lopez"),
        ("call -- jennifer", "-- jennifer", None),  # lower case once the symbols are cut: the model's slip
        ("Maria Lopez called", "Maria Lopez", "Maria Lopez"),  # benign twin: unchanged
    ],
)
def test_model_spans_kept_start_with_a_letter_or_a_digit(text: str, span: str, expected: str | None) -> None:
    """The premise of `may_hold_a_name`: what `_clean_ner` keeps of the model's span starts with a letter or a digit."""
    from presidio_analyzer import RecognizerResult

    from redactors.pii import _clean_ner

    start = text.index(span)
    cleaned = _clean_ner(text, RecognizerResult("PERSON", start, start + len(span), 0.85), lambda word: False)
    assert (text[cleaned.start : cleaned.end] if cleaned else None) == expected


@pytest.mark.parametrize(
    ("text", "expected", "question"),
    [
        # After "from <a place> to", a word the model never saw is asked about in "She lives in ...".
        ("We are flying from Kitee to Zwoinskaja next week.", {"Kitee", "Zwoinskaja"}, "She lives in Zwoinskaja."),
        ("flight from Reno to Qarshivo tomorrow", {"Reno"}, "She lives in Qarshivo."),  # the model turns it down
        ("We moved from Denver to Boise", {"Denver", "Boise"}, None),  # known places: no question
    ],
)
def test_a_trip_destination_is_asked_through_the_probes(analyzer: PiiAnalyzer, text: str, expected: set[str], question: str | None) -> None:
    """The second opinion's place question goes through `Probes` (it once called a pipeline the class does not hold, and raised)."""
    probes = Probes(analyzer._nlp, batch_size=8)
    second = SecondOpinion(analyzer._nlp, analyzer._second._gaz, probes)
    found = {text[r.start : r.end] for r in second.analyze(text, [], frozenset({"LOCATION"}))}
    assert found == expected
    assert probes.asked == (1 if question else 0)
    if question:
        assert probes.entities(question) == probes._cache.get(probes._cache.digest(question))  # answered and cached
