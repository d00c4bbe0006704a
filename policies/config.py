"""The tracevault configuration file: one YAML document validated into typed, frozen models.

Every policy field is optional at every level (defaults -> tenant -> environment). ``None``
means "inherit from the level above"; it never means zero or empty. The built-in defaults at
the bottom of the chain are complete, so a resolved policy always has every field set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import phonenumbers
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from policies.tenants import ID_PATTERN_TEXT, is_valid_id

Method = Literal["replace", "pseudonym", "mask", "remove"]
PayloadMode = Literal["none", "redacted", "original"]
ContentInForward = Literal["redacted", "reference", "none"]

Port = Annotated[int, Field(ge=0, le=65535)]  # 0: any free port (tests)
PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicySpec(_Frozen):
    """One level of policy. Every field left out inherits from the level above."""

    entities: list[str] | None = Field(
        default=None,
        description="Entity types to detect in content (e.g. PERSON, EMAIL_ADDRESS). "
        "An explicit empty list detects no PII; secrets and identifiers are always handled.",
    )
    score_threshold: Annotated[float, Field(ge=0.0, le=1.0)] | None = Field(
        default=None, description="Minimum detector score for a finding to be masked."
    )
    default_method: Method | None = Field(
        default=None, description="Masking method for entities without an entry in `methods`."
    )
    methods: dict[str, Method] | None = Field(
        default=None,
        description="Masking method per entity type. Merged key by key with the level above.",
    )
    identifier_keys: list[str] | None = Field(
        default=None,
        description="Extra attribute keys (glob patterns, `*` matches one or more key segments) "
        "whose whole value is an identifier to pseudonymise. Added to the built-in list.",
    )
    secret_key_names: list[str] | None = Field(
        default=None,
        description="Extra key names (case-insensitive, separators ignored) whose value is a "
        "secret at any depth. Added to the built-in list.",
    )
    known_secrets_file: str | None = Field(
        default=None,
        description="Path of the tenant's known-secrets digests file (keyed digests of its real "
        "credentials, masked as <SECRET:known> wherever they appear; see docs/secrets.md). "
        "Empty: none.",
    )
    structural_keys: list[str] | None = Field(
        default=None,
        description="Extra attribute keys (glob patterns) whose values are structure, not "
        "PII-scanned, when they have a token's shape: a short identifier-like string without "
        "spaces or PII-shaped digit groups (model names, ids). Any other value under them is "
        "content. Secret patterns still apply.",
    )
    payload_mode: PayloadMode | None = Field(
        default=None,
        description="What the vault stores as payload: none, redacted or original (escrow). "
        "Used by the vault; the redacted forward path ignores it.",
    )
    content_in_forward: ContentInForward | None = Field(
        default=None,
        description="What forwarded spans and log records carry in their GenAI content attributes "
        "(docs/conventions.md): redacted (the redacted content), reference (no content, only "
        "`<key>_ref` attributes, opaque tracevault:// URIs that `payload get --ref` resolves behind "
        "a grant; needs the vault and a payload mode other than none) or none (content removed, no "
        "references).",
    )
    payload_days: PositiveInt | None = Field(
        default=None, description="Retention of payload segments, in days after the day received."
    )
    metrics_days: PositiveInt | None = Field(
        default=None, description="Retention of metrics Parquet files, in days."
    )
    audit_days: PositiveInt | None = Field(default=None, description="Retention of audit records, in days.")

    @field_validator("entities")
    @classmethod
    def _entities_upper(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        return [_entity_name(v) for v in value]

    @field_validator("methods")
    @classmethod
    def _methods_upper(cls, value: dict[str, Method] | None) -> dict[str, Method] | None:
        if value is None:
            return None
        return {_entity_name(k): v for k, v in value.items()}


def _entity_name(value: str) -> str:
    name = value.strip().upper()
    if not name.replace("_", "").isalnum():
        raise ValueError("entity names are letters, digits and underscores, like EMAIL_ADDRESS")
    return name


_Specs = TypeVar("_Specs", bound=dict)


def _valid_ids(value: _Specs, what: str) -> _Specs:
    """``value`` when every key is a valid id; the error names the pattern, never the key."""
    if not all(is_valid_id(key) for key in value):
        raise ValueError(f"{what} must match {ID_PATTERN_TEXT}")
    return value


class TenantSpec(PolicySpec):
    """A tenant's policy, with per-environment overrides."""

    environments: dict[str, PolicySpec] = Field(
        default_factory=dict, description="Per-environment policies; unset fields inherit the tenant's."
    )

    @field_validator("environments")
    @classmethod
    def _env_ids(cls, value: dict[str, PolicySpec]) -> dict[str, PolicySpec]:
        return _valid_ids(value, "environment names")


