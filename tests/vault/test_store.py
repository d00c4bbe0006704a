"""Object stores: every behaviour runs against LocalStore and S3Store (moto in server mode)."""

from __future__ import annotations

import datetime as dt
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from policies.config import Config, StorageConfig
from tests.conftest import REGION
from vault.layout import audit_key, metrics_key, parse_key, partition_prefix, payload_key
from vault.store import (
    TEMP_PREFIX,
    InvalidKey,
    LocalStore,
    ObjectInfo,
    ObjectNotFound,
    ObjectStore,
    S3Store,
    StoreError,
    open_store,
)

DAY = dt.date(2024, 3, 9)
MakeStore = Callable[..., ObjectStore]


class Calls:
    """Counts the S3 API calls a store makes, and keeps their parameters."""

    def __init__(self, store: ObjectStore) -> None:
        self.params: dict[str, list[dict]] = {}
        if isinstance(store, S3Store):
            store._client.meta.events.register("before-parameter-build.s3.*", self._record)

    def _record(self, params, model, **_: object) -> None:
        self.params.setdefault(model.name, []).append(params)

    def count(self, operation: str) -> int:
        return len(self.params.get(operation, []))


@pytest.fixture(params=["local", "s3"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> MakeStore:
    """A factory: ``make_store(prefix="", **s3_options)``; the local store maps a prefix to a subdir."""
    if request.param == "local":

        def make_local(prefix: str = "", **_: object) -> ObjectStore:
            root = tmp_path / "store"
            return LocalStore(root / prefix if prefix else root)

        return make_local

    bucket = request.getfixturevalue("s3_bucket")
    endpoint = request.getfixturevalue("moto_endpoint")
    raw = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    assert raw.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0, "bucket shared between tests"

    def make_s3(prefix: str = "", **options: object) -> ObjectStore:
        return S3Store(bucket, prefix, endpoint_url=endpoint, region=REGION, **options)  # type: ignore[arg-type]

    return make_s3


@pytest.fixture
def store(make_store: MakeStore) -> ObjectStore:
    return make_store()


def _is_s3(store: ObjectStore) -> bool:
    return isinstance(store, S3Store)


def _near_now(moment: dt.datetime) -> bool:
    return moment.tzinfo == dt.timezone.utc and abs(dt.datetime.now(dt.timezone.utc) - moment) < dt.timedelta(minutes=5)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------


def test_put_get_head(store: ObjectStore) -> None:
    assert isinstance(store, ObjectStore)
    key = payload_key("acme", "prod", DAY, "seg-1")
    assert store.head(key) is None
    store.put(key, b"first version")
    assert store.get(key) == b"first version"
    info = store.head(key)
    assert info is not None and info.key == key and info.size == len(b"first version")
    assert _near_now(info.modified)
    store.put(key, bytearray(b"v2"))  # overwrite; bytes-like accepted
    assert store.get(key) == b"v2"
    assert store.head(key).size == 2  # type: ignore[union-attr]
    store.put("empty", b"")
    assert store.get("empty") == b"" and store.head("empty").size == 0  # type: ignore[union-attr]


def test_missing(store: ObjectStore) -> None:
    store.put("a/b/c", b"x")
    for key in ("nope", "a/b", "a/b/c/d"):  # absent, a "directory", below an object
        with pytest.raises(ObjectNotFound) as caught:
            store.get(key)
        assert isinstance(caught.value, KeyError)
        assert str(caught.value) == f"get: no such object: {key}"
        assert caught.value.key == key
        with pytest.raises(ObjectNotFound, match="get_range"):
            store.get_range(key, 0, 4)
        with pytest.raises(ObjectNotFound):
            store.get_range(key, 0, 0)
        assert store.head(key) is None


BAD_KEYS = {
    "empty": "",
    "dotdot": "../x",
    "inner-dotdot": "a/../b",
    "dot": "./a",
    "absolute": "/abs",
    "backslash": "a\\b",
    "double-slash": "a//b",
    "trailing-slash": "a/",
    "nul": "a\x00b",
    "newline": "a\nb",
    "temp-name": f"a/{TEMP_PREFIX}x",
    "too-long": "k" * 1025,
    "surrogate": "a\udcffb",
    "not-str": b"abc",
}
OPERATIONS = {
    "put": lambda s, k: s.put(k, b"content"),
    "get": lambda s, k: s.get(k),
    "range": lambda s, k: s.get_range(k, 0, 1),
    "head": lambda s, k: s.head(k),
    "delete": lambda s, k: s.delete_many([k]),
}


@pytest.mark.parametrize("key", BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_bad_key(store: ObjectStore, key: object) -> None:
    for name, operation in OPERATIONS.items():
        with pytest.raises(InvalidKey) as caught:
            operation(store, key)
        assert isinstance(caught.value, ValueError), name
        if isinstance(key, str) and len(key) > 2:
            assert key not in str(caught.value), name
    assert list(store.list("")) == []


@pytest.mark.parametrize(
    "prefix",
    ["/abs", "../", "a/../b", "a\\b", "a//", "./", ".."],
    ids=["abs", "dotdot-slash", "inner-dotdot", "backslash", "double-slash", "dot-slash", "dotdot"],
)
def test_bad_prefix(store: ObjectStore, prefix: str) -> None:
    with pytest.raises(InvalidKey):
        list(store.list(prefix))


def test_delete_many_wants_a_sequence(store: ObjectStore) -> None:
    with pytest.raises(TypeError):
        store.delete_many("abc")  # type: ignore[arg-type]


LISTED = ["a-c", "a/b", "a0", "metrics/tenant=a/x", "metrics/tenant=ab/y", "metrics/tenant=b/z", "z"]


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", LISTED),  # sorted as S3 sorts: "-" < "/" < "0"
        ("a", ["a-c", "a/b", "a0"]),
        ("a/", ["a/b"]),
        ("metrics/", LISTED[3:6]),
        ("metrics/tenant=a", ["metrics/tenant=a/x", "metrics/tenant=ab/y"]),  # a string prefix
        ("metrics/tenant=a/", ["metrics/tenant=a/x"]),
        ("metrics/tenant=a/x", ["metrics/tenant=a/x"]),
        ("nothing/", []),
        ("zz", []),
    ],
    ids=["all", "a", "a-slash", "metrics", "tenant-a", "tenant-a-slash", "one", "nothing", "zz"],
)
def test_list(store: ObjectStore, prefix: str, expected: list[str]) -> None:
    for key in reversed(LISTED):
        store.put(key, key.encode())
    found = list(store.list(prefix))
    assert [info.key for info in found] == expected
    assert all(info.size == len(info.key) and _near_now(info.modified) for info in found)


def test_list_pages(make_store: MakeStore) -> None:
    store = make_store(page_size=7)
    calls = Calls(store)
    keys = [metrics_key("acme", "prod", DAY, f"s{i:03d}") for i in range(25)]
    for key in keys:
        store.put(key, b"x")
    store.put(payload_key("acme", "prod", DAY, "other"), b"x")
    assert [i.key for i in store.list(partition_prefix("metrics", "acme"))] == keys
    if _is_s3(store):
        assert calls.count("ListObjectsV2") == 4  # 7 + 7 + 7 + 4
        assert {p["MaxKeys"] for p in calls.params["ListObjectsV2"]} == {7}


def test_list_under_prefix_store(make_store: MakeStore) -> None:
    outer, inner, sibling = make_store(), make_store("p/q/"), make_store("p/qq")
    inner.put("k1", b"1")
    sibling.put("k2", b"2")
    assert [i.key for i in inner.list("")] == ["k1"]
    assert [i.key for i in sibling.list("k")] == ["k2"]
    assert [i.key for i in outer.list("")] == ["p/q/k1", "p/qq/k2"]
    assert outer.get("p/q/k1") == b"1"
    inner.delete_many(["k1"])
    assert [i.key for i in outer.list("")] == ["p/qq/k2"]


@pytest.mark.parametrize(
    ("start", "length", "expected"),
    [
        (0, 4, b"0123"),
        (3, 3, b"345"),
        (9, 1, b"9"),
        (8, 10, b"89"),  # past the end: a short read
        (10, 5, b""),  # at the end
        (20, 1, b""),  # beyond it
        (4, 0, b""),
    ],
    ids=["head", "middle", "last", "short", "at-end", "beyond", "empty"],
)
def test_get_range(store: ObjectStore, start: int, length: int, expected: bytes) -> None:
    store.put("obj", b"0123456789")
    calls = Calls(store)
    assert store.get_range("obj", start, length) == expected
    if _is_s3(store) and length:
        assert calls.count("GetObject") == 1
        assert calls.params["GetObject"][0]["Range"] == f"bytes={start}-{start + length - 1}"


@pytest.mark.parametrize(("start", "length"), [(-1, 1), (0, -1), (1.5, 2)], ids=["start", "length", "float"])
def test_get_range_bad_arguments(store: ObjectStore, start, length) -> None:
    with pytest.raises(ValueError):
        store.get_range("obj", start, length)


def test_delete_many(store: ObjectStore, tmp_path: Path) -> None:
    keys = [metrics_key("acme", "prod", DAY, s) for s in ("a", "b", "c")]
    for key in keys:
        store.put(key, b"x")
    missing = metrics_key("acme", "prod", DAY, "missing")
    deleted = store.delete_many([keys[0], missing, keys[1], keys[0]])
    # S3 cannot tell a missing key from a deleted one; the local store can.
    assert deleted == (3 if _is_s3(store) else 2)
    assert [i.key for i in store.list("")] == [keys[2]]
    assert store.delete_many([]) == 0
    assert store.delete_many([keys[2]]) == 1
    assert list(store.list("")) == []
    if isinstance(store, LocalStore):
        assert list(store.root.iterdir()) == []  # emptied partition directories are pruned


def test_delete_many_batches(make_store: MakeStore) -> None:
    store = make_store(delete_batch=10)
    calls = Calls(store)
    keys = [f"k/{i:03d}" for i in range(25)]
    for key in keys:
        store.put(key, b"x")
    assert store.delete_many(keys) == 25
    assert list(store.list("")) == []
    if _is_s3(store):
        assert calls.count("DeleteObjects") == 3
        assert [len(p["Delete"]["Objects"]) for p in calls.params["DeleteObjects"]] == [10, 10, 5]


@pytest.mark.parametrize("options", [{"delete_batch": 1001}, {"delete_batch": 0}, {"page_size": 1001}])
def test_s3_limits(options: dict) -> None:
    with pytest.raises(ValueError):
        S3Store("bucket", client=object(), **options)


def test_overwrite_is_atomic(store: ObjectStore) -> None:
    key = payload_key("acme", "prod", DAY, "hot")
    old, new = b"o" * 256 * 1024, b"n" * 300 * 1024
    store.put(key, old)
    rounds = 30 if _is_s3(store) else 200
    done = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        try:
            for i in range(rounds):
                store.put(key, new if i % 2 == 0 else old)
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    reads = 0
    while not done.is_set() or reads == 0:
        data = store.get(key)
        assert data in (old, new), f"torn read of {len(data)} bytes"
        seen.add(data[:1])
        reads += 1
    thread.join(timeout=30)
    assert not failures
    assert store.get(key) == old  # the last round (odd) wrote the old value
    if isinstance(store, LocalStore):
        assert _files(store.root) == [key]  # no temp files left behind


def test_local_failed_put_keeps_old_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalStore(tmp_path / "store")
    store.put("k/obj", b"old")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("vault.store.os.fsync", broken_fsync)
    with pytest.raises(StoreError) as caught:
        store.put("k/obj", b"SECRET-CONTENT")
    assert str(caught.value) == "put k/obj: Input/output error"
    monkeypatch.undo()
    assert store.get("k/obj") == b"old"
    assert _files(store.root) == ["k/obj"]


def test_local_modes(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # modes must not depend on a permissive umask
    try:
        store = LocalStore(tmp_path / "deep" / "store")
        key = audit_key("acme", DAY, "s")
        store.put(key, b"{}\n")
    finally:
        os.umask(old_umask)
    path = store.root / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    directory = path.parent
    while directory != store.root.parent:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
        directory = directory.parent


def test_local_list_skips_temp_files_and_links(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    assert list(store.list("")) == []  # no root yet
    store.put("d/real", b"1")
    (store.root / "d" / f"{TEMP_PREFIX}abc.part").write_bytes(b"partial")
    (tmp_path / "outside").write_bytes(b"outside")
    (store.root / "d" / "link").symlink_to(tmp_path / "outside")
    assert [i.key for i in store.list("")] == ["d/real"]


def test_local_key_blocked_by_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "store")
    store.put("a", b"1")
    with pytest.raises(StoreError, match="^put a/b: "):
        store.put("a/b", b"2")


def test_describe(make_store: MakeStore, tmp_path: Path) -> None:
    plain, prefixed = make_store(), make_store("p/q")
    if _is_s3(plain):
        bucket = plain.bucket  # type: ignore[attr-defined]
        assert plain.describe() == f"s3://{bucket}"
        assert prefixed.describe() == f"s3://{bucket}/p/q"
    else:
        assert plain.describe() == (tmp_path / "store").as_uri()
        assert prefixed.describe() == (tmp_path / "store" / "p" / "q").as_uri()


def test_layout_round_trip_through_store(store: ObjectStore) -> None:
    keys = [
        metrics_key("acme", "prod", DAY, "s1"),
        payload_key("acme", "prod", DAY, "s1"),
        payload_key("globex", "prod", DAY, "s1"),
    ]
    for key in keys:
        store.put(key, b"x")
    listed = [parse_key(i.key) for i in store.list(partition_prefix("payloads", "acme"))]
    assert [(p.kind, p.tenant, p.env, p.day, s) for p, s in listed] == [("payloads", "acme", "prod", DAY, "s1")]  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# S3 only


def test_s3_sse_kms(s3_bucket: str, moto_endpoint: str, kms_client) -> None:
    key_id = kms_client.create_key(Description="tracevault test")["KeyMetadata"]["KeyId"]
    store = S3Store(s3_bucket, "enc", endpoint_url=moto_endpoint, region=REGION, sse_kms_key_id=key_id)
    calls = Calls(store)
    store.put("obj", b"data")
    assert calls.params["PutObject"][0]["ServerSideEncryption"] == "aws:kms"
    raw = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    head = raw.head_object(Bucket=s3_bucket, Key="enc/obj")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"].endswith(key_id)
    assert store.get("obj") == b"data"

    plain = S3Store(s3_bucket, "plain", endpoint_url=moto_endpoint, region=REGION)
    calls = Calls(plain)
    plain.put("obj", b"data")
    assert "ServerSideEncryption" not in calls.params["PutObject"][0]


def test_s3_client_uses_standard_retries(moto_endpoint: str, aws_env: None) -> None:
    store = S3Store("b", endpoint_url=moto_endpoint, region=REGION, max_attempts=7)
    config = store._client.meta.config
    # total_max_attempts counts the first attempt too (botocore's max_attempts counts retries only)
    assert config.retries == {"total_max_attempts": 7, "mode": "standard"}
    assert config.s3 == {"addressing_style": "path"}


def test_s3_errors_name_operation_and_code_only(moto_endpoint: str, aws_env: None) -> None:
    store = S3Store("no-such-bucket-here", endpoint_url=moto_endpoint, region=REGION, max_attempts=1)
    with pytest.raises(StoreError) as caught:
        store.put("k", b"SECRET-CONTENT")
    assert str(caught.value) == "put k: NoSuchBucket"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    with pytest.raises(StoreError, match="^get k: NoSuchBucket$"):
        store.get("k")
    with pytest.raises(StoreError, match="^list : NoSuchBucket$"):
        list(store.list(""))

    unreachable = S3Store("b", endpoint_url="http://127.0.0.1:9", region=REGION, max_attempts=1)
    with pytest.raises(StoreError, match="^get k: EndpointConnectionError$"):
        unreachable.get("k")


def test_s3_list_skips_folder_markers(s3_bucket: str, moto_endpoint: str) -> None:
    raw = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    raw.put_object(Bucket=s3_bucket, Key="folder/", Body=b"")
    store = S3Store(s3_bucket, endpoint_url=moto_endpoint, region=REGION)
    store.put("folder/obj", b"x")
    assert [i.key for i in store.list("")] == ["folder/obj"]


# ---------------------------------------------------------------------------------------------
# open_store


def test_open_store_default_is_local(tmp_path: Path) -> None:
    store = open_store(Config(data_dir=tmp_path / "data dir"))
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "data dir" / "store").resolve()
    store.put("k", b"v")
    assert (tmp_path / "data dir" / "store" / "k").read_bytes() == b"v"


def test_open_store_file_url(tmp_path: Path) -> None:
    root = tmp_path / "elsewhere %41"
    store = open_store(Config(storage=StorageConfig(url=root.as_uri())))
    assert isinstance(store, LocalStore) and store.root == root
    assert open_store(Config(storage=StorageConfig(url=f"file://localhost{tmp_path}"))).root == tmp_path  # type: ignore[attr-defined]


def test_open_store_s3_url(s3_bucket: str, moto_endpoint: str, kms_client) -> None:
    key_id = kms_client.create_key()["KeyMetadata"]["KeyId"]
    storage = StorageConfig(
        url=f"s3://{s3_bucket}/tv/data/",
        endpoint_url=moto_endpoint,
        region=REGION,
        sse_kms_key_id=key_id,
        max_attempts=3,
    )
    store = open_store(Config(storage=storage))
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.sse_kms_key_id) == (s3_bucket, "tv/data", key_id)
    assert store._client.meta.config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert store.describe() == f"s3://{s3_bucket}/tv/data"
    store.put("k", b"v")
    raw = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    assert raw.get_object(Bucket=s3_bucket, Key="tv/data/k")["Body"].read() == b"v"
    assert isinstance(open_store(Config(storage=StorageConfig(url=f"s3://{s3_bucket}", endpoint_url=moto_endpoint))), S3Store)


