"""Conversation context across messages: the agent's question in one message raises the prior on
the user's short answer in the next (the walker links the turns), with benign twins."""

from __future__ import annotations

import json

import pytest

from redactors.engine import Redactor
from tests.redactors.otlp_builders import attribute, make_log_record, make_log_request, make_request, make_span


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


# -- across records: span events in time order, log records of one trace and span ------------------

EVENT_TURNS = [
    # (events as (name, content, time offset), index of the event whose content must change, or None);
    # "Gold Plus" and "Kitee" survive on their own (the benign rows): only the question masks them.
    pytest.param([("gen_ai.assistant.message", "What's your last name?", 1), ("gen_ai.user.message", "Gold Plus", 2)], 1, id="events-name"),
    pytest.param([("gen_ai.user.message", "Kitee", 2), ("gen_ai.assistant.message", "Which city are you in?", 1)], 0, id="events-out-of-order"),
    pytest.param([("gen_ai.assistant.message", "Your phone?", 1), ("gen_ai.user.message", "612 34 56 78", 2)], 1, id="events-phone"),
    pytest.param([("gen_ai.assistant.message", "Which plan are you on?", 1), ("gen_ai.user.message", "Premium", 2)], None, id="benign-not-asked"),
    pytest.param([("gen_ai.user.message", "What's your last name?", 1), ("gen_ai.user.message", "Premium", 2)], None, id="benign-user-asks"),
    pytest.param([("gen_ai.assistant.message", "What's your last name?", 1), ("gen_ai.choice", "Premium", 2)], None, id="benign-agent-answers"),
    pytest.param([("gen_ai.assistant.message", "What's your name?", 1), ("gen_ai.user.message", "why do you ask", 2)], None, id="benign-long-reply"),
]


@pytest.mark.parametrize(("turns", "changed"), EVENT_TURNS)
def test_question_in_one_span_event_and_answer_in_the_next(redactor: Redactor, turns: list, changed: int | None) -> None:
    span = make_span(events=[(name, {"content": text}) for name, text, _ in turns])
    for event, (_, _, offset) in zip(span.events, turns, strict=True):
        event.time_unix_nano = 1_700_000_000_000_000_000 + offset
    request = make_request([span])
    redactor.redact_resource_spans(list(request.resource_spans), "acme", "prod")
    out = [request.resource_spans[0].scope_spans[0].spans[0].events[i].attributes[0].value.string_value for i in range(len(turns))]
    for i, (_, text, _) in enumerate(turns):
        assert (out[i] != text) == (i == changed), out


def _log_contents(redactor: Redactor, records: list) -> list[str]:
    request = make_log_request(records)
    redactor.redact_resource_logs(list(request.resource_logs), "acme", "prod")
    return [record.body.string_value for record in request.resource_logs[0].scope_logs[0].log_records]


def test_question_in_one_log_record_and_answer_in_the_next_of_the_same_trace(redactor: Redactor) -> None:
    question = make_log_record("Thanks. What's your last name?", event_name="gen_ai.assistant.message")
    answer = make_log_record("Thygesen", event_name="gen_ai.user.message")
    answer.trace_id, answer.span_id = question.trace_id, question.span_id
    answer.time_unix_nano = question.time_unix_nano + 1
    other = make_log_record("Premium", event_name="gen_ai.user.message")  # another trace: not an answer
    other.time_unix_nano = question.time_unix_nano + 2
    contents = _log_contents(redactor, [answer, other, question])
    assert "Thygesen" not in contents[0] and contents[1] == "Premium" and contents[2] == "Thanks. What's your last name?", contents


def test_log_records_without_a_trace_follow_their_scope_order(redactor: Redactor) -> None:
    question = make_log_record("Which city are you in?")
    answer = make_log_record("Kitee")
    for record in (question, answer):
        record.trace_id, record.span_id = b"", b""
    answer.time_unix_nano = question.time_unix_nano + 1
    assert _log_contents(redactor, [question, answer])[1] != "Kitee"
    question.time_unix_nano, answer.time_unix_nano = 2, 1  # the "answer" came first: no prior
    assert _log_contents(redactor, [question, answer])[1] == "Kitee"
