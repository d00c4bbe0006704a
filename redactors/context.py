"""Conversation context inside one text: the agent's question raises the prior on the answer.

Transcripts reach traces as one string often enough (a completion prompt with its history, a
chat log, a summary with turns). When a turn asks for a name, a place or a phone number
("What's your last name?", "Which city are you in?", "Your phone?") and the next turn is a short
answer ("Alvarez", "it's lisbon", "maria gonzalez."), the answer's words are that entity, in
lower case too; the small model rarely tags a bare one-word answer. Short answers only: one to
three words (after "it's", "I'm", "my name is", "in"), none of them a common word.

Across messages the walker (``redactors.walker``) does the same with ``asked_entity`` and
``whole_answer``: an assistant message ending in the question, then a user message that is the
answer and nothing else.
"""

from __future__ import annotations

from presidio_analyzer import RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from redactors import regexcache
from redactors.letters import LOWER, UPPER

_QUESTIONS = (
    (
        "PERSON",
        regexcache.compile(
            r"(?i)\b(?:(?:your|the)\s+(?:full\s+|first\s+|last\s+|family\s+|middle\s+|sur)?name|(?:first|last|family|sur)\s?name"
            r"|who\s+(?:am\s+i|are\s+you)\s+(?:speaking|talking)\s+(?:to|with)|who\s+is\s+(?:this|calling))\b[^\n]*\?"
        ),
    ),
    (
        "LOCATION",
        regexcache.compile(
            r"(?i)\b(?:(?:which|what)\s+(?:city|town|country|state|region)|where\s+(?:do\s+you\s+live|are\s+you\s+(?:based|located|from|now|staying))"
            r"|your\s+(?:city|town|country|location|hometown)|(?:the|your)\s+(?:city|town|country|destination)(?=\s*\?)"
            r"|where\s+(?:should|shall|can|do)\s+(?:we|i)\s+(?:ship|send|deliver))\b[^\n]*\?"
        ),
    ),
)
_ROLE = r"(?:[ \t]*(?i:user|customer|human|client|caller|guest|me)[ \t]*:)?"
_LEAD = r"(?i:[ \t]*(?:it'?s|it\s+is|i'?m|i\s+am|my\s+name\s+is|name'?s|in|from|sure|yes)[ ,:]+)?"
_WORD = rf"[{UPPER}{LOWER}][{LOWER}{UPPER}'’\-]{{1,24}}"
_ANSWER = regexcache.compile(rf"{_ROLE}{_LEAD}[ \t]*(?P<answer>{_WORD}(?:[ \t]+{_WORD}){{0,2}})[ \t]*[.!]?[ \t]*(?=\n|$)")
_NOT_ANSWERS = frozenset(STOP_WORDS) | frozenset("yes no ok okay sure thanks thank hello hi hey why what pardon sorry".split())
# Inside a place's name these are particles, not common words: "Alcácer do Sal", "Stratford upon Avon".
_PLACE_PARTICLES = frozenset("de del della di da do dos das du des la le les sur am an der den upon on of".split())


def _common_word_in(answer: str, entity: str) -> bool:
    words = [word.lower() for word in answer.split()]
    inner = _PLACE_PARTICLES if entity == "LOCATION" else frozenset()
    return any(word in _NOT_ANSWERS and not (0 < i < len(words) - 1 and word in inner) for i, word in enumerate(words))


# Across messages (``redactors.walker``): the previous turn ends with a question for one of these,
# and this turn is the short answer, alone ("Alvarez", "it's lisbon", "+34 612 345 678").
_PHONE_QUESTION = regexcache.compile(r"(?i)\b(?:your|a|the|best)\s+(?:(?:phone|mobile|cell|contact|callback)\s*(?:number|no\.?|#)?|number)\b[^\n]*\?")
_WHOLE_ANSWER = regexcache.compile(rf"[ \t]*{_ROLE}{_LEAD}[ \t]*(?P<answer>{_WORD}(?:[ \t]+{_WORD}){{0,2}})[ \t]*[.!]?[ \t]*")
_DIGIT_ANSWER = regexcache.compile(rf"[ \t]*{_LEAD}[ \t]*(?P<answer>\+?\(?\d[\d \t().\-/]{{5,20}}\d)[ \t]*[.!]?[ \t]*")


def asked_entity(question: str, wanted: frozenset[str]) -> str | None:
    """The entity the last question of a turn asks for ("What's your last name?" -> PERSON)."""
    tail = question.rstrip()
    if not tail.endswith("?"):
        return None
    last = tail[tail.rfind("\n") + 1 :]
    for entity, pattern in (*_QUESTIONS, ("PHONE_NUMBER", _PHONE_QUESTION)):
        if entity in wanted and pattern.search(last):
            return entity
    return None


def whole_answer(answer: str, entity: str) -> tuple[int, int] | None:
    """The span of `answer` when the whole text is a short answer of `entity`'s kind."""
    shape = _DIGIT_ANSWER if entity == "PHONE_NUMBER" else _WHOLE_ANSWER
    match = shape.fullmatch(answer)
    if match is None or _common_word_in(match.group("answer"), entity):
        return None
    return match.start("answer"), match.end("answer")


class ConversationContext:
    """PERSON and LOCATION findings for short answers to the question in the turn before."""

    def analyze(self, text: str, wanted: frozenset[str]) -> list[RecognizerResult]:
        if "?" not in text:
            return []
        results: list[RecognizerResult] = []
        for entity, question in _QUESTIONS:
            if entity not in wanted:
                continue
            for asked in question.finditer(text):
                answer = _answer_after(text, asked.end(), entity)
                if answer is not None:
                    results.append(RecognizerResult(entity, *answer, 0.7))
        return results


def _answer_after(text: str, end: int, entity: str) -> tuple[int, int] | None:
    """The short answer after a question ending at `end`: on the same line ("What's your last
    name? Smith") or on the next non-blank line."""
    answer = _ANSWER.match(text, end) if text[end : end + 1] in (" ", "\t") else None
    if answer is None:
        nxt = text.find("\n", end)
        while nxt >= 0 and nxt + 1 < len(text) and text[nxt + 1] == "\n":
            nxt += 1  # blank lines between the turns
        answer = _ANSWER.match(text, nxt + 1) if nxt >= 0 else None
    if answer is None or _common_word_in(answer.group("answer"), entity):
        return None
    return answer.start("answer"), answer.end("answer")
