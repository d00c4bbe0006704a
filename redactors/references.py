"""What forwarded records carry in their GenAI content (policy `content_in_forward`), and the
`tracevault://` references that stand in for it.

- `redacted`: the redacted records as they are (the default).
- `reference`: every content attribute (one table, `CONTENT_KEYS`) is removed and replaced by a
  `<key>_ref` attribute holding an opaque URI of the content kept in the vault:
  ``tracevault://<tenant>/<env>/<trace_id>/<span_id>#<attribute>``; an attribute of the span's
  event ``i``: ``#event/<i>/<attribute>``; a log record emitted in the span at ``<time>`` (its
  ``time_unix_nano``, else its observed time): ``#log/<time>/attributes/<attribute>``,
  ``#log/<time>/body`` or ``#log/<time>/body/<key>``. `tracevault payload get --ref` and the
  admin listener resolve it, behind a grant and audited.
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

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
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
_KEY = r"[a-z0-9_][a-z0-9_.\-]{0,254}"
# The fragment: a span attribute, an attribute of the span's event i, or a part of the log record
# emitted in the span at a time (its time_unix_nano, else its observed time).
_PATHS = (
    ("span", re.compile(rf"()({_KEY})")),
    ("event", re.compile(rf"event/(\d{{1,4}})/({_KEY})")),
    ("log_attribute", re.compile(rf"log/(\d{{1,20}})/attributes/({_KEY})")),
    ("log_body_entry", re.compile(rf"log/(\d{{1,20}})/body/({_KEY})")),
    ("log_body", re.compile(r"log/(\d{1,20})/(body)")),
)
BODY_REF = "body_ref"
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

    def locate(self) -> tuple[str, int | None, str]:
        """(kind, event index or log time, key): kind is span, event, log_attribute,
        log_body_entry or log_body (whose key is "body")."""
        return _locate(self.path)


def _locate(path: str) -> tuple[str, int | None, str]:
    for kind, pattern in _PATHS:
        match = pattern.fullmatch(path)
        if match:
            number, key = match.groups()
            return kind, int(number) if number else None, key
    raise ReferenceError(
        "not a tracevault reference: its fragment must name an attribute, event/<i>/<attribute>, "
        "log/<time>/attributes/<attribute>, log/<time>/body or log/<time>/body/<key>"
    )


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
    _locate(path)
    return Reference(match.group("tenant"), match.group("env"), match.group("trace_id"), match.group("span_id"), path)


def is_reference(text: str) -> bool:
    """Whether `text` is a well-formed tracevault reference."""
    try:
        parse_reference(text)
    except ReferenceError:
        return False
    return True


def find_value(document: dict[str, Any], reference: Reference) -> dict[str, Any] | None:
    """The stored OTLP/JSON AnyValue the reference names in a payload document (a span's or a
    log record's), or None."""
    kind, number, key = reference.locate()
    if kind in ("span", "event"):
        holder = _item(document.get("span"), "events", number) if kind == "event" else document.get("span")
        return _attribute(holder, key)
    record = document.get("log_record")
    if not isinstance(record, dict) or _log_time(record) != number:
        return None
    if kind == "log_attribute":
        return _attribute(record, key)
    body = record.get("body")
    if kind == "log_body":
        return body if isinstance(body, dict) else None
    values = body.get("kvlistValue", {}).get("values") if isinstance(body, dict) else None
    return _attribute({"attributes": values}, key)


def _item(holder: Any, field: str, index: int | None) -> Any:
    items = holder.get(field) if isinstance(holder, dict) else None
    return items[index] if isinstance(items, list) and index is not None and index < len(items) else None


def _attribute(holder: Any, key: str) -> dict[str, Any] | None:
    attributes = holder.get("attributes") if isinstance(holder, dict) else None
    for kv in attributes if isinstance(attributes, list) else []:
        if isinstance(kv, dict) and kv.get("key") == key:
            value = kv.get("value")
            return value if isinstance(value, dict) else {}
    return None


def _log_time(record: dict[str, Any]) -> int:
    try:
        return int(record.get("timeUnixNano") or 0) or int(record.get("observedTimeUnixNano") or 0)
    except (TypeError, ValueError):
        return 0


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


def _copy(request: ExportTraceServiceRequest | ExportLogsServiceRequest, mode: str) -> Any:
    """A copy of the request to strip content from, once the mode is known to be valid."""
    if mode not in MODES:
        raise ValueError(f"content_in_forward must be one of {', '.join(MODES)}")
    view = type(request)()
    view.CopyFrom(request)
    return view


def traces_view(request: ExportTraceServiceRequest, mode: str, tenant: str, env: str) -> ExportTraceServiceRequest:
    """The request as forwarded under `mode`: the request itself for `redacted`, else a copy
    without content (and, for `reference`, with references to the vault's copy)."""
    if mode == REDACTED:
        return request
    view = _copy(request, mode)
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


def logs_view(request: ExportLogsServiceRequest, mode: str, tenant: str, env: str) -> ExportLogsServiceRequest:
    """As `traces_view`, for log records. A GenAI event's body is content too: a map body loses
    its content entries (`content`, `message`, ...; `role` stays), any other body is removed, with
    a `body_ref` attribute in its place. Other log records keep their bodies as redacted."""
    if mode == REDACTED:
        return request
    view = _copy(request, mode)
    for record in _log_records(view):
        trace_id, span_id = record.trace_id.hex(), record.span_id.hex()
        time = record.time_unix_nano or record.observed_time_unix_nano
        referable = mode == REFERENCE and len(trace_id) == 32 and len(span_id) == 16 and time > 0

        def ref(path: str, trace_id: str = trace_id, span_id: str = span_id, time: int = time) -> str:
            return Reference(tenant, env, trace_id, span_id, f"log/{time}/{path}").uri()

        genai = record.event_name.startswith(GENAI_EVENT_PREFIX)
        strip_content(record.attributes, (lambda key: ref(f"attributes/{key}")) if referable else None, genai)
        if genai and record.body.WhichOneof("value") is not None:
            _strip_body(record, ref if referable else None)
    return view


def _strip_body(record: Any, ref: Callable[[str], str] | None) -> None:
    if record.body.WhichOneof("value") == "kvlist_value":
        strip_content(record.body.kvlist_value.values, (lambda key: ref(f"body/{key}")) if ref else None, genai_event=True)
        return
    record.ClearField("body")
    if ref is not None and BODY_REF not in {kv.key for kv in record.attributes}:
        record.attributes.add(key=BODY_REF, value=AnyValue(string_value=ref("body")))


def _log_records(request: ExportLogsServiceRequest) -> Iterable[Any]:
    for resource_logs in request.resource_logs:
        for scope_logs in resource_logs.scope_logs:
            yield from scope_logs.log_records


def _spans(request: ExportTraceServiceRequest) -> Iterable[Any]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans
