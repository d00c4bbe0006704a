"""The span walker: finds every string in OTLP resource spans and redacts it in its shape.

Three phases per request, so that NER sees one batch:
1. walk: classify every value by its key (secret, identifier, URL, structural, content); handle
   the first four at once; queue content strings with a setter that writes the result back.
   JSON-string values and structured kvlist/array values are parsed into Python trees and walked
   with the same rules.
2. redact the queued content strings in one batch (deduplicated).
3. write results back, then re-encode every parsed value in reverse order (inner first), in
   the shape it came in: a JSON string stays a JSON string, a kvlist stays a kvlist.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from policies.resolve import CompiledPolicy
from redactors.identifiers import TenantPseudonymizer
from redactors.secrets import SecretRules
from redactors.textredact import FAILED_ENTITY, FAILED_TOKEN, SECRET_ENTITY, RedactedText, TextRedactor
from redactors.urls import IDENTIFIER_ENTITY, redact_url

COUNT_PREFIX = "tracevault.redactions."
SIGNAL_PREFIX = "tracevault.signal."  # set by redactors.signals after the walk; never taken from a client
BLOB_ENTITY = "BLOB"
VECTOR_ENTITY = "EMBEDDING_VECTOR"
BINARY_ENTITY = "BINARY"
BLOB_TOKEN = "<BLOB_REMOVED>"
MAX_DEPTH = 64

# Keys inside message/tool JSON whose values are enumerations or ids, not free text.
_STRUCTURAL_FIELDS = frozenset(
    {"role", "type", "finish_reason", "finish_reasons", "mime_type", "modality", "id", "tool_call_id",
     "call_id", "index", "model", "object", "created", "file_id", "format", "encoding", "language"}
)  # fmt: skip
_TOOL_TYPES = frozenset({"tool_call", "function", "server_tool_call", "tool_use", "function_call"})
# JSON keys (compared lower-case, separators removed) whose value is an identifier.
_IDENTIFIER_FIELDS = frozenset(
    {"userid", "user", "username", "useremail", "enduserid", "sessionid", "customerid", "accountid",
     "conversationid", "threadid", "clientid", "memberid", "patientid", "employeeid"}
)  # fmt: skip
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_DATA_URI = re.compile(r"data:[\w.+\-]+/[\w.+\-]+;base64,", re.IGNORECASE)


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").replace(".", "").lower()


def any_to_py(value: AnyValue, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise RecursionError("value nested too deeply")
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: any_to_py(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [any_to_py(v, depth + 1) for v in value.array_value.values]
    if kind is None:
        return None
    return getattr(value, kind)


def py_to_any(obj: Any) -> AnyValue:
    if obj is None:
        return AnyValue()
    if isinstance(obj, bool):
        return AnyValue(bool_value=obj)
    if isinstance(obj, int):
        return AnyValue(int_value=obj)
    if isinstance(obj, float):
        return AnyValue(double_value=obj)
    if isinstance(obj, bytes):
        return AnyValue(bytes_value=obj)
    if isinstance(obj, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=py_to_any(v)) for k, v in obj.items()]))
    if isinstance(obj, list):
        return AnyValue(array_value=ArrayValue(values=[py_to_any(v) for v in obj]))
    return AnyValue(string_value=str(obj))


def _looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("{", "[") and len(stripped) >= 2


class _Walk:
    """One request's walk: queued content texts, their setters, and re-encoders."""

    def __init__(
        self,
        policy: CompiledPolicy,
        pseudo: TenantPseudonymizer,
        rules: SecretRules,
        text: TextRedactor,
        secrets_only: bool = False,
    ) -> None:
        self.policy = policy
        # Escrow mode: PII and identifiers are kept, secrets are still stripped everywhere.
        self.secrets_only = secrets_only
        self.pseudo = pseudo
        self.rules = rules
        self.text = text
        self.queue: list[tuple[str, Callable[[str], None], Counter[str]]] = []
        self.finalizers: list[Callable[[], None]] = []

    # -- phase 1: top-level attributes, classified by their full key -------------------------

    def attribute(self, kv: KeyValue, bucket: Counter[str]) -> None:
        try:
            self._attribute(kv.key, kv.value, bucket)
        except Exception:  # fail closed: an attribute we could not walk is dropped, not passed
            kv.value.CopyFrom(AnyValue(string_value=FAILED_TOKEN))
            bucket[FAILED_ENTITY] += 1

    def _attribute(self, key: str, value: AnyValue, bucket: Counter[str]) -> None:
        kind = value.WhichOneof("value")
        if kind is None:
            return
        secret_kind = self.rules.key_kind(key)
        if secret_kind is not None:
            if not (kind == "string_value" and value.string_value == ""):
                value.CopyFrom(AnyValue(string_value=f"<SECRET:{secret_kind}>"))
                bucket[SECRET_ENTITY] += 1
            return
        if self.policy.is_identifier_key(key) and not self.secrets_only:
            value.CopyFrom(py_to_any(self._identifier_tree(any_to_py(value), bucket)))
            return
        if key.endswith(".embedding.vector") or key.endswith("embedding.vector"):
            value.CopyFrom(AnyValue(array_value=ArrayValue()))
            bucket[VECTOR_ENTITY] += 1
            return
        if kind == "string_value" and self.policy.is_url_key(key) and not self.secrets_only:
            redacted, counts = redact_url(value.string_value, self.pseudo, self.rules)
            value.string_value = redacted
            bucket.update(counts)
            return
        structural = self.policy.is_structural_key(key)
        if kind == "string_value":
            if structural:
                self._secrets_only(value.string_value, lambda new: setattr(value, "string_value", new), bucket)
            else:
                self._content_string(value.string_value, lambda new: setattr(value, "string_value", new), bucket, 0)
        elif kind == "bytes_value":
            value.bytes_value = b""
            bucket[BINARY_ENTITY] += 1
        elif kind in ("kvlist_value", "array_value"):
            holder = [any_to_py(value)]
            self.finalizers.append(lambda: value.CopyFrom(py_to_any(holder[0])))
            self._node(holder, 0, structural, bucket, 0)

    def plain_content(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        """Span names and status messages: free text (a JSON-looking one is parsed too)."""
        self._content_string(text, setter, bucket, 0)

    def structural_string(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        self._secrets_only(text, setter, bucket)

    # -- values inside parsed trees ---------------------------------------------------------

    def _identifier_tree(self, obj: Any, bucket: Counter[str]) -> Any:
        if isinstance(obj, dict):
            return {k: self._identifier_tree(v, bucket) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._identifier_tree(v, bucket) for v in obj]
        if obj is None or isinstance(obj, bool) or obj == "":
            return obj
        bucket[IDENTIFIER_ENTITY] += 1
        return self.pseudo.identifier(obj.hex() if isinstance(obj, bytes) else str(obj))

    def _secrets_only(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        result = self.text.redact_secrets_only(text, self.policy, self.pseudo)
        if result.counts:
            setter(result.text)
            bucket.update(result.counts)

    def _content_string(self, text: str, setter: Callable[[str], None], bucket: Counter[str], depth: int) -> None:
        if not text or text.isspace():
            return
        if _DATA_URI.match(text):
            setter(BLOB_TOKEN)
            bucket[BLOB_ENTITY] += 1
            return
        if _looks_like_json(text):
            try:
                parsed = json.loads(text)
            except (ValueError, RecursionError):
                parsed = None
            if isinstance(parsed, (dict, list)):
                holder = [parsed]
                # Registered before walking: finalizers run in reverse, so this re-encoding
                # runs after everything nested inside it has been written back.
                self.finalizers.append(lambda: setter(json.dumps(holder[0], ensure_ascii=False)))
                self._node(holder, 0, False, bucket, depth + 1)
                return
        if self.secrets_only:
            self._secrets_only(text, setter, bucket)
        else:
            self.queue.append((text, setter, bucket))

    def _node(self, container: list | dict, slot: Any, structural: bool, bucket: Counter[str], depth: int) -> None:
        """Walk container[slot], replacing values in place (or via queued setters)."""
        if depth > MAX_DEPTH:
            container[slot] = FAILED_TOKEN
            bucket[FAILED_ENTITY] += 1
            return
        obj = container[slot]

        def setter(new: str) -> None:
            container[slot] = new

        if isinstance(obj, str):
            if structural:
                self._secrets_only(obj, setter, bucket)
            else:
                self._content_string(obj, setter, bucket, depth)
        elif isinstance(obj, bytes):
            container[slot] = b""
            bucket[BINARY_ENTITY] += 1
        elif isinstance(obj, list):
            for index in range(len(obj)):
                self._node(obj, index, structural, bucket, depth + 1)
        elif isinstance(obj, dict):
            self._object(obj, structural, bucket, depth)

    def _object(self, obj: dict, structural: bool, bucket: Counter[str], depth: int) -> None:
        toolish = obj.get("type") in _TOOL_TYPES or "arguments" in obj or "parameters" in obj
        is_blob = obj.get("type") == "blob"
        renames: dict[str, str] = {}
        if not structural:
            # Before the children: keys are renamed after their values were written back.
            self.finalizers.append(lambda: _rename_keys(obj, renames))
        for key in list(obj):
            value = obj[key]
            secret_kind = self.rules.key_kind(key)
            if secret_kind is not None:
                if value not in (None, ""):
                    obj[key] = f"<SECRET:{secret_kind}>"
                    bucket[SECRET_ENTITY] += 1
                continue
            squashed = _squash(key)
            if squashed in _IDENTIFIER_FIELDS and not isinstance(value, (dict, list)) and not self.secrets_only:
                obj[key] = self._identifier_tree(value, bucket)
            elif is_blob and key == "content":
                obj[key] = BLOB_TOKEN
                bucket[BLOB_ENTITY] += 1
            elif squashed.endswith("vector") and isinstance(value, list):
                obj[key] = []
                bucket[VECTOR_ENTITY] += 1
            else:
                field_structural = structural or key in _STRUCTURAL_FIELDS or (toolish and key == "name")
                self._node(obj, key, field_structural, bucket, depth + 1)
            if not structural and not self.secrets_only and not _PLAIN_KEY.fullmatch(key):
                # A key that is not a plain identifier may itself be content ({"jane@x.com": 3}).
                self.queue.append((key, lambda new, old=key: renames.__setitem__(old, new), bucket))

    # -- phases 2 and 3 ----------------------------------------------------------------------

    def finish(self) -> None:
        unique = list(dict.fromkeys(text for text, _, _ in self.queue))
        results: dict[str, RedactedText] = {}
        if unique:
            results = dict(zip(unique, self.text.redact_many(unique, self.policy, self.pseudo)))
        for text, setter, bucket in self.queue:
            result = results[text]
            if result.counts:
                setter(result.text)
                bucket.update(result.counts)
        for finalize in reversed(self.finalizers):
            finalize()


def _rename_keys(obj: dict, renames: dict[str, str]) -> None:
    if not renames:
        return
    items = list(obj.items())
    obj.clear()
    for key, value in items:
        new_key = renames.get(key, key)
        while new_key in obj:  # two keys masked to the same tag must not overwrite each other
            new_key += "_"
        obj[new_key] = value


def _set_counts(attributes: Any, counts: Counter[str]) -> None:
    """Replace any incoming tracevault.redactions.* attributes with this hop's counts (and drop
    incoming tracevault.signal.* ones: only this hop's measurements may carry that name)."""
    kept = [kv for kv in attributes if not kv.key.startswith((COUNT_PREFIX, SIGNAL_PREFIX))]
    if len(kept) != len(attributes):
        del attributes[:]
        attributes.extend(kept)
    for entity in sorted(counts):
        attributes.add(key=COUNT_PREFIX + entity, value=AnyValue(int_value=counts[entity]))


class _FailEverything:
    """Stands in for the text redactor when detection cannot finish (a deadline passed): every
    string value is replaced, none is scanned. Nothing here runs a regex or a model."""

    def redact_many(self, texts: list[str], policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> list[RedactedText]:
        return [RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1})) for _ in texts]

    def redact_secrets_only(self, text: str, policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> RedactedText:
        return RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1}))


