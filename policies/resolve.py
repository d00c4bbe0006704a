"""Resolve the policy chain (built-in -> defaults -> tenant -> environment) into compiled policies.

Compilation happens once per (tenant, env) and is cached: key globs become one precompiled
regex each, so the per-span path only does dictionary look-ups and regex matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from policies.config import Config, ContentInForward, Method, PayloadMode, PolicySpec
from policies.tenants import validate_id

# Entities the detectors can find. A policy naming anything else is refused at start-up.
SUPPORTED_ENTITIES: frozenset[str] = frozenset(
    {
        "PERSON",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "US_SSN",
        "IBAN_CODE",
        "IP_ADDRESS",
        "LOCATION",
        "ORGANIZATION",
        "URL",
    }
)
NER_ENTITIES: frozenset[str] = frozenset({"PERSON", "LOCATION", "ORGANIZATION"})

BUILTIN_POLICY = PolicySpec(
    entities=[
        "PERSON",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "US_SSN",
        "IBAN_CODE",
        "IP_ADDRESS",
        "LOCATION",
    ],
    score_threshold=0.4,
    default_method="replace",
    methods={},
    identifier_keys=[],
    secret_key_names=[],
    known_secrets_file="",
    structural_keys=[],
    payload_mode="redacted",
    content_in_forward="redacted",
    payload_days=30,
    metrics_days=400,
    audit_days=730,
)

# Whole-value identifiers: replaced by a keyed pseudonym, never scanned as text.
BUILTIN_IDENTIFIER_KEYS: tuple[str, ...] = (
    "user.id",
    "user.name",
    "user.full_name",
    "user.email",
    "user.hash",
    "enduser.id",
    "enduser.pseudo.id",
    "session.id",
    "session.previous_id",
    "gen_ai.conversation.id",
    "gen_ai.user",
    "llm.user",
    "client.address",
    "langfuse.user.id",
    "langfuse.session.id",
    "traceloop.association.properties.*user*",
    "traceloop.association.properties.*session*",
    "traceloop.association.properties.*email*",
    "traceloop.association.properties.*customer*",
    "traceloop.association.properties.*account*",
    "traceloop.association.properties.*conversation*",
    "traceloop.association.properties.*thread*",
)

# Values that are URLs: query values and id-like path segments are pseudonymised.
BUILTIN_URL_KEYS: tuple[str, ...] = ("url.full", "url.query", "url.path", "http.url", "http.target")

# Keys that hold typed values, each with the shape its value must have to count as structure
# (the shape names are those of redactors/shapes.py). Structure is never PII-scanned (secret
# patterns still apply to strings), so that model names, roles, tool names, ids and counts
# reach the next hop intact. A value that does not have its key's shape is content.

# Numbers: counts, token numbers, ports, status codes, scores, durations. Kept as they are.
BUILTIN_NUMBER_KEYS: tuple[str, ...] = (
    "gen_ai.usage.*",
    "gen_ai.request.max_tokens",
    "gen_ai.request.temperature",
    "gen_ai.request.top_p",
    "gen_ai.request.top_k",
    "gen_ai.request.frequency_penalty",
    "gen_ai.request.presence_penalty",
    "gen_ai.request.seed",
    "gen_ai.request.choice.count",
    "gen_ai.request.stream",
    "gen_ai.response.time_to_first_chunk",
    "server.port",
    "client.port",
    "http.status_code",
    "http.response.status_code",
    "rpc.grpc.status_code",
    "code.lineno",
    "code.line.number",
    "code.column",
    "code.column.number",
    "llm.token_count.*",
    "llm.cost.*",
    "llm.usage.*",
    "llm.is_streaming",
    "retrieval.documents.*.document.score",
    "reranker.*.document.score",
    "reranker.top_k",
    "tracevault.redactions.*",
    "*_count",
    "*.count",
    "*_tokens",
    "*.tokens",
    "*_ms",
    "*.duration",
    "*_seconds",
    "*.size",
    "*_bytes",
)

# Enumerations: short lower-case words.
BUILTIN_ENUM_KEYS: tuple[str, ...] = (
    "gen_ai.operation.name",
    "gen_ai.provider.name",
    "gen_ai.system",
    "gen_ai.output.type",
    "gen_ai.tool.type",
    "gen_ai.response.finish_reasons",
    "gen_ai.request.encoding_formats",
    "gen_ai.prompt.*.role",
    "gen_ai.completion.*.role",
    "gen_ai.completion.*.finish_reason",
    "llm.input_messages.*.message.role",
    "llm.output_messages.*.message.role",
    "llm.provider",
    "llm.system",
    "llm.request.type",
    "input.mime_type",
    "output.mime_type",
    "traceloop.span.kind",
)

# References to content kept elsewhere (GenAI content pattern 3, docs/conventions.md): the
# `*_ref` attributes (`gen_ai.input.messages_ref`, ...) and the media URIs that OpenInference's
# blob upload writes in place of base64 data. A plain URI under them (a known scheme, no user
# info, no query, no @ or PII-shaped digits) is kept; any other URI gets the URL rules; a value
# that is not a URI is content.
BUILTIN_REFERENCE_KEYS: tuple[str, ...] = (
    "*_ref",
    "*.image.url",
    "*.audio.url",
    "*.video.url",
    "*.file.url",
)

# Tokens: short identifier-like strings without spaces (model and tool names, ids, versions).
BUILTIN_STRUCTURAL_KEYS: tuple[str, ...] = (
    "service.*",
    "telemetry.*",
    "otel.*",
    "process.runtime.*",
    "deployment.environment*",
    "tenant.id",
    "gen_ai.request.*",
    "gen_ai.response.model",
    "gen_ai.response.id",
    "gen_ai.agent.id",
    "gen_ai.agent.name",
    "gen_ai.tool.name",
    "gen_ai.tool.call.id",
    "gen_ai.data_source.id",
    "gen_ai.prompt.*.tool_call_id",
    "gen_ai.prompt.*.tool_calls.*.id",
    "gen_ai.prompt.*.tool_calls.*.name",
    "gen_ai.completion.*.tool_calls.*.id",
    "gen_ai.completion.*.tool_calls.*.name",
    "error.type",
    "server.address",
    "http.method",
    "http.request.method",
    "rpc.*",
    "code.*",
    "openinference.span.kind",
    "llm.model_name",
    "llm.prompt_template.version",
    "llm.input_messages.*.message.tool_call_id",
    "llm.*.tool_call.id",
    "llm.*.tool_call.function.name",
    "tool.name",
    "retrieval.documents.*.document.id",
    "reranker.*.document.id",
    "reranker.model_name",
    "embedding.model_name",
    "traceloop.entity.name",
    "traceloop.workflow.name",
    "traceloop.entity.path",
    "tracevault.*",
)


def compile_key_globs(patterns: Iterable[str]) -> re.Pattern[str] | None:
    """Compile dotted-key globs into one anchored regex; `*` matches any characters, dots included."""
    alternatives = []
    for pattern in patterns:
        if not pattern or pattern.strip() != pattern:
            raise ValueError("key patterns must be non-empty and have no surrounding spaces")
        alternatives.append(".*".join(re.escape(part) for part in pattern.split("*")))
    if not alternatives:
        return None
    return re.compile("(?:" + "|".join(alternatives) + ")")


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """Everything the redactors need for one (tenant, env), validated and precompiled."""

    tenant: str
    env: str
    entities: frozenset[str]
    score_threshold: float
    methods: Mapping[str, Method]
    identifier_keys: re.Pattern[str] | None
    url_keys: re.Pattern[str] | None
    structural_keys: re.Pattern[str] | None
    secret_key_names: tuple[str, ...]
    payload_mode: PayloadMode
    payload_days: int
    metrics_days: int
    audit_days: int
    known_secrets_file: str = ""  # "" for none
    number_keys: re.Pattern[str] | None = None
    enum_keys: re.Pattern[str] | None = None
    content_in_forward: ContentInForward = "redacted"
    reference_keys: re.Pattern[str] | None = None

    @property
    def ner_enabled(self) -> bool:
        return bool(self.entities & NER_ENTITIES)

    def method_for(self, entity: str) -> Method:
        return self.methods.get(entity, self.methods["*"])

    def is_identifier_key(self, key: str) -> bool:
        return self.identifier_keys is not None and self.identifier_keys.fullmatch(key) is not None

    def is_url_key(self, key: str) -> bool:
        return self.url_keys is not None and self.url_keys.fullmatch(key) is not None

    def is_reference_key(self, key: str) -> bool:
        return self.reference_keys is not None and self.reference_keys.fullmatch(key) is not None

    def is_structural_key(self, key: str) -> bool:
        return self.structural_shape(key) is not None

    def structural_shape(self, key: str) -> str | None:
        """The shape a value under `key` must have to be structure ("number", "enum", "token"),
        or None when the key is not structural: its value is content."""
        if self.number_keys is not None and self.number_keys.fullmatch(key) is not None:
            return "number"
        if self.enum_keys is not None and self.enum_keys.fullmatch(key) is not None:
            return "enum"
        if self.structural_keys is not None and self.structural_keys.fullmatch(key) is not None:
            return "token"
        return None


class PolicyError(ValueError):
    """A policy names something unsupported; raised at start-up, never per span."""


def merge(parent: PolicySpec, child: PolicySpec) -> PolicySpec:
    """Child fields override parent fields; unset (None) fields inherit; `methods` merges by key."""
    values = parent.model_dump()
    for name in PolicySpec.model_fields:
        value = getattr(child, name)
        if value is None:
            continue
        if name == "methods" and values.get("methods") is not None:
            values["methods"] = {**values["methods"], **value}
        else:
            values[name] = value
    return PolicySpec.model_validate(values)


def compile_policy(tenant: str, env: str, spec: PolicySpec) -> CompiledPolicy:
    assert spec.entities is not None and spec.score_threshold is not None
    assert spec.default_method is not None and spec.payload_mode is not None
    assert spec.payload_days and spec.metrics_days and spec.audit_days
    unknown = sorted(set(spec.entities) - SUPPORTED_ENTITIES)
    unknown += sorted(set(spec.methods or {}) - SUPPORTED_ENTITIES)
    if unknown:
        raise PolicyError(
            f"policy for tenant {tenant}, env {env}: unsupported entity types {unknown}; "
            f"supported: {sorted(SUPPORTED_ENTITIES)}"
        )
    if spec.content_in_forward == "reference" and spec.payload_mode == "none":
        raise PolicyError(
            f"policy for tenant {tenant}, env {env}: content_in_forward: reference needs a payload "
            "mode that keeps the content (redacted or original), not none: the references would "
            "resolve to nothing"
        )
    methods: dict[str, Method] = {"*": spec.default_method, **(spec.methods or {})}
    try:
        identifier = compile_key_globs([*BUILTIN_IDENTIFIER_KEYS, *(spec.identifier_keys or [])])
        structural = compile_key_globs([*BUILTIN_STRUCTURAL_KEYS, *(spec.structural_keys or [])])
        urls = compile_key_globs(BUILTIN_URL_KEYS)
        numbers = compile_key_globs(BUILTIN_NUMBER_KEYS)
        enums = compile_key_globs(BUILTIN_ENUM_KEYS)
        references = compile_key_globs(BUILTIN_REFERENCE_KEYS)
    except ValueError as exc:
        raise PolicyError(f"policy for tenant {tenant}, env {env}: {exc}") from None
    return CompiledPolicy(
        tenant=tenant,
        env=env,
        entities=frozenset(spec.entities),
        score_threshold=spec.score_threshold,
        methods=MappingProxyType(methods),
        identifier_keys=identifier,
        url_keys=urls,
        structural_keys=structural,
        secret_key_names=tuple(spec.secret_key_names or ()),
        payload_mode=spec.payload_mode,
        payload_days=spec.payload_days,
        metrics_days=spec.metrics_days,
        audit_days=spec.audit_days,
        known_secrets_file=spec.known_secrets_file or "",
        number_keys=numbers,
        enum_keys=enums,
        content_in_forward=spec.content_in_forward or "redacted",
        reference_keys=references,
    )


class PolicySet:
    """All policies of a config, compiled eagerly so that a bad rule refuses start-up."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._base = merge(BUILTIN_POLICY, config.defaults)
        self._cache: dict[tuple[str, str], CompiledPolicy] = {}
        default_env = config.tenancy.default_env
        self.resolve(config.tenancy.default_tenant, default_env)
        for tenant, tenant_spec in config.tenants.items():
            self.resolve(tenant, default_env)
            for env in tenant_spec.environments:
                self.resolve(tenant, env)
        if not config.vault_enabled:
            referencing = sorted(f"{p.tenant}/{p.env}" for p in self._cache.values() if p.content_in_forward == "reference")
            if referencing:
                raise PolicyError(
                    f"content_in_forward: reference needs the vault (vault_enabled: true): the "
                    f"references of {', '.join(referencing)} would point at content nobody keeps"
                )

    def resolve(self, tenant: str, env: str) -> CompiledPolicy:
        key = (tenant, env)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        validate_id(tenant, "tenant id")
        validate_id(env, "environment")
        spec = self._base
        tenant_spec = self._config.tenants.get(tenant)
        if tenant_spec is not None:
            spec = merge(spec, PolicySpec.model_validate(tenant_spec.model_dump(exclude={"environments"})))
            env_spec = tenant_spec.environments.get(env)
            if env_spec is not None:
                spec = merge(spec, env_spec)
        compiled = compile_policy(tenant, env, spec)
        # Bounded: unknown tenants share the defaults, but each (tenant, env) pair costs a
        # compile, so a flood of distinct ids must not grow memory without limit.
        if len(self._cache) < 10_000:
            self._cache[key] = compiled
        return compiled

    def audit_days(self, tenant: str) -> int:
        """The tenant's audit retention: audit partitions have no env, so the longest
        ``audit_days`` among its default env and its configured envs (deleting audit early is
        the worse mistake). The retention sweep and `audit verify` both use it."""
        envs = {self._config.tenancy.default_env}
        spec = self._config.tenants.get(tenant)
        if spec is not None:
            envs.update(spec.environments)
        return max(self.resolve(tenant, env).audit_days for env in envs)

    def compiled(self) -> list[CompiledPolicy]:
        """The policies compiled so far: every configured (tenant, env) and the default."""
        return list(self._cache.values())
