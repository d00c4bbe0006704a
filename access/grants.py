"""Access grants: signed tokens (JWT, EdDSA over Ed25519, PyJWT) scoped to tenant, envs and time.

A grant's claims:

- ``iss`` (issuer, checked against ``access.issuer``) and ``sub`` (the principal);
- ``tenant`` and ``envs``;
- ``scope``: ``payload:read``;
- ``window``: ``{"from": epoch s, "to": epoch s}``, the data it covers (the time tracevault
  received the span, ``received_at``, the same clock that partitions storage);
- ``trace_ids`` (optional): lowercase hex trace ids; when present, only those traces;
- ``iat``, ``nbf``, ``exp`` and ``jti`` (the grant id, 32 hex digits);
- ``reason``: why access was given, copied into every audit record.

The header carries ``kid``, the id of the signing key (see :mod:`access.grant_keys`).

Deny by default: :func:`verify_grant` answers a :class:`Decision` that is allowed only when every
rule passes; a refused one names the rule that failed (``RULES``). Scope rules that need the data
(:func:`check_request`, :func:`check_span`) are separate, and revocation is checked by the access
layer against the store. Messages never carry the token, key material or any span content.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from jwt.exceptions import InvalidSignatureError, PyJWTError

from access.grant_keys import GrantKeyError, GrantKeys
from policies.tenants import is_valid_id, validate_id

SCOPE = "payload:read"
ALGORITHM = "EdDSA"
#: Clock skew tolerated on ``exp`` and ``nbf``.
LEEWAY_SECONDS = 30
#: Default data window when ``--from`` is not given: this long before the grant is issued.
DEFAULT_LOOKBACK = timedelta(days=1)

TRACE_ID = re.compile(r"[0-9a-f]{32}")
SPAN_ID = re.compile(r"[0-9a-f]{16}")
JTI = re.compile(r"[0-9a-f]{32}")
MAX_TRACE_IDS = 1000
MAX_TEXT = 512

# Rule names: stable, documented in docs/access.md, used in audit records and HTTP answers.
MALFORMED_TOKEN = "malformed_token"
BAD_SIGNATURE = "bad_signature"
UNKNOWN_KEY = "unknown_key"
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"
LIFETIME_TOO_LONG = "lifetime_too_long"
WRONG_ISSUER = "wrong_issuer"
WRONG_SCOPE = "wrong_scope"
REVOKED = "revoked"
TENANT_OUT_OF_SCOPE = "tenant_out_of_scope"
ENV_OUT_OF_SCOPE = "env_out_of_scope"
OUTSIDE_WINDOW = "outside_window"
TRACE_NOT_GRANTED = "trace_not_granted"

RULES: dict[str, str] = {
    MALFORMED_TOKEN: "the token is not a well-formed grant",
    BAD_SIGNATURE: "the token's signature does not verify",
    UNKNOWN_KEY: "the token was signed by an unknown or retired key",
    EXPIRED: "the grant has expired",
    NOT_YET_VALID: "the grant is not valid yet",
    LIFETIME_TOO_LONG: "the grant's lifetime exceeds access.max_ttl_seconds",
    WRONG_ISSUER: "the grant was issued by another issuer",
    WRONG_SCOPE: "the grant does not carry the payload:read scope",
    REVOKED: "the grant has been revoked",
    TENANT_OUT_OF_SCOPE: "the data's tenant is not the grant's tenant",
    ENV_OUT_OF_SCOPE: "the data's environment is not among the grant's environments",
    OUTSIDE_WINDOW: "the data's time is outside the grant's window",
    TRACE_NOT_GRANTED: "the trace id is not among the grant's trace ids",
}


class GrantError(ValueError):
    """A grant cannot be issued as asked (bad tenant, ttl, window...). Names the field only."""


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def iso(epoch: int | float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str | int | float | datetime, what: str = "time") -> datetime:
    """An aware UTC datetime from ISO 8601 (``Z`` or an offset; naive means UTC) or epoch seconds."""
    if isinstance(text, datetime):
        value = text
    elif isinstance(text, (int, float)) and not isinstance(text, bool):
        value = datetime.fromtimestamp(text, UTC)
    elif isinstance(text, str) and re.fullmatch(r"[0-9]{1,12}(\.[0-9]+)?", text.strip()):
        value = datetime.fromtimestamp(float(text), UTC)
    elif isinstance(text, str):
        try:
            value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise GrantError(f"{what}: not an ISO 8601 time or epoch seconds") from None
    else:
        raise GrantError(f"{what}: not an ISO 8601 time or epoch seconds")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_TTL = re.compile(r"([0-9]+)\s*([smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str | int) -> int:
    """Seconds from ``3600``, ``90s``, ``15m``, ``1h`` or ``2d``."""
    if isinstance(text, int) and not isinstance(text, bool):
        seconds = text
    else:
        match = _TTL.fullmatch(str(text).strip().lower())
        if not match:
            raise GrantError("ttl: use seconds or a number with s, m, h or d (e.g. 1h)")
        seconds = int(match.group(1)) * _TTL_UNITS[match.group(2)]
    if seconds <= 0:
        raise GrantError("ttl: must be positive")
    return seconds


def normalise_trace_id(value: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not TRACE_ID.fullmatch(text):
        raise GrantError("trace id: must be 32 hex digits")
    return text


def normalise_span_id(value: str) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if not SPAN_ID.fullmatch(text):
        raise GrantError("span id: must be 16 hex digits")
    return text


@dataclass(frozen=True)
class Grant:
    """The verified claims of a grant (or, in a refusal, the unverified ones, for the audit)."""

    jti: str
    issuer: str
    principal: str
    tenant: str
    envs: tuple[str, ...]
    scope: str
    window_from: int
    window_to: int
    trace_ids: tuple[str, ...] | None
    iat: int
    nbf: int
    exp: int
    reason: str
    kid: str = ""

    def claims(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.principal,
            "tenant": self.tenant,
            "envs": list(self.envs),
            "scope": self.scope,
            "window": {"from": self.window_from, "to": self.window_to},
            "iat": self.iat,
            "nbf": self.nbf,
            "exp": self.exp,
            "jti": self.jti,
            "reason": self.reason,
        }
        if self.trace_ids is not None:
            out["trace_ids"] = list(self.trace_ids)
        return out

    def describe(self) -> dict[str, Any]:
        """Claims with readable times, for `grant list` and the registry (never the token)."""
        out = self.claims()
        out["kid"] = self.kid
        out["window"] = {"from": iso(self.window_from), "to": iso(self.window_to)}
        for name in ("iat", "nbf", "exp"):
            out[name] = iso(out[name])
        return out

    @classmethod
    def from_claims(cls, claims: dict[str, Any], kid: str = "") -> Grant:
        """Shape-check claims; raises GrantError (naming the claim) when one is malformed."""

        def text(name: str, required: bool = True) -> str:
            value = claims.get(name)
            if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_TEXT:
                raise GrantError(f"claim {name} is malformed")
            return value

        def number(value: object, name: str) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise GrantError(f"claim {name} is malformed")
            return int(value)

        tenant = text("tenant")
        if not is_valid_id(tenant):
            raise GrantError("claim tenant is malformed")
        envs = claims.get("envs")
        if not isinstance(envs, list) or not envs or not all(is_valid_id(e) for e in envs):
            raise GrantError("claim envs is malformed")
        window = claims.get("window")
        if not isinstance(window, dict):
            raise GrantError("claim window is malformed")
        window_from, window_to = number(window.get("from"), "window"), number(window.get("to"), "window")
        if window_from > window_to:
            raise GrantError("claim window is malformed")
        trace_ids = claims.get("trace_ids")
        if trace_ids is not None:
            if not isinstance(trace_ids, list) or not trace_ids or len(trace_ids) > MAX_TRACE_IDS:
                raise GrantError("claim trace_ids is malformed")
            if not all(isinstance(t, str) and TRACE_ID.fullmatch(t) for t in trace_ids):
                raise GrantError("claim trace_ids is malformed")
        jti = text("jti")
        if not JTI.fullmatch(jti):
            raise GrantError("claim jti is malformed")
        scope = claims.get("scope")
        return cls(
            jti=jti,
            issuer=text("iss"),
            principal=text("sub"),
            tenant=tenant,
            envs=tuple(dict.fromkeys(envs)),
            scope=scope if isinstance(scope, str) else "",
            window_from=window_from,
            window_to=window_to,
            trace_ids=tuple(dict.fromkeys(trace_ids)) if trace_ids is not None else None,
            iat=number(claims.get("iat"), "iat"),
            nbf=number(claims.get("nbf"), "nbf"),
            exp=number(claims.get("exp"), "exp"),
            reason=text("reason"),
            kid=kid,
        )


@dataclass(frozen=True)
class Decision:
    """The outcome of a check. ``rule`` is None exactly when ``allowed``."""

    allowed: bool
    rule: str | None = None
    grant: Grant | None = None
    #: Unverified claims (principal, tenant, jti) of a refused token, for the audit record only.
    unverified: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return "allowed" if self.allowed else f"refused ({self.rule}): {RULES.get(self.rule or '', 'denied')}"

    @classmethod
    def deny(cls, rule: str, grant: Grant | None = None, unverified: dict[str, Any] | None = None) -> Decision:
        return cls(False, rule, grant, unverified or {})


# ---------------------------------------------------------------------------------------------
# Issue


def _check_issue(tenant: str, envs: Sequence[str], principal: str, reason: str, ttl_seconds: int, max_ttl_seconds: int) -> None:
    """The arguments of `issue_grant`, or GrantError naming the first bad one."""
    try:
        validate_id(tenant, "tenant id")
        for env in envs:
            validate_id(env, "environment id")
    except ValueError as exc:
        raise GrantError(str(exc)) from None
    if not envs:
        raise GrantError("at least one environment is needed")
    if not isinstance(principal, str) or not principal.strip() or len(principal) > MAX_TEXT:
        raise GrantError("principal: must be non-empty text (at most 512 characters)")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_TEXT:
        raise GrantError("reason: must be non-empty text (at most 512 characters)")
    if ttl_seconds <= 0:
        raise GrantError("ttl: must be positive")
    if ttl_seconds > max_ttl_seconds:
        raise GrantError(f"ttl: longer than access.max_ttl_seconds ({max_ttl_seconds} s)")


def _grant_trace_ids(trace_ids: Iterable[str] | None) -> tuple[str, ...] | None:
    if trace_ids is None:
        return None
    ids = tuple(dict.fromkeys(normalise_trace_id(t) for t in trace_ids)) or None
    if ids is not None and len(ids) > MAX_TRACE_IDS:
        raise GrantError(f"at most {MAX_TRACE_IDS} trace ids")
    return ids


def issue_grant(
    keys: GrantKeys,
    *,
    issuer: str,
    tenant: str,
    envs: Sequence[str],
    principal: str,
    reason: str,
    ttl_seconds: int,
    max_ttl_seconds: int,
    window_from: datetime | str | int | None = None,
    window_to: datetime | str | int | None = None,
    trace_ids: Iterable[str] | None = None,
    not_before: datetime | None = None,
    now: datetime | None = None,
) -> tuple[str, Grant]:
    """Sign a grant; returns ``(token, grant)``. Raises GrantError on a bad argument.

    The window defaults to ``[issue time - 1 day, expiry]``: yesterday's data and what arrives
    while the grant is valid.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    _check_issue(tenant, envs, principal, reason, ttl_seconds, max_ttl_seconds)
    nbf = (not_before or now).astimezone(UTC)
    exp = nbf + timedelta(seconds=ttl_seconds)
    start = parse_time(window_from, "--from") if window_from is not None else now - DEFAULT_LOOKBACK
    end = parse_time(window_to, "--to") if window_to is not None else exp
    if start > end:
        raise GrantError("window: --from is after --to")
    ids = _grant_trace_ids(trace_ids)
    try:
        kid, private_key = keys.signing_key()
    except GrantKeyError as exc:
        raise GrantError(str(exc)) from None
    grant = Grant(
        jti=secrets.token_hex(16),
        issuer=issuer,
        principal=principal.strip(),
        tenant=tenant,
        envs=tuple(dict.fromkeys(envs)),
        scope=SCOPE,
        window_from=int(start.timestamp()),
        window_to=int(end.timestamp()),
        trace_ids=ids,
        iat=_epoch(now),
        nbf=_epoch(nbf),
        exp=_epoch(exp),
        reason=reason.strip(),
        kid=kid,
    )
    token = jwt.encode(grant.claims(), private_key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "JWT"})
    return token, grant


