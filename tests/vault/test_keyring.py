"""Keyrings: per-tenant KEKs, writer cannot read (invariant 6), tenant isolation (invariant 7)."""

from __future__ import annotations

import base64
import shutil
import stat
import uuid
from pathlib import Path

import pytest

from policies.config import Config, KeyringConfig
from policies.tenants import InvalidTenantId
from vault.envelope import DecryptError, decrypt_record, encrypt_record, record_aad
from vault.keyring import (
    DataKey,
    DataKeyReader,
    DataKeyWriter,
    KeyAdmin,
    Keyring,
    KeyServiceUnavailable,
    KeyUnavailable,
    KmsKeyring,
    KmsKeyWriter,
    LocalKeyring,
    LocalKeyWriter,
    build_key_writer,
    build_keyring,
)

MASTER = bytes(range(32))
OTHER_MASTER = bytes(range(1, 33))
FAILURES = (KeyUnavailable, DecryptError)


def leak_forms(secret: bytes) -> list[str]:
    return [secret.hex(), base64.b64encode(secret).decode(), repr(secret), str(secret)]


def assert_no_leak(exc: BaseException, *secrets: bytes) -> None:
    text = str(exc) + repr(exc)
    for secret in secrets:
        for form in leak_forms(secret):
            assert form not in text
    assert exc.__cause__ is None  # nothing chained that might carry data