class ServerConfig(_Frozen):
    http_host: str = Field(default="127.0.0.1", description="OTLP/HTTP listen address (also /healthz, /readyz, /metrics).")
    http_port: Port = Field(default=14318, description="OTLP/HTTP port; 0 picks a free port.")
    grpc_host: str = Field(default="127.0.0.1", description="OTLP/gRPC listen address.")
    grpc_port: Port = Field(default=14317, description="OTLP/gRPC port; 0 picks a free port.")
    grpc_enabled: bool = Field(default=True, description="Serve OTLP/gRPC as well as OTLP/HTTP.")
    max_body_bytes: PositiveInt = Field(
        default=4 * 1024 * 1024, description="Largest request body on the wire (compressed)."
    )
    max_decompressed_bytes: PositiveInt = Field(
        default=20 * 1024 * 1024,
        description="Largest request after decompression (the Collector's default, 20 MiB).",
    )
    max_inflight_requests: PositiveInt = Field(
        default=64, description="Requests being redacted at once before the receivers push back."
    )
    retry_after_seconds: PositiveInt = Field(
        default=2, description="Retry-After (HTTP) and RetryInfo (gRPC) sent when overloaded."
    )
    redaction_timeout_seconds: PositiveFloat = Field(
        default=30.0,
        description="Deadline for redacting one request. Past it the request fails closed: every "
        "string value becomes <REDACTION_FAILED> (identifiers are still pseudonymised), and the "
        "stuck worker is replaced.",
    )
    workers: Annotated[int, Field(ge=0)] | Literal["auto"] = Field(
        default="auto",
        description="Redaction worker processes, each loading the model once. `auto` is one per "
        "core; 0 redacts in a single thread of the server process (small deployments, tests).",
    )
    shutdown_grace_seconds: PositiveFloat = Field(
        default=20.0,
        description="On SIGTERM, how long to wait for requests in flight; then at most as long again for "
        "all sinks together to flush (what is left stays in the spool for the next start).",
    )
    header_timeout_seconds: PositiveFloat = Field(
        default=10.0,
        description="OTLP/HTTP: a connection whose request headers are not complete this long after it "
        "opened (or after its previous response) is closed. Idle keep-alive connections close after it too.",
    )
    body_idle_timeout_seconds: PositiveFloat = Field(
        default=10.0,
        description="OTLP/HTTP: longest wait for the next bytes of a request body; past it the request "
        "gets 408 and the connection is closed.",
    )
    min_body_bytes_per_second: Annotated[int, Field(ge=0)] = Field(
        default=1024,
        description="OTLP/HTTP: once a body has been arriving for `body_idle_timeout_seconds`, it must "
        "average at least this rate, or it gets 408. 0 turns the rate check off.",
    )
    max_buffered_body_bytes: PositiveInt = Field(
        default=128 * 1024 * 1024,
        description="OTLP/HTTP: bytes of request bodies held at once (received, not yet answered). "
        "Bodies are read before an in-flight slot is taken; past this budget new bodies get 503.",
    )
    worker_memory_bytes: PositiveInt = Field(
        default=1024 * 1024 * 1024,
        description="Memory a redaction worker may allocate beyond what it holds after loading the model "
        "(RLIMIT_DATA, Linux). A request that needs more fails closed (redaction) or gets 413 "
        "(decoding), and the worker is replaced. Not applied with workers: 0.",
    )


class LimitsConfig(_Frozen):
    """Span limits, as the OpenTelemetry SDK applies them, enforced on every request before redaction."""

    max_attributes: PositiveInt = Field(
        default=128,
        description="Attributes kept per span, event, link, resource and scope, and entries per array "
        "or key-value list value (the OTel SDK's default). The rest are dropped and counted in "
        "`dropped_attributes_count` and tracevault_limited_total.",
    )
    max_events_per_span: PositiveInt = Field(default=128, description="Events kept per span; the rest are dropped and counted.")
    max_links_per_span: PositiveInt = Field(default=128, description="Links kept per span; the rest are dropped and counted.")
    max_value_chars: PositiveInt = Field(
        default=256 * 1024,
        description="Longest string (characters) or bytes value (bytes) kept, in attributes, names and "
        "status messages. Longer values are cut to this length and end with `<TRUNCATED>`; the cut "
        "value is redacted like any other.",
    )
    max_value_depth: PositiveInt = Field(
        default=8,
        description="Deepest nesting of array and key-value list values. A deeper value is replaced "
        "by the string `<TOO_DEEP>`.",
    )