# ---------------------------------------------------------------------------------------------
# Verify


_UNVERIFIED_FIELDS = ("sub", "tenant", "jti", "reason")
# Signature and required claims by PyJWT; the time, issuer and scope checks are ours (with leeway
# and named rules).
_DECODE_OPTIONS = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_iss": False,
    "verify_aud": False,
    "verify_sub": False,
    "verify_jti": False,
    "require": ["iss", "sub", "exp", "nbf", "iat", "jti"],
}


def _unverified_claims(token: str) -> dict[str, Any]:
    """A few claims of a refused token, unverified, for the audit record. Shape-checked only."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (PyJWTError, ValueError, TypeError):
        return {}
    if not isinstance(claims, dict):
        return {}
    out: dict[str, Any] = {}
    for name in _UNVERIFIED_FIELDS:
        value = claims.get(name)
        if isinstance(value, str) and 0 < len(value) <= MAX_TEXT:
            out[name] = value
    if "tenant" in out and not is_valid_id(out["tenant"]):
        del out["tenant"]
    if "jti" in out and not JTI.fullmatch(out["jti"]):
        del out["jti"]
    return out


def looks_like_token(token: object) -> bool:
    """Three base64url parts: what a bearer token must at least look like (else: 401)."""
    return isinstance(token, str) and len(token) < 16384 and re.fullmatch(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token) is not None


def verify_grant(
    token: str,
    keys: GrantKeys,
    *,
    issuer: str,
    max_ttl_seconds: int,
    now: datetime | None = None,
    leeway: int = LEEWAY_SECONDS,
) -> Decision:
    """Signature, key, validity period, issuer, scope and claim shapes. Revocation is the caller's."""
    if not looks_like_token(token):
        return Decision.deny(MALFORMED_TOKEN)
    try:
        header = jwt.get_unverified_header(token)
    except (PyJWTError, ValueError, TypeError):
        return Decision.deny(MALFORMED_TOKEN)
    unverified = _unverified_claims(token)
    if header.get("alg") != ALGORITHM:
        return Decision.deny(BAD_SIGNATURE, unverified=unverified)
    kid = header.get("kid")
    try:
        public_key = keys.public_key(kid) if isinstance(kid, str) else None
    except GrantKeyError:
        public_key = None
    if public_key is None:
        return Decision.deny(UNKNOWN_KEY, unverified=unverified)
    try:
        claims = jwt.decode(token, public_key, algorithms=[ALGORITHM], options=_DECODE_OPTIONS)
    except InvalidSignatureError:
        return Decision.deny(BAD_SIGNATURE, unverified=unverified)
    except (PyJWTError, ValueError, TypeError):
        return Decision.deny(MALFORMED_TOKEN, unverified=unverified)
    try:
        grant = Grant.from_claims(claims, kid=kid)
    except GrantError:
        return Decision.deny(MALFORMED_TOKEN, unverified=unverified)
    rule = _claims_rule(grant, (now or datetime.now(UTC)).timestamp(), issuer, max_ttl_seconds, leeway)
    return Decision.deny(rule, grant) if rule else Decision(True, None, grant)


