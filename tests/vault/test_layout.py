"""The storage key layout: Hive-style, validated before any key is built, and parseable back."""

from __future__ import annotations

import datetime as dt

import pytest

from vault.layout import (
    KINDS,
    Partition,
    audit_key,
    evaluations_key,
    log_metrics_key,
    metrics_key,
    parse_key,
    partition_prefix,
    payload_key,
    sibling_key,
)

DAY = dt.date(2024, 3, 9)


# (builder, args, expected key, expected partition, segment)
ROUND_TRIPS = [
    (
        metrics_key,
        ("acme", "prod", DAY, "seg-0001"),
        "metrics/tenant=acme/env=prod/date=2024-03-09/seg-0001.parquet",
        Partition("metrics", "acme", "prod", DAY),
        "seg-0001",
    ),
    (
        payload_key,
        ("acme", "prod", DAY, "20240309T101010Z_ab12.v1"),
        "payloads/tenant=acme/env=prod/date=2024-03-09/20240309T101010Z_ab12.v1.tvseg",
        Partition("payloads", "acme", "prod", DAY),
        "20240309T101010Z_ab12.v1",
    ),
    (
        audit_key,
        ("t.1-x_y", DAY, "A"),
        "audit/tenant=t.1-x_y/date=2024-03-09/A.jsonl",
        Partition("audit", "t.1-x_y", None, DAY),
        "A",
    ),
    (
        metrics_key,
        ("0", "e" * 63, dt.date(1, 1, 1), "x" * 128),
        f"metrics/tenant=0/env={'e' * 63}/date=0001-01-01/{'x' * 128}.parquet",
        Partition("metrics", "0", "e" * 63, dt.date(1, 1, 1)),
        "x" * 128,
    ),
    (  # a segment that itself ends like an extension keeps it
        payload_key,
        ("acme", "dev", DAY, "seg.tvseg"),
        "payloads/tenant=acme/env=dev/date=2024-03-09/seg.tvseg.tvseg",
        Partition("payloads", "acme", "dev", DAY),
        "seg.tvseg",
    ),
]


@pytest.mark.parametrize(
    ("builder", "args", "key", "partition", "segment"),
    ROUND_TRIPS,
    ids=["metrics", "payloads", "audit", "limits", "ext-in-segment"],
)
def test_round_trip(builder, args, key: str, partition: Partition, segment: str) -> None:
    assert builder(*args) == key
    assert parse_key(key) == (partition, segment)
    assert key.startswith(partition.prefix())
    assert partition.key(segment) == key


def test_aware_datetime_uses_the_utc_day() -> None:
    late_in_new_york = dt.datetime(2024, 3, 9, 22, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert metrics_key("acme", "prod", late_in_new_york, "s") == (
        "metrics/tenant=acme/env=prod/date=2024-03-10/s.parquet"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        metrics_key("acme", "prod", dt.datetime(2024, 3, 9, 12), "s")
    with pytest.raises(ValueError, match="date"):
        metrics_key("acme", "prod", "2024-03-09", "s")  # type: ignore[arg-type]


BAD_IDS = ["", "Acme", ".", "..", "a/b", "../x", "a\\b", "a" * 64, "a b", "é", "-a", "a\n", None, 7]
BAD_SEGMENTS = ["", ".hidden", "-x", "_x", "a/b", "../x", "a\\b", "x" * 129, "a b", "é", "x\n", "a:b", None]


def _secret_free(message: str, value: object) -> None:
    if isinstance(value, str) and len(value) > 2:
        assert value not in message


@pytest.mark.parametrize("tenant", BAD_IDS, ids=repr)
@pytest.mark.parametrize(
    "build",
    [
        lambda t: metrics_key(t, "prod", DAY, "s"),
        lambda t: payload_key(t, "prod", DAY, "s"),
        lambda t: audit_key(t, DAY, "s"),
        lambda t: partition_prefix("payloads", t) if t is not None else audit_key(t, DAY, "s"),
    ],
    ids=["metrics", "payloads", "audit", "prefix"],
)
def test_bad_tenant_refused(build, tenant: object) -> None:
    with pytest.raises(ValueError, match="invalid tenant id") as caught:
        build(tenant)
    _secret_free(str(caught.value), tenant)


@pytest.mark.parametrize("env", BAD_IDS, ids=repr)
@pytest.mark.parametrize(
    "build",
    [
        lambda e: metrics_key("acme", e, DAY, "s"),
        lambda e: payload_key("acme", e, DAY, "s"),
        lambda e: partition_prefix("metrics", "acme", e) if e is not None else metrics_key("acme", e, DAY, "s"),
    ],
    ids=["metrics", "payloads", "prefix"],
)
def test_bad_env_refused(build, env: object) -> None:
    with pytest.raises(ValueError, match="invalid environment id") as caught:
        build(env)
    _secret_free(str(caught.value), env)


@pytest.mark.parametrize("segment", BAD_SEGMENTS, ids=repr)
@pytest.mark.parametrize(
    "build",
    [
        lambda s: metrics_key("acme", "prod", DAY, s),
        lambda s: payload_key("acme", "prod", DAY, s),
        lambda s: audit_key("acme", DAY, s),
        lambda s: Partition("payloads", "acme", "prod", DAY).key(s),
    ],
    ids=["metrics", "payloads", "audit", "partition"],
)
def test_bad_segment_refused(build, segment: object) -> None:
    with pytest.raises(ValueError, match="invalid segment name") as caught:
        build(segment)
    _secret_free(str(caught.value), segment)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("metrics",), "metrics/"),
        (("payloads", "acme"), "payloads/tenant=acme/"),
        (("payloads", "acme", "prod"), "payloads/tenant=acme/env=prod/"),
        (("payloads", "acme", "prod", DAY), "payloads/tenant=acme/env=prod/date=2024-03-09/"),
        (("audit", "acme"), "audit/tenant=acme/"),
        (("audit", "acme", None, DAY), "audit/tenant=acme/date=2024-03-09/"),
    ],
)
def test_partition_prefix(args: tuple, expected: str) -> None:
    assert partition_prefix(*args) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("logs",), "invalid kind"),
        (("",), "invalid kind"),
        (("metrics", None, "prod"), "need a tenant"),
        (("metrics", None, None, DAY), "need a tenant"),
        (("metrics", "acme", None, DAY), "needs an env"),
        (("audit", "acme", "prod"), "no env"),
    ],
)
def test_partition_prefix_refused(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        partition_prefix(*args)


def test_every_kind_has_a_builder() -> None:
    assert KINDS == ("metrics", "log_metrics", "payloads", "audit", "evaluations")
    keys = [metrics_key("a", "e", DAY, "s"), log_metrics_key("a", "e", DAY, "s"), payload_key("a", "e", DAY, "s"), audit_key("a", DAY, "s"), evaluations_key("a", "e", DAY, "s")]
    assert [parse_key(k)[0].kind for k in keys] == list(KINDS)  # type: ignore[index]


@pytest.mark.parametrize(
    "key",
    [
        "",
        "metrics",
        "metrics/",
        "metrics/tenant=acme/env=prod/date=2024-03-09/",
        "metrics/tenant=acme/env=prod/date=2024-03-09/s.tvseg",  # wrong extension for the kind
        "metrics/tenant=acme/env=prod/date=2024-03-09/s",
        "metrics/tenant=acme/env=prod/date=2024-13-09/s.parquet",  # no month 13
        "metrics/tenant=acme/env=prod/date=2024-3-09/s.parquet",
        "metrics/tenant=acme/env=prod/date=20240309/s.parquet",
        "metrics/tenant=Acme/env=prod/date=2024-03-09/s.parquet",
        "metrics/tenant=../env=prod/date=2024-03-09/s.parquet",
        "metrics/tenant=/env=prod/date=2024-03-09/s.parquet",
        "metrics/acme/env=prod/date=2024-03-09/s.parquet",
        "metrics/tenant=acme/environment=prod/date=2024-03-09/s.parquet",
        "metrics/tenant=acme/env=prod/day=2024-03-09/s.parquet",
        "metrics/tenant=acme/env=prod/date=2024-03-09/x/s.parquet",
        "metrics/tenant=acme/date=2024-03-09/s.parquet",  # metrics need an env
        "audit/tenant=acme/env=prod/date=2024-03-09/s.jsonl",  # audit has none
        "payloads/tenant=acme/env=prod/date=2024-03-09/.s.tvseg",
        "payloads/tenant=acme/env=prod/date=2024-03-09/.tvseg",
        "/metrics/tenant=acme/env=prod/date=2024-03-09/s.parquet",
        "logs/tenant=acme/env=prod/date=2024-03-09/s.parquet",
        42,
        None,
    ],
)
def test_parse_key_rejects_keys_outside_the_layout(key: object) -> None:
    assert parse_key(key) is None  # type: ignore[arg-type]


def test_layout_reads_as_hive_partitions(tmp_path) -> None:
    """DuckDB reads the metrics tree as is, with tenant, env and date as columns."""
    duckdb = pytest.importorskip("duckdb")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    for tenant, env, n in [("acme", "prod", 3), ("acme", "dev", 1), ("globex", "prod", 2)]:
        path = tmp_path / metrics_key(tenant, env, DAY, "seg-1")
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table({"span_id": [f"{i:016x}" for i in range(n)]}), path)
    rows = duckdb.sql(
        f"SELECT tenant, env, CAST(date AS VARCHAR), count(*) FROM read_parquet("
        f"'{tmp_path}/metrics/*/*/*/*.parquet', hive_partitioning = true) "
        "GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert rows == [
        ("acme", "dev", "2024-03-09", 1),
        ("acme", "prod", "2024-03-09", 3),
        ("globex", "prod", "2024-03-09", 2),
    ]


def test_sibling_key_keeps_partition_and_segment() -> None:
    metrics = metrics_key("acme", "prod", DAY, "seg-1")
    assert sibling_key(metrics, "log_metrics") == log_metrics_key("acme", "prod", DAY, "seg-1")
    assert sibling_key(log_metrics_key("acme", "prod", DAY, "seg-1"), "metrics") == metrics
    for bad in ("metrics/nope.parquet", audit_key("acme", DAY, "s")):
        with pytest.raises(ValueError, match="env partition"):
            sibling_key(bad, "log_metrics")
