"""Content-derived signals: numbers and labels measured on a span's text before it is masked.

The redaction step is the one place that sees content, so it is the one place that can measure
it. :class:`SignalMeter` reads a span's original input and output text and keeps only:

- ``input_chars``, ``input_words``: the user turn(s) of the input (all input text when the
  convention carries no roles);
- ``output_chars``, ``output_words``: the model's output text;
- ``language``: an ISO 639-1 code for the user turn (else the output), from ``py3langid``'s
  offline model, read on the words only (no digits, addresses or ids); none when they have
  fewer than :data:`MIN_LANGUAGE_CHARS` letters or the detector's probability is below
  :data:`LANGUAGE_CONFIDENCE`;
- ``refusal``: true when a finish reason is ``content_filter`` or the output matches
  :class:`RefusalDetector`; false for an output that does not; none without an output.

They travel as ``tracevault.signal.*`` span attributes of fixed types (ints, a bool, a two-letter
code), added after the walk; the vault's metrics row accepts them only in that shape. Incoming
attributes under that prefix are dropped by the walker, so a client cannot forge them.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span

from redactors import regexcache
from redactors.processkey import new_key
from redactors.walker import SIGNAL_PREFIX

MIN_LANGUAGE_CHARS = 20
LANGUAGE_CONFIDENCE = 0.50
# py3langid walks its DFA byte by byte in Python (~1 us a byte): the sample's length is its cost.
# 500 characters gave the same answer as 2000 on all 328 bench user turns (mean 2,015 chars) and cut
# patterns-only CPU per span by 1.4x (docs/benchmark.md, issue 13).
LANGUAGE_SAMPLE_CHARS = 500
LANGUAGE_CACHE_ENTRIES = 4096
_JSON_LIMIT = 4 * 1024 * 1024
_LANGUAGE = regexcache.compile(r"[a-z]{2}")
_WORD = regexcache.compile(r"[^\W\d_]+")

_OI_INPUT = regexcache.compile(r"llm\.input_messages\.(\d+)\.message\.(role|content)$")
_OI_INPUT_PART = regexcache.compile(r"llm\.input_messages\.(\d+)\.message\.contents\.\d+\.message_content\.text$")
_OI_OUTPUT = regexcache.compile(r"llm\.output_messages\.\d+\.message\.content$")
_OI_OUTPUT_PART = regexcache.compile(r"llm\.output_messages\.\d+\.message\.contents\.\d+\.message_content\.text$")
_OLLM_PROMPT = regexcache.compile(r"gen_ai\.prompt\.(\d+)\.(role|content)$")
_OLLM_COMPLETION = regexcache.compile(r"gen_ai\.completion\.\d+\.content$")
_OLLM_FINISH = regexcache.compile(r"gen_ai\.completion\.\d+\.finish_reason$")


class RefusalDetector:
    """An English refusal classifier over the start of a model's answer.

    A refusal says the assistant will not or cannot do what was asked, in the first person,
    near the start of the answer: "I'm sorry, but I can't help with that", "I cannot provide
    ...", "As an AI, I am not able to ...". Apologies that go on to help ("Sorry for the wait,
    here is your invoice") and inabilities about the world ("I can't find order 123, could you
    check the number?") are not refusals. Measured in ``tests/redactors/test_refusal.py`` on a
    labelled set split by template into dev and held-out parts.
    """

    _HEAD_CHARS = 400
    _I = r"(?:i|i'm|i am)"  # curly apostrophes are straightened before matching
    _CANNOT = (
        r"(?:can't|cant|cannot|can not|won't|will not|(?:am |'m )?(?:not able|unable|not allowed|not permitted) to|"
        r"must decline to|have to decline to)"
    )
    _ACTS = (
        r"(?:help|assist|provide|share|give|create|write|generate|produce|comply|do that|do this|fulfil|fulfill|"
        r"support|engage|answer|offer|disclose|reveal|discuss|continue|participate|be of help|go along)"
    )
    _PATTERNS = (
        # "I can't help with that", "I'm unable to provide ...", "I won't write ..."
        rf"\b{_I}\s+(?:really\s+|truly\s+|simply\s+)?{_CANNOT}\s+(?:\w+\s+){{0,2}}?{_ACTS}\b",
        # "I must decline", "I have to decline this request"
        r"\bi\s+(?:must|have to|need to|will have to)\s+(?:respectfully\s+|politely\s+)?(?:decline|refuse)\b",
        # "I'm not going to help with that"
        rf"\b{_I}\s+not\s+going\s+to\s+(?:\w+\s+){{0,1}}?{_ACTS}\b",
        # "As an AI (language model), I ..." followed by an inability
        r"\bas an ai(?: language model| assistant| model)?,?\s+i\s+(?:can(?:'|’)?t|cannot|do not|don(?:'|’)?t|am not|won(?:'|’)?t)\b",
        # "That's not something I can help with"
        r"\b(?:that|this)(?:'s|’s| is)\s+not\s+something\s+i\s+(?:can|am able to|'m able to|’m able to|will)\b",
        # "I'm sorry, but I'm really not able to help with ..."
        rf"\b(?:sorry|apologi[sz]e)\b[^.!?]{{0,40}}\bbut\s+{_I}\s+{_CANNOT}\s+(?:\w+\s+){{0,2}}?{_ACTS}\b",
        # "I'm afraid I can't do that"
        rf"\bi(?:'m|’m| am)\s+afraid\s+{_I}\s+{_CANNOT}\s+(?:\w+\s+){{0,2}}?{_ACTS}\b",
        # "Unfortunately, I can't assist with ..."
        rf"\bunfortunately,?\s+{_I}\s+{_CANNOT}\s+(?:\w+\s+){{0,2}}?{_ACTS}\b",
        # "I don't feel comfortable ...", "I'm not comfortable ..."
        r"\bi\s+(?:don(?:'|’)?t|do not)\s+feel\s+comfortable\b",
        r"\bi(?:'m|’m| am)\s+not\s+comfortable\s+(?:helping|providing|writing|sharing|doing)\b",
        # "against my guidelines / policies"
        r"\b(?:against|violates?|outside(?: of)?)\s+(?:my|our|the)\s+(?:usage\s+|content\s+|safety\s+)?(?:guidelines|policies|policy|principles)\b",
    )
    def __init__(self) -> None:
        self._refusal = regexcache.compile("|".join(f"(?:{p})" for p in self._PATTERNS), re.IGNORECASE)

    def is_refusal(self, text: str) -> bool:
        head = " ".join(text[: self._HEAD_CHARS].split()).replace("’", "'")
        return bool(head) and self._refusal.search(head) is not None


@functools.cache
def _language_model() -> Any:
    from redactors.langmodel import identifier

    return identifier()


class LanguageDetector:
    """ISO 639-1 codes from py3langid's bundled model (no network); loaded once per process.

    The answer depends only on the sample (the words of the first LANGUAGE_SAMPLE_CHARS
    characters), and user turns often open alike (a template, a greeting), so answers are kept
    in a bounded LRU keyed by HMAC digests of the sample under a random per-process key (no
    text is kept; redactors/processkey.py draws a new key in a forked worker)."""

    def __init__(self, max_entries: int = LANGUAGE_CACHE_ENTRIES) -> None:
        self._identifier = _language_model()
        self._key = new_key(self)
        self._answers: OrderedDict[bytes, str | None] = OrderedDict()
        self._max_entries = max_entries

    def renew_key(self) -> None:
        self._key = new_key(self)
        self._answers.clear()

    def detect(self, text: str) -> str | None:
        # Words only: addresses, numbers and ids say nothing about the language and blur it.
        words = _WORD.findall(text[:LANGUAGE_SAMPLE_CHARS])
        if sum(map(len, words)) < MIN_LANGUAGE_CHARS:
            return None
        sample = " ".join(words)
        key = hmac.new(self._key, sample.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        if key in self._answers:
            self._answers.move_to_end(key)
            return self._answers[key]
        answer = self._classify(sample)
        self._answers[key] = answer
        if len(self._answers) > self._max_entries:
            self._answers.popitem(last=False)
        return answer

    def _classify(self, sample: str) -> str | None:
        code, confidence = self._identifier.classify(sample)
        if confidence < LANGUAGE_CONFIDENCE or not _LANGUAGE.fullmatch(code):
            return None
        return code


@dataclass(frozen=True)
class SpanSignals:
    input_chars: int | None = None
    input_words: int | None = None
    output_chars: int | None = None
    output_words: int | None = None
    language: str | None = None
    refusal: bool | None = None

    def attributes(self) -> Iterator[tuple[str, AnyValue]]:
        for name in ("input_chars", "input_words", "output_chars", "output_words"):
            value = getattr(self, name)
            if value is not None:
                yield SIGNAL_PREFIX + name, AnyValue(int_value=value)
        if self.language is not None:
            yield SIGNAL_PREFIX + "language", AnyValue(string_value=self.language)
        if self.refusal is not None:
            yield SIGNAL_PREFIX + "refusal", AnyValue(bool_value=self.refusal)


NO_SIGNALS = SpanSignals()


# ---------------------------------------------------------------------------------------------
# Reading text out of the conventions (never raises on span data: unreadable means absent).


def _py(value: AnyValue, depth: int = 0) -> Any:
    kind = value.WhichOneof("value")
    if depth > 32 or kind is None:
        return None
    if kind == "kvlist_value":
        return {kv.key: _py(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [_py(v, depth + 1) for v in value.array_value.values]
    if kind == "string_value" and depth == 0:
        text = value.string_value
        stripped = text.lstrip()
        if stripped[:1] in ("{", "[") and len(text) <= _JSON_LIMIT:
            try:
                return json.loads(stripped)
            except (ValueError, RecursionError):
                return text
        return text
    return getattr(value, kind)


def _message_texts(messages: Any, roles: frozenset[str] | None) -> list[str]:
    """Text parts of OTel GenAI messages ``[{role, parts:[{type:text, content}]}]``."""
    if isinstance(messages, dict):
        messages = [messages]
    if not isinstance(messages, list):
        return [messages] if isinstance(messages, str) else []
    texts: list[str] = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        if roles is not None and message.get("role") not in roles:
            continue
        parts = message.get("parts")
        if isinstance(parts, list):
            texts.extend(p["content"] for p in parts if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("content"), str))
        elif isinstance(message.get("content"), str):
            texts.append(message["content"])
    return texts


_USER = frozenset({"user", "human"})


@dataclass
class _Texts:
    user: list[str]
    input_any: list[str]
    output: list[str]
    finish_reasons: list[str]


def _indexed(attrs: dict[str, Any], pattern: re.Pattern[str]) -> list[str]:
    """Values of OpenInference/OpenLLMetry indexed content keys, by index, for user roles."""
    roles: dict[str, str] = {}
    contents: dict[str, str] = {}
    for key, value in attrs.items():
        match = pattern.match(key)
        if match and isinstance(value, str):
            (roles if match.group(2) == "role" else contents)[match.group(1)] = value
    return [text for index, text in sorted(contents.items(), key=lambda kv: int(kv[0])) if roles.get(index, "user") in _USER]


def _event_texts(span: Span, texts: _Texts) -> None:
    for event in span.events:
        fields = {kv.key: _py(kv.value) for kv in event.attributes}
        if event.name == "gen_ai.user.message" and isinstance(fields.get("content"), str):
            texts.user.append(fields["content"])
        elif event.name == "gen_ai.content.prompt":
            texts.user.extend(_message_texts(fields.get("gen_ai.prompt"), _USER))
        elif event.name == "gen_ai.choice":
            message = fields.get("message")
            if isinstance(message, dict) and isinstance(message.get("content"), str):
                texts.output.append(message["content"])
            if isinstance(fields.get("finish_reason"), str):
                texts.finish_reasons.append(fields["finish_reason"])
        elif event.name == "gen_ai.content.completion":
            texts.output.extend(_message_texts(fields.get("gen_ai.completion"), None))


def _span_texts(span: Span) -> _Texts:
    attrs: dict[str, Any] = {}
    for kv in span.attributes:
        attrs.setdefault(kv.key, kv.value)
    wanted = {k: _py(v) for k, v in attrs.items() if not k.startswith(SIGNAL_PREFIX) and _is_text_key(k)}
    texts = _Texts([], [], [], [])
    if "gen_ai.input.messages" in wanted:
        texts.user.extend(_message_texts(wanted["gen_ai.input.messages"], _USER))
        texts.input_any.extend(_message_texts(wanted["gen_ai.input.messages"], None))
    if "gen_ai.output.messages" in wanted:
        output = wanted["gen_ai.output.messages"]
        texts.output.extend(_message_texts(output, None))
        for message in output if isinstance(output, list) else []:
            if isinstance(message, dict) and isinstance(message.get("finish_reason"), str):
                texts.finish_reasons.append(message["finish_reason"])
    texts.user.extend(_indexed(wanted, _OI_INPUT) + _indexed(wanted, _OLLM_PROMPT))
    texts.user.extend(v for k, v in wanted.items() if _OI_INPUT_PART.match(k) and isinstance(v, str))
    texts.output.extend(v for k, v in wanted.items() if (_OI_OUTPUT.match(k) or _OI_OUTPUT_PART.match(k) or _OLLM_COMPLETION.match(k)) and isinstance(v, str))
    texts.finish_reasons.extend(v for k, v in wanted.items() if _OLLM_FINISH.match(k) and isinstance(v, str))
    reasons = wanted.get("gen_ai.response.finish_reasons")
    if isinstance(reasons, list):
        texts.finish_reasons.extend(r for r in reasons if isinstance(r, str))
    elif isinstance(reasons, str):
        texts.finish_reasons.append(reasons)
    if isinstance(wanted.get("input.value"), str) and not texts.user:
        texts.input_any.append(wanted["input.value"])
    if isinstance(wanted.get("output.value"), str) and not texts.output:
        texts.output.append(wanted["output.value"])
    _event_texts(span, texts)
    return texts


def _is_text_key(key: str) -> bool:
    return key.startswith(("gen_ai.", "llm.input_messages.", "llm.output_messages.")) or key in ("input.value", "output.value")


def _length(texts: Iterable[str]) -> tuple[int, int] | None:
    items = [t for t in texts if t]
    if not items:
        return None
    return sum(len(t) for t in items), sum(len(t.split()) for t in items)


class SignalMeter:
    """Measures each span of a request before the walk; attaches the numbers after it."""

    def __init__(self, language: LanguageDetector | None = None, refusal: RefusalDetector | None = None) -> None:
        self._language = language or LanguageDetector()
        self._refusal = refusal or RefusalDetector()

    def measure_span(self, span: Span) -> SpanSignals:
        try:
            return self._measure(span)
        except Exception:  # noqa: BLE001 - a signal that cannot be measured is absent, never content
            return NO_SIGNALS

    def _measure(self, span: Span) -> SpanSignals:
        texts = _span_texts(span)
        user = texts.user or texts.input_any
        input_length = _length(user)
        output_length = _length(texts.output)
        if input_length is None and output_length is None and not texts.finish_reasons:
            return NO_SIGNALS
        language_text = " ".join(user) if input_length else " ".join(texts.output)
        refusal: bool | None = None
        if "content_filter" in texts.finish_reasons:
            refusal = True
        elif output_length is not None:
            refusal = self._refusal.is_refusal(" ".join(texts.output))
        return SpanSignals(
            input_chars=input_length[0] if input_length else None,
            input_words=input_length[1] if input_length else None,
            output_chars=output_length[0] if output_length else None,
            output_words=output_length[1] if output_length else None,
            language=self._language.detect(language_text) if language_text else None,
            refusal=refusal,
        )

    def measure(self, items: Iterable[ResourceSpans]) -> list[SpanSignals]:
        """One entry per span, in walk order, measured on the text as it arrived."""
        return [self.measure_span(span) for rs in items for ss in rs.scope_spans for span in ss.spans]

    @staticmethod
    def attach(items: Iterable[ResourceSpans], signals: list[SpanSignals]) -> None:
        spans = [span for rs in items for ss in rs.scope_spans for span in ss.spans]
        if len(spans) != len(signals):
            raise ValueError("signals do not match the spans")
        for span, measured in zip(spans, signals):
            for key, value in measured.attributes():
                span.attributes.add(key=key, value=value)


class NoSignals(SignalMeter):
    """Measures nothing: the baseline of the benchmark's derived-signals ratio (bench/run.py)."""

    def __init__(self) -> None:
        pass

    def measure_span(self, span: Span) -> SpanSignals:
        return NO_SIGNALS
