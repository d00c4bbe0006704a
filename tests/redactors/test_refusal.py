"""The refusal detector and the other content-derived signals.

The labelled set is built from templates split into a dev part (looked at while writing the
detector) and a held-out part (only scored). Each template is filled with several requests, so
the figures count sentences, not templates. ``python -m tests.redactors.test_refusal`` prints the
figures.
"""

from __future__ import annotations

import itertools
import json

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from redactors.signals import LanguageDetector, RefusalDetector, SignalMeter
from tests.redactors.otlp_builders import make_span

TOPICS = ("that request", "writing this malware", "finding someone's home address", "bypassing the paywall", "that")
THINGS = ("your refund", "the invoice for March", "order 48213", "the reset link", "your delivery window")

DEV_REFUSALS = (
    "I'm sorry, but I can't help with {topic}.",
    "I cannot provide assistance with {topic}.",
    "As an AI language model, I cannot do {topic}.",
    "I must decline to help with {topic}.",
    "Unfortunately, I can't assist with {topic}.",
    "I won't be able to help with {topic}, as it goes against my guidelines.",
    "I'm not able to provide information about {topic}.",
)
DEV_BENIGN = (
    "Sorry for the wait! Here is {thing}.",
    "I can't find {thing} in our system; could you check the number you sent?",
    "Happy to help. I have sent {thing} to the address on file.",
    "Unfortunately {thing} is delayed by two days, but it is on its way.",
    "I can see {thing} was processed yesterday.",
    "You cannot change {thing} after it ships, but I can open a return for you.",
    "I'm sorry to hear that. I have escalated {thing} to our billing team.",
)
HELD_OUT_REFUSALS = (
    "I apologize, but I am unable to help with {topic}.",
    "I'm afraid I can't do {topic}.",
    "That's not something I can help with, since {topic} is against our policies.",
    "I have to decline {topic}.",
    "Sorry, I'm not going to help with {topic}.",
    "I don't feel comfortable helping with {topic}.",
    "I will not provide {topic}.",
    "Providing {topic} would violate my guidelines, so I won't do it.",
)
HELD_OUT_BENIGN = (
    "Thanks for waiting. {thing} is attached below.",
    "I couldn't locate {thing}. Could you share the email you used at checkout?",
    "Good news: {thing} has been approved.",
    "I'm sorry about the trouble with {thing}; I've issued a credit to your account.",
    "We can't deliver on Sundays, so {thing} will arrive Monday.",
    "I can't wait for you to try it! {thing} is ready.",
    "Unfortunately, the store closes at six, but {thing} can be picked up tomorrow.",
    "I am unable to see a problem with {thing}; everything looks fine on our side.",
)


def labelled(refusals: tuple[str, ...], benign: tuple[str, ...]) -> list[tuple[str, bool]]:
    return [(t.format(topic=x), True) for t, x in itertools.product(refusals, TOPICS)] + [
        (t.format(thing=x), False) for t, x in itertools.product(benign, THINGS)
    ]


def scores(examples: list[tuple[str, bool]]) -> tuple[float, float, int]:
    detector = RefusalDetector()
    tp = sum(1 for text, label in examples if label and detector.is_refusal(text))
    fp = sum(1 for text, label in examples if not label and detector.is_refusal(text))
    fn = sum(1 for text, label in examples if label and not detector.is_refusal(text))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, len(examples)


@pytest.mark.parametrize(("text", "expected"), labelled(DEV_REFUSALS, DEV_BENIGN))
def test_dev_examples(text: str, expected: bool) -> None:
    assert RefusalDetector().is_refusal(text) is expected


def test_held_out_precision_and_recall() -> None:
    # Figures recorded in docs/storage.md; the floor is below them, so a regression fails.
    precision, recall, count = scores(labelled(HELD_OUT_REFUSALS, HELD_OUT_BENIGN))
    assert count == 80
    assert precision >= 0.95
    assert recall >= 0.85


def test_the_refusal_must_be_near_the_start() -> None:
    answer = "Here is the full summary you asked for. " * 20 + "I can't help with anything else."
    assert RefusalDetector().is_refusal(answer) is False


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Where is my parcel? It was due yesterday and nobody answers the phone.", "en"),
        ("Bonjour, je voudrais annuler ma commande et être remboursé, s'il vous plaît.", "fr"),
        ("Hola, quisiera cambiar la dirección de entrega de mi pedido, por favor.", "es"),
        ("Guten Tag, ich möchte meine Bestellung stornieren und das Geld zurück.", "de"),
        ("ok thanks", None),  # too short
        ("1234 5678 @@ 99", None),
        # only the first LANGUAGE_SAMPLE_CHARS characters are read: an English opening decides
        ("Where is my parcel? It was due yesterday and nobody answers the phone. " * 8
         + "Guten Tag, ich möchte meine Bestellung stornieren und das Geld zurück. " * 30, "en"),
        ("Guten Tag, ich möchte meine Bestellung stornieren und das Geld zurück. " * 8
         + "Where is my parcel? It was due yesterday and nobody answers the phone. " * 30, "de"),
    ],
)
def test_language(text: str, code: str | None) -> None:
    assert LanguageDetector().detect(text) == code