class TenancyConfig(_Frozen):
    header: str = Field(default="X-Tenant-Id", description="Request header naming the tenant.")
    resource_attribute: str = Field(
        default="tenant.id", description="Resource attribute used when the header is absent."
    )
    default_tenant: str = Field(default="default", description="Tenant when neither is present.")
    env_header: str = Field(default="X-Tracevault-Env", description="Header naming the env.")
    env_resource_attributes: list[str] = Field(
        default_factory=lambda: ["deployment.environment.name", "deployment.environment"],
        description="Resource attributes naming the env when the header is absent (lower-cased).",
    )
    default_env: str = Field(default="default", description="Environment when none is given.")

    @field_validator("default_tenant", "default_env")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        if not is_valid_id(value):
            raise ValueError(f"must match {ID_PATTERN_TEXT}")
        return value


# Regions whose national formats the phone matcher reads (numbers with a "+" are read anywhere):
# the Americas, Europe, the Middle East and Africa, Asia-Pacific.
DEFAULT_PHONE_REGIONS: tuple[str, ...] = (
    "US", "CA", "MX", "BR", "AR", "CO", "CL", "GB", "IE", "DE", "FR", "ES", "PT", "IT", "NL", "BE",
    "CH", "AT", "PL", "SE", "NO", "DK", "FI", "CZ", "TR", "IL", "AE", "ZA", "NG", "IN", "SG", "PH",
    "ID", "JP", "KR", "CN", "AU", "NZ",
)  # fmt: skip


class NlpConfig(_Frozen):
    model: str = Field(
        default="en_core_web_sm",
        description="spaCy pipeline package used for NER (en_core_web_sm, en_core_web_lg, ...).",
    )
    batch_size: PositiveInt = Field(default=64, description="Texts per nlp.pipe batch.")
    max_text_chars: PositiveInt = Field(
        default=200_000,
        description="Longer text values are split into chunks of this size before NER.",
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PHONE_REGIONS),
        min_length=1,
        description="ISO 3166 regions whose national phone formats are recognised (international +... numbers always are).",
    )

    @field_validator("phone_regions")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        regions = [region.upper() for region in value]
        unknown = sorted(set(regions) - phonenumbers.SUPPORTED_REGIONS)
        if unknown:
            raise ValueError(f"not phone regions libphonenumber knows: {', '.join(unknown)}")
        return list(dict.fromkeys(regions))


class KeysConfig(_Frozen):
    master_key_env: str = Field(
        default="TRACEVAULT_MASTER_KEY",
        description="Env var holding the master secret (base64, >= 32 bytes). Wins over the file.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="File holding the master secret; default <data_dir>/keys/master.key, "
        "created with mode 0600 when missing.",
    )


TRACES_PATH = "/v1/traces"
LOGS_PATH = "/v1/logs"


class ForwardConfig(_Frozen):
    endpoint: str = Field(description="Next hop's OTLP/HTTP traces URL, e.g. http://phoenix:6006/v1/traces")
    logs_endpoint: str | None = Field(
        default=None,
        description="Next hop's OTLP/HTTP logs URL. Default: `endpoint` with its trailing `/v1/traces` replaced "
        "by `/v1/logs`; required when `endpoint` does not end in `/v1/traces`.",
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers, e.g. Authorization.")
    tenant_header: str | None = Field(
        default="X-Tenant-Id", description="Header carrying the tenant to the next hop; null to omit."
    )
    compression: Literal["gzip", "none"] = Field(default="gzip", description="Body compression to the next hop.")
    # Defaults keep a synchronous forward (no vault) under the OTel SDK's 10 s export timeout,
    # so the client does not resend while we are still trying.
    timeout_seconds: PositiveFloat = Field(default=3.0, description="Timeout of one attempt.")
    max_attempts: PositiveInt = Field(
        default=3, description="Attempts on connection errors, timeouts, 429, 502, 503 and 504."
    )
    initial_backoff_seconds: PositiveFloat = Field(
        default=0.25, description="First backoff, doubled per attempt with jitter; Retry-After wins."
    )
    max_backoff_seconds: PositiveFloat = Field(default=2.0, description="Longest wait between attempts.")

    @field_validator("endpoint", "logs_endpoint")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="before")
    @classmethod
    def _derive_logs_endpoint(cls, data: Any) -> Any:
        """Existing configs forward both signals: the logs URL follows from the traces URL."""
        if not isinstance(data, dict) or data.get("logs_endpoint") is not None:
            return data
        endpoint = data.get("endpoint")
        if not isinstance(endpoint, str):
            return data  # the endpoint's own validation reports it
        url = urlsplit(endpoint)
        path = url.path.rstrip("/")
        if not path.endswith(TRACES_PATH):
            raise ValueError(
                f"forward.logs_endpoint cannot be derived: forward.endpoint does not end in {TRACES_PATH}; set logs_endpoint"
            )
        logs = urlunsplit(url._replace(path=path[: -len(TRACES_PATH)] + LOGS_PATH))
        return {**data, "logs_endpoint": logs}


