"""Presidio's recognizers, called directly: `AnalyzerEngine.analyze` without its per-call cost.

`AnalyzerEngine.analyze` selects recognizers through a set per call, builds an explanation object
for every regex match, and needs `NlpArtifacts` (a token walk and a keyword list over the whole
text) for every text, although only one step reads them: the context enhancer, which raises the
score of a result when one of its recognizer's context words ("ssn", "ip", "iban") is among the
words before it. `RecognizerSet.analyze` gives the same results, in the same order:

- recognizers per entity are chosen once, in registry order;
- a plain `PatternRecognizer` runs its own compiled patterns, validation and invalidation, and
  the same per-recognizer de-duplication, without explanation objects; any other recognizer
  (IBAN, IP, phones) is called as it is;
- NER entities come from the Doc's entities, with the NLP engine's label mapping and ignore list;
- a recognizer whose regexes cannot match skips the text, by a cheap necessary condition
  (`_prefilter`): an IBAN needs two capitals and two digits, an SSN three digits and a separator;
- context: a result can only be raised when its recognizer has context words, its score is below
  the maximum, and one of those words occurs in the text. Only then are tokens needed: the Doc
  (or, with no Doc, the tokenizer over the NER input) is turned into `NlpArtifacts` and Presidio's
  own context enhancer runs over the results, exactly as in `AnalyzerEngine.analyze`;
- then the same score threshold and Presidio's own `remove_duplicates` (after an optional
  clean-up of each result, which PiiAnalyzer uses for the model's spans).

Equality with `AnalyzerEngine.analyze` is tested on the dev corpus, the public evaluation sets
and generated text (tests/redactors/test_recognizers.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import regex
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
from presidio_analyzer.predefined_recognizers import IbanRecognizer, IpRecognizer, SpacyRecognizer, UsSsnRecognizer
from spacy.tokens import Doc

_NAME = RecognizerResult.RECOGNIZER_NAME_KEY
_ID = RecognizerResult.RECOGNIZER_IDENTIFIER_KEY

# Necessary conditions for any match of Presidio's own patterns (read from its sources): a text
# without them cannot produce a result of that recognizer. IBAN: a country code and check digits
# (case-sensitive); IP: an IPv6 form without "::" is eight colon-separated groups, and an IPv4
# form (embedded ones too) four dotted groups of digits; US SSN: nine digits, written 3-2-4 (with
# "-", " " or "."), 5-4, 3-6 or as one run (each of Presidio's five patterns, without its \b).
# Each regex starts with one character class, so that the regex engine skips ahead to its
# characters; a condition made of several branches is split into plain substring tests first.
_IBAN_POSSIBLE = re.compile(r"[0-9](?<=[A-Z]{2}[0-9])[0-9]")  # two capitals, two digits; digits are rarer
_IPV4_POSSIBLE = re.compile(r"[0-9]\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]")
_IPV6_FULL_POSSIBLE = re.compile(r"[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){7}")
_SSN_POSSIBLE = re.compile(r"[0-9]{3}(?:[- .][0-9]{2}[- .][0-9]{4}|[0-9]{2}-[0-9]{4}|-?[0-9]{6})")


def _ip_possible(text: str) -> bool:
    if "::" in text:
        return True
    if "." in text and _IPV4_POSSIBLE.search(text) is not None:
        return True
    return text.count(":") >= 7 and _IPV6_FULL_POSSIBLE.search(text) is not None


_PRESIDIO_PREFILTERS = (
    (IbanRecognizer, _IBAN_POSSIBLE.search),
    (IpRecognizer, _ip_possible),
    (UsSsnRecognizer, _SSN_POSSIBLE.search),
)


def _prefilter(recognizer: EntityRecognizer) -> Callable[[str], object] | None:
    """A cheap necessary condition for any result of ``recognizer``, or None.

    Our own recognizers declare theirs as ``possible(text)``. Presidio's get one only when they
    run the patterns it was written for: a subclass with other patterns gets none.
    """
    possible = getattr(recognizer, "possible", None)
    if possible is not None:
        return possible
    for cls, condition in _PRESIDIO_PREFILTERS:
        if isinstance(recognizer, cls) and getattr(recognizer, "patterns", None) == cls.PATTERNS:
            return condition
    return None


def _plain_patterns(recognizer: EntityRecognizer) -> bool:
    """Whether the recognizer finds by `PatternRecognizer`'s own regex loop (no deny list).

    A subclass may override `analyze` as ``filter_results(text, super().analyze(...))`` and
    declare that `filter_results`; it then counts as plain, and its filter runs after the loop.
    """
    if not isinstance(recognizer, PatternRecognizer) or recognizer.deny_list:
        return False
    return type(recognizer).analyze is PatternRecognizer.analyze or hasattr(recognizer, "filter_results")


def _pattern_results(recognizer: PatternRecognizer, text: str) -> list[RecognizerResult]:
    """`PatternRecognizer.analyze`: same matches, validation, scores and de-duplication. A
    pattern whose gate (the recognizer's ``gates``, by pattern name: a regex every match of the
    pattern contains) finds nothing in the text is not run."""
    flags = recognizer.global_regex_flags
    entity = recognizer.supported_entities[0]
    windows = getattr(recognizer, "windows", None)  # where matches can be; None: anywhere
    spans = windows(text) if windows is not None else ((0, len(text)),)
    gates = getattr(recognizer, "gates", None)  # per pattern name: what every match contains
    results = []
    for pattern in recognizer.patterns:
        gate = gates.get(pattern.name) if gates else None
        if gate is not None and gate.search(text, timeout=REGEX_TIMEOUT_SECONDS) is None:
            continue
        if not pattern.compiled_regex or pattern.compiled_with_flags != flags:
            pattern.compiled_with_flags = flags
            pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
        # A pattern that times out raises TimeoutError out of here, so the detector fails and the
        # value fails closed (textredact). Presidio skips the pattern instead, which would pass the
        # text on with that entity unexamined.
        for match in (m for ws, we in spans for m in pattern.compiled_regex.finditer(text, ws, we, timeout=REGEX_TIMEOUT_SECONDS)):
            start, end = match.span()
            if start == end:
                continue
            matched = text[start:end]
            score = pattern.score
            validation = recognizer.validate_result(matched)
            if validation is not None:
                score = EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
            if recognizer.invalidate_result(matched):
                score = EntityRecognizer.MIN_SCORE
            if score > EntityRecognizer.MIN_SCORE:
                metadata = {_NAME: recognizer.name, _ID: recognizer.id}
                results.append(RecognizerResult(entity, start, end, score, recognition_metadata=metadata))
    return _remove_duplicates(results)


def _remove_duplicates(results: list[RecognizerResult]) -> list[RecognizerResult]:
    """`EntityRecognizer.remove_duplicates`; a single result with a score is kept as it is."""
    if len(results) == 1 and results[0].score != 0:
        return results
    return EntityRecognizer.remove_duplicates(results) if results else results


class RecognizerSet:
    """The recognizers of one registry, run as `AnalyzerEngine.analyze` runs them.

    ``artifacts(doc)`` turns a Doc into Presidio's `NlpArtifacts` (the NLP engine's own
    conversion); ``tokenize(text)`` gives the Doc of a text analysed without NER.
    """

    def __init__(
        self,
        recognizers: Sequence[EntityRecognizer],
        enhancer: ContextAwareEnhancer,
        ner_configuration: NerModelConfiguration,
        artifacts: Callable[[Doc], NlpArtifacts],
        tokenize: Callable[[str], Doc],
    ) -> None:
        for recognizer in recognizers:
            if type(recognizer).enhance_using_context is not EntityRecognizer.enhance_using_context:
                raise ValueError(f"recognizer {recognizer.name} enhances by context itself; RecognizerSet cannot run it")
        self._recognizers = tuple(recognizers)
        self._enhancer = enhancer
        self._mapping = dict(ner_configuration.model_to_presidio_entity_mapping or {})
        self._ignored = frozenset(ner_configuration.labels_to_ignore or ())
        self._low_score = frozenset(ner_configuration.low_score_entity_names or ())
        self._low_multiplier = ner_configuration.low_confidence_score_multiplier
        self._ner_score = ner_configuration.default_score
        self._artifacts = artifacts
        self._tokenize = tokenize
        # Per recognizer id: (runs by the lean regex loop, its prefilter), read on its first text.
        self._ways: dict[str, tuple[bool, Callable[[str], object] | None]] = {}
        self._spacy = frozenset(id(r) for r in self._recognizers if isinstance(r, SpacyRecognizer))
        self._context = {r.id: tuple(word.lower() for word in r.context) for r in self._recognizers if r.context}
        self._chosen: dict[tuple[str, ...], tuple[EntityRecognizer, ...]] = {}

    def supported_entities(self) -> frozenset[str]:
        return frozenset(entity for r in self._recognizers for entity in r.supported_entities)

    def _for(self, entities: Sequence[str]) -> tuple[EntityRecognizer, ...]:
        key = tuple(entities)
        chosen = self._chosen.get(key)
        if chosen is None:
            chosen = tuple(r for r in self._recognizers if any(e in r.supported_entities for e in entities))
            if not chosen:
                raise ValueError("No matching recognizers were found to serve the request.")
            self._chosen[key] = chosen
        return chosen

    def analyze(
        self,
        text: str,
        entities: Sequence[str],
        threshold: float,
        doc: Doc | None,
        clean: Callable[[RecognizerResult], RecognizerResult | None] | None = None,
    ) -> list[RecognizerResult]:
        """`AnalyzerEngine.analyze(text, entities=entities, score_threshold=threshold)` with the
        Doc's tokens and entities (``doc`` None: no NER; ``tokenize(text)`` then runs only if a
        context word could raise a result).

        ``clean`` (optional) trims or drops each result (None drops it) before Presidio's
        `remove_duplicates`: a result that a wider one of its type contained is then kept when
        the wider one was trimmed off it or dropped (a street pattern inside a model span that
        the NER clean-up removes)."""
        recognizers = self._for(entities)
        results: list[RecognizerResult] = []
        for recognizer in recognizers:
            results.extend(self._one(recognizer, text, entities, doc))
        if self._context_may_raise(text, results):
            results = self._enhance(text, results, recognizers, doc)
        results = [r for r in results if r.score >= threshold]
        if clean is not None:
            results = [c for c in map(clean, results) if c is not None]
        return _remove_duplicates(results)

    def _one(self, recognizer: EntityRecognizer, text: str, entities: Sequence[str], doc: Doc | None) -> list[RecognizerResult]:
        if id(recognizer) in self._spacy:
            return self._ner_results(recognizer, doc, entities) if doc is not None else []
        return self.run(recognizer, text, entities)

    def run(self, recognizer: EntityRecognizer, text: str, entities: Sequence[str]) -> list[RecognizerResult]:
        """``recognizer.analyze(text, entities)`` for a recognizer that reads no NLP artefacts,
        with the recognizer's prefilter and, for pattern recognizers, the lean regex loop."""
        way = self._ways.get(recognizer.id)
        if way is None:
            way = self._ways[recognizer.id] = (_plain_patterns(recognizer), _prefilter(recognizer))
        plain, prefilter = way
        if prefilter is not None and not prefilter(text):
            return []
        if plain:
            found = _pattern_results(recognizer, text)
            keep = getattr(recognizer, "filter_results", None)
            return keep(text, found) if keep is not None else found
        found = recognizer.analyze(text=text, entities=list(entities), nlp_artifacts=None)
        for result in found or ():  # as AnalyzerEngine does for results without a recognizer id
            metadata = result.recognition_metadata
            if metadata is None:
                result.recognition_metadata = metadata = {}
            metadata.setdefault(_NAME, recognizer.name)
            metadata.setdefault(_ID, recognizer.id)
        return list(found or ())

    def _ner_results(self, recognizer: SpacyRecognizer, doc: Doc, entities: Sequence[str]) -> list[RecognizerResult]:
        """The NLP engine's label mapping and ignore list, then `SpacyRecognizer.analyze`."""
        results = []
        for ent in doc.ents:
            label = ent.label_
            if label in self._ignored:
                continue
            label = self._mapping.get(label, label)
            if label in self._ignored or label not in entities or label not in recognizer.supported_entities:
                continue
            score = self._ner_score * self._low_multiplier if label in self._low_score else self._ner_score
            metadata = {_NAME: recognizer.name, _ID: recognizer.id}
            results.append(RecognizerResult(label, ent.start_char, ent.end_char, score, recognition_metadata=metadata))
        return results

    def _context_may_raise(self, text: str, results: Sequence[RecognizerResult]) -> bool:
        """Whether the context enhancer could change any result (else it is skipped, tokens too).

        A result is raised only when a context word of its recognizer is a substring of a
        lower-cased token of the text, so of the lower-cased text. A result shorter than two
        characters also takes the exact path: Presidio raises when a match starts after the
        last token, which only a one-character match at the very end can do.
        """
        lowered: str | None = None
        for result in results:
            words = self._context.get(result.recognition_metadata[_ID])
            if not words or result.score >= EntityRecognizer.MAX_SCORE:
                continue
            if result.end - result.start < 2:
                return True
            if lowered is None:
                lowered = text.lower()
            if any(word in lowered for word in words):
                return True
        return False

    def _enhance(
        self, text: str, results: list[RecognizerResult], recognizers: Sequence[EntityRecognizer], doc: Doc | None
    ) -> list[RecognizerResult]:
        """Presidio's context enhancer over the results, on the text's NLP artefacts."""
        artifacts = self._artifacts(doc if doc is not None else self._tokenize(text))
        for result in results:
            if result.analysis_explanation is None:  # the enhancer records the word it found there
                result.analysis_explanation = AnalysisExplanation(recognizer=result.recognition_metadata[_NAME], original_score=result.score)
        return self._enhancer.enhance_using_context(text=text, raw_results=results, nlp_artifacts=artifacts, recognizers=list(recognizers), context=None)
