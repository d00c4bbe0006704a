"""The ``mixed`` workload: multi-tenant traffic with less repetition than ``realistic`` (issue 17).

Same nine-span support-bot trace as bench/workload.py, but:

- three tenants (resource attribute ``tenant.id``), each with its own brand, system prompt,
  prompt template and greeting; a tenant is drawn per trace with weights 0.5 / 0.3 / 0.2;
- five attribute conventions for the model and tool spans, drawn per trace: OTel GenAI
  (``gen_ai.input.messages`` with parts), the older OTel GenAI JSON (``gen_ai.prompt`` /
  ``gen_ai.completion``), OpenLLMetry's flattened ``gen_ai.prompt.N.content``, OpenInference
  (``llm.input_messages.N.message.content``, ``input.value``) and Langfuse
  (``langfuse.observation.input`` / ``output``);
- retrieved documents from one pool of 300 articles with Zipf-like popularity (1/rank^1.1),
  each tenant ranking the pool in its own order;
- a unique user turn with two or three PII values (the name, an email or a phone, and half the
  time one more of phone, card or street address), an earlier unique exchange of the same
  conversation, a unique answer and a unique tool result;
- a secret in a third of the tool calls, in one of several formats.

About half the words are in strings that occur once and about a third in paragraphs that occur
once (`repetition_shares` measures it; tests/bench/test_mixed.py checks the bounds).
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from collections.abc import Iterable

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from bench.workload import (
    API_KEY_ALPHABET,
    ASSISTANTS,
    BRANDS,
    DEFAULT_SEED,
    DETAILS,
    FIRST_NAMES,
    LAST_NAMES,
    OPENERS,
    POOL_SIZE,
    SYSTEM_SECTIONS,
    UNIQUE,
    ZIPF_EXPONENT,
    Trace,
    Workload,
    WorkloadGenerator,
    _fill,
    _Filler,
    _Turn,
    span_words,
    words_in,
)

MIXED = "mixed"
TENANTS = ("acme", "globex", "initech")
TENANT_WEIGHTS = (0.5, 0.3, 0.2)
CONVENTIONS = ("otel_genai", "otel_genai_json", "openllmetry", "openinference", "langfuse")
SECRET_SHARE = 1 / 3
DOCS_PER_REQUEST = 3
EARLIER_EXCHANGES = 3

EARLIER_TURNS = (
    "Earlier today I spoke to someone called {other_full} about {product} but the chat dropped.",
    "Last {weekday} I asked about the {product} and was told to wait {small} days, which I did.",
    "I bought a {product} in {city} on {month} {day} and a second one online a week later.",
    "My account still shows the old phone number and I can't change it from the app.",
    "The courier left a note saying the parcel was at a neighbour's house, but nobody there has it.",
    "I also have a question about the {plan} programme and whether I should join before ordering.",
    "The return label you emailed on {month2} {day2} says it has expired already.",
    "I tried the help centre article about {category} but it doesn't mention what happens with opened items.",
    "My {product} arrived with a scratch on the side and the box was clearly opened before.",
    "The app keeps logging me out whenever I try to open the order page on my phone.",
)
EARLIER_ANSWERS = (
    "Thanks for the details. I can see order {order_id} and the last update from {carrier} on {month} {day}.",
    "I understand, and I'm sorry for the trouble with the {product}. Let me check what happened with the shipment from {city}.",
    "That makes sense. Before I change anything on the account, could you confirm the email address on it?",
    "I've noted that. The {plan} programme would cover the return shipping, but let's sort out the order first.",
    "I checked with the warehouse in {city}: the parcel was scanned on {month} {day} and handed to {carrier} the same evening.",
    "A replacement {product} is in stock, so if the trace with {carrier} finds nothing I can send one within {small} days.",
    "Your refund of {amount} was approved on {month2} {day2} and should show on the statement within {small} business days.",
    "I can't see a second account under that email, so the guest order can be linked once you confirm the order number.",
)


def _secret(rng: random.Random) -> str:
    """One secret in a format the rule table knows, drawn from a few providers."""
    pick = rng.randrange(4)
    if pick == 0:
        return "sk-proj-" + "".join(rng.choice(API_KEY_ALPHABET) for _ in range(48))
    if pick == 1:
        return "ghp_" + "".join(rng.choice(API_KEY_ALPHABET) for _ in range(36))
    if pick == 2:
        return "xoxb-" + "-".join("".join(rng.choice(string.digits) for _ in range(n)) for n in (12, 13)) + "-" + "".join(
            rng.choice(API_KEY_ALPHABET) for _ in range(24)
        )
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))


class _Tenant:
    """What one tenant sends on every request: its brand, prompts and its order of the pool."""

    def __init__(self, tenant_id: str, generator: MixedGenerator, index: int) -> None:
        self.id = tenant_id
        self.brand = BRANDS[index % len(BRANDS)]
        self.assistant = ASSISTANTS[index % len(ASSISTANTS)]
        self.system_prompt = generator._tenant_prompt(self.brand, self.assistant)
        self.template = generator._template()
        self.greeting = f"Hi! I'm {self.assistant}, the {self.brand} support assistant. How can I help you today?"
        ranking = list(range(POOL_SIZE))
        generator.rng.shuffle(ranking)
        self.ranking = ranking
        self.resource = Resource(
            {
                "service.name": f"{tenant_id}-support-bot",
                "service.version": f"{index + 1}.4.0",
                "deployment.environment.name": "prod",
                "tenant.id": tenant_id,
                "telemetry.sdk.language": "python",
            }
        )


class MixedGenerator(WorkloadGenerator):
    """Traces of the mixed workload, from `random.Random(f"{seed}:mixed")`."""

    def __init__(self, seed: int = DEFAULT_SEED, zipf_exponent: float = ZIPF_EXPONENT) -> None:
        super().__init__(UNIQUE, seed, docs_per_request=DOCS_PER_REQUEST)  # nothing shared drawn; the rng is replaced below
        self.kind = MIXED
        self.rng = random.Random(f"{seed}:{MIXED}")
        self.pool = [(f"kb-{i + 1:04d}", self._document()) for i in range(POOL_SIZE)]
        self.weights = [1.0 / (rank**zipf_exponent) for rank in range(1, POOL_SIZE + 1)]
        self.tenants = [_Tenant(t, self, i) for i, t in enumerate(TENANTS)]

    def _tenant_prompt(self, brand: str, assistant: str) -> str:
        """A system prompt of four sentences from each of four of the seven sections (about 250 words)."""
        rng = self.rng
        paragraphs = []
        for section in rng.sample(sorted(SYSTEM_SECTIONS), 4):
            slots = _Filler(rng, {"brand": brand, "assistant": assistant})
            chosen = rng.sample(SYSTEM_SECTIONS[section], min(len(SYSTEM_SECTIONS[section]), 4))
            paragraphs.append(" ".join(_fill(s, slots) for s in chosen))
        return "\n\n".join(paragraphs)

    def workload(self, traces: int) -> Workload:
        return Workload(MIXED, self.traces(traces))

    def trace(self) -> Trace:
        rng = self.rng
        index = self._index
        self._index += 1
        tenant = rng.choices(self.tenants, weights=TENANT_WEIGHTS)[0]
        convention = rng.choice(CONVENTIONS)
        chosen: set[int] = set()
        while len(chosen) < self.docs_per_request:
            chosen.add(rng.choices(range(POOL_SIZE), weights=self.weights)[0])
        docs = [self.pool[tenant.ranking[rank]] for rank in sorted(chosen)]
        turn, planted = self._mixed_turn(tenant.brand)
        earlier = self._earlier(turn)
        spans = self._spans(index, turn, docs, tenant.system_prompt, tenant.template, tenant.greeting)
        spans[5] = self._model_span(spans[5], convention, tenant, turn, docs, earlier)
        spans[6] = self._tool_span(spans[6], convention, turn)
        spans = [_with_resource(s, tenant.resource) for s in spans]
        return Trace(
            spans=spans, words=[span_words(s) for s in spans], person=turn.person, document_ids=[d for d, _ in docs],
            system_prompt=tenant.system_prompt, template=tenant.template, documents=[c for _, c in docs],
            user_turn=turn.user_turn, api_key=turn.api_key, tenant=tenant.id, convention=convention, planted=planted,
        )  # fmt: skip

    def _mixed_turn(self, brand: str) -> tuple[_Turn, list[tuple[str, str]]]:
        """The conversation of bench/workload.py with a user turn of two or three PII values."""
        rng = self.rng
        turn = self._conversation(brand)
        person, slots = turn.person, turn.slots
        contact = rng.choice(("email", "phone"))
        planted = [("PERSON", person.full), ("EMAIL_ADDRESS" if contact == "email" else "PHONE_NUMBER", getattr(person, contact))]
        sentences = [rng.choice(OPENERS), *rng.sample(DETAILS[:2], 1)]
        sentences.append("You can reach me at {email}." if contact == "email" else "My phone number is {phone}.")
        if rng.random() < 0.5:
            extra = rng.choice(("phone" if contact == "email" else "email", "card", "street"))
            if extra == "card" and person.card:
                sentences.append("The charge is on my card {card}.")
                planted.append(("CREDIT_CARD", person.card))
            elif extra == "street" and person.street_address:
                sentences.append("Please send it to {street_address}, {city}.")
                planted.append(("ADDRESS", person.street_address))
            elif extra in ("phone", "email"):
                sentences.append("Or " + ("text me at {phone}." if extra == "phone" else "email {email}."))
                planted.append(("PHONE_NUMBER" if extra == "phone" else "EMAIL_ADDRESS", getattr(person, extra)))
        user_turn = " ".join(_fill(s, slots) for s in sentences)
        api_key = _secret(rng) if rng.random() < SECRET_SHARE else None
        arguments: dict[str, object] = {"order_id": slots["order_id"], "include_history": rng.random() < 0.5}
        if contact == "email":
            arguments["customer_email"] = person.email
        if api_key:
            arguments["api_key"] = api_key
            planted.append(("SECRET", api_key))
        follow_up = " ".join(_fill(s, slots) for s in rng.sample(EARLIER_ANSWERS, 3))
        turn.user_turn, turn.api_key, turn.arguments = user_turn, api_key, arguments
        turn.answer = turn.answer + "\n\n" + follow_up
        turn.result["agent_notes"] = " ".join(_fill(s, slots) for s in rng.sample(EARLIER_TURNS, 2))
        return turn, planted

    def _earlier(self, turn: _Turn) -> list[tuple[str, str]]:
        """Earlier exchanges of the same conversation: unique to this trace."""
        rng = self.rng
        slots = _Filler(rng, {"other_full": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", "order_id": turn.slots["order_id"]})
        exchanges: list[tuple[str, str]] = []
        for _ in range(EARLIER_EXCHANGES):
            user = " ".join(_fill(s, slots) for s in rng.sample(EARLIER_TURNS, 3)) + f" (ticket {rng.randint(100000, 999999)})"
            answer = " ".join(_fill(s, slots) for s in rng.sample(EARLIER_ANSWERS, 3)) + f" (ref {rng.getrandbits(32):08x})"
            exchanges += [("user", user), ("assistant", answer)]
        return exchanges

    def _model_span(self, base: ReadableSpan, convention: str, tenant: _Tenant, turn: _Turn, docs: list[tuple[str, str]],
                    earlier: list[tuple[str, str]]) -> ReadableSpan:  # fmt: skip
        context = "\n\n".join(content for _, content in docs)
        messages = [("system", tenant.system_prompt), ("assistant", tenant.greeting), *earlier,
                    ("user", tenant.template + "\n\n" + context + "\n\n" + turn.user_turn)]  # fmt: skip
        kept = {k: v for k, v in (base.attributes or {}).items() if not k.startswith("gen_ai.input") and not k.startswith("gen_ai.output")}
        return _replace_attributes(base, {**kept, **_message_attributes(convention, messages, turn.answer)})

    def _tool_span(self, base: ReadableSpan, convention: str, turn: _Turn) -> ReadableSpan:
        arguments, result = json.dumps(turn.arguments), json.dumps(turn.result)
        kept = {k: v for k, v in (base.attributes or {}).items() if not k.startswith("gen_ai.tool.call.")}
        if convention in ("otel_genai", "otel_genai_json"):
            extra = {"gen_ai.tool.call.arguments": arguments, "gen_ai.tool.call.result": result}
        elif convention == "openllmetry":
            extra = {"traceloop.entity.input": json.dumps({"inputs": turn.arguments}), "traceloop.entity.output": result}
        elif convention == "openinference":
            extra = {"openinference.span.kind": "TOOL", "tool.parameters": arguments, "input.value": arguments, "output.value": result}
        else:
            extra = {"langfuse.observation.type": "tool", "langfuse.observation.input": arguments, "langfuse.observation.output": result}
        return _replace_attributes(base, {**kept, **extra})


def _message_attributes(convention: str, messages: list[tuple[str, str]], answer: str) -> dict[str, object]:
    """The model call's input and output messages in one of the five conventions."""
    if convention == "otel_genai":
        return {
            "gen_ai.input.messages": json.dumps([{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in messages]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}]),
        }
    if convention == "otel_genai_json":
        return {"gen_ai.prompt": json.dumps([{"role": r, "content": c} for r, c in messages]),
                "gen_ai.completion": json.dumps([{"role": "assistant", "content": answer}])}  # fmt: skip
    if convention == "openllmetry":
        attrs: dict[str, object] = {"llm.request.type": "chat"}
        for i, (role, content) in enumerate(messages):
            attrs[f"gen_ai.prompt.{i}.role"] = role
            attrs[f"gen_ai.prompt.{i}.content"] = content
        return {**attrs, "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": answer}
    if convention == "openinference":
        attrs = {"openinference.span.kind": "LLM", "input.value": messages[-1][1], "output.value": answer}
        for i, (role, content) in enumerate(messages):
            attrs[f"llm.input_messages.{i}.message.role"] = role
            attrs[f"llm.input_messages.{i}.message.content"] = content
        return {**attrs, "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": answer}
    return {"langfuse.observation.type": "generation",
            "langfuse.observation.input": json.dumps({"messages": [{"role": r, "content": c} for r, c in messages]}),
            "langfuse.observation.output": json.dumps({"role": "assistant", "content": answer})}  # fmt: skip