@pytest.fixture
def keydir(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "tenants"


@pytest.fixture
def reader(keydir: Path) -> LocalKeyring:
    return LocalKeyring(keydir, MASTER)


@pytest.fixture
def writer(keydir: Path) -> LocalKeyWriter:
    return LocalKeyWriter(keydir, MASTER)


# --------------------------------------------------------------------------------------------
# DataKey
# --------------------------------------------------------------------------------------------


def test_data_key_repr_hides_plaintext() -> None:
    key = DataKey(plaintext=b"\x01" * 32, wrapped=b"\x02" * 92, key_id="v1-00000000")
    for text in (repr(key), str(key), f"{key}"):
        assert "v1-00000000" in text
        for form in leak_forms(key.plaintext):
            assert form not in text
        assert "\\x01" not in text and "AQEB" not in text


# --------------------------------------------------------------------------------------------
# Local keyring
# --------------------------------------------------------------------------------------------


def test_local_round_trip_writer_to_reader(writer: LocalKeyWriter, reader: LocalKeyring) -> None:
    assert isinstance(writer, DataKeyWriter) and not isinstance(writer, DataKeyReader) and isinstance(reader, Keyring)
    dk = writer.new_data_key("acme", "prod")
    assert len(dk.plaintext) == 32 and len(dk.wrapped) == 92
    assert dk.key_id.startswith("v1-") and "acme" not in dk.key_id
    assert dk.plaintext not in dk.wrapped
    assert reader.unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext
    # The data key works for records end to end.
    aad = record_aad("acme", "prod", "payloads/x", 0)
    sealed = encrypt_record(dk.plaintext, aad, b"hello")
    assert decrypt_record(reader.unwrap("acme", "prod", dk.key_id, dk.wrapped), aad, sealed) == b"hello"


def test_fresh_data_key_each_call(writer: LocalKeyWriter) -> None:
    first, second = writer.new_data_key("acme", "prod"), writer.new_data_key("acme", "prod")
    assert first.plaintext != second.plaintext and first.wrapped != second.wrapped
    assert first.key_id == second.key_id


def test_local_files_are_private(writer: LocalKeyWriter, keydir: Path) -> None:
    writer.new_data_key("acme", "prod")
    tenant_dir = keydir / "acme"
    assert stat.S_IMODE(tenant_dir.stat().st_mode) == 0o700
    for name in ("public.json", "private.enc"):
        assert stat.S_IMODE((tenant_dir / name).stat().st_mode) == 0o600, name
    assert not [p for p in tenant_dir.iterdir() if p.name.endswith(".tmp")]


def test_private_file_holds_no_key_bytes(reader: LocalKeyring, keydir: Path) -> None:
    reader.new_data_key("acme", "prod")
    reader.rotate("acme")
    raw = (keydir / "acme" / "private.enc").read_bytes()
    private_keys = reader._read_private("acme")
    assert private_keys and len(private_keys) == 2
    for priv in private_keys.values():
        assert priv not in raw
        assert base64.b64encode(priv) not in raw
        assert priv.hex().encode() not in raw
    for marker in (b"\"keys\"", b"\"tenant\"", b"acme", b"tracevault.local-keyring"):
        assert marker not in raw[4:]


def test_public_file_format(reader: LocalKeyring, keydir: Path) -> None:
    dk = reader.new_data_key("acme", "prod")
    import json

    document = json.loads((keydir / "acme" / "public.json").read_text())
    assert document["active"] == dk.key_id
    assert set(document["keys"]) == {dk.key_id}
    assert len(base64.b64decode(document["keys"][dk.key_id])) == 32
    assert document["tenant"] == "acme" and "mac" in document


def test_writer_only_cannot_unwrap_and_never_opens_private(
    writer: LocalKeyWriter, keydir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer.new_data_key("acme", "prod")
    opened: list[str] = []
    real_read_bytes = Path.read_bytes

    def spy(self: Path) -> bytes:
        opened.append(self.name)
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", spy)
    # The writer's role has no reader or admin method at all: nothing to call, nothing to check.
    assert not isinstance(writer, DataKeyReader) and not isinstance(writer, KeyAdmin)
    for method in ("unwrap", "rotate", "shred", "_read_private"):
        assert not hasattr(writer, method)
    writer.new_data_key("acme", "prod")  # still writes
    assert "private.enc" not in opened


def test_writer_works_with_public_half_only(writer: LocalKeyWriter, reader: LocalKeyring, keydir: Path) -> None:
    """Production split: the ingest tier's data dir holds public.json only."""
    reader.rotate("acme")  # provisioned by operations, with the full keyring
    private = keydir / "acme" / "private.enc"
    saved = private.read_bytes()
    private.unlink()
    dk = writer.new_data_key("acme", "prod")
    private.write_bytes(saved)
    assert reader.unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext


def test_rotate_keeps_old_data_readable(reader: LocalKeyring, writer: LocalKeyWriter) -> None:
    old = writer.new_data_key("acme", "prod")
    new_id = reader.rotate("acme")
    assert new_id != old.key_id and new_id.startswith("v2-")
    new = writer.new_data_key("acme", "prod")
    assert new.key_id == new_id
    assert reader.unwrap("acme", "prod", old.key_id, old.wrapped) == old.plaintext
    assert reader.unwrap("acme", "prod", new.key_id, new.wrapped) == new.plaintext
    assert reader.rotate("acme").startswith("v3-")


@pytest.mark.parametrize(
    ("tenant", "env", "key_id", "wrapped_change", "error"),
    [
        ("acme", "dev", None, None, DecryptError),  # env bound in HKDF info and AAD
        ("acme", "prod", "v9-00000000", None, KeyUnavailable),  # unknown key id
        ("acme", "prod", None, "flip", DecryptError),
        ("acme", "prod", None, "truncate", DecryptError),
        ("acme", "prod", None, "zero-ephemeral", DecryptError),  # low-order point
        ("globex", "prod", None, None, KeyUnavailable),  # other tenant: its own keys only
    ],
    ids=["env", "key-id", "flipped-bit", "truncated", "zero-ephemeral", "other-tenant"],
)
def test_local_unwrap_failures(
    reader: LocalKeyring, tenant: str, env: str, key_id: str | None, wrapped_change: str | None, error: type
) -> None:
    reader.new_data_key("globex", "prod")
    dk = reader.new_data_key("acme", "prod")
    wrapped = bytearray(dk.wrapped)
    if wrapped_change == "flip":
        wrapped[50] ^= 0x01
    elif wrapped_change == "truncate":
        del wrapped[-1]
    elif wrapped_change == "zero-ephemeral":
        wrapped[:32] = bytes(32)
    with pytest.raises(error) as info:
        reader.unwrap(tenant, env, key_id or dk.key_id, bytes(wrapped))
    assert_no_leak(info.value, dk.plaintext, MASTER)


def test_other_master_secret_cannot_unwrap(keydir: Path, reader: LocalKeyring) -> None:
    dk = reader.new_data_key("acme", "prod")
    stranger = LocalKeyring(keydir, OTHER_MASTER)
    with pytest.raises(KeyUnavailable) as info:
        stranger.unwrap("acme", "prod", dk.key_id, dk.wrapped)
    assert_no_leak(info.value, dk.plaintext, MASTER, OTHER_MASTER)
    # Nor may it write: public.json is authenticated under the master secret.
    with pytest.raises(KeyUnavailable):
        LocalKeyWriter(keydir, OTHER_MASTER).new_data_key("acme", "prod")


@pytest.mark.parametrize("b_has_keys", [False, True], ids=["b-new", "b-existing"])
def test_tenant_directory_copied_to_other_tenant_fails(
    keydir: Path, reader: LocalKeyring, writer: LocalKeyWriter, b_has_keys: bool
) -> None:
    dk = writer.new_data_key("tenant-a", "prod")
    if b_has_keys:
        writer.new_data_key("tenant-b", "prod")
        shutil.rmtree(keydir / "tenant-b")
    shutil.copytree(keydir / "tenant-a", keydir / "tenant-b")
    # Reader: A's private.enc is sealed under a key bound to tenant A.
    with pytest.raises(FAILURES) as info:
        reader.unwrap("tenant-b", "prod", dk.key_id, dk.wrapped)
    assert_no_leak(info.value, dk.plaintext, MASTER)
    # Writer: A's public.json is authenticated for tenant A; B refuses to seal to it.
    with pytest.raises(KeyUnavailable):
        writer.new_data_key("tenant-b", "prod")
    # A is unaffected.
    assert reader.unwrap("tenant-a", "prod", dk.key_id, dk.wrapped) == dk.plaintext


def test_public_key_substitution_is_refused(keydir: Path, writer: LocalKeyWriter) -> None:
    import json

    writer.new_data_key("acme", "prod")
    path = keydir / "acme" / "public.json"
    document = json.loads(path.read_text())
    document["keys"][document["active"]] = base64.b64encode(bytes(range(32))).decode()
    path.write_text(json.dumps(document))
    with pytest.raises(KeyUnavailable):
        writer.new_data_key("acme", "prod")


def test_shred(keydir: Path, reader: LocalKeyring, writer: LocalKeyWriter) -> None:
    old = [writer.new_data_key("acme", env) for env in ("prod", "dev")]
    reader.rotate("acme")
    old.append(writer.new_data_key("acme", "prod"))
    other = writer.new_data_key("globex", "prod")
    other_files = {p.name: p.read_bytes() for p in (keydir / "globex").iterdir()}

    reader.shred("acme")

    tenant_dir = keydir / "acme"
    assert not (tenant_dir / "private.enc").exists() and not (tenant_dir / "public.json").exists()
    assert stat.S_IMODE((tenant_dir / "shredded").stat().st_mode) == 0o600
    for dk, env in zip(old, ("prod", "dev", "prod"), strict=True):
        with pytest.raises(KeyUnavailable) as info:
            reader.unwrap("acme", env, dk.key_id, dk.wrapped)
        assert_no_leak(info.value, dk.plaintext)
    # Writers refuse rather than silently starting a new key history.
    with pytest.raises(KeyUnavailable):
        writer.new_data_key("acme", "prod")
    # Other tenants untouched.
    assert {p.name: p.read_bytes() for p in (keydir / "globex").iterdir()} == other_files
    assert reader.unwrap("globex", "prod", other.key_id, other.wrapped) == other.plaintext
    # Idempotent.
    reader.shred("acme")

    # An explicit rotate starts fresh keys; the version counter continues, old data stays dead.
    fresh_id = reader.rotate("acme")
    assert fresh_id.startswith("v3-")
    fresh = writer.new_data_key("acme", "prod")
    assert fresh.key_id == fresh_id
    assert reader.unwrap("acme", "prod", fresh.key_id, fresh.wrapped) == fresh.plaintext
    with pytest.raises(KeyUnavailable):
        reader.unwrap("acme", "prod", old[0].key_id, old[0].wrapped)


@pytest.mark.parametrize("tenant", ["../escape", "ACME", "", ".", "..", "a/b"])
def test_tenant_ids_validated_before_paths(keydir: Path, reader: LocalKeyring, tenant: str) -> None:
    for call in (
        lambda: reader.new_data_key(tenant, "prod"),
        lambda: reader.unwrap(tenant, "prod", "v1-00000000", bytes(92)),
        lambda: reader.rotate(tenant),
        lambda: reader.shred(tenant),
    ):
        with pytest.raises(InvalidTenantId):
            call()
    assert not keydir.exists() or not any(keydir.parent.rglob("escape"))


def test_keyring_repr_hides_master(reader: LocalKeyring) -> None:
    for form in leak_forms(MASTER):
        assert form not in repr(reader)


def test_short_master_secret_refused_without_echo(keydir: Path) -> None:
    with pytest.raises(ValueError) as info:
        LocalKeyring(keydir, b"short-secret")
    assert "short-secret" not in str(info.value)


def test_build_keyring_local(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path)
    keyring = build_key_writer(config, MASTER)
    assert isinstance(keyring, LocalKeyWriter) and not isinstance(keyring, DataKeyReader)
    dk = keyring.new_data_key("acme", "prod")
    assert (config.keyring_dir() / "acme" / "public.json").exists()
    assert build_keyring(config, MASTER).unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext


# --------------------------------------------------------------------------------------------
# AWS KMS keyring, against moto in server mode
# --------------------------------------------------------------------------------------------


@pytest.fixture
def kms(moto_endpoint: str, kms_client) -> KmsKeyring:
    # A unique alias pattern per test: the moto server is shared by the whole session.
    prefix = uuid.uuid4().hex[:8]
    config = KeyringConfig(type="kms", kms_key_id=f"alias/tv-{prefix}-{{tenant}}", endpoint_url=moto_endpoint, region="us-east-1")
    keyring = KmsKeyring(config, kms_client)
    for tenant in ("acme", "globex"):
        keyring.ensure_tenant_key(tenant)
    return keyring


def test_kms_round_trip_with_encryption_context(kms: KmsKeyring, kms_client) -> None:
    assert isinstance(kms, Keyring)
    dk = kms.new_data_key("acme", "prod")
    assert len(dk.plaintext) == 32 and dk.key_id.startswith("arn:aws:kms:")
    assert kms.unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext
    # The context is really bound: KMS itself refuses the blob without it.
    with pytest.raises(Exception):  # noqa: B017 - botocore's ClientError
        kms_client.decrypt(CiphertextBlob=dk.wrapped, KeyId=dk.key_id)
    plain = kms_client.decrypt(
        CiphertextBlob=dk.wrapped,
        KeyId=dk.key_id,
        EncryptionContext={"tracevault:tenant": "acme", "tracevault:env": "prod"},
    )["Plaintext"]
    assert plain == dk.plaintext


def test_kms_tenants_have_their_own_keys(kms: KmsKeyring) -> None:
    assert kms.new_data_key("acme", "prod").key_id != kms.new_data_key("globex", "prod").key_id


@pytest.mark.parametrize(
    ("tenant", "env", "key_of"),
    [
        ("acme", "dev", "acme"),  # wrong env in the context
        ("globex", "prod", "acme"),  # moved to another tenant, recorded key id kept
        ("globex", "prod", "globex"),  # moved to another tenant, its key id substituted
    ],
    ids=["env", "tenant-context", "tenant-key"],
)
def test_kms_unwrap_failures(kms: KmsKeyring, tenant: str, env: str, key_of: str) -> None:
    dk = kms.new_data_key("acme", "prod")
    key_id = dk.key_id if key_of == "acme" else kms.new_data_key(key_of, "prod").key_id
    with pytest.raises(FAILURES) as info:
        kms.unwrap(tenant, env, key_id, dk.wrapped)
    assert str(info.value).startswith("KMS ")
    assert_no_leak(info.value, dk.plaintext)


def test_kms_rotate_keeps_old_readable(kms: KmsKeyring, kms_client) -> None:
    old = kms.new_data_key("acme", "prod")
    key_id = kms.rotate("acme")
    assert key_id == old.key_id  # KMS versions key material inside the key
    rotations = kms_client.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    new = kms.new_data_key("acme", "prod")
    assert kms.unwrap("acme", "prod", old.key_id, old.wrapped) == old.plaintext
    assert kms.unwrap("acme", "prod", new.key_id, new.wrapped) == new.plaintext


def test_kms_shred_schedules_deletion(kms: KmsKeyring, kms_client) -> None:
    old = [kms.new_data_key("acme", env) for env in ("prod", "dev")]
    other = kms.new_data_key("globex", "prod")
    kms.shred("acme")
    metadata = kms_client.describe_key(KeyId=old[0].key_id)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    for dk, env in zip(old, ("prod", "dev"), strict=True):
        with pytest.raises(KeyUnavailable) as info:
            kms.unwrap("acme", env, dk.key_id, dk.wrapped)
        assert_no_leak(info.value, dk.plaintext)
    with pytest.raises(KeyUnavailable) as info:
        kms.new_data_key("acme", "prod")
    assert str(info.value) == "KMS generate_data_key failed: NotFoundException"
    assert kms.unwrap("globex", "prod", other.key_id, other.wrapped) == other.plaintext
    # Operations can start a fresh key explicitly; old data stays unreadable.
    fresh_arn = kms.ensure_tenant_key("acme")
    assert fresh_arn != old[0].key_id
    fresh = kms.new_data_key("acme", "prod")
    assert kms.unwrap("acme", "prod", fresh.key_id, fresh.wrapped) == fresh.plaintext
    with pytest.raises(KeyUnavailable):
        kms.unwrap("acme", "prod", old[0].key_id, old[0].wrapped)


def test_kms_writer_only_never_calls_decrypt(kms: KmsKeyring, kms_client) -> None:
    dk = kms.new_data_key("acme", "prod")

    class NoDecrypt:
        def __getattr__(self, name: str):
            if name in ("decrypt", "describe_key"):
                raise AssertionError(f"writer called {name}")
            return getattr(kms_client, name)

    writer = KmsKeyWriter(kms._config, NoDecrypt())
    assert not isinstance(writer, DataKeyReader) and not hasattr(writer, "unwrap")
    assert kms.unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext  # the full keyring reads
    assert len(writer.new_data_key("acme", "prod").plaintext) == 32


def test_kms_unknown_tenant_is_unavailable(kms: KmsKeyring) -> None:
    with pytest.raises(KeyUnavailable) as info:
        kms.new_data_key("nobody", "prod")
    assert str(info.value) == "KMS generate_data_key failed: NotFoundException"
    assert "nobody" in kms.key_ref("nobody")


def test_build_keyring_kms(moto_endpoint: str, aws_env: None) -> None:
    config = Config(keyring=KeyringConfig(type="kms", endpoint_url=moto_endpoint, region="us-east-1"))
    keyring = build_keyring(config, MASTER)
    assert isinstance(keyring, KmsKeyring)
    tenant = f"t{uuid.uuid4().hex[:8]}"
    keyring.ensure_tenant_key(tenant)
    dk = keyring.new_data_key(tenant, "prod")
    assert keyring.unwrap(tenant, "prod", dk.key_id, dk.wrapped) == dk.plaintext
    assert "alias/tracevault-" in keyring.key_ref(tenant)


def test_concurrent_first_use_creates_one_key_pair(keydir: Path, reader: LocalKeyring) -> None:
    """Several sidecar workers meeting a new tenant at once must agree on one key pair."""
    from concurrent.futures import ThreadPoolExecutor

    writers = [LocalKeyWriter(keydir, MASTER) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda w: w.new_data_key("acme", "prod"), writers))
    assert len({dk.key_id for dk in keys}) == 1
    for dk in keys:
        assert reader.unwrap("acme", "prod", dk.key_id, dk.wrapped) == dk.plaintext


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("InvalidCiphertextException", DecryptError),
        ("IncorrectKeyException", DecryptError),
        ("AccessDeniedException", KeyUnavailable),
        ("NotFoundException", KeyUnavailable),
        ("DisabledException", KeyUnavailable),
        ("KMSInvalidStateException", KeyUnavailable),
        ("ThrottlingException", KeyServiceUnavailable),
        ("KMSInternalException", KeyServiceUnavailable),
    ],
)
def test_kms_error_mapping(code: str, error: type) -> None:
    from botocore.exceptions import ClientError

    secret_message = "arn and \x01\x02 plaintext would never be here"

    class Failing:
        def __getattr__(self, name: str):
            def call(**_: object) -> None:
                raise ClientError({"Error": {"Code": code, "Message": secret_message}}, name)

            return call

    keyring = KmsKeyring(KeyringConfig(type="kms"), Failing(), verify_key_state=False)
    with pytest.raises(error) as info:
        keyring.unwrap("acme", "prod", "arn:aws:kms:us-east-1:1:key/x", b"blob")
    assert str(info.value) == f"KMS decrypt failed: {code}"
    assert secret_message not in repr(info.value) and info.value.__cause__ is None


