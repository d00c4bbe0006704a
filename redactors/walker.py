"""The walker: examines every field of OTLP resource spans and resource logs and redacts it in
its shape. Both signals go through the same code: it walks descriptors, not span fields, so a
log record's body, attributes, event name and severity text are judged by the same rules.

Three phases per request, so that NER sees one batch:
1. walk: every field of every message, by its protobuf descriptor (see `redactors/fields.py`:
   a field that a later OTLP version adds is examined too). Fields outside the schema are
   dropped. Attribute keys are examined like values. Each value is classified by its key AND
   its shape: secret key, identifier, URL, structure (a known key whose value has the shape that
   key holds: a number, an enum word, a token; see `redactors/shapes.py`) or content. The first
   four are handled at once; content strings are queued with a setter that writes the result
   back. JSON-string values and structured kvlist/array values are parsed into Python trees and
   walked with the same rules; wholly base64 or hex values are decoded and their text scanned;
   numbers of PII shape (card, SSN, phone digit counts) are masked unless their key holds numbers.
2. redact the queued content strings in one batch (deduplicated). In a list of messages (each
   with a "role"), a user message right after an agent's question for a name, a place or a
   phone number ("What's your last name?") is read as that answer when it is nothing else
   (``redactors.context``): the small model rarely tags a bare "Alvarez". The same holds across
   records: a span's events in time order, and the log records of one trace and span (or, without
   a trace, of one scope) in time order; a question in one record raises the prior on the short
   answer in the next, unless the first is the user's or the second the agent's (roles read from
   the event name, ``event_name`` or a role attribute).
3. write results back, then re-encode every parsed value in reverse order (inner first), in
   the shape it came in: a JSON string stays a JSON string, a kvlist stays a kvlist.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, NamedTuple

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import ResourceLogs
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans

from policies.resolve import CompiledPolicy
from redactors import fields, shapes
from redactors.anyvalue import MAX_DEPTH, any_to_py, py_to_any
from redactors.context import asked_entity, whole_answer
from redactors.detectors.failclosed import FailClosedDetector
from redactors.detectors.secrets import KeyClassifier
from redactors.encoded import Encoded, decode_encoded
from redactors.identifiers import TenantPseudonymizer
from redactors.operators import compile_operators
from redactors.references import is_reference
from redactors.textredact import FAILED_ENTITY, FAILED_TOKEN, SECRET_ENTITY, Finding, RedactedText, TextRedactor, apply_findings
from redactors.urls import IDENTIFIER_ENTITY, redact_url

COUNT_PREFIX = "tracevault.redactions."
SIGNAL_PREFIX = "tracevault.signal."  # set by redactors.signals after the walk; never taken from a client
BLOB_ENTITY = "BLOB"
VECTOR_ENTITY = "EMBEDDING_VECTOR"
BINARY_ENTITY = "BINARY"
MALFORMED_ID_ENTITY = "MALFORMED_ID"
BLOB_TOKEN = "<BLOB_REMOVED>"

# Keys inside message/tool JSON whose values are enumerations, ids or numbers, with the shape
# each must have to be kept as structure.
_STRUCTURAL_FIELDS = {
    "role": shapes.ENUM, "type": shapes.ENUM, "finish_reason": shapes.ENUM, "finish_reasons": shapes.ENUM,
    "mime_type": shapes.TOKEN, "modality": shapes.ENUM, "id": shapes.TOKEN, "tool_call_id": shapes.TOKEN,
    "call_id": shapes.TOKEN, "index": shapes.NUMBER, "model": shapes.TOKEN, "object": shapes.ENUM,
    "created": shapes.NUMBER, "file_id": shapes.TOKEN, "format": shapes.ENUM, "encoding": shapes.ENUM,
    "language": shapes.ENUM,
}  # fmt: skip
_TOOL_TYPES = frozenset({"tool_call", "function", "server_tool_call", "tool_use", "function_call"})
# JSON keys (compared lower-case, separators removed) whose value is an identifier.
_IDENTIFIER_FIELDS = frozenset(
    {"userid", "user", "username", "useremail", "enduserid", "sessionid", "customerid", "accountid",
     "conversationid", "threadid", "clientid", "memberid", "patientid", "employeeid"}
)  # fmt: skip
_DATA_URI = re.compile(r"data:[\w.+\-]+/[\w.+\-]+;base64,", re.IGNORECASE)
_SEGMENT_SEPARATORS = re.compile(r"[-_+~=]")
_USER_ROLES = frozenset({"user", "human", "customer"})
_NUMBER_KINDS = frozenset({"int_value", "double_value", "string_value_strindex"})
# Records whose order is a conversation's: span events, log records.
_RECORD_MESSAGES = frozenset({fields.SPAN_EVENT, fields.LOG_RECORD})
_ROLE_KEYS = frozenset({"event.name", "role", "gen_ai.role", "gen_ai.message.role"})
_USER_RECORD = re.compile(r"(?i)\b(?:user|human|customer)\b")
_AGENT_RECORD = re.compile(r"(?i)\b(?:assistant|choice|system|agent|bot|tool)\b")


class _Record(NamedTuple):
    """A span event or log record: its conversation, time, speaker and queued texts [first, end)."""

    group: tuple[Any, ...]
    time: int
    role: str  # "user", "agent" or "" (unknown)
    first: int
    end: int


class _KeyRoles(NamedTuple):
    """What a trusted attribute key says about its value under the walk's policy."""

    identifier: bool
    vector: bool
    url: bool
    reference: bool
    shape: str | None  # structural_shape


