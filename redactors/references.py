"""What forwarded records carry in their GenAI content (policy `content_in_forward`), and the
`tracevault://` references that stand in for it.

- `redacted`: the redacted records as they are (the default).
- `reference`: every content attribute (one table, `CONTENT_KEYS`) is removed and replaced by a
  `<key>_ref` attribute holding an opaque URI of the content kept in the vault:
  ``tracevault://<tenant>/<env>/<trace_id>/<span_id>#<attribute>`` (an attribute of event ``i``:
  ``#event/<i>/<attribute>``). `tracevault payload get --ref` and the admin listener resolve it,
  behind a grant and audited.
- `none`: the content attributes are removed, and nothing stands in for them.

Only content goes: model names, token counts, ids, roles, finish reasons, tool names, status and
everything else stays as redacted. Attributes that already are references (`*_ref`, media URIs
that replaced base64 data) are not content and pass as they are; an incoming `<key>_ref` is kept
rather than overwritten, so a client's own reference is never lost.

Pure functions over protobuf messages: the forwarder (sidecar/sinks.py) applies them to a copy
of each batch just before it is sent; what the vault stores is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from policies.resolve import BUILTIN_REFERENCE_KEYS, compile_key_globs
from policies.tenants import ID_PATTERN_TEXT, is_valid_id

REDACTED = "redacted"
REFERENCE = "reference"
NONE = "none"
MODES = (REDACTED, REFERENCE, NONE)
SCHEME = "tracevault"
REF_SUFFIX = "_ref"

# The one table of GenAI content keys (globs; `*` matches any characters, dots included). Keys
# that hold content in every convention tracevault knows (docs/conventions.md), and the source
# and target keys of the collector's genainormalizer processor.
CONTENT_KEYS: tuple[str, ...] = (
    # OTel GenAI (current): span attributes, and the attributes of the operation-details event.
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.definitions",
    "gen_ai.tool.description",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.query.text",
    "gen_ai.retrieval.documents",
    # Older OTel GenAI: v1.26 event attributes and the indexed form.
    "gen_ai.prompt",
    "gen_ai.completion",
    "gen_ai.prompt.*.content",
    "gen_ai.completion.*.content",
    "gen_ai.prompt.*.tool_calls.*.arguments",
    "gen_ai.completion.*.tool_calls.*.arguments",
    # OpenInference.
    "input.value",
    "output.value",
    "llm.input_messages",
    "llm.output_messages",
    "llm.input_messages.*.message.content",
    "llm.input_messages.*.message.contents.*",
    "llm.output_messages.*.message.content",
    "llm.output_messages.*.message.contents.*",
    "llm.*.tool_call.function.arguments",
    "tool_call.function.arguments",
    "llm.prompts.*",
    "llm.choices.*",
    "llm.completions.*",
    "llm.prompt_template.template",
    "llm.prompt_template.variables",
    "llm.tools.*",
    "llm.request.functions",
    "tool.description",
    "tool.parameters",
    "retrieval.documents.*.document.content",
    "retrieval.documents.*.document.metadata",
    "reranker.query",
    "reranker.*.document.content",
    "reranker.*.document.metadata",
    "embedding.embeddings.*.embedding.text",
    "embedding.embeddings.*.embedding.vector",
    # OpenLLMetry / Traceloop.
    "traceloop.entity.input",
    "traceloop.entity.output",
)
# Attributes of a GenAI event (a span event or log record named `gen_ai.*`: the per-message events
# of v1.28 to v1.36) that hold content, besides the keys above.
EVENT_CONTENT_KEYS: tuple[str, ...] = ("content", "message", "tool_calls", "arguments")
GENAI_EVENT_PREFIX = "gen_ai."

_CONTENT = compile_key_globs(CONTENT_KEYS)
_EVENT_CONTENT = compile_key_globs(EVENT_CONTENT_KEYS)
_REFERENCES = compile_key_globs(BUILTIN_REFERENCE_KEYS)
_ID = ID_PATTERN_TEXT.strip("`")
_URI = re.compile(
    rf"{SCHEME}://(?P<tenant>[^/#?]{{1,63}})/(?P<env>[^/#?]{{1,63}})/(?P<trace_id>[0-9a-f]{{32}})"
    r"/(?P<span_id>[0-9a-f]{16})#(?P<path>[A-Za-z0-9_.~%/\-]{1,600})"
)
_ATTRIBUTE = re.compile(r"[a-z0-9_][a-z0-9_.\-]{0,254}")
_EVENT_PATH = re.compile(r"event/(\d{1,4})/(.+)")
_MAX_URI_CHARS = 1024


class ReferenceError(ValueError):
    """Not a tracevault reference. The message never quotes the value."""


def is_content_key(key: str, genai_event: bool = False) -> bool:
    """Whether an attribute under `key` holds GenAI content (a reference never does)."""
    if key.endswith(REF_SUFFIX) or (_REFERENCES is not None and _REFERENCES.fullmatch(key)):
        return False
    if _CONTENT is not None and _CONTENT.fullmatch(key):
        return True
    return genai_event and _EVENT_CONTENT is not None and _EVENT_CONTENT.fullmatch(key) is not None


@dataclass(frozen=True)
class Reference:
    """A parsed `tracevault://` reference: where the content is, and which of it."""

    tenant: str
    env: str
    trace_id: str
    span_id: str
    path: str  # an attribute key, or event/<i>/<attribute key>

    def uri(self) -> str:
        return f"{SCHEME}://{self.tenant}/{self.env}/{self.trace_id}/{self.span_id}#{quote(self.path, safe='/._-')}"

    @property
    def event_index(self) -> int | None:
        match = _EVENT_PATH.fullmatch(self.path)
        return int(match.group(1)) if match else None

    @property
    def attribute(self) -> str:
        match = _EVENT_PATH.fullmatch(self.path)
        return match.group(2) if match else self.path


def parse_reference(text: str) -> Reference:
    """Parse a reference, or raise ReferenceError saying which part is wrong."""
    if not isinstance(text, str) or len(text) > _MAX_URI_CHARS:
        raise ReferenceError(f"not a tracevault reference: expected {SCHEME}://<tenant>/<env>/<trace_id>/<span_id>#<attribute>")
    match = _URI.fullmatch(text.strip())
    if match is None:
        raise ReferenceError(
            f"not a tracevault reference: expected {SCHEME}://<tenant>/<env>/<trace_id>/<span_id>#<attribute> "
            "(trace id 32 and span id 16 lower-case hex digits)"
        )
    for part in ("tenant", "env"):
        if not is_valid_id(match.group(part)):
            raise ReferenceError(f"not a tracevault reference: its {part} must match {_ID}")
    path = unquote(match.group("path"))
    event = _EVENT_PATH.fullmatch(path)
    attribute = event.group(2) if event else path
    if not _ATTRIBUTE.fullmatch(attribute):
        raise ReferenceError("not a tracevault reference: its fragment must name an attribute (or event/<i>/<attribute>)")
    return Reference(match.group("tenant"), match.group("env"), match.group("trace_id"), match.group("span_id"), path)


def is_reference(text: str) -> bool:
    """Whether `text` is a well-formed tracevault reference."""
    try:
        parse_reference(text)
    except ReferenceError:
        return False
    return True


def find_value(document: dict[str, Any], reference: Reference) -> dict[str, Any] | None:
    """The stored OTLP/JSON AnyValue the reference names in a payload document, or None."""
    span = document.get("span")
    if not isinstance(span, dict):
        return None
    holder: Any = span
    index = reference.event_index
    if index is not None:
        events = span.get("events") or []
        holder = events[index] if index < len(events) else None
    if not isinstance(holder, dict):
        return None
    for kv in holder.get("attributes") or []:
        if isinstance(kv, dict) and kv.get("key") == reference.attribute:
            value = kv.get("value")
            return value if isinstance(value, dict) else {}
    return None


def strip_content(attributes: Any, make_ref: Callable[[str], str] | None, genai_event: bool = False) -> int:
    """Remove the content attributes of a repeated KeyValue field, in place; with `make_ref`,
    add a `<key>_ref` attribute for each (unless one is already there). Returns how many went."""
    present = {kv.key for kv in attributes}
    kept: list[KeyValue] = []
    refs: list[KeyValue] = []
    for kv in attributes:
        if not is_content_key(kv.key, genai_event):
            kept.append(kv)
            continue
        ref_key = kv.key + REF_SUFFIX
        if make_ref is not None and ref_key not in present:
            refs.append(KeyValue(key=ref_key, value=AnyValue(string_value=make_ref(kv.key))))
            present.add(ref_key)
    removed = len(attributes) - len(kept)
    if removed:
        copies = [KeyValue.FromString(kv.SerializeToString()) for kv in kept]
        del attributes[:]
        attributes.extend(copies + refs)
    return removed


def traces_view(request: ExportTraceServiceRequest, mode: str, tenant: str, env: str) -> ExportTraceServiceRequest:
    """The request as forwarded under `mode`: the request itself for `redacted`, else a copy
    without content (and, for `reference`, with references to the vault's copy)."""
    if mode == REDACTED:
        return request
    if mode not in MODES:
        raise ValueError(f"content_in_forward must be one of {', '.join(MODES)}")
    view = ExportTraceServiceRequest()
    view.CopyFrom(request)
    for span in _spans(view):
        trace_id, span_id = span.trace_id.hex(), span.span_id.hex()
        # A span without its ids cannot be referred to: its content goes without a reference.
        referable = mode == REFERENCE and len(trace_id) == 32 and len(span_id) == 16

        def ref(path: str, trace_id: str = trace_id, span_id: str = span_id) -> str:
            return Reference(tenant, env, trace_id, span_id, path).uri()

        strip_content(span.attributes, ref if referable else None)
        for index, event in enumerate(span.events):
            genai = event.name.startswith(GENAI_EVENT_PREFIX)
            strip_content(event.attributes, (lambda key, i=index: ref(f"event/{i}/{key}")) if referable else None, genai)
    return view


def _spans(request: ExportTraceServiceRequest) -> Iterable[Any]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans
