"""The model's spans are cleaned before Presidio's de-duplication (issue 12): a pattern result
that a model span of the same type contained survives when the clean-up trims or drops the span."""

from __future__ import annotations

import pytest
from spacy.tokens import Span

from redactors.pii import PiiAnalyzer

THRESHOLD = 0.35


def _doc_with(analyzer: PiiAnalyzer, text: str, entity: str, label: str):
    """The text's Doc with one model entity over ``entity`` (the model's own reading varies)."""
    doc = analyzer._nlp.make_doc(text)
    start = text.index(entity)
    span = doc.char_span(start, start + len(entity), label=label)
    assert span is not None
    doc.ents = [Span(doc, span.start, span.end, label=label)]
    return doc


@pytest.mark.parametrize(
    ("text", "entity", "label", "kept"),
    [
        # The model's span starts lower case and is dropped: the street inside it stays found.
        ("send it to the 12 Main Street depot", "the 12 Main Street", "FAC", "12 Main Street"),
        # The model's span is cut at the line break: the street after it stays found.
        ("Main Street\n12 Elm Road", "Main Street\n12 Elm Road", "FAC", "12 Elm Road"),
        # The model's span holds a digit and is no house number: dropped, the street stays.
        ("Pier 7 and 14 Harbor Road", "Pier 7 and 14 Harbor Road", "GPE", "14 Harbor Road"),
    ],
)
def test_a_contained_pattern_result_outlives_the_model_span(analyzer: PiiAnalyzer, text: str, entity: str, label: str, kept: str) -> None:
    doc = _doc_with(analyzer, text, entity, label)
    found = {text[f.start : f.end] for f in analyzer.analyze(text, doc, analyzer.supported_entities, THRESHOLD)}
    assert kept in found
    assert entity not in found


@pytest.mark.parametrize(
    ("text", "entity", "label", "kept"),
    [
        # A model span kept whole still absorbs the pattern result it contains.
        ("Deliver to 12 Main Street", "12 Main Street", "FAC", "12 Main Street"),
        ("Deliver to 1600 Pennsylvania Avenue today", "1600 Pennsylvania Avenue", "FAC", "1600 Pennsylvania Avenue"),
    ],
)
def test_kept_model_spans_are_unchanged(analyzer: PiiAnalyzer, text: str, entity: str, label: str, kept: str) -> None:
    doc = _doc_with(analyzer, text, entity, label)
    found = [text[f.start : f.end] for f in analyzer.analyze(text, doc, analyzer.supported_entities, THRESHOLD) if f.entity == "LOCATION"]
    assert found.count(kept) == 1
