"""Record encryption: AES-256-GCM bound to tenant, env, object key and position (invariant 2)."""

from __future__ import annotations

import os

import pytest

from policies.tenants import InvalidTenantId
from vault.envelope import DecryptError, decrypt_record, encrypt_record, record_aad

KEY = bytes(range(100, 132))
PLACE = {"tenant": "acme", "env": "prod", "object_key": "payloads/tenant=acme/env=prod/date=2025-01-02/s1.tvs", "position": 7}
PLAINTEXT = b'{"gen_ai.input.messages": "hello <PERSON:1a2b3c4d>"}'


def aad(**changes: object) -> bytes:
    return record_aad(**{**PLACE, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize("plaintext", [b"", b"x", PLAINTEXT, os.urandom(70_000)])
def test_round_trip(plaintext: bytes) -> None:
    sealed = encrypt_record(KEY, aad(), plaintext)
    assert len(sealed) == 12 + len(plaintext) + 16
    assert decrypt_record(KEY, aad(), sealed) == plaintext


def test_fresh_nonce_per_record() -> None:
    first, second = encrypt_record(KEY, aad(), PLAINTEXT), encrypt_record(KEY, aad(), PLAINTEXT)
    assert first[:12] != second[:12] and first != second


def test_ciphertext_is_not_plaintext() -> None:
    assert PLAINTEXT[:16] not in encrypt_record(KEY, aad(), PLAINTEXT)


@pytest.mark.parametrize(
    "changes",
    [
        {"tenant": "other"},
        {"env": "dev"},
        {"object_key": "payloads/tenant=acme/env=prod/date=2025-01-02/s2.tvs"},
        {"position": 8},
        {"position": 0},
    ],
    ids=["tenant", "env", "object_key", "position", "position-0"],
)
def test_aad_mismatch_fails(changes: dict[str, object]) -> None:
    sealed = encrypt_record(KEY, aad(), PLAINTEXT)
    with pytest.raises(DecryptError):
        decrypt_record(KEY, aad(**changes), sealed)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # Length prefixes keep field boundaries: shifting characters between fields changes the AAD.
        (("acme", "prod", "k", 1), ("acm", "eprod", "k", 1)),
        (("acme", "prod", "k1", 1), ("acme", "prod", "k", 11)),
        (("a", "b", "c/d", 0), ("a", "b", "c", 0)),
    ],
)
def test_aad_is_unambiguous(left: tuple, right: tuple) -> None:
    assert record_aad(*left) != record_aad(*right)


def test_aad_has_version_tag() -> None:
    assert aad().startswith(b"tracevault/record/v1\x00")


@pytest.mark.parametrize("bit", [0, 12 * 8, 12 * 8 + 5, -1])  # nonce, ciphertext, tag
def test_flipped_bit_fails(bit: int) -> None:
    sealed = bytearray(encrypt_record(KEY, aad(), PLAINTEXT))
    index = bit // 8 if bit >= 0 else len(sealed) - 1
    sealed[index] ^= 1 << (bit % 8 if bit >= 0 else 0)
    with pytest.raises(DecryptError):
        decrypt_record(KEY, aad(), bytes(sealed))


def test_swapped_records_fail() -> None:
    first = encrypt_record(KEY, aad(position=0), b"record zero")
    second = encrypt_record(KEY, aad(position=1), b"record one")
    with pytest.raises(DecryptError):
        decrypt_record(KEY, aad(position=0), second)
    with pytest.raises(DecryptError):
        decrypt_record(KEY, aad(position=1), first)


@pytest.mark.parametrize(
    ("key", "blob"),
    [
        (bytes(32), None),  # another data key
        (KEY, b""),
        (KEY, b"\x00" * 27),  # shorter than nonce + tag
        (KEY[:16], None),  # AES-128 key refused
        (KEY, "not bytes"),
    ],
    ids=["other-key", "empty", "truncated", "short-key", "wrong-type"],
)
def test_bad_inputs_fail_with_decrypt_error(key: bytes, blob: object) -> None:
    sealed = encrypt_record(KEY, aad(), PLAINTEXT) if blob is None else blob
    with pytest.raises(DecryptError) as info:
        decrypt_record(key, aad(), sealed)  # type: ignore[arg-type]
    message = str(info.value) + repr(info.value)
    for secret in (KEY, KEY.hex(), PLAINTEXT.decode()):
        assert str(secret) not in message
    assert info.value.__cause__ is None


@pytest.mark.parametrize(
    "changes",
    [{"tenant": "../etc"}, {"env": "Prod"}, {"object_key": ""}, {"position": -1}, {"position": True}],
)
def test_aad_rejects_bad_fields(changes: dict[str, object]) -> None:
    with pytest.raises((InvalidTenantId, ValueError)):
        aad(**changes)


def test_encrypt_refuses_wrong_key_size_without_echoing_it() -> None:
    with pytest.raises(ValueError) as info:
        encrypt_record(KEY[:20], aad(), PLAINTEXT)
    assert KEY[:20].hex() not in str(info.value) and str(KEY[:20]) not in str(info.value)
