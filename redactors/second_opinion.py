"""A second opinion on the small model's labels, from the gazetteers and the model itself.

en_core_web_sm often calls a foreign name an ORG, or nothing at all, and misses places it has
not seen. For capitalised spans it did not call PERSON, the gazetteers (``redactors.gazetteer``)
propose, and context and the model decide:

- **names the model called ORG, or nothing**: one to three capitalised words, the first a known
  first name or the last a known last name, none of them a common or company word ("Inc",
  "Bank", "and"). The gazetteers are noisy (names-dataset has "The" and "Street" as first names),
  so membership alone never decides: the span is kept when none of its words is in the model's
  own shipped vocabulary (English words and common English names are; "Concetta Bruscantini" is
  not), or, for two or three words with a known first and a known last name, when the model
  asked about the span alone in a neutral sentence ("I spoke with … yesterday.") says PERSON.
- **names in lower case**: a known first name then a known last name ("kavya smith"), none a
  common word and one unknown to the model's vocabulary, confirmed by the model asked about the
  title-cased pair in a neutral sentence (PERSON, or ORG when the first is a common first name);
- **enumerations of first names**: "Ana, Luis and Marta", "Riley, Selim": three or more
  capitalised words, or two joined by "and", most of them known first names, unless the list
  reads as a firm ("at Lee, Perkins and Finch", "The Smith, Francis and Bell Orchestra");
- **places after a place cue**: "in Växjö", "from Kitee to Ahaus", "country is Cameroon", when
  the gazetteer knows the place (a town of 500 or more only when the model never saw its words:
  "written in Rust" stays), or the phrase is shaped like a place name (a town ending in English,
  French, German, Dutch or Nordic: "Taylorfort", "MorelBourg", "Sellingen"; a particle inside:
  "Plan-les-Ouates", "Bělá pod Bezdězem"; a saint or a direction before a name: "Sint-Lievens-Esse",
  "South Kevin"), in capitals too ("FLYING TO PARIS"); after "from <place> to", a word the model
  never saw that it reads as a place in "She lives in …."; Faker-style and real towns alike;
- **places without a cue**: place fields ("delivery_city: …", "State/Province: …"); countries, US
  states, Canadian and Australian provinces and states wherever they are capitalised or in
  capitals ("Bosnia and Herzegovina", "GERMANY"); known places of 5,000 people or more none of
  whose words the model ever saw ("Our Kisumu team"). A place before a company word or inside a
  firm's list of names ("at Tapia Group", "at Adams, Holland and Wallis") is not one;
- **the floor under naive Presidio**: naive Presidio masks every span the model labels ORG or
  NORP. A span the model labelled ORG, NORP or WORK_OF_ART is re-read here: a known place that
  is no English word ("Świecie", "Niue"), or any known place after a place cue, is a LOCATION; one to
  four capitalised words with a known first name first or a known last name last, none a company
  word and not introduced as a firm ("at", "for", "join"), are a PERSON ("Julia Kalamees",
  "Riley will send the deck"). Real firms keep their company words ("Myers PLC", "Alexander
  Inc") and products their context, so they stay.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Sequence

from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language

from redactors.gazetteer import Gazetteer
from redactors.letters import LOWER, UPPER
from redactors.namecues import NameCues
from redactors.nerdedup import Probes

_CAP = rf"[{UPPER}](?:['’][{UPPER}])?[{LOWER}'’]+(?:-[{UPPER}][{LOWER}'’]+)?"  # "O'Brien" too
# One to three capitalised words (single words only count when the model has never seen them).
_CANDIDATE = re.compile(rf"(?<![\w-]){_CAP}(?:[ ]{_CAP}){{0,2}}(?![\w-])")
# Items of one or two words: "Thierry, Thiago Lionel and René"; "Smith, Francis and Bell Orchestra".
_ITEM = rf"{_CAP}(?:[ ]{_CAP})?"
_ENUMERATION = re.compile(rf"(?<![\w-]){_ITEM}(?:,[ ]{_ITEM})*,?[ ](?:and|&|or)[ ]{_ITEM}(?![\w-])|(?<![\w-]){_ITEM}(?:,[ ]{_ITEM}){{2,}}(?![\w-])")
# A firm's partners: "Richardson, White and Edwards", "Hill, Rose & Sheppard".
_PARTNER = rf"(?:Ma?c)?{_CAP}"
_PARTNERS = re.compile(rf"(?:(?<![\w-])|(?<=\\n)){_PARTNER},[ ]{_PARTNER},?[ ](?:and|&)[ ]{_PARTNER}(?![\w-])")
_FIRM_SUFFIX_WORDS = (" Inc", " LLC", " Ltd", " PLC", " plc", " Group", " GmbH", " Corp", " LLP", " Limited", " AG", " SA", " BV", " NV")
# A surname (or two joined by a hyphen) before a company word: "Rodriguez Group", "Hull PLC", "Ali-Welch Ltd".
_FIRM_SUFFIXED = re.compile(
    rf"(?:(?<![\w-])|(?<=\\n)){_PARTNER}(?:-{_PARTNER})?,?[ ](?:Inc|LLC|Ltd|PLC|plc|Group|GmbH|Corp|Corporation|LLP|Limited|AG|SA|BV|NV)\b"
)
# A list of surnames is a firm's name after "at", "of", "from" ... or before a company word.
_COMPANY_BEFORE = re.compile(r"(?i:\b(?:at|of|from|the|by|for|with|join(?:ed)?|left|founded)[ ]+)$")
# Firm cues after which a person stands as often: "from", "with", "by", "for".
_PERSON_TOO = ("from", "with", "by", "for")
_FIRM_BEFORE = re.compile(r"(?i:\b(?:at|join(?:ed)?|left|founded|became|work(?:s|ed)? for|vendor|client|partner|firm|agency)[ ]+)$")
_COMPANY_AFTER = re.compile(rf"[ ]+(?:{_CAP}\b|(?i:llc|inc|ltd|plc|group|office|website|is the|is a|is an)\b)")
_CUES = (
    r"in|from|to|at|near|visit(?:ing|ed)?|via|serving|country is|city is|city of|town of|university of|home ?city|hometown|"
    r"where:|located in|based in|born in|live in|lives in|moved to|fly(?:ing)? to|office in"
)
_CUE_BEFORE = re.compile(rf"(?i:\b(?:{_CUES})[ ]+)$")
# Particles inside place names: "Plan-les-Ouates", "Bělá pod Bezdězem", "Mistelbach an der Zaya".
_PLACE_PARTICLES = r"de|del|della|di|da|do|dos|das|du|des|la|le|les|sur|sous|en|et|près|lès|am|an|im|ob|bei|bij|aan|op|den|der|upon|on|pod|nad|na"
# A place word: capitalised, hyphenated parts may be joined by particles ("Sint-Gillis-bij-Dendermonde").
_PLACE_WORD = rf"[{UPPER}][{LOWER}'’]+(?:[{UPPER}][{LOWER}]+)?(?:-(?:(?:{_PLACE_PARTICLES})-)*[{UPPER}][{LOWER}'’]+)*(?![\w'’])"
_PLACE_RUN = rf"{_PLACE_WORD}(?:[ ](?:(?:{_PLACE_PARTICLES})[ ]){{0,2}}{_PLACE_WORD}){{0,3}}"
_PLACE_CUE = re.compile(
    rf"(?i:\b(?:{_CUES})[ ]+)"
    rf"(?:(?P<place>{_PLACE_RUN})|(?P<upper>[A-Z]{{3,}}(?:[ -][A-Z]{{2,}}){{0,2}})(?![\w-]))"
)
# Place names by their shape, in any language: a particle inside ("Tinguely-les-Bains", "Bělá pod
# Bezdězem"), a saint or a direction first ("Sint-Lievens-Esse", "South Kevin"), a "Dessous" part.
# Between two words only particles that are no English word ("Berlin on Friday" is no place).
_SPACED_PARTICLES = r"de|del|della|di|da|do|dos|das|du|des|la|le|les|sur|sous|près|lès|am|an der|im|ob|bei|bij|aan|op|pod|nad|na"
_PARTICLE_INSIDE = re.compile(rf"[^ ]+-(?:{_PLACE_PARTICLES})-[^ ]+|[^ ]+[ ](?:{_SPACED_PARTICLES})[ ][^ ]+")
_PLACE_PREFIX = re.compile(
    rf"(?:Saint|Sainte|Sint|Sankt|San|Santa|Santo|São|Bad|Nieuw|Oud|Nova|Novo|Nový|Nowy|North|South|East|West|New|Port|Fort|Mount|Lake|Cape)[ -][{UPPER}].*"
    rf"|.*-(?:Dessous|Dessus|Village|Station)"
)
_COMPANY_WORDS = frozenset(
    """inc inc. llc ltd ltd. plc corp corp. co co. group bank gmbh ag sa bv nv spa kg oy ab as university
    college school institute hospital foundation association council committee ministry department
    office agency services solutions systems technologies labs studio studios partners capital and
    orchestra band choir ensemble quartet trio club records church hotel restaurant cafe café theatre
    theater museum gallery press media pictures films motors airlines airways insurance consulting
    holdings industries enterprises international global fc united sons brothers associates
    of the for""".split()
)
# Words that open a sentence or label a thing, never read as a first name.
_NOT_FIRST = frozenset(STOP_WORDS) | frozenset(
    """thanks thank please hello hi hey dear regards best cheers sincerely yes no ok okay sure great
    good morning evening afternoon today tomorrow yesterday monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october november
    december street road avenue lane drive city country state summary note notes meeting ticket order
    customer user agent assistant system team support admin account error warning info debug contact
    call email ask tell ping message""".split()
)
_NEUTRAL_PREFIX = "I spoke with "
_LOWER_PAIR = re.compile(rf"(?<![\w'’-])([{LOWER}][{LOWER}'’-]+) ([{LOWER}][{LOWER}'’-]+)(?![\w-])")
# English place-name endings and prefixes: "Taylorfort", "Knightchester", "East Pottshaven".
# English, French, German, Dutch and Nordic place-name endings ("Gordonneath", "MorelBourg", "Sellingen").
_TOWN_SUFFIXES = (
    "town ton land ville berg burg burgh borough bury view port mouth stad furt chester caster cester fort "
    "haven side shire ham field ford wood dale mere minster wick worth ington by thorpe burn neath "
    "bourg court mont dorf heim hausen stadt ingen bach hofen feld dam drecht hoven wijk veen horst "
    "broek köping holm vik fors sted strup rup lev sund"
).split()
_TOWN = re.compile(
    rf"(?:(?:North|South|East|West|New|Lake|Port|Mount|Fort|Saint|St\.?)[ ])?[{UPPER}][{LOWER}]{{2,}}(?i:{'|'.join(_TOWN_SUFFIXES)})"
)
_PARTICLE_WORDS = frozenset(_PLACE_PARTICLES.split("|"))
_NEXT_WORD = re.compile(r"[ ]+(?:and[ ]+)?([\w.]+)")
# Travel between two places: after "from X", a "to" introduces a place too.
_TRIP_BEFORE = re.compile(rf"(?i:\bfrom)[ ]+(?P<origin>{_PLACE_RUN})[ ]+to[ ]+$")
_PLACE_PREFIX_SENTENCE = "She lives in "
# Fields that hold a place: "delivery_city: Momostenango", "State/Province: Tirol", "country=Peru".
_PLACE_FIELD = re.compile(
    rf"(?i:\b[\w/]*(?:city|town|country|state|province|region|county|district|canton|prefecture)[\"']?[ \t]*[:=][ \t]*[\"']?)"
    rf"(?P<place>{_PLACE_RUN})(?=[ \t]*(?:[\"',;\n\[(]|$))"
)
# A capitalised run that may be a known place the model has never seen ("Our Abbottabad team").
_KNOWN_RUN = re.compile(rf"(?<![\w-]){_PLACE_RUN}")
# Capitalised (or upper-case) runs that may hold a country's name: "Saint Vincent and the Grenadines".
_CONNECTOR_WORDS = frozenset({"and", "of", "the", "&", "d'"})
_RUN_WORD = re.compile(rf"[{UPPER}][{UPPER}{LOWER}'’]*|and|of|the|&|AND|OF|THE")
_COUNTRY_RUN = re.compile(
    rf"(?<![\w-])[{UPPER}][{UPPER}{LOWER}'’]*(?:[ ](?:(?:and|of|the|&|AND|OF|THE)[ ]){{0,2}}[{UPPER}][{UPPER}{LOWER}'’]*)*(?![\w-])"
)
# Labels under which the small model files foreign names and places; naive Presidio masks them all.
_FLOOR_LABELS = frozenset({"ORG", "NORP", "WORK_OF_ART"})
_FLOOR_SPAN = re.compile(
    rf"(?:(?i:the)[ ]+)?(?P<words>{_CAP}(?:[ ](?:{_CAP}|van|von|de|der|den|da|di|du|del|la|le)){{0,3}})|(?P<slashed>{_CAP}/{_CAP})"
)


def _not_a_name(word: str) -> bool:
    lower = word.lower()
    return lower in _NOT_FIRST or lower in _COMPANY_WORDS


def _words(span: str) -> list[str]:
    return span.split(" ")


def _first_line_end(text: str, start: int, end: int) -> int:
    """The end of the span's first line: a label across lines ("Marina Štrljić\\n\\nLawyer",
    with real or escaped line breaks) is cut to its first line."""
    cut = min((i for i in (text.find("\n", start, end), text.find("\\n", start, end)) if i > start), default=end)
    return start + len(text[start:cut].rstrip(" \t"))


def _title(span: str) -> str:
    return " ".join(word[:1].upper() + word[1:] for word in span.split(" "))


def _in_firm(text: str, result: RecognizerResult, firms: Sequence[tuple[int, int]]) -> bool:
    """Whether a place names (part of) a firm: "at Tapia Group", "Thorpe Ltd", "at Adams,
    Holland and Wallis"."""
    after = _NEXT_WORD.match(text, result.end)
    if after and after.group(1).lower() in _COMPANY_WORDS - {"and", "of", "the", "for"}:
        return True
    return any(s <= result.start and result.end <= e for s, e in firms)