def _replace_attributes(span: ReadableSpan, attributes: dict[str, object]) -> ReadableSpan:
    return _copy(span, span.resource, attributes)


def _with_resource(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    return _copy(span, resource, dict(span.attributes or {}))


def _copy(span: ReadableSpan, resource: Resource, attributes: dict[str, object]) -> ReadableSpan:
    return ReadableSpan(
        name=span.name, context=span.context, parent=span.parent, resource=resource, attributes=attributes,
        kind=span.kind if span.kind is not None else SpanKind.INTERNAL, status=span.status, start_time=span.start_time,
        end_time=span.end_time, instrumentation_scope=span.instrumentation_scope,
    )  # fmt: skip


def _paragraphs(texts: Iterable[str]) -> Iterable[str]:
    for text in texts:
        yield from (p for p in text.split("\n\n") if p.strip())


def repetition_shares(workload: Workload) -> dict[str, float]:
    """Share of words in text units that occur once in the workload: string values (JSON
    values replaced by their string leaves) and paragraphs."""
    from bench.common import content_texts

    texts = content_texts(workload)
    result = {}
    for unit, items in (("strings", texts), ("paragraphs", list(_paragraphs(texts)))):
        counts = Counter(items)
        total = sum(words_in(t) for t in items)
        once = sum(words_in(t) for t in items if counts[t] == 1)
        result[unit] = once / total if total else 0.0
    return result


def generate_mixed(traces: int, seed: int = DEFAULT_SEED) -> Workload:
    return MixedGenerator(seed).workload(traces)