class StorageConfig(_Frozen):
    url: str | None = Field(
        default=None,
        description="Object store: file:///abs/path or s3://bucket/prefix. Default: <data_dir>/store.",
    )
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, Ceph, moto); null for AWS."
    )
    region: str | None = Field(default=None, description="AWS region for S3; null uses the environment.")
    sse_kms_key_id: str | None = Field(
        default=None, description="S3 server-side encryption with this KMS key (on top of envelope encryption)."
    )
    max_attempts: PositiveInt = Field(default=5, description="S3 attempts per call (botocore standard retries).")

    @field_validator("url")
    @classmethod
    def _scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("file://", "s3://")):
            raise ValueError("must be file:///absolute/path or s3://bucket[/prefix]")
        return value


class KeyringConfig(_Frozen):
    type: Literal["local", "kms"] = Field(
        default="local",
        description="local: per-tenant X25519 keys in <data_dir>/keys (private halves encrypted "
        "under the master secret); kms: AWS KMS GenerateDataKey/Decrypt.",
    )
    kms_key_id: str = Field(
        default="alias/tracevault-{tenant}",
        description="KMS key per tenant; `{tenant}` is replaced by the tenant id.",
    )
    endpoint_url: str | None = Field(default=None, description="KMS endpoint (moto, LocalStack); null for AWS.")
    region: str | None = Field(default=None, description="AWS region for KMS; null uses the environment.")


class SpoolConfig(_Frozen):
    dir: Path | None = Field(default=None, description="Write-ahead spool; default <data_dir>/spool.")
    max_bytes: PositiveInt = Field(
        default=1024 * 1024 * 1024,
        description="Spool cap: above it the receivers push back (503 / UNAVAILABLE) until flushed.",
    )
    segment_max_bytes: PositiveInt = Field(
        default=64 * 1024 * 1024, description="A spool file is sealed and flushed at this size..."
    )
    flush_interval_seconds: PositiveFloat = Field(default=30.0, description="...or at this age.")
    fsync: bool = Field(default=True, description="fsync before acknowledging (turn off only for tests).")


class AccessConfig(_Frozen):
    admin_enabled: bool = Field(
        default=False,
        description="Serve GET /v1/payloads/... on a separate admin listener (never the OTLP port).",
    )
    admin_host: str = Field(default="127.0.0.1", description="Admin listener address.")
    admin_port: Port = Field(default=14319, description="Admin listener port; 0 picks a free port.")
    issuer: str = Field(default="tracevault", description="`iss` of issued grants; verified on use.")
    default_ttl_seconds: PositiveInt = Field(default=3600, description="Grant lifetime when --ttl is not given.")
    max_ttl_seconds: PositiveInt = Field(default=7 * 24 * 3600, description="Longest grant lifetime accepted.")


class ModelRate(_Frozen):
    """A negotiated price, in USD per million tokens."""

    input_mtok: Annotated[float, Field(ge=0)] = Field(description="Input tokens (those not read from the cache).")
    output_mtok: Annotated[float, Field(ge=0)] = Field(description="Output tokens.")
    cache_read_mtok: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Cache-read input tokens; null charges them at the input price."
    )
    cache_write_mtok: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="Cache-write input tokens; null charges them at the input price."
    )


class TenantPrices(_Frozen):
    version: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="A label for this price list (e.g. contract-2026-01), stored as `price_version`.",
    )
    models: dict[str, ModelRate] = Field(
        description="Model name (as in gen_ai.response.model or gen_ai.request.model, case-insensitive) to price."
    )


class PricesConfig(_Frozen):
    tenants: dict[str, TenantPrices] = Field(
        default_factory=dict,
        description="Per-tenant negotiated prices; they win over the genai-prices data for the models they list.",
    )


