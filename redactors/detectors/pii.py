"""PII detectors over one `PiiAnalyzer` (Presidio + spaCy): chunking and NLP artefacts stay here.

- `PiiDetector`: Presidio's recognizers and spaCy NER, one `nlp.pipe` batch for all views.
- `ContextRulesDetector`: names and places found from the phrases around them.
- `DigitsDetector`: cards and IBANs written with separators ("4111 - 1111 ..."), on a view
  whose digit separators are removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from policies.resolve import CompiledPolicy
from redactors.detectors.base import Finding, ViewFindings, in_original
from redactors.normalize import TextView, collapse_digit_separators
from redactors.pii import PiiAnalyzer, candidate_entities

_COLLAPSED_ENTITIES = frozenset({"CREDIT_CARD", "IBAN_CODE"})
_TWO_DIGITS = re.compile(r"(?:\D*+\d){2}")
# What the collapsed view's checks need, read on the view itself. Collapsing removes only runs of
# one to three separators between two digits (redactors/normalize.py, _DIGIT_SEP_RE), so two
# characters adjacent in the collapsed text are adjacent in the view or are two digits with such
# a run between them. A card is twelve digits with at most one " ", "." or "-" between them; an
# IBAN starts with two capitals and two digits (the prefilter in redactors/recognizers.py),
# upper-cased here as DigitsDetector upper-cases the collapsed text (character by character, so
# the same capitals).
_SEPARATORS = r"[ \t\-\u2010-\u2015\u2212.\u00a0\u2009\u202f]"  # _DIGIT_SEP_RE's (tested)
_CARD_CHAIN = re.compile(rf"\d(?:{_SEPARATORS}{{0,3}}\d){{11}}")
_IBAN_START = re.compile(rf"[0-9](?<=[A-Z]{{2}}[0-9]){_SEPARATORS}{{0,3}}[0-9]")


class PiiDetector:
    name = "pii"
    structural = False
    normalised = True

    def __init__(self, analyzer: PiiAnalyzer) -> None:
        self._analyzer = analyzer

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        results: list[ViewFindings] = [[] for _ in views]
        if not policy.entities:
            return results
        analyzer = self._analyzer
        pieces: list[tuple[int, int, str]] = []  # (view index, chunk offset, chunk)
        for index, view in enumerate(views):
            for offset, chunk in analyzer.chunks(view.text):
                # Without NER, a chunk that no pattern recognizer can match needs no tokens at
                # all (most prose has no '@' and few digits).
                if policy.ner_enabled or candidate_entities(chunk, policy.entities):
                    pieces.append((index, offset, chunk))
        artifacts: list[Any] = analyzer.artifacts([chunk for _, _, chunk in pieces], policy.ner_enabled)
        for (index, offset, chunk), artifact in zip(pieces, artifacts, strict=True):
            found = results[index]
            assert found is not None
            for f in analyzer.analyze(chunk, artifact, policy.entities, policy.score_threshold):
                found.append(in_original(views[index], f.start + offset, f.end + offset, f.entity, f.score, rule=f"presidio.{f.rule}"))
        return results


class _PerViewDetector:
    """Looks at each view on its own, and only when the policy asks for one of ``wanted``."""

    structural = False
    normalised = True
    wanted: frozenset[str] = frozenset()

    def __init__(self, analyzer: PiiAnalyzer) -> None:
        self._analyzer = analyzer

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        if not policy.entities & self.wanted:
            return [[] for _ in views]
        return self._each(views, policy)

    def _each(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        return [self._one(view, policy) for view in views]

    def _one(self, view: TextView, policy: CompiledPolicy) -> list[Finding]:
        raise NotImplementedError


class ContextRulesDetector(_PerViewDetector):
    name = "context_rules"
    wanted = frozenset({"PERSON", "LOCATION"})

    def _each(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        # The probe sentences of every view read in one nlp.pipe (redactors/nerdedup.py, Probes).
        return self._analyzer.probes.batched(lambda view: self._one(view, policy), views)

    def _one(self, view: TextView, policy: CompiledPolicy) -> list[Finding]:
        found = []
        for offset, chunk in self._analyzer.chunks(view.text):
            for f in self._analyzer.analyze_context(chunk, policy.entities, policy.score_threshold):
                found.append(in_original(view, f.start + offset, f.end + offset, f.entity, f.score, rule=f"context.{f.rule}"))
        return found


class DigitsDetector(_PerViewDetector):
    name = "separated_digits"
    wanted = _COLLAPSED_ENTITIES

    def _one(self, view: TextView, policy: CompiledPolicy) -> list[Finding]:
        if _TWO_DIGITS.match(view.text) is None or not _may_hold(view.text, policy.entities):
            return []  # a card or an IBAN has more digits than that; nothing to collapse either
        # Cards already ran on the view itself; on an unchanged view only the case-blind IBAN
        # check adds anything.
        collapsed = collapse_digit_separators(view)
        changed = collapsed.text != view.text
        return [
            in_original(collapsed, f.start, f.end, f.entity, f.score, rule=f"digits.{f.rule}")
            for f in self._analyzer.analyze_collapsed_digits(collapsed.text, policy.entities, policy.score_threshold, cards=changed)
        ]


def _may_hold(text: str, entities: frozenset[str]) -> bool:
    """Whether the collapsed view of ``text`` can hold a card or an IBAN the policy asks for."""
    if "CREDIT_CARD" in entities and _CARD_CHAIN.search(text) is not None:
        return True
    return "IBAN_CODE" in entities and _IBAN_START.search(text.upper()) is not None
