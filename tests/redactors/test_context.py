"""Conversation context: short answers to the question in the turn before, and benign twins."""

from __future__ import annotations

import pytest

from redactors.context import ConversationContext, asked_entity, whole_answer

WANTED = frozenset({"PERSON", "LOCATION"})

FOUND = [
    pytest.param("Agent: What's your last name?\nUser: Alvarez", "PERSON", "Alvarez", id="last-name"),
    pytest.param("Assistant: Could I have your full name, please?\n\nCustomer: maria gonzalez.", "PERSON", "maria gonzalez", id="lower-case-full-name"),
    pytest.param("bot: first name?\nme: it's Ikaika", "PERSON", "Ikaika", id="lead-in"),
    pytest.param("Agent: Which city are you in?\nUser: in lisbon", "LOCATION", "lisbon", id="city-lower-case"),
    pytest.param("Agent: Where are you located?\nUser: Kitee", "LOCATION", "Kitee", id="where-located"),
    pytest.param("What's your last name? Černe", "PERSON", "Černe", id="answer-on-the-same-line"),
    pytest.param("Assistant: And the city?\nUser: Sainte Philippineboeuf", "LOCATION", "Sainte Philippineboeuf", id="the-city"),
    pytest.param("Agent: Where should we ship it?\nUser: Mariasund", "LOCATION", "Mariasund", id="where-to-ship"),
    pytest.param("Agent: Which town?\nUser: Alcácer do Sal", "LOCATION", "Alcácer do Sal", id="particle-inside-a-place"),
]


@pytest.mark.parametrize(("text", "entity", "value"), FOUND)
def test_answer_found(text: str, entity: str, value: str) -> None:
    found = [(r.entity_type, text[r.start : r.end]) for r in ConversationContext().analyze(text, WANTED)]
    assert found == [(entity, value)]


BENIGN = [
    pytest.param("Agent: What's your last name?\nUser: why do you need it", id="long-answer"),
    pytest.param("Agent: What's your name?\nUser: sorry", id="common-word"),
    pytest.param("Agent: Which plan are you on?\nUser: Premium", id="not-a-name-question"),
    pytest.param("What is the name of the config key?\nname: mysecret", id="config-key"),
    pytest.param("Agent: Which city?", id="no-answer"),
    pytest.param("What's your last name? I would rather not say that here", id="same-line-long-answer"),
    pytest.param("Agent: Is the city center open?\nUser: Yes of course", id="city-in-a-yes-no-question"),
    pytest.param("Agent: Which town?\nUser: of the", id="particles-alone"),
    pytest.param("Agent: What's your name?\nUser: Ana do Sal", id="particles-only-inside-places"),
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_twins_survive(text: str) -> None:
    assert ConversationContext().analyze(text, WANTED) == []


def test_only_wanted_entities() -> None:
    assert ConversationContext().analyze("Agent: What's your last name?\nUser: Alvarez", frozenset({"LOCATION"})) == []


@pytest.mark.parametrize(
    ("question", "answer", "span"),
    [
        pytest.param("And the city?", "Alcácer do Sal", (0, 14), id="place-with-a-particle"),
        pytest.param("Where should we ship it?", "Mariasund", (0, 9), id="where-to-ship"),
        pytest.param("Which town?", "of the", None, id="particles-alone-are-no-place"),
        pytest.param("Is the city center open?", "Yes", None, id="yes-no-question-answered"),
    ],
)
def test_place_answer_across_messages(question: str, answer: str, span: tuple[int, int] | None) -> None:
    entity = asked_entity(question, WANTED)
    found = whole_answer(answer, entity) if entity else None
    assert found == span


def test_particles_count_inside_places_only() -> None:
    assert whole_answer("Ana do Sal", "PERSON") is None
    assert whole_answer("Ana do Sal", "LOCATION") == (0, 10)