class AlertsConfig(_Frozen):
    """`tracevault alerts check`: a recent window against the baseline window before it."""

    window_hours: PositiveFloat = Field(default=1.0, description="The window under test, ending now.")
    baseline_hours: PositiveFloat = Field(default=24.0, description="The baseline window, ending where the window starts.")
    min_samples: PositiveInt = Field(default=20, description="Fewer rows than this in either window: no verdict.")
    ttft_p95_ratio: PositiveFloat = Field(default=2.0, description="TTFT p95 doubled: window / baseline at least this.")
    tpot_p95_ratio: PositiveFloat = Field(default=1.5, description="TPOT p95 increased: window / baseline at least this.")
    refusal_rate_delta: PositiveFloat = Field(default=0.05, description="Refusal rate spiked: absolute rise at least this.")
    cost_per_task_ratio: PositiveFloat = Field(default=1.5, description="Cost per trace rose: window / baseline at least this.")
    tool_failure_rate_delta: PositiveFloat = Field(default=0.05, description="Tool failures rose: absolute rise at least this.")
    retrieval_score_drop: PositiveFloat = Field(default=0.1, description="Retrieval score mean dropped by at least this.")


class Config(_Frozen):
    """The whole configuration file."""

    data_dir: Path = Field(
        default=Path("tracevault-data"),
        description="Embedded-default home of keys (and, later, the spool and the local store).",
    )
    server: ServerConfig = Field(default_factory=ServerConfig, description="Listeners, limits, workers.")
    limits: LimitsConfig = Field(default_factory=LimitsConfig, description="Span limits applied to every request.")
    tenancy: TenancyConfig = Field(default_factory=TenancyConfig, description="How tenant and env are found.")
    nlp: NlpConfig = Field(default_factory=NlpConfig, description="The spaCy model used for NER.")
    keys: KeysConfig = Field(default_factory=KeysConfig, description="Where the master secret comes from.")
    forward: ForwardConfig | None = Field(
        default=None, description="Next hop for redacted spans (OTLP/HTTP); null forwards nothing."
    )
    storage: StorageConfig = Field(default_factory=StorageConfig, description="Where the vault stores objects.")
    keyring: KeyringConfig = Field(default_factory=KeyringConfig, description="Key-encryption keys per tenant.")
    spool: SpoolConfig = Field(default_factory=SpoolConfig, description="The write-ahead spool.")
    access: AccessConfig = Field(default_factory=AccessConfig, description="Grants and the admin listener.")
    vault_enabled: bool = Field(
        default=True, description="Store metrics and encrypted payloads; false only forwards."
    )
    metrics_columns: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Override which attributes feed a metrics column, e.g. {feature: [app.feature]}; "
        "a listed column's sources are replaced, the others keep the built-in defaults (docs/metrics.md).",
    )
    prices: PricesConfig = Field(default_factory=PricesConfig, description="Per-tenant price overrides for `cost_usd`.")
    alerts: AlertsConfig = Field(default_factory=AlertsConfig, description="Thresholds of `tracevault alerts check`.")
    defaults: PolicySpec = Field(default_factory=PolicySpec, description="Policy for every tenant.")
    tenants: dict[str, TenantSpec] = Field(
        default_factory=dict, description="Per-tenant policies, with `environments` overrides."
    )

    @field_validator("tenants")
    @classmethod
    def _tenant_ids(cls, value: dict[str, TenantSpec]) -> dict[str, TenantSpec]:
        return _valid_ids(value, "tenant ids")

    def master_key_path(self) -> Path:
        return self.keys.master_key_file or self.data_dir / "keys" / "master.key"

    def store_url(self) -> str:
        return self.storage.url or (self.data_dir / "store").resolve().as_uri()

    def spool_dir(self) -> Path:
        return self.spool.dir or self.data_dir / "spool"

    def keyring_dir(self) -> Path:
        return self.data_dir / "keys" / "tenants"


class ConfigError(Exception):
    """The configuration file is missing, unreadable or invalid. The message names the field."""


def load_config(path: str | Path | None) -> Config:
    """Load and validate a config file; no path means the embedded defaults."""
    if path is None:
        return Config()
    file = Path(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{file}: not valid YAML{where}") from None
    return parse_config(raw or {}, source=str(file))


def parse_config(raw: object, source: str = "config") -> Config:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + _describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    # Name the field and the rule; never echo the offending value (it may be a secret).
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{where}: {error['msg']}")
    return "; ".join(lines)
