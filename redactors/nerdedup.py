"""NER once per distinct sentence: across a request's texts, and across requests (issue 17).

A request repeats sentences in different text units: a retrieved document is one attribute of
the retrieval span and a paragraph of the prompt in the model span; an OpenInference span has
the last message in `input.value` and in `llm.input_messages`. The redaction cache works per
text unit, so each of those units went through NER whole. Here every text is cut into sentences
(at blank lines and after a sentence end followed by a capital letter, a digit or a quote, never
after an abbreviation such as "Mr." or an initial), NER runs on each distinct sentence once,
and the entities are mapped back onto the text's own tokens.

A sentence in which nothing can start a name (`may_hold_a_name`: no capital letter except the
pronoun "I", a common opening word such as "The" or "Please" and capitals inside machine tokens
such as "NW-500850") is not read at all: every entity the analyzer keeps from the model starts
with a capital letter (`redactors.pii._clean_ner` cuts leading symbols, drops spans starting
lower-case as the model's slips and spans with a digit unless shaped like a house number; the
second opinion re-reads capitalised spans only), and the lower-case names of issue 12 are found
by rules on the text and by probes, not by this NER. tests/redactors/test_nerdedup.py checks it
on every dev-corpus, public-set and bench text with a sentence not read: the same findings as
with every sentence read.

A sentence is read in the first text of the batch that has it, with three words of that text on
either side (the model's window is a few tokens; an entity never spans a sentence end); a text
with nothing repeated or cached is read whole, exactly as before.

NER results of a sentence are kept in a bounded LRU keyed by an HMAC-SHA256 digest under a
random per-process key, like `RedactionCache`: the cache holds offsets and labels, never text.
The key is the sentence with its ASCII digits folded to 0 (`digits_folded`): sentences that
differ only in their digits (an order number, a price, "within 5 days") share one reading.

`Probes` asks the model the context recognizers' questions ("I spoke with Maria Lopez
yesterday.": is the candidate a PERSON in a neutral sentence?). One `nlp()` call per candidate
cost more than the NER of the sentence holding it (spaCy's per-call overhead on seven tokens), so
`Probes.batched` runs a recognizer over a whole batch of texts twice: the first pass only
collects the questions not answered yet, one `nlp.pipe` answers them all, and the texts that
asked run again with the answers in hand. Answers are kept in the same kind of keyed LRU.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from redactors.letters import LOWER
from redactors.processkey import new_key

Entities = tuple[tuple[int, int, str], ...]  # (start, end, label) in the sentence

# A sentence end: . ! or ? (and closing quotes or brackets), whitespace, then the next sentence's
# first character. Or a blank line.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*[ \t]+(?=[\"'(\[]?[A-Z0-9])|[ \t]*\n[ \t]*\n\s*")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof st jr sr mt ft vs etc no nos inc ltd co corp dept approx e.g i.e cf al fig
    jan feb mar apr jun jul aug sep sept oct nov dec u.s u.k a.m p.m""".split()
)
_LAST_WORD = re.compile(r"(\S*)[.!?]$")
_WORD = re.compile(r"\S+")
# Words of the text read on either side of a run: the small model's token vectors see four
# tokens each way, and the entity recognizer's state also reads the token before the current one.
# Context matters only for a run's first reading: a cached sentence is reused in any context.
# (Eight words read 30% more text than the sentences themselves on the mixed workload; five
# gave the same `make eval` figures on every line, 1.06x. Two, three, four and five words gave
# the same entities on every text of 80 mixed and 80 unique traces read as requests, one word
# did not; three keeps a word of margin: tests/redactors/test_nerdedup.py.)
CONTEXT_WORDS = 3
CONTEXT_CHARS = 400


# A letter that is not a lower-case Latin letter: a capital, or a letter of a script without case
# (or of a script this test does not know), either of which may start a name.
_MAY_START_A_NAME = re.compile(rf"[^\W\d_{LOWER}]")
_FIRST_WORD = re.compile(r"[^\W\d_]+")
# Opening words that start a sentence with a capital and are no one's name. Not "Will", "May",
# "Can", "Per", "Else", "Mark": given names too.
_OPENERS = frozenset(
    """a an the this that these those it its we you your our my their there here they he she his her
    if when while what which who whom whose how why where whether and but or so then also once
    in on at for to of with from by as after before during since until unless because each every
    all any some no not do does did is are was were be been has have had could should would must
    please thanks thank let just only now yes""".split()
)