def _cued_place(text: str, at: int) -> bool:
    """Whether a place cue ("in", "from", "city of" ...) ends right before `at`."""
    return _CUE_BEFORE.search(text[max(0, at - 24) : at]) is not None


class SecondOpinion:
    """PERSON and LOCATION findings the small model missed or mislabelled."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, probes: Probes) -> None:
        self._probes = probes
        self._gaz = gazetteer
        # The words the model was shipped with, lower-cased, frozen before any text adds to the
        # vocabulary: English words and common English names are there; most foreign names,
        # which the model calls ORG or nothing, are not.
        self._seen = frozenset(word for word in nlp.vocab.strings if word.islower())
        self._cues = NameCues(gazetteer, self._seen, _not_a_name)
        self._last_firms = threading.local()  # per thread: (text, its people_firms), asked up to five times per text

    def analyze(self, text: str, model_spans: Iterable[tuple[int, int, str]], wanted: frozenset[str]) -> list[RecognizerResult]:
        """`model_spans`: (start, end, spaCy label) of every entity the model found in `text`."""
        spans = list(model_spans)
        results: list[RecognizerResult] = []
        if "PERSON" in wanted:
            # The model-free names: none inside a firm's partners or before a company word.
            surnames = self.suffixed_firms(text) + self.partner_firms(text)
            kept = [r for r in self._names(text, spans) if not self._in_span(r, surnames)]
            results += self._enumerations(text)
            # Speaker labels, pairs, lists, possessives (redactors.namecues); none inside a firm's name.
            results += self._cues.analyze(text, spans)
            # Names grown over particles and a missed surname ("Maya van der Lede").
            names = [(s, e) for s, e, label in spans if label in ("PERSON", "PER")] + [(r.start, r.end) for r in kept + results]
            results += [RecognizerResult("PERSON", s, e, 0.6) for s, e in self._cues.grow(text, names)]
            # The others: none inside any firm's name ("Vendor onboarding for Cook, McKenzie and Simpson").
            firms = self.people_firms(text) if results else []
            results = kept + [r for r in results if not self._in_span(r, firms)]
        if "LOCATION" in wanted:
            results += self._places(text)
        floor = [r for r in self._floor(text, spans) if r.entity_type in wanted]
        if floor and "PERSON" in wanted:
            firms = self.people_firms(text)  # "at Brown, Gross and Sanchez": the model's ORG is a firm
            floor = [r for r in floor if r.entity_type != "PERSON" or not any(s <= r.start and r.end <= e for s, e in firms)]
        return results + floor

    def _floor(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        """Spans the model labelled ORG, NORP or WORK_OF_ART that are a place or a person's name."""
        results = []
        for start, end, label in spans:
            end = _first_line_end(text, start, end)
            match = _FLOOR_SPAN.fullmatch(text, start, end) if label in _FLOOR_LABELS else None
            if match is None:
                continue
            if match.group("slashed"):  # "Palmer/Courtney": surname/given name, as on a ticket
                if self._floor_person(text, start, match.group("slashed").split("/")):
                    results.append(RecognizerResult("PERSON", start, end, 0.5))
                continue
            at = match.start("words")
            words = _words(match.group("words"))
            while len(words) > 1 and words[0].lower() in _NOT_FIRST:  # "Contact Candela Diaz": the verb is no name
                at += len(words.pop(0)) + 1
            n = self._floor_place(text, at, words) if not _FIRM_SUFFIXED.match(text, at) else 0  # "Rodriguez Group" is a firm
            if n:
                results.append(RecognizerResult("LOCATION", at, at + len(" ".join(words[:n])), 0.5))
            elif label == "ORG" and self._floor_person(text, at, words):
                results.append(RecognizerResult("PERSON", at, match.end("words"), 0.5))
        return results

    @staticmethod
    def _in_span(result: RecognizerResult, spans: Sequence[tuple[int, int]]) -> bool:
        return any(s <= result.start and result.end <= e for s, e in spans)

    def _floor_place(self, text: str, at: int, words: list[str]) -> int:
        """How many leading words of the span name a place ("Gondomar" of "Gondomar Country Club"); 0: none."""
        cued = _cued_place(text, at)
        for n in range(len(words), 0, -1):
            head = words[:n]
            if any(w.lower() in _COMPANY_WORDS for w in head):
                continue
            phrase = " ".join(head)
            if self._gaz.is_place(phrase) and (cued or all(self._unseen(w) for w in head)):
                return n
            if cued and _TOWN.fullmatch(phrase) and self._unseen(head[-1]):
                return n
        return 0

    def _floor_person(self, text: str, at: int, words: list[str]) -> bool:
        if any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in words):
            return False
        cue = _COMPANY_BEFORE.search(text, 0, at)
        if cue and not (cue.group().lower().startswith(_PERSON_TOO) and self._first_and_unseen(words)):
            return False  # "at Miller Group"; but "reassigned from Sophie Matile" is a person
        return self._gaz.is_first(words[0]) or (len(words) > 1 and self._gaz.is_last(words[-1]))

    def _first_and_unseen(self, words: Sequence[str]) -> bool:
        """Two words: a common first name and a surname the model never saw ("Sophie Matile";
        "Morgan Stanley" is seen)."""
        return len(words) == 2 and self._gaz.is_common_first(words[0]) and self._unseen(words[1])

    def unseen(self, word: str) -> bool:
        """Whether the model's shipped vocabulary lacks `word` (lower-cased)."""
        return word.lower() not in self._seen

    _unseen = unseen  # the name the rules of this class use

    def _name_evidence(self, words: Sequence[str]) -> tuple[bool, bool]:
        """(plausible at all, sure without the model): known name words, no common or company word."""
        if any(w.lower() in _COMPANY_WORDS or w.lower() in _NOT_FIRST for w in words):
            return False, False
        first, last = self._gaz.is_first(words[0]), self._gaz.is_last(words[-1])
        if not (first or last):
            return False, False
        unseen = all(self._unseen(w) or self._gaz.is_name(w) and self._unseen(w) for w in words)
        # A lone word needs a common first name: the gazetteer's tail has product names ("Jira", "Okta").
        return True, unseen and (first or last) and (len(words) > 1 or first)

    def _both_known(self, words: Sequence[str]) -> bool:
        return self._gaz.is_first(words[0]) and self._gaz.is_last(words[-1])

    def _names(self, text: str, spans: Sequence[tuple[int, int, str]]) -> list[RecognizerResult]:
        person = [(s, e) for s, e, label in spans if label in ("PERSON", "PER")]
        sure: list[tuple[int, int]] = []
        ask: list[tuple[int, int]] = []
        for match in _CANDIDATE.finditer(text):
            start, end = match.span()
            if any(s <= start and end <= e for s, e in person):
                continue  # the model already says PERSON
            plausible, certain = self._name_evidence(_words(match.group()))
            if certain:
                sure.append((start, end))
            elif plausible and " " in match.group() and self._both_known(_words(match.group())):
                ask.append((start, end))
        confirmed = self._model_confirms_person([_title(text[s:e]) for s, e in ask])
        found = sure + [span for span, ok in zip(ask, confirmed, strict=True) if ok]
        found += self._lower_case_names(text)
        return [RecognizerResult("PERSON", s, e, 0.6) for s, e in found]

    def _lower_case_names(self, text: str) -> list[tuple[int, int]]:
        """"kavya smith": a known first name and a known last name in lower case, neither a
        common word and one of them not in the model's vocabulary ("mark bill" and "pop song"
        are English); the model, asked about them title-cased, decides."""
        found = []
        for match in _LOWER_PAIR.finditer(text):
            first, last = match.group(1), match.group(2)
            if first in _NOT_FIRST or last in _NOT_FIRST or last in _COMPANY_WORDS:
                continue
            if self._gaz.is_first(first) and self._gaz.is_last(last) and (self._unseen(first) or self._unseen(last)):
                found.append(match.span())
        if not found:
            return []
        answers = self._probes.entities_many([f"{_NEUTRAL_PREFIX}{_title(text[s:e])} yesterday." for s, e in found])
        names = []
        for (start, end), entities in zip(found, answers, strict=True):
            length = self._name_length(text[start:end], entities)
            if length:
                names.append((start, start + length))
        return names

    def _name_length(self, pair: str, entities: Sequence[tuple[int, int, str]]) -> int:
        """How much of the pair the model, asked about it title-cased, reads as a name: its
        PERSON (or, when the first word is a common first name, ORG: "Kavya Smith" reads as a
        firm to it, "Apache Spark" is no name) entity's length within the pair; 0: none."""
        start = len(_NEUTRAL_PREFIX)
        for s, e, label in entities:
            common = label == "ORG" and self._gaz.is_common_first(pair.split(" ")[0])
            if s <= start < e and (label in ("PERSON", "PER") or common):
                return min(len(pair), e - start)  # "xiaoming set up": the name is "xiaoming"
        return 0

    def _model_confirms_person(self, names: Sequence[str]) -> list[bool]:
        if not names:
            return []
        answers = self._probes.entities_many([f"{_NEUTRAL_PREFIX}{name} yesterday." for name in names])
        start = len(_NEUTRAL_PREFIX)
        return [any(label in ("PERSON", "PER") and s <= start < e for s, e, label in found) for found in answers]

    def firm_names(self, text: str) -> list[tuple[int, int]]:
        """Spans of firms named after people: "Moore, Fitzgerald and Shaw" after "for", "at",
        "of" ... or before a company word; "Morris and Sons". The model's PERSON and place
        labels inside them are no one's name."""
        spans = []
        for match in _ENUMERATION.finditer(text):
            words = [w.lower() for w in re.findall(_CAP, match.group())]
            if any(w in _COMPANY_WORDS for w in words[1:]):
                spans.append(match.span())  # "Morris and Sons"
                continue
            cued = _FIRM_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end())
            # Three names in a row, introduced as an employer or followed by what a firm is.
            if cued and len(words) >= 3:
                spans.append(match.span())
        return spans

    @staticmethod
    def suffixed_firms(text: str) -> list[tuple[int, int]]:
        """A surname or a place before a company word: "Rodriguez Group", "Hull PLC"."""
        if not any(word in text for word in _FIRM_SUFFIX_WORDS):
            return []
        return [m.span() for m in _FIRM_SUFFIXED.finditer(text)]

    def partner_firms(self, text: str) -> list[tuple[int, int]]:
        """A firm's partners: "Richardson, White and Edwards" (see `_partners`)."""
        if "," not in text or not (" and " in text or " & " in text):
            return []
        return [m.span() for m in _PARTNERS.finditer(text) if self._partners(text, m)]

    def people_firms(self, text: str) -> list[tuple[int, int]]:
        """Every firm named after people: no name or place finding lies inside one."""
        last = getattr(self._last_firms, "value", None)
        if last is not None and last[0] is text:
            return last[1]
        firms = self.firm_names(text) if "," in text or " and " in text else []
        found = sorted(set(firms + self.suffixed_firms(text) + self.partner_firms(text)))
        self._last_firms.value = (text, found)
        return found

    def _partners(self, text: str, match: re.Match[str]) -> bool:
        """"Richardson, White and Edwards": three known surnames, at most one of them unseen by
        the model (English surnames are seen), joined as a firm's partners are; not a list
        introduced by a colon ("our founders: ..."), no foreign list ("Kowalczyk, Nakamura and
        Okafor"), no list of known places ("London, Paris and Berlin") and
        no list of first names ("Emma, Olivia and Sophia")."""
        if text[max(0, match.start() - 2) : match.start()].strip().endswith(":"):
            return False
        words = re.findall(_PARTNER, match.group())
        if sum(self._unseen(w) for w in words) > 1 or all(self._known(w) for w in words):
            return False  # "Kowalczyk, Nakamura and Okafor": people; "London, Paris and Berlin": places
        return all(self._gaz.is_last(w) for w in words) and not all(self._gaz.is_common_first(w) for w in words)

    def _enumerations(self, text: str) -> list[RecognizerResult]:
        results = []
        for match in _ENUMERATION.finditer(text):
            if _COMPANY_BEFORE.search(text, 0, match.start()) or _COMPANY_AFTER.match(text, match.end()):
                continue  # "at Lee, Perkins and Finch", "The Smith, Francis and Bell Orchestra": a firm
            words = [(m.group(), m.start()) for m in re.finditer(_CAP, match.group())]
            if any(w.lower() in _NOT_FIRST or w.lower() in _COMPANY_WORDS for w, _ in words):
                continue
            known = sum(self._gaz.is_first(w) for w, _ in words)
            if known * 2 > len(words) or known == len(words):
                base = match.start()
                results += [RecognizerResult("PERSON", base + at, base + at + len(w), 0.6) for w, at in words]
        return results

    def _places(self, text: str) -> list[RecognizerResult]:
        results = []
        ask: list[tuple[int, str]] = []
        for match in _PLACE_CUE.finditer(text):
            if match.group("upper"):  # "FLYING TO NEW YORK ON MONDAY": the gazetteer decides
                start, place = match.start("upper"), self._longest_known(re.split(r"(?<=[ -])", match.group("upper")))
                if place:
                    results.append(RecognizerResult("LOCATION", start, start + len(place), 0.6))
                continue
            start, words = match.start("place"), _words(match.group("place"))
            if words[0].lower() in _NOT_FIRST:
                continue
            n = self._cued_place_words(words)
            if n:
                results.append(RecognizerResult("LOCATION", start, start + len(" ".join(words[:n])), 0.6))
            elif self._trip_destination(text, start) and self._unseen(words[0]):
                ask.append((start, words[0]))  # "from Zweins to Meransen": the model decides
        results += [RecognizerResult("LOCATION", m.start("place"), m.end("place"), 0.6) for m in _PLACE_FIELD.finditer(text)]
        results += self._unseen_places(text) + self._countries(text)
        said = self._model_says_place([place for _, place in ask])
        results += [RecognizerResult("LOCATION", at, at + len(place), 0.6) for (at, place), ok in zip(ask, said, strict=True) if ok]
        firms = self.people_firms(text) if results else []
        return [r for r in results if not _in_firm(text, r, firms)]

    def _known(self, place: str) -> bool:
        return self._gaz.is_place(place) or self._gaz.is_country(place)

    def _longest_known(self, parts: Sequence[str]) -> str:
        """The longest known place that the parts ("NEW ", "YORK ", "ON ") start with; "" if none."""
        for n in range(len(parts), 0, -1):
            place = "".join(parts[:n]).rstrip(" -")
            if self._known(place):
                return place
        return ""

    def _unseen_places(self, text: str) -> list[RecognizerResult]:
        """Known places (5,000 people or more) none of whose words the model's vocabulary has,
        wherever they are: "Our Kisumu team", "Warri". English words and names are seen."""
        results = []
        for match in _KNOWN_RUN.finditer(text):
            words = _words(match.group())
            offsets = [match.start() + len(" ".join(words[:i])) + (1 if i else 0) for i in range(len(words))]
            i = 0
            while i < len(words):
                n = self._unseen_place_at(words, i)
                if n:
                    results.append(RecognizerResult("LOCATION", offsets[i], offsets[i] + len(" ".join(words[i : i + n])), 0.5))
                i += max(n, 1)
        return results

    def _unseen_place_at(self, words: Sequence[str], i: int) -> int:
        for n in range(len(words) - i, 0, -1):
            head = words[i : i + n]
            if head[0].lower() in _PARTICLE_WORDS or head[-1].lower() in _PARTICLE_WORDS:
                continue
            if all(self._unseen(w) for w in head if w.lower() not in _PARTICLE_WORDS) and self._known(" ".join(head)):
                return n
        return 0

    def _trip_destination(self, text: str, start: int) -> bool:
        """Whether `start` follows "from <a place> to" ("flying from Kitee to ...")."""
        trip = _TRIP_BEFORE.search(text, max(0, start - 80), start)
        return trip is not None and self._cued_place_words(_words(trip.group("origin"))) > 0

    def _cued_place_words(self, words: list[str]) -> int:
        """How many leading words of a capitalised run after a place cue name a place; 0: none.
        The longest known or place-shaped run wins: "Oberndorf bei Salzburg", "Kitee"."""
        for n in range(len(words), 0, -1):
            if words[n - 1].lower() in _PARTICLE_WORDS:
                continue
            candidate = " ".join(words[:n])
            if any(w.lower() in _COMPANY_WORDS for w in words[:n]):
                continue  # "Paschoud-sur-Cosendey Country Club": the venue is no place name
            if self._gaz.is_place(candidate) or self._gaz.is_country(candidate) or self._place_shaped(candidate):
                return n
            if self._gaz.is_town(candidate) and all(self._unseen(w) for w in words[:n]):
                return n  # small towns only when no word of them is English ("written in Rust")
        return 0

    def _place_shaped(self, phrase: str) -> bool:
        """A place by its shape: a town ending on a word the model never saw ("Taylorfort"),
        a particle inside ("Plan-les-Ouates"), a saint or direction before a name ("South Kevin")."""
        last = re.split(r"[ -]", phrase)[-1]
        if _TOWN.fullmatch(phrase):
            return self._unseen(last)
        if _PARTICLE_INSIDE.fullmatch(phrase):
            return True
        return _PLACE_PREFIX.fullmatch(phrase) is not None and (self._unseen(last) or self._gaz.is_first(last))

    def _model_says_place(self, places: Sequence[str]) -> list[bool]:
        if not places:
            return []
        # The probes (one pipe per batch, cached): this class holds no pipeline of its own.
        answers = self._probes.entities_many([f"{_PLACE_PREFIX_SENTENCE}{place}." for place in places])
        start = len(_PLACE_PREFIX_SENTENCE)
        return [any(label in ("GPE", "LOC") and s <= start < e for s, e, label in found) for found in answers]

    def _countries(self, text: str) -> list[RecognizerResult]:
        """Countries, US states, Canadian and Australian provinces written capitalised anywhere,
        or in capitals: "Bosnia and Herzegovina", "Trinidad and Tobago", "GERMANY" on its own line."""
        results = []
        for match in _COUNTRY_RUN.finditer(text):
            words = [(m.group(), m.start()) for m in _RUN_WORD.finditer(match.group())]
            base, i = match.start(), 0
            while i < len(words):
                n = next((n for n in range(min(len(words) - i, 6), 0, -1) if self._country_at(words, i, n)), 0)
                if n:
                    first, last = words[i], words[i + n - 1]
                    results.append(RecognizerResult("LOCATION", base + first[1], base + last[1] + len(last[0]), 0.6))
                i += max(n, 1)
        return results

    def _country_at(self, words: Sequence[tuple[str, int]], i: int, n: int) -> bool:
        chunk = words[i : i + n]
        if chunk[0][0].lower() in _CONNECTOR_WORDS or chunk[-1][0].lower() in _CONNECTOR_WORDS:
            return False
        return self._gaz.is_country(" ".join(w for w, _ in chunk))
