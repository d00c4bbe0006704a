"""Conversation context across messages: the agent's question in one message raises the prior on
the user's short answer in the next (the walker links the turns), with benign twins."""

from __future__ import annotations

import json

import pytest

from redactors.engine import Redactor
from tests.redactors.otlp_builders import attribute, make_request, make_span


def _messages(*turns: tuple[str, str]) -> str:
    return json.dumps([{"role": role, "parts": [{"type": "text", "content": text}]} for role, text in turns])


def _redact(redactor: Redactor, value: str) -> list[str]:
    request = make_request([make_span(attributes={"gen_ai.input.messages": value})])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    span = request.resource_spans[0].scope_spans[0].spans[0]
    messages = json.loads(attribute(span, "gen_ai.input.messages").string_value)
    return [part["content"] for message in messages for part in message["parts"]]


FOUND = [
    # (agent's question, user's answer, the value that must be gone)
    pytest.param("Thanks. What's your last name?", "Alvarez", "Alvarez", id="last-name"),
    pytest.param("Could I have your full name, please?", "maria gonzalez.", "gonzalez", id="lower-case-name"),
    pytest.param("Which city are you in?", "in lisbon", "lisbon", id="city"),
    pytest.param("Sure. Where are you based?", "Kitee", "Kitee", id="town"),
    pytest.param("What's the best number to reach you?", "612 34 56 78", "612 34 56 78", id="phone-without-prefix"),
]


@pytest.mark.parametrize(("question", "answer", "value"), FOUND)
def test_answer_to_the_question_before_is_masked(redactor: Redactor, question: str, answer: str, value: str) -> None:
    contents = _redact(redactor, _messages(("user", "I need to change my booking"), ("assistant", question), ("user", answer)))
    assert value not in contents[2], contents
    assert contents[1] == question  # the question itself stays


BENIGN = [
    # (agent's message, user's reply, the reply must survive verbatim)
    pytest.param("Which plan are you on?", "Premium", id="not-a-name-question"),
    pytest.param("What's your last name?", "why do you need it", id="long-reply"),
    pytest.param("What's your name?", "sorry", id="common-word"),
    pytest.param("Your last name is on the ticket.", "Gold Plus", id="no-question"),
]


@pytest.mark.parametrize(("question", "answer"), BENIGN)
def test_reply_that_is_no_answer_survives(redactor: Redactor, question: str, answer: str) -> None:
    contents = _redact(redactor, _messages(("assistant", question), ("user", answer)))
    assert contents[1] == answer


def test_the_question_is_what_makes_a_plain_phrase_an_answer(redactor: Redactor) -> None:
    assert _redact(redactor, _messages(("assistant", "What's your last name?"), ("user", "Gold Plus")))[1] != "Gold Plus"
    assert _redact(redactor, _messages(("assistant", "Which tier are you on?"), ("user", "Gold Plus")))[1] == "Gold Plus"


def test_only_the_next_user_turn_is_the_answer(redactor: Redactor) -> None:
    # The question is the user's own, or the answer is not the next turn: no prior.
    contents = _redact(redactor, _messages(("user", "What's your last name?"), ("user", "Premium")))
    assert contents[1] == "Premium"
    contents = _redact(redactor, _messages(("assistant", "What's your last name?"), ("assistant", "Premium")))
    assert contents[1] == "Premium"