def _claims_rule(grant: Grant, current: float, issuer: str, max_ttl_seconds: int, leeway: int) -> str | None:
    """The rule a signed grant's claims break (validity period, lifetime, issuer, scope), if any."""
    if current >= grant.exp + leeway:
        return EXPIRED
    if current < grant.nbf - leeway:
        return NOT_YET_VALID
    if grant.exp - min(grant.nbf, grant.iat) > max_ttl_seconds:
        return LIFETIME_TOO_LONG
    if grant.issuer != issuer:
        return WRONG_ISSUER
    if SCOPE not in grant.scope.split():
        return WRONG_SCOPE
    return None


def check_request(grant: Grant, tenant: str, trace_id: str | None = None, env: str | None = None) -> str | None:
    """Rules that the request alone decides: the tenant (and env, trace id) asked for."""
    if tenant != grant.tenant:
        return TENANT_OUT_OF_SCOPE
    if env is not None and env not in grant.envs:
        return ENV_OUT_OF_SCOPE
    if trace_id is not None and grant.trace_ids is not None and trace_id not in grant.trace_ids:
        return TRACE_NOT_GRANTED
    return None


def check_span(grant: Grant, *, tenant: str, env: str, trace_id: str, data_time: datetime | None) -> str | None:
    """Rules for one stored span: tenant, env, the window, the trace ids. None when in scope."""
    if tenant != grant.tenant:
        return TENANT_OUT_OF_SCOPE
    if env not in grant.envs:
        return ENV_OUT_OF_SCOPE
    if data_time is None:
        return OUTSIDE_WINDOW
    moment = data_time.timestamp()
    if moment < grant.window_from or moment > grant.window_to:
        return OUTSIDE_WINDOW
    if grant.trace_ids is not None and trace_id not in grant.trace_ids:
        return TRACE_NOT_GRANTED
    return None


# ---------------------------------------------------------------------------------------------
# The issued-grants registry: claims (never tokens) under access/grants/<tenant>/<jti>.json


GRANTS_PREFIX = "access/grants/"


def registry_key(tenant: str, jti: str) -> str:
    validate_id(tenant, "tenant id")
    if not JTI.fullmatch(jti):
        raise GrantError("grant id: must be 32 hex digits")
    return f"{GRANTS_PREFIX}{tenant}/{jti}.json"


class GrantRegistry:
    """Which grants were issued, for `grant list` and `grant revoke`. Holds claims, not tokens."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def record(self, grant: Grant) -> None:
        document = {"format": "tracevault.grant.v1", **grant.describe()}
        self.store.put(registry_key(grant.tenant, grant.jti), (json.dumps(document, sort_keys=True) + "\n").encode())

    def list(self, tenant: str) -> list[dict[str, Any]]:
        prefix = f"{GRANTS_PREFIX}{validate_id(tenant, 'tenant id')}/"
        out = []
        for info in self.store.list(prefix):
            try:
                document = json.loads(self.store.get(info.key))
            except (KeyError, ValueError):
                continue
            if isinstance(document, dict):
                out.append(document)
        return sorted(out, key=lambda d: str(d.get("iat", "")))

    def find(self, jti: str) -> dict[str, Any] | None:
        """The registry entry of a grant id, in any tenant."""
        if not JTI.fullmatch(jti):
            return None
        for info in self.store.list(GRANTS_PREFIX):
            if info.key.endswith(f"/{jti}.json"):
                try:
                    document = json.loads(self.store.get(info.key))
                except (KeyError, ValueError):
                    return None
                return document if isinstance(document, dict) else None
        return None


__all__ = [
    "Decision",
    "Grant",
    "GrantError",
    "GrantRegistry",
    "RULES",
    "SCOPE",
    "check_request",
    "check_span",
    "issue_grant",
    "iso",
    "normalise_span_id",
    "normalise_trace_id",
    "parse_time",
    "parse_ttl",
    "verify_grant",
]