@pytest.mark.parametrize(
    "url",
    ["file://relative/path", "file://host/abs", "file:///abs?x=1", "s3:///no-bucket", "s3://bucket/p?x=1", "s3://b/../x"],
)
def test_open_store_refuses_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        open_store(Config(storage=StorageConfig(url=url)))


def test_object_info_is_frozen() -> None:
    info = ObjectInfo("k", 1, dt.datetime.now(dt.timezone.utc))
    with pytest.raises(AttributeError):
        info.size = 2  # type: ignore[misc]


def test_s3_bucket_level_operations(s3_bucket: str, moto_endpoint: str) -> None:
    """The public methods retention and doctor use instead of the store's boto3 client."""
    import boto3

    store = S3Store(s3_bucket, "pre", endpoint_url=moto_endpoint, region=REGION)
    assert store.versioning_status() is None
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION)
    client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    assert store.versioning_status() == "Enabled"
    client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Suspended"})
    assert store.versioning_status() == "Suspended"

    for key in ("metrics/tenant=acme/env=prod/a.parquet", "metrics/tenant=globex/b.parquet", "payloads/tenant=acme/c.bin"):
        store.put(key, b"x")
    assert sorted(store.common_prefixes("metrics/")) == ["metrics/tenant=acme/", "metrics/tenant=globex/"]
    assert store.common_prefixes("audit/") == []

    assert store.lifecycle_rules() == []
    rule = {"ID": "r1", "Status": "Enabled", "Filter": {"Prefix": "pre/metrics/"}, "Expiration": {"Days": 3}}
    store.put_lifecycle_rules([rule])
    assert [r["ID"] for r in store.lifecycle_rules()] == ["r1"]


