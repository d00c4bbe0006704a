"""Grant tokens: issue and verify (JWT, EdDSA), each verification rule, and the signing keys."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from access.grant_keys import GrantKeyError, GrantKeys
from access.grants import (
    SCOPE,
    GrantError,
    check_request,
    check_span,
    issue_grant,
    parse_time,
    parse_ttl,
    verify_grant,
)

SECRET = bytes(range(32))
NOW = datetime(2026, 11, 28, 12, 40, tzinfo=UTC)
TRACE = "5b8efff798038103d269b633813fc60c"


@pytest.fixture
def keys(tmp_path: Path) -> GrantKeys:
    return GrantKeys(tmp_path / "grants", SECRET)


def issue(keys: GrantKeys, **overrides):
    arguments = {
        "issuer": "tracevault",
        "tenant": "acme",
        "envs": ["prod", "staging"],
        "principal": "alice@example.com",
        "reason": "INC-42",
        "ttl_seconds": 3600,
        "max_ttl_seconds": 86400,
        "now": NOW,
    }
    arguments.update(overrides)
    return issue_grant(keys, **arguments)


def verify(keys: GrantKeys, token: str, now: datetime = NOW, **overrides):
    return verify_grant(token, keys, issuer=overrides.get("issuer", "tracevault"), max_ttl_seconds=overrides.get("max_ttl_seconds", 86400), now=now)


def sign_raw(keys: GrantKeys, claims: dict, kid: str | None = None, key: Ed25519PrivateKey | None = None) -> str:
    active_kid, active_key = keys.signing_key()
    return jwt.encode(claims, key or active_key, algorithm="EdDSA", headers={"kid": kid or active_kid})


def test_issue_and_verify_round_trip(keys: GrantKeys) -> None:
    token, grant = issue(keys, trace_ids=[TRACE.upper()], window_from="2026-11-28T00:00:00Z", window_to="2026-11-28T23:59:59Z")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA" and header["kid"] == grant.kid and grant.kid.startswith("g1-")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == "tracevault" and claims["sub"] == "alice@example.com"
    assert claims["tenant"] == "acme" and claims["envs"] == ["prod", "staging"]
    assert claims["scope"] == SCOPE and claims["reason"] == "INC-42"
    assert claims["trace_ids"] == [TRACE]
    assert claims["window"] == {"from": int(datetime(2026, 11, 28, tzinfo=UTC).timestamp()), "to": int(datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC).timestamp())}
    assert claims["exp"] - claims["iat"] == 3600 and len(claims["jti"]) == 32
    decision = verify(keys, token)
    assert decision.allowed and decision.rule is None and decision.grant == grant


def test_default_window_is_a_day_back_to_expiry(keys: GrantKeys) -> None:
    _token, grant = issue(keys)
    assert grant.window_from == int((NOW - timedelta(days=1)).timestamp())
    assert grant.window_to == grant.exp


def _forged(keys: GrantKeys) -> str:
    token, _ = issue(keys)
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": jwt.get_unverified_header(token)["kid"]})


def _tampered(keys: GrantKeys) -> str:
    token, _ = issue(keys)
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["tenant"] = "globex"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged_payload}.{signature}"


def _claims(keys: GrantKeys, **changes) -> str:
    token, _ = issue(keys)
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    return sign_raw(keys, claims)


def _hs256(keys: GrantKeys) -> str:
    token, _ = issue(keys)
    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, "x" * 32, algorithm="HS256", headers={"kid": jwt.get_unverified_header(token)["kid"]})


REFUSALS = [
    ("not a jwt", lambda k: "not-a-token", NOW, "malformed_token"),
    ("garbage parts", lambda k: "a.b.c", NOW, "malformed_token"),
    ("forged: signed by another Ed25519 key", _forged, NOW, "bad_signature"),
    ("claims edited after signing", _tampered, NOW, "bad_signature"),
    ("alg switched to HS256", _hs256, NOW, "bad_signature"),
    ("unknown kid", lambda k: sign_raw(k, jwt.decode(issue(k)[0], options={"verify_signature": False}), kid="g9-00000000"), NOW, "unknown_key"),
    ("expired", lambda k: issue(k)[0], NOW + timedelta(hours=2), "expired"),
    ("not yet valid", lambda k: issue(k, not_before=NOW + timedelta(hours=1))[0], NOW, "not_yet_valid"),
    ("wrong issuer", lambda k: issue(k, issuer="someone-else")[0], NOW, "wrong_issuer"),
    ("wrong scope", lambda k: _claims(k, scope="payload:list"), NOW, "wrong_scope"),
    ("lifetime too long", lambda k: _claims(k, exp=int(NOW.timestamp()) + 30 * 86400), NOW, "lifetime_too_long"),
    ("missing jti", lambda k: sign_raw(k, {kk: v for kk, v in jwt.decode(issue(k)[0], options={"verify_signature": False}).items() if kk != "jti"}), NOW, "malformed_token"),
    ("bad tenant claim", lambda k: _claims(k, tenant="../etc"), NOW, "malformed_token"),
]


@pytest.mark.parametrize(("make", "now", "rule"), [c[1:] for c in REFUSALS], ids=[c[0] for c in REFUSALS])
def test_each_verification_rule(keys: GrantKeys, make, now: datetime, rule: str) -> None:
    token = make(keys)
    decision = verify(keys, token, now)
    assert not decision.allowed and decision.rule == rule
    assert rule in decision.message and token not in decision.message


def test_clock_skew_leeway(keys: GrantKeys) -> None:
    token, _ = issue(keys)
    assert verify(keys, token, NOW + timedelta(seconds=3600 + 10)).allowed
    assert verify(keys, token, NOW + timedelta(seconds=3600 + 31)).rule == "expired"


def test_scope_rules() -> None:
    from access.grants import Grant

    start = int(NOW.timestamp())
    grant = Grant("0" * 32, "tracevault", "p", "acme", ("prod",), SCOPE, start, start + 60, (TRACE,), start, start, start + 60, "r")
    assert check_request(grant, "acme", TRACE) is None
    assert check_request(grant, "globex", TRACE) == "tenant_out_of_scope"
    assert check_request(grant, "acme", TRACE, env="dev") == "env_out_of_scope"
    assert check_request(grant, "acme", "f" * 32) == "trace_not_granted"
    inside = NOW + timedelta(seconds=30)
    assert check_span(grant, tenant="acme", env="prod", trace_id=TRACE, data_time=inside) is None
    assert check_span(grant, tenant="globex", env="prod", trace_id=TRACE, data_time=inside) == "tenant_out_of_scope"
    assert check_span(grant, tenant="acme", env="dev", trace_id=TRACE, data_time=inside) == "env_out_of_scope"
    assert check_span(grant, tenant="acme", env="prod", trace_id=TRACE, data_time=NOW + timedelta(minutes=2)) == "outside_window"
    assert check_span(grant, tenant="acme", env="prod", trace_id=TRACE, data_time=None) == "outside_window"
    assert check_span(grant, tenant="acme", env="prod", trace_id="e" * 32, data_time=inside) == "trace_not_granted"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"tenant": "../x"}, "tenant id"),
        ({"envs": []}, "environment"),
        ({"envs": ["Prod!"]}, "environment id"),
        ({"ttl_seconds": 90000}, "max_ttl"),
        ({"reason": "  "}, "reason"),
        ({"principal": ""}, "principal"),
        ({"window_from": "2026-11-29T00:00:00Z", "window_to": "2026-11-28T00:00:00Z"}, "--from is after --to"),
        ({"window_from": "yesterday-ish"}, "ISO 8601"),
        ({"trace_ids": ["xyz"]}, "32 hex"),
    ],
)
def test_issue_refuses_bad_arguments(keys: GrantKeys, overrides: dict, message: str) -> None:
    with pytest.raises(GrantError, match=message):
        issue(keys, **overrides)


def test_ttl_and_time_parsing() -> None:
    assert [parse_ttl(t) for t in ("90", "90s", "15m", "1h", "2d")] == [90, 90, 900, 3600, 172800]
    for bad in ("", "1w", "-5m", "0"):
        with pytest.raises(GrantError):
            parse_ttl(bad)
    assert parse_time("2026-11-28T12:00:00Z") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_time("2026-11-28T13:00:00+01:00") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_time("2026-11-28T12:00:00") == datetime(2026, 11, 28, 12, tzinfo=UTC)
    assert parse_time(str(int(datetime(2026, 11, 28, 12, tzinfo=UTC).timestamp()))) == datetime(2026, 11, 28, 12, tzinfo=UTC)


def test_rotation_and_retirement(keys: GrantKeys) -> None:
    old_token, old_grant = issue(keys)
    new_kid = keys.rotate()
    assert new_kid.startswith("g2-") and new_kid != old_grant.kid
    new_token, new_grant = issue(keys)
    assert new_grant.kid == new_kid
    assert verify(keys, old_token).allowed, "a rotated-out key still verifies until it is retired"
    with pytest.raises(GrantKeyError, match="rotate first"):
        keys.retire(new_kid)
    keys.retire(old_grant.kid)
    assert verify(keys, old_token).rule == "unknown_key"
    assert verify(keys, new_token).allowed
    assert [(info.kid, info.status) for info in keys.list()] == [(old_grant.kid, "retired"), (new_kid, "active")]
    with pytest.raises(GrantKeyError, match="no such"):
        keys.retire("g7-deadbeef")


def test_key_files_are_private_and_authenticated(keys: GrantKeys, tmp_path: Path) -> None:
    token, grant = issue(keys)
    directory = tmp_path / "grants"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in ("signing.enc", "public.json"):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    _kid, private = keys.signing_key()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    sealed = (directory / "signing.enc").read_bytes()
    assert raw_private not in sealed and base64.b64encode(raw_private) not in sealed
    assert repr(keys) == f"GrantKeys(directory={str(directory)!r})"

    # Another master secret cannot use them: its tokens fail, and it cannot read the signing key.
    other = GrantKeys(directory, os.urandom(32))
    assert verify(other, token).rule == "unknown_key"
    with pytest.raises(GrantKeyError):
        other.signing_key()

    # A public key swapped in without the master secret is refused (the MAC fails).
    document = json.loads((directory / "public.json").read_text())
    attacker = Ed25519PrivateKey.generate()
    document["keys"][grant.kid]["public"] = base64.b64encode(attacker.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
    (directory / "public.json").write_text(json.dumps(document))
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), attacker, algorithm="EdDSA", headers={"kid": grant.kid})
    assert verify(keys, forged).rule == "unknown_key"
    assert verify(keys, token).rule == "unknown_key", "with tampered key files nothing verifies"