class _NoSecretKeys:
    def key_kind(self, key: str) -> str | None:
        return None


def fail_closed(items: list[ResourceSpans], policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> Counter[str]:
    """Mask every string value of every span, in place: the fail-closed answer when redaction
    did not finish. Identifiers still become pseudonyms (a keyed hash cannot hang); URLs and
    structural values are masked like content, since nothing may be scanned."""
    structure_free = replace(policy, url_keys=None, structural_keys=None)
    walk = _Walk(structure_free, pseudo, _NoSecretKeys(), _FailEverything())  # type: ignore[arg-type]
    return _walk_all(walk, items)


def redact_resource_spans(
    items: list[ResourceSpans],
    policy: CompiledPolicy,
    pseudo: TenantPseudonymizer,
    rules: SecretRules,
    text: TextRedactor,
    secrets_only: bool = False,
) -> Counter[str]:
    """Redact resource spans in place; return the total counts per entity type.

    With `secrets_only`, only secrets (and blobs, vectors, binary values) are removed: the
    escrow copy for payload mode `original`.
    """
    return _walk_all(_Walk(policy, pseudo, rules, text, secrets_only), items)


def _walk_all(walk: _Walk, items: list[ResourceSpans]) -> Counter[str]:
    buckets: list[tuple[Any, Counter[str]]] = []
    for resource_spans in items:
        resource_bucket: Counter[str] = Counter()
        buckets.append((resource_spans.resource.attributes, resource_bucket))
        for kv in resource_spans.resource.attributes:
            walk.attribute(kv, resource_bucket)
        for scope_spans in resource_spans.scope_spans:
            for kv in scope_spans.scope.attributes:
                walk.attribute(kv, resource_bucket)
            for span in scope_spans.spans:
                bucket: Counter[str] = Counter()
                buckets.append((span.attributes, bucket))
                _walk_span(walk, span, bucket)
    walk.finish()
    total: Counter[str] = Counter()
    for attributes, counts in buckets:
        _set_counts(attributes, counts)
        total.update(counts)
    return total


def _walk_span(walk: _Walk, span: Any, bucket: Counter[str]) -> None:
    walk.plain_content(span.name, lambda new: setattr(span, "name", new), bucket)
    if span.status.message:
        walk.plain_content(span.status.message, lambda new: setattr(span.status, "message", new), bucket)
    if span.trace_state:
        walk.structural_string(span.trace_state, lambda new: setattr(span, "trace_state", new), bucket)
    for kv in span.attributes:
        walk.attribute(kv, bucket)
    for event in span.events:
        walk.structural_string(event.name, lambda new, e=event: setattr(e, "name", new), bucket)
        for kv in event.attributes:
            walk.attribute(kv, bucket)
    for link in span.links:
        if link.trace_state:
            walk.structural_string(link.trace_state, lambda new, lk=link: setattr(lk, "trace_state", new), bucket)
        for kv in link.attributes:
            walk.attribute(kv, bucket)