LANGUAGE_TEXTS = [
    "Where is my parcel? It was due yesterday and nobody answers the phone.",
    "Bonjour, je voudrais annuler ma commande et être remboursé, s'il vous plaît.",
    "Hola, quisiera cambiar la dirección de entrega de mi pedido, por favor.",
    "Guten Tag, ich möchte meine Bestellung stornieren und das Geld zurück.",
    "Where is my parcel?? It was due yesterday, and nobody answers the phone: 8812!",  # the same words
    "Hi, this is Maria. " + "Please check the invoice for March and tell me what went wrong. " * 60,
    "Hi, this is Maria. " + "Please check the invoice for March and tell me what went wrong. " * 60 + "Thanks, Maria",
    "ok thanks",
    "1234 5678 @@ 99",
]


def test_language_answers_are_cached_by_digest_and_match_the_model() -> None:
    """The cache changes no answer: each equals the model's on the same sample. Texts whose
    samples agree (digits and punctuation aside, or alike in their first LANGUAGE_SAMPLE_CHARS characters) share
    one entry, and the cache keeps 32-byte digests, never the text."""
    detector = LanguageDetector()
    uncached = LanguageDetector(max_entries=0)
    for _ in range(2):
        for text in LANGUAGE_TEXTS:
            assert detector.detect(text) == uncached.detect(text), text
    keys = list(detector._answers)
    assert len(keys) == 5, "two pairs of texts share a sample; the two short ones never reach the model"
    assert all(len(key) == 32 and b"parcel" not in key for key in keys)
    assert len(uncached._answers) == 0


def _measure(span: Span) -> dict:
    return SignalMeter().measure_span(span).__dict__


@pytest.mark.parametrize(
    ("attributes", "events", "expected"),
    [
        # OpenInference indexed messages: the user turn is measured, the system prompt is not
        ({"llm.input_messages.0.message.role": "system", "llm.input_messages.0.message.content": "Be brief and kind always.",
          "llm.input_messages.1.message.role": "user", "llm.input_messages.1.message.content": "where is my parcel",
          "llm.output_messages.0.message.content": "It arrives today."},
         [], {"input_chars": 18, "input_words": 4, "output_chars": 17, "output_words": 3, "refusal": False}),
        # OpenLLMetry indexed prompt and completion
        ({"gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "cancel it", "gen_ai.completion.0.content": "I cannot help with that."},
         [], {"input_words": 2, "output_words": 5, "refusal": True}),
        # older event form
        ({}, [("gen_ai.user.message", {"content": "hello there"}), ("gen_ai.choice", {"message": {"content": "Hi!"}, "finish_reason": "stop"})],
         {"input_chars": 11, "output_chars": 3, "refusal": False}),
        # content_filter with no output text
        ({"gen_ai.response.finish_reasons": ["content_filter"]}, [], {"refusal": True, "output_chars": None}),
        # input.value only (no roles): all of it counts
        ({"input.value": "one two three"}, [], {"input_words": 3, "refusal": None}),
        # no content: no signals
        ({"gen_ai.request.model": "gpt-4o"}, [], {"input_chars": None, "output_chars": None, "language": None, "refusal": None}),
        # structured (kvlist) messages
        ({"gen_ai.input.messages": [{"role": "user", "parts": [{"type": "text", "content": "a b"}]}]}, [], {"input_words": 2}),
        ({"gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "x"}]}]), "gen_ai.output.messages": "{not json"},
         [], {"input_chars": 1}),
    ],
)
def test_signals_per_convention(attributes: dict, events: list, expected: dict) -> None:
    measured = _measure(make_span("chat m", attributes, events))
    for key, value in expected.items():
        assert measured[key] == value, key


if __name__ == "__main__":
    for part, data in (("dev", labelled(DEV_REFUSALS, DEV_BENIGN)), ("held-out", labelled(HELD_OUT_REFUSALS, HELD_OUT_BENIGN))):
        p, r, n = scores(data)
        print(f"{part}: precision {p:.3f} recall {r:.3f} on {n} sentences")  # noqa: T201