# A token of a machine identifier: ASCII letters, digits and hyphens, at least one digit
# ("NW-500850", "SKU-3583", "1Z6DRKRBTR4PSAM1SJ", "WC-90746").
_MACHINE_TOKEN = re.compile(r"[A-Za-z0-9-]*[0-9][A-Za-z0-9-]*")


def may_hold_a_name(sentence: str, tokenizer: Callable[[str], Doc] | None = None) -> bool:
    """Whether the sentence has a letter that may start a name: a capital other than the pronoun
    "I" and the first letter of an opening word, or a letter of a script without case.

    With `tokenizer` (the model's own, as NER reads the sentence), a capital inside a machine
    token ("order NW-500850", a tracking number "1Z6DRKRBTR4PSAM1SJ") cannot start a name either.
    An entity that holds such a token has a digit in its span, and of what the analyzer keeps
    from the model nothing has one: `redactors.pii._clean_ner` drops a span with a digit unless
    it is a house number before capitalised words or "Surname/Given" (both need a capitalised
    word with no digit, which would be read), the second opinion re-reads only spans of
    capitalised words, and a PERSON span without such a word holds no candidate of
    `redactors.second_opinion` or `redactors.namecues`. Not reading it can only give back a
    pattern result that the dropped span contained (Presidio's duplicate removal), never lose one.
    The tokenizer decides because a capital glued to digits may still be a token of its own
    ("500MB" is "500" and "MB"): only tokens that are machine tokens whole count.
    """
    first = _FIRST_WORD.search(sentence)
    deferred: list[int] = []  # capitals in a piece of text with a digit: the tokenizer decides
    for match in _MAY_START_A_NAME.finditer(sentence):
        at = match.start()
        if match.group() == "I" and not sentence[at - 1 : at].isalnum() and not sentence[at + 1 : at + 2].isalnum():
            continue  # "I", "I'm", "I'll"
        if first is not None and at == first.start() and first.group().lower() in _OPENERS:
            continue
        if tokenizer is not None and _between_spaces_with_a_digit(sentence, at):
            deferred.append(at)
            continue
        return True
    return bool(deferred) and not _in_machine_tokens(tokenizer(sentence), deferred)  # type: ignore[misc]


def _between_spaces_with_a_digit(sentence: str, at: int) -> bool:
    """Whether the run of non-space characters around `at` has a digit (every token inside it is
    part of that run)."""
    start = at
    while start and not sentence[start - 1].isspace():
        start -= 1
    end = at
    while end < len(sentence) and not sentence[end].isspace():
        end += 1
    return any(ch.isdigit() for ch in sentence[start:end])


def _in_machine_tokens(doc: Doc, offsets: Sequence[int]) -> bool:
    """Whether every offset lies in a token that is a machine token whole."""
    tokens = iter(doc)
    token = next(tokens, None)
    for at in offsets:  # increasing
        while token is not None and token.idx + len(token.text) <= at:
            token = next(tokens, None)
        if token is None or token.idx > at or _MACHINE_TOKEN.fullmatch(token.text) is None:
            return False
    return True


def sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) pieces of `text`, without the whitespace between them."""
    start = 0
    for match in _BOUNDARY.finditer(text):
        if "\n" not in match.group():
            word = _LAST_WORD.search(text, max(start, match.start() - 30), match.start())
            if word and _keeps_together(word.group(1)):
                continue
        piece = text[start : match.start()]
        if piece.strip():
            yield start, piece
        start = match.end()
    if text[start:].strip():
        yield start, text[start:]


def _keeps_together(word: str) -> bool:
    """An abbreviation or an initial before the full stop: not a sentence end."""
    bare = word.lstrip("\"'([").lower()
    return bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha())


_ASCII_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


def digits_folded(sentence: str) -> str:
    """The sentence with every ASCII digit written as 0: the key under which `SentenceNer` keeps
    a sentence's entities. Sentences that differ only in their digits ("within 5 days" and "within
    8 days", two order numbers) have the same length and the same tokens at the same offsets but
    for the digits, and they share one NER reading (the first one's)."""
    return sentence.translate(_ASCII_DIGITS_TO_ZERO)


class _KeyedLru:
    """A bounded LRU of entities keyed by HMAC-SHA256 of a sentence under a random per-process key."""

    def __init__(self, max_entries: int) -> None:
        self._key = new_key(self)
        self._entries: OrderedDict[bytes, Entities] = OrderedDict()
        self._max_entries = max_entries

    def renew_key(self) -> None:
        """In a forked child: a key of its own, and nothing cached under the parent's."""
        self._key = new_key(self)
        self._entries.clear()

    def digest(self, sentence: str) -> bytes:
        return hmac.new(self._key, sentence.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get(self, key: bytes) -> Entities | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: bytes, found: Entities) -> None:
        if self._max_entries <= 0:
            return
        self._entries[key] = found
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def _entities(doc: Doc) -> Entities:
    return tuple((ent.start_char, ent.end_char, ent.label_) for ent in doc.ents)


_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


class Probes:
    """The model's entities of short probe sentences, asked in one `nlp.pipe` per batch of texts."""

    def __init__(self, nlp: Language, batch_size: int, max_entries: int = 20_000) -> None:
        self._nlp = nlp
        self._batch_size = batch_size
        self._cache = _KeyedLru(max_entries)
        self._local = threading.local()  # the questions a first pass collects, per thread
        self.asked = 0  # sentences the model read (cache misses)

    def entities(self, sentence: str) -> Entities:
        """(start, end, label) of the model's entities in `sentence`. Inside the first pass of
        `batched`, an unanswered sentence is recorded and answered with no entities for now."""
        key = self._cache.digest(sentence)
        found = self._cache.get(key)
        if found is not None:
            return found
        pending: list[str] | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.append(sentence)
            return ()
        found = _entities(self._nlp(sentence))
        self.asked += 1
        self._cache.put(key, found)
        return found

    def entities_many(self, sentences: Sequence[str]) -> list[Entities]:
        """`entities` of each sentence; the unanswered ones read in one `nlp.pipe`."""
        keys = [self._cache.digest(sentence) for sentence in sentences]
        found = [self._cache.get(key) for key in keys]
        missing = [i for i, entities in enumerate(found) if entities is None]
        pending: list[str] | None = getattr(self._local, "pending", None)
        if pending is not None:
            pending.extend(sentences[i] for i in missing)
        elif missing:
            docs = self._nlp.pipe([sentences[i] for i in missing], batch_size=self._batch_size)
            for i, doc in zip(missing, docs, strict=True):
                found[i] = _entities(doc)
                self._cache.put(keys[i], found[i])
            self.asked += len(missing)
        return [entities or () for entities in found]

    def unanswered(self, sentence: str) -> bool:
        """Inside the first pass of `batched`: whether `sentence` was recorded for later, its
        entities not known yet (a question that depends on its answer waits for the second pass)."""
        return getattr(self._local, "pending", None) is not None and self._cache.get(self._cache.digest(sentence)) is None

    def batched(self, run: Callable[[_Item], _Result], items: Sequence[_Item]) -> list[_Result]:
        """`run(item)` for every item, all their probe sentences read in one `nlp.pipe`."""
        self._local.pending = pending = []
        first: list[tuple[_Result, bool]] = []
        try:
            for item in items:
                before = len(pending)
                first.append((run(item), len(pending) > before))
        finally:
            self._local.pending = None
        if not pending:
            return [result for result, _ in first]
        distinct = list(dict.fromkeys(pending))
        for sentence, doc in zip(distinct, self._nlp.pipe(distinct, batch_size=self._batch_size), strict=True):
            self._cache.put(self._cache.digest(sentence), _entities(doc))
        self.asked += len(distinct)
        return [run(item) if asked else result for item, (result, asked) in zip(items, first, strict=True)]

    def __len__(self) -> int:
        return len(self._cache)


@dataclass
class _Text:
    text: str
    pieces: list[tuple[int, str]]  # (offset, sentence)
    compute: list[int]  # indices of the sentences this text computes (first seen here, not cached)


class SentenceNer:
    """Entities of many texts from NER over their distinct sentences, with a bounded cache.

    A sentence that is neither cached nor already computed for an earlier text of the batch is
    computed in its own text. Consecutive such sentences form one run, and each run goes through
    NER with CONTEXT_WORDS words of the text on either side as context (entities found in the
    context are not kept), so every sentence is read with the neighbours it has in that text. A text
    with nothing cached or repeated is one run: NER reads it whole, as without this class.
    """

    def __init__(self, nlp: Language, batch_size: int, max_entries: int = 100_000, read_all: bool = False) -> None:
        self._nlp = nlp
        # read_all: every sentence is read, `may_hold_a_name` or not (the differential tests' reference).
        self._may_hold_a_name = (lambda _: True) if read_all else (lambda sentence: may_hold_a_name(sentence, nlp.tokenizer))
        self._batch_size = batch_size
        self._cache = _KeyedLru(max_entries)
        self.hits = 0
        self.misses = 0
        self.skipped = 0  # sentences in which nothing can start a name: not read

    def docs(self, texts: Sequence[str]) -> list[Doc]:
        """One tokenized Doc per text, its entities set from NER over the distinct sentences."""
        known: dict[str, Entities] = {}  # by `digits_folded` sentence
        planned: set[str] = set()
        items: list[_Text] = []
        for text in texts:
            item = _Text(text, list(sentences(text)), [])
            for index, (_, sentence) in enumerate(item.pieces):
                key = digits_folded(sentence)
                if key in known or key in planned:
                    continue
                if not self._may_hold_a_name(sentence):
                    known[key] = ()
                    self.skipped += 1
                    continue
                cached = self._cache.get(self._cache.digest(key))
                if cached is not None:
                    known[key] = cached
                    self.hits += 1
                else:
                    planned.add(key)
                    item.compute.append(index)
                    self.misses += 1
            items.append(item)
        runs = [run for item in items for run in _runs(item)]
        for run, doc in zip(runs, self._nlp.pipe([run.segment for run in runs], batch_size=self._batch_size), strict=True):
            for sentence, found in run.entities(doc):
                key = digits_folded(sentence)
                known[key] = found
                self._cache.put(self._cache.digest(key), found)
        return [self._doc(item, known) for item in items]

    def _doc(self, item: _Text, known: dict[str, Entities]) -> Doc:
        doc = self._nlp.make_doc(item.text)
        spans: list[Span] = []
        for offset, sentence in item.pieces:
            for start, end, label in known[digits_folded(sentence)]:
                span = doc.char_span(offset + start, offset + end, label=label, alignment_mode="expand")
                if span is not None:
                    spans.append(span)
        doc.ents = filter_spans(spans)
        return doc

    def __len__(self) -> int:
        return len(self._cache)


@dataclass
class _Run:
    """Consecutive sentences of one text to compute, with the context NER reads around them."""

    segment: str  # the text from the sentence before the run to the sentence after it
    base: int  # offset of the segment in the text
    pieces: list[tuple[int, str]]  # the run's sentences, offsets in the text

    def entities(self, doc: Doc) -> Iterator[tuple[str, Entities]]:
        """Each sentence of the run with the entities that start in it (offsets in the sentence)."""
        for offset, sentence in self.pieces:
            end = offset + len(sentence)
            found = tuple(
                (ent.start_char + self.base - offset, min(ent.end_char + self.base, end) - offset, ent.label_)
                for ent in doc.ents
                if offset <= ent.start_char + self.base < end
            )
            yield sentence, found


def _context_start(text: str, start: int) -> int:
    """Where the CONTEXT_WORDS words before `start` begin (the text's start when it is nearer)."""
    words = list(_WORD.finditer(text, max(0, start - CONTEXT_CHARS), start))
    if len(words) >= CONTEXT_WORDS:
        return words[-CONTEXT_WORDS].start()
    return 0 if start <= CONTEXT_CHARS or not words else words[0].start()


def _context_end(text: str, end: int) -> int:
    """Where the CONTEXT_WORDS words after `end` end (the text's end when there are fewer)."""
    words = list(_WORD.finditer(text, end, min(len(text), end + CONTEXT_CHARS)))
    if len(words) >= CONTEXT_WORDS:
        return words[CONTEXT_WORDS - 1].end()
    return len(text) if end + CONTEXT_CHARS >= len(text) or not words else words[-1].end()


def _runs(item: _Text) -> Iterator[_Run]:
    """Maximal runs of consecutive sentences to compute, each with CONTEXT_WORDS words of context a side."""
    pieces, compute = item.pieces, item.compute
    i = 0
    while i < len(compute):
        j = i
        while j + 1 < len(compute) and compute[j + 1] == compute[j] + 1:
            j += 1
        first, last = pieces[compute[i]], pieces[compute[j]]
        start = _context_start(item.text, first[0])
        end = _context_end(item.text, last[0] + len(last[1]))
        yield _Run(item.text[start:end], start, pieces[compute[i] : compute[j] + 1])
        i = j + 1