def test_kms_unreachable_is_transient(aws_env: None) -> None:
    import boto3
    from botocore.config import Config as BotoConfig

    client = boto3.client(
        "kms",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=1),
    )
    with pytest.raises(KeyServiceUnavailable) as info:
        KmsKeyring(KeyringConfig(type="kms"), client).new_data_key("acme", "prod")
    assert str(info.value).startswith("KMS generate_data_key failed: ")


@pytest.mark.parametrize("keyring_type", ["local", "kms"])
def test_the_sidecar_vault_is_built_with_the_writer_role_only(tmp_path: Path, keyring_type: str) -> None:
    from policies.config import parse_config
    from sidecar.server import build_vault

    config = parse_config({"data_dir": str(tmp_path), "keyring": {"type": keyring_type, "region": "us-east-1"}})
    writer = build_key_writer(config, MASTER)
    assert isinstance(writer, DataKeyWriter)
    assert not isinstance(writer, DataKeyReader) and not isinstance(writer, KeyAdmin)
    assert isinstance(build_keyring(config, MASTER), Keyring)
    sink = build_vault(config, MASTER)
    assert sink is not None
    # The only key capability the sink holds is the writer's bound new_data_key.
    sealer = sink._writer._new_data_key
    assert not isinstance(sealer.__self__, DataKeyReader)