def test_s3_bucket_level_errors_name_the_operation(moto_endpoint: str, aws_env: None) -> None:
    store = S3Store("no-such-bucket-here", endpoint_url=moto_endpoint, region=REGION, max_attempts=1)
    for call in (store.versioning_status, store.lifecycle_rules, lambda: store.common_prefixes("metrics/")):
        with pytest.raises(StoreError) as info:
            call()
        assert "NoSuchBucket" in str(info.value)

# -- create-if-absent ------------------------------------------------------------------------------


def test_put_if_absent_creates_once_and_never_overwrites(store: ObjectStore) -> None:
    assert store.put_if_absent("audit/x/first.jsonl", b"one") is True
    assert store.put_if_absent("audit/x/first.jsonl", b"two") is False
    assert store.get("audit/x/first.jsonl") == b"one"
    store.put("audit/x/first.jsonl", b"three")  # a plain put still replaces
    assert store.put_if_absent("audit/x/first.jsonl", b"four") is False
    assert store.get("audit/x/first.jsonl") == b"three"
    assert [i.key for i in store.list("audit/")] == ["audit/x/first.jsonl"], "no temp file or second name is left"
    with pytest.raises(InvalidKey):
        store.put_if_absent("../escape", b"x")


def test_put_if_absent_under_racing_threads_has_one_winner(store: ObjectStore) -> None:
    """16 threads race for each of 8 keys at once: exactly one wins each key, and its bytes stay."""
    threads, keys = 16, [f"race/k{i}" for i in range(8)]
    barrier = threading.Barrier(threads)
    wins: dict[str, list[int]] = {k: [] for k in keys}
    lock = threading.Lock()

    def race(me: int) -> None:
        barrier.wait()
        for key in keys:
            if store.put_if_absent(key, f"writer {me}".encode()):
                with lock:
                    wins[key].append(me)

    workers = [threading.Thread(target=race, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert all(len(winners) == 1 for winners in wins.values()), wins
    for key, (winner,) in wins.items():
        assert store.get(key) == f"writer {winner}".encode()