def _record_role(item: Message) -> str:
    names = [getattr(item, "name", ""), getattr(item, "event_name", "")]
    names += [kv.value.string_value for kv in item.attributes if kv.key in _ROLE_KEYS]
    said = " ".join(names)
    if _USER_RECORD.search(said):
        return "user"
    return "agent" if _AGENT_RECORD.search(said) else ""


def _record_group(item: Message, call: int) -> tuple[Any, ...]:
    """Span events: their span (one repeated field). Log records: their trace and span, else their scope."""
    trace_id = getattr(item, "trace_id", b"")
    return ("trace", trace_id, item.span_id) if trace_id else ("call", call)


# What the walker takes: a request's resource spans (traces) or resource logs (logs).
Resources = Sequence[ResourceSpans] | Sequence[ResourceLogs]


def _squash(key: str) -> str:
    return key.replace("_", "").replace("-", "").replace(".", "").lower()


def _looks_like_json(text: str) -> bool:
    stripped = text.lstrip()
    return stripped[:1] in ("{", "[") and len(stripped) >= 2


class _Walk:
    """One request's walk: queued content texts, their setters, re-encoders and count buckets."""

    def __init__(
        self,
        policy: CompiledPolicy,
        pseudo: TenantPseudonymizer,
        rules: KeyClassifier,
        text: TextRedactor,
        secrets_only: bool = False,
        scan_keys: bool = True,
    ) -> None:
        self.policy = policy
        # Escrow mode: PII and identifiers are kept, secrets are still stripped everywhere.
        self.secrets_only = secrets_only
        self.pseudo = pseudo
        self.rules = rules
        self.text = text
        # Fail-closed mode scans nothing: a key is then trusted by its shape alone.
        self.scan_keys = scan_keys
        self.queue: list[tuple[str, Callable[[str], None], Counter[str]]] = []
        self.finalizers: list[Callable[[], None]] = []
        self.buckets: list[tuple[Any, Counter[str]]] = []
        self._key_verdicts: dict[str, bool] = {}
        # Structural values repeat within a request (a model name on every span): each distinct
        # one is looked up in the keyed cache once per walk. Held only while the walk holds the
        # request's text anyway; failed results are not kept.
        self._structural: dict[str, RedactedText] = {}
        self._roles: dict[str, _KeyRoles] = {}  # per trusted key: the policy's key patterns, read once per walk
        # Queue index of a message's text -> the entity the agent's question before it asked for.
        self.answer_hints: dict[int, str] = {}
        self.records: list[_Record] = []

    # -- messages, field by field from their descriptors ----------------------------------------

    def message(self, message: Message, bucket: Counter[str]) -> None:
        for field, value in message.ListFields():
            if field.message_type is not None:
                self._message_field(field, value, bucket)
            elif field.type == FieldDescriptor.TYPE_STRING:
                self._string_field(message, field, value, bucket)
            elif field.type == FieldDescriptor.TYPE_BYTES:
                self._bytes_field(message, field, value, bucket)
            elif fields.is_number(field) and not fields.is_typed_number(field):
                self._number_field(message, field, value, bucket)

    def _message_field(self, field: FieldDescriptor, value: Any, bucket: Counter[str]) -> None:
        name = field.message_type.full_name
        call = len(self.records)
        for item in value if field.is_repeated else [value]:
            if name in _RECORD_MESSAGES:
                group, role, time, before = _record_group(item, call), _record_role(item), item.time_unix_nano, len(self.queue)
            if name == fields.KEY_VALUE:
                self.attribute(item, bucket)
            elif name == fields.ANY_VALUE:
                self.any_value(item, bucket)
            elif fields.counted(field.message_type):
                own: Counter[str] = Counter()
                self.buckets.append((item.attributes, own))
                self.message(item, own)
            else:
                self.message(item, bucket)
            if name in _RECORD_MESSAGES:
                self.records.append(_Record(group, time, role, before, len(self.queue)))

    def _string_field(self, message: Message, field: FieldDescriptor, value: Any, bucket: Counter[str]) -> None:
        rule = fields.string_rule(field)
        for index, text in enumerate(value if field.is_repeated else [value]):
            if field.is_repeated:
                setter = lambda new, i=index: value.__setitem__(i, new)  # noqa: E731
            else:
                setter = lambda new: setattr(message, field.name, new)  # noqa: E731
            if rule == fields.KEY:
                self._key(text, setter, bucket)
            elif rule == fields.TOKEN:
                self._string(text, setter, shapes.TOKEN, bucket, 0)
            elif rule == fields.TRACE_STATE and shapes.is_trace_state(text):
                self._secrets_only(text, setter, bucket)
            elif rule == fields.SCHEMA_URL and shapes.is_schema_url(text):
                self._secrets_only(text, setter, bucket)
            else:
                self._content_string(text, setter, bucket, 0)

    def _bytes_field(self, message: Message, field: FieldDescriptor, value: Any, bucket: Counter[str]) -> None:
        length = fields.id_length(field)
        if length is None or field.is_repeated:
            message.ClearField(field.name)
            bucket[BINARY_ENTITY] += 1
        elif len(value) != length:
            # Not an id of its exact length: replaced by a keyed one (stable, so links still hold).
            setattr(message, field.name, bytes.fromhex(self.pseudo.digest("otlp-id", value.hex()))[:length])
            bucket[MALFORMED_ID_ENTITY] += 1

    def _number_field(self, message: Message, field: FieldDescriptor, value: Any, bucket: Counter[str]) -> None:
        for index, number in enumerate(value if field.is_repeated else [value]):
            entity = shapes.number_entity(number)
            if entity is None or entity not in self.policy.entities or self.secrets_only:
                continue
            if field.is_repeated:
                value[index] = 0
            else:
                setattr(message, field.name, 0)
            bucket[entity] += 1

    # -- attributes: the key, then the value by the key and its shape ----------------------------

    def attribute(self, kv: KeyValue, bucket: Counter[str]) -> None:
        trusted = False
        try:
            trusted = self._key(kv.key, lambda new: setattr(kv, "key", new), bucket)
            if kv.key_strindex:
                self._number_field(kv, kv.DESCRIPTOR.fields_by_name["key_strindex"], kv.key_strindex, bucket)
            self._value(kv.key if trusted else None, kv.key, kv.value, bucket)
        except Exception:  # noqa: BLE001 - fail closed: an attribute we could not walk is dropped, not passed
            kv.value.CopyFrom(AnyValue(string_value=FAILED_TOKEN))
            if not trusted:
                kv.key = FAILED_TOKEN
            bucket[FAILED_ENTITY] += 1

    def any_value(self, value: AnyValue, bucket: Counter[str]) -> None:
        """An AnyValue outside an attribute (a log body): content, as under an unknown key."""
        try:
            self._value(None, "", value, bucket)
        except Exception:  # noqa: BLE001 - fail closed: a body we could not walk is replaced by the failure token, not passed
            value.CopyFrom(AnyValue(string_value=FAILED_TOKEN))
            bucket[FAILED_ENTITY] += 1

    def _key(self, key: str, setter: Callable[[str], None], bucket: Counter[str]) -> bool:
        """Whether `key` is a name to trust; a key that is not is queued as content (renamed)."""
        if not key:
            return True
        verdict = self._key_verdicts.get(key)
        if verdict is None:
            verdict = shapes.is_plain_key(key) and not (
                self.scan_keys and self.text.redact_secrets_only(key, self.policy, self.pseudo).counts
            )
            self._key_verdicts[key] = verdict
        if not verdict:
            self._content_string(key, setter, bucket, 0)
        return verdict

    def _value(self, key: str | None, raw_key: str, value: AnyValue, bucket: Counter[str]) -> None:
        kind = value.WhichOneof("value")
        if kind is None:
            return
        secret_kind = self.rules.key_kind(raw_key) if raw_key else None
        if secret_kind is None and raw_key and kind == "string_value":
            secret_kind = self.rules.pair_kind(raw_key, value.string_value)
        if secret_kind is not None:
            if not (kind == "string_value" and self.rules.is_placeholder(value.string_value, key)):
                value.CopyFrom(AnyValue(string_value=f"<SECRET:{secret_kind}>"))
                bucket[SECRET_ENTITY] += 1
            return
        roles = self._key_roles(key) if key is not None else None
        if roles is not None and self._special(roles, kind, value, bucket):
            return
        shape = roles.shape if roles is not None else None
        if kind == "string_value":
            self._string(value.string_value, lambda new: setattr(value, "string_value", new), shape, bucket, 0)
        elif kind == "bytes_value":
            value.bytes_value = b""
            bucket[BINARY_ENTITY] += 1
        elif kind in _NUMBER_KINDS:
            self._number(getattr(value, kind), lambda new: value.CopyFrom(AnyValue(string_value=new)), shape, bucket)
        elif kind in ("kvlist_value", "array_value"):
            holder = [any_to_py(value)]
            self.finalizers.append(lambda: value.CopyFrom(py_to_any(holder[0])))
            self._node(holder, 0, shape, bucket, 0)

    def _key_roles(self, key: str) -> _KeyRoles:
        roles = self._roles.get(key)
        if roles is None:
            policy = self.policy
            roles = _KeyRoles(policy.is_identifier_key(key), key.endswith("embedding.vector"), policy.is_url_key(key),
                              policy.is_reference_key(key), policy.structural_shape(key))  # fmt: skip
            self._roles[key] = roles
        return roles

    def _special(self, roles: _KeyRoles, kind: str, value: AnyValue, bucket: Counter[str]) -> bool:
        """Identifiers, embedding vectors and URLs, by their key; True when handled."""
        if roles.identifier and not self.secrets_only:
            value.CopyFrom(py_to_any(self._identifier_tree(any_to_py(value), bucket)))
            return True
        if roles.vector:
            value.CopyFrom(AnyValue(array_value=ArrayValue()))
            bucket[VECTOR_ENTITY] += 1
            return True
        if kind == "string_value" and roles.url and not self.secrets_only:
            self._url(value.string_value, lambda new: setattr(value, "string_value", new), bucket)
            return True
        if kind == "string_value" and roles.reference:
            return self._reference(value.string_value, lambda new: setattr(value, "string_value", new), bucket)
        return False

    def _url(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        redacted, counts = redact_url(text, self.pseudo, self.rules)
        setter(self._mask_digit_groups(redacted, bucket))
        bucket.update(counts)

    def _reference(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> bool:
        """A reference to content kept elsewhere (a `*_ref` attribute, an uploaded media URI, a
        message part's `uri`); True when handled. A value that is not a URI, or a data: URI, is
        content: False.

        A tracevault:// reference is kept as it is. Any other URI of a storage or web scheme
        without user info or query keeps its scheme, host and id segments (hex ids, UUIDs); its
        other path segments are scanned as content (a name or an email in a storage key is
        masked). Any other URI gets the URL rules. Secret patterns apply throughout; escrow
        strips only secrets."""
        if not shapes.is_uri(text) or _DATA_URI.match(text):
            return False
        if self.secrets_only or is_reference(text):
            self._secrets_only(text, setter, bucket)
            return True
        parts = shapes.plain_reference_parts(text)
        if parts is None:
            self._url(text, setter, bucket)
            return True
        prefix, segments, fragment = parts
        suffix = f"#{fragment}" if fragment else ""

        def rejoin() -> None:
            joined = prefix + "/".join(segments) + suffix
            setter(joined)
            self._secrets_only(joined, setter, bucket)

        self.finalizers.append(rejoin)
        for index, segment in enumerate(segments):
            if segment and not shapes.is_id_segment(segment):
                # Scanned as words (`Sarah-Connor` is a name); written back as one segment.
                words = _SEGMENT_SEPARATORS.sub(" ", segment)
                self._content_string(words, lambda new, i=index: segments.__setitem__(i, new.replace(" ", "-")), bucket, 0)
        return True

    # -- values -----------------------------------------------------------------------------------

    def _identifier_tree(self, obj: Any, bucket: Counter[str]) -> Any:
        if isinstance(obj, dict):
            # A key that is not a plain name is part of the identifier too.
            return {
                (k if shapes.is_plain_key(k) else self._identifier_tree(k, bucket)): self._identifier_tree(v, bucket)
                for k, v in obj.items()
            }
        if isinstance(obj, list):
            return [self._identifier_tree(v, bucket) for v in obj]
        if obj is None or isinstance(obj, bool) or obj == "":
            return obj
        bucket[IDENTIFIER_ENTITY] += 1
        return self.pseudo.identifier(obj.hex() if isinstance(obj, bytes) else str(obj))

    def _secrets_only(self, text: str, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        result = self._structural.get(text)
        if result is None:
            result = self.text.redact_secrets_only(text, self.policy, self.pseudo)
            if FAILED_ENTITY not in result.counts:
                self._structural[text] = result
        if result.counts:
            setter(result.text)
            bucket.update(result.counts)

    def _string(self, text: str, setter: Callable[[str], None], shape: str | None, bucket: Counter[str], depth: int) -> None:
        """A string under a key of `shape`: structure only when it has that shape, else content."""
        if shape is None or not shapes.string_fits(text, shape):
            self._content_string(text, setter, bucket, depth)
            return
        if shape == shapes.NUMBER:
            return
        if not self.secrets_only:
            # A token holding a card, SSN or phone number: the digits go, the token stays.
            masked = self._mask_digit_groups(text, bucket)
            if masked != text:
                setter(masked)
                text = masked
        self._secrets_only(text, setter, bucket)

    def _mask_digit_groups(self, text: str, bucket: Counter[str]) -> str:
        groups = shapes.pii_digit_groups(text)
        findings = [Finding(start, end, entity, 1.0) for start, end, entity in groups if entity in self.policy.entities]
        if not findings:
            return text
        result = apply_findings(text, findings, compile_operators(self.policy), self.pseudo)
        bucket.update(result.counts)
        return result.text

    def _number(self, number: Any, setter: Callable[[str], None], shape: str | None, bucket: Counter[str]) -> None:
        """A number not under a key that holds numbers: masked when it has a PII's digit count."""
        if shape == shapes.NUMBER or self.secrets_only:
            return
        entity = shapes.number_entity(number)
        if entity is None or entity not in self.policy.entities:
            return
        digits = str(int(number))
        finding = Finding(0, len(digits), entity, 1.0)
        setter(compile_operators(self.policy).for_finding(finding).apply(finding, digits, self.pseudo))
        bucket[entity] += 1

    def _content_string(self, text: str, setter: Callable[[str], None], bucket: Counter[str], depth: int) -> None:
        if not text or text.isspace():
            return
        if _DATA_URI.match(text):
            setter(BLOB_TOKEN)
            bucket[BLOB_ENTITY] += 1
            return
        if _looks_like_json(text) and self._json_string(text, setter, bucket, depth):
            return
        encoded = decode_encoded(text)
        if encoded is not None:
            self._encoded(encoded, setter, bucket)
            return
        stripped = text.strip()
        if stripped.isascii() and stripped.isdigit() and not self.secrets_only:
            entity = shapes.digits_entity(stripped)
            if entity is not None and entity in self.policy.entities:
                self._number(int(stripped), setter, None, bucket)
                return
        if self.secrets_only:
            self._secrets_only(text, setter, bucket)
        else:
            self.queue.append((text, setter, bucket))

    def _json_string(self, text: str, setter: Callable[[str], None], bucket: Counter[str], depth: int) -> bool:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return False
        if not isinstance(parsed, (dict, list)):
            return False
        holder = [parsed]
        # Registered before walking: finalizers run in reverse, so this re-encoding runs after
        # everything nested inside it has been written back.
        self.finalizers.append(lambda: setter(json.dumps(holder[0], ensure_ascii=False)))
        self._node(holder, 0, None, bucket, depth + 1)
        return True

    def _encoded(self, encoded: Encoded, setter: Callable[[str], None], bucket: Counter[str]) -> None:
        """Base64 or hex: a binary blob is dropped; decoded text holding anything drops the value."""

        def drop(_: str = "") -> None:
            setter(BLOB_TOKEN)
            bucket[BLOB_ENTITY] += 1

        if encoded.text is None:
            drop()
        elif self.secrets_only:
            self._secrets_only(encoded.text, drop, bucket)
        else:
            self.queue.append((encoded.text, drop, bucket))

    def _node(self, container: list | dict, slot: Any, shape: str | None, bucket: Counter[str], depth: int) -> None:
        """Walk container[slot], replacing values in place (or via queued setters)."""
        if depth > MAX_DEPTH:
            container[slot] = FAILED_TOKEN
            bucket[FAILED_ENTITY] += 1
            return
        obj = container[slot]

        def setter(new: str) -> None:
            container[slot] = new

        if obj is None or isinstance(obj, bool):
            return
        if isinstance(obj, str):
            self._string(obj, setter, shape, bucket, depth)
        elif isinstance(obj, bytes):
            container[slot] = b""
            bucket[BINARY_ENTITY] += 1
        elif isinstance(obj, (int, float)):
            self._number(obj, setter, shape, bucket)
        elif isinstance(obj, list):
            # A list keeps an enum's or a token's shape for its elements (finish reasons), not a
            # number's: a count is one number, a list under a count's key is content.
            element_shape = None if shape == shapes.NUMBER else shape
            turns: list[tuple[str, int, int]] = []  # (role, first and end queue index) per message
            for index in range(len(obj)):
                before = len(self.queue)
                self._node(obj, index, element_shape, bucket, depth + 1)
                role = obj[index].get("role") if isinstance(obj[index], dict) else None
                if isinstance(role, str):
                    turns.append((role.lower(), before, len(self.queue)))
            self._link_turns(turns)
        elif isinstance(obj, dict):
            # A map is never the shape of a number, an enum or a token: its fields are judged
            # by their own keys (an array keeps its key's shape for its elements).
            self._object(obj, bucket, depth)

    def _object(self, obj: dict, bucket: Counter[str], depth: int) -> None:
        toolish = obj.get("type") in _TOOL_TYPES or "arguments" in obj or "parameters" in obj
        is_blob = obj.get("type") == "blob"
        renames: dict[str, str] = {}
        # Before the children: keys are renamed after their values were written back.
        self.finalizers.append(lambda: _rename_keys(obj, renames))
        for key in list(obj):
            value = obj[key]
            self._key(key, lambda new, old=key: renames.__setitem__(old, new), bucket)
            secret_kind = self.rules.key_kind(key)
            if secret_kind is None and isinstance(value, str):
                secret_kind = self.rules.pair_kind(key, value)  # {"honeycomb_writekey": "..."}
            if secret_kind is not None:
                if value is not None and not (isinstance(value, str) and self.rules.is_placeholder(value, key)):
                    obj[key] = f"<SECRET:{secret_kind}>"
                    bucket[SECRET_ENTITY] += 1
                continue
            squashed = _squash(key)
            if squashed in _IDENTIFIER_FIELDS and not isinstance(value, (dict, list)) and not self.secrets_only:
                obj[key] = self._identifier_tree(value, bucket)
            elif key == "uri" and isinstance(value, str) and self._reference(value, lambda new, k=key: obj.__setitem__(k, new), bucket):
                continue
            elif is_blob and key == "content":
                obj[key] = BLOB_TOKEN
                bucket[BLOB_ENTITY] += 1
            elif squashed.endswith("vector") and isinstance(value, list):
                obj[key] = []
                bucket[VECTOR_ENTITY] += 1
            else:
                field_shape = _STRUCTURAL_FIELDS.get(key) or (shapes.TOKEN if toolish and key == "name" else None)
                self._node(obj, key, field_shape, bucket, depth + 1)

    def _link_turns(self, turns: list[tuple[str, int, int]]) -> None:
        """Conversation context: a user message right after an agent's question for a name, a
        place or a phone number is read as the answer (``redactors.context``)."""
        for (role, first, end), (next_role, answer_first, answer_end) in zip(turns, turns[1:]):
            if role in _USER_ROLES or next_role not in _USER_ROLES or end == first or answer_end - answer_first != 1:
                continue
            entity = asked_entity(self.queue[end - 1][0], self.policy.entities)
            if entity is not None:
                self.answer_hints[answer_first] = entity

    def _link_records(self) -> None:
        """Conversation context across span events and log records: in each conversation, in time
        order, a record asking for a name, a place or a phone number, then the next record's texts."""
        groups: dict[tuple[Any, ...], list[_Record]] = defaultdict(list)
        for record in self.records:
            groups[record.group].append(record)
        for records in groups.values():
            records.sort(key=lambda r: r.time)
            for asking, answering in zip(records, records[1:]):
                if asking.role == "user" or answering.role == "agent":
                    continue
                asked = (asked_entity(self.queue[i][0], self.policy.entities) for i in range(asking.end - 1, asking.first - 1, -1))
                entity = next((e for e in asked if e is not None), None)
                for index in range(answering.first, answering.end) if entity is not None else ():
                    self.answer_hints.setdefault(index, entity)

    # -- phases 2 and 3 ----------------------------------------------------------------------

    def finish(self) -> None:
        self._link_records()
        unique = list(dict.fromkeys(text for text, _, _ in self.queue))
        results: dict[str, RedactedText] = {}
        if unique:
            results = dict(zip(unique, self.text.redact_many(unique, self.policy, self.pseudo)))
        for index, (text, setter, bucket) in enumerate(self.queue):
            result = results[text]
            if not result.counts and index in self.answer_hints:
                result = self._answer(text, self.answer_hints[index])
            if result.counts:
                setter(result.text)
                bucket.update(result.counts)
        for finalize in reversed(self.finalizers):
            finalize()


    def _answer(self, text: str, entity: str) -> RedactedText:
        """The answer to the question before, masked when the whole text is a short answer."""
        span = whole_answer(text, entity)
        if span is None:
            return RedactedText(text, Counter())
        return apply_findings(text, [Finding(*span, entity, 0.7)], compile_operators(self.policy), self.pseudo)


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


class _NoSecretKeys:
    """Classifies no key as a secret's: when nothing may be scanned, every value is masked anyway."""

    def key_kind(self, key: str) -> str | None:
        return None

    def pair_kind(self, key: str, value: str) -> str | None:
        return None


def fail_closed(items: Resources, policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> Counter[str]:
    """Mask every string value of every span or log record, in place: the fail-closed answer when redaction
    did not finish. Identifiers still become pseudonyms (a keyed hash cannot hang); URLs and
    structural strings are masked like content, since nothing may be scanned. Keys are kept
    only when their shape alone makes them names; numbers are masked by their digit shape.
    References are masked too: keeping one needs its URI checked."""
    structure_free = replace(policy, url_keys=None, structural_keys=None, enum_keys=None, reference_keys=None)
    walk = _Walk(structure_free, pseudo, _NoSecretKeys(), TextRedactor([FailClosedDetector()]), scan_keys=False)
    return _walk_all(walk, items)


def redact_resources(
    items: Resources,
    policy: CompiledPolicy,
    pseudo: TenantPseudonymizer,
    rules: KeyClassifier,
    text: TextRedactor,
    secrets_only: bool = False,
) -> Counter[str]:
    """Redact resource spans or resource logs in place; return the total counts per entity type.

    With `secrets_only`, only secrets (and blobs, vectors, binary values) are removed: the
    escrow copy for payload mode `original`.
    """
    return _walk_all(_Walk(policy, pseudo, rules, text, secrets_only), items)


# The traces name, kept for its many callers; the same function redacts resource logs.
redact_resource_spans = redact_resources


def _walk_all(walk: _Walk, items: Resources) -> Counter[str]:
    for resource in items:
        # Fields outside our schema (a newer OTLP, a crafted client) are never passed on.
        resource.DiscardUnknownFields()
        resource_bucket: Counter[str] = Counter()
        walk.buckets.append((resource.resource.attributes, resource_bucket))
        walk.message(resource, resource_bucket)
    walk.finish()
    total: Counter[str] = Counter()
    for attributes, counts in walk.buckets:
        _set_counts(attributes, counts)
        total.update(counts)
    return total
