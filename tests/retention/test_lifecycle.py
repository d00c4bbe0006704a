"""`tracevault retention lifecycle`: the policy as S3 lifecycle rules, applied to a moto bucket."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from sidecar.cli import main
from tests.retention.support import Vault
from vault import layout
from vault.store import LocalStore

POLICY = {
    "tenants": {
        "acme": {"payload_days": 14, "environments": {"prod": {"payload_days": 7, "metrics_days": 200}}},
        "globex": {"audit_days": 100},
    }
}


def expected_rules(prefix: str) -> list[dict]:
    def rule(path: str, days: int) -> dict:
        return {
            "ID": "tracevault/" + path,
            "Filter": {"Prefix": f"{prefix}{path}/"},
            "Status": "Enabled",
            "Expiration": {"Days": days + 1},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
        }

    return [
        rule("metrics/tenant=acme/env=default", 400),
        rule("log_metrics/tenant=acme/env=default", 400),
        rule("payloads/tenant=acme/env=default", 14),
        rule("evaluations/tenant=acme/env=default", 400),
        rule("metrics/tenant=acme/env=prod", 200),
        rule("log_metrics/tenant=acme/env=prod", 200),
        rule("payloads/tenant=acme/env=prod", 7),
        rule("evaluations/tenant=acme/env=prod", 200),  # as long as the metrics they judge
        rule("audit/tenant=acme", 730),
        rule("metrics/tenant=default/env=default", 400),
        rule("log_metrics/tenant=default/env=default", 400),
        rule("payloads/tenant=default/env=default", 30),
        rule("evaluations/tenant=default/env=default", 400),
        rule("audit/tenant=default", 730),
        rule("metrics/tenant=globex/env=default", 400),
        rule("log_metrics/tenant=globex/env=default", 400),
        rule("payloads/tenant=globex/env=default", 30),
        rule("evaluations/tenant=globex/env=default", 400),
        rule("audit/tenant=globex", 100),
        # Not configured, found in the store (only log records): the defaults, for its envs.
        rule("metrics/tenant=hooli/env=qa", 400),
        rule("log_metrics/tenant=hooli/env=qa", 400),
        rule("payloads/tenant=hooli/env=qa", 30),
        rule("evaluations/tenant=hooli/env=qa", 400),
        rule("audit/tenant=hooli", 730),
        # Not configured, found in the store: the defaults, for the envs it has.
        rule("metrics/tenant=initech/env=staging", 400),
        rule("log_metrics/tenant=initech/env=staging", 400),
        rule("payloads/tenant=initech/env=staging", 30),
        rule("evaluations/tenant=initech/env=staging", 400),
        rule("audit/tenant=initech", 730),
        # The security log, by the default tenant's audit_days (as the sweep keeps it).
        rule("access/security-log", 730),
    ]


def test_rules_rendered_and_applied_to_the_bucket(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> None:
    from vault.store import S3Store

    store = S3Store(s3_bucket, "vault", endpoint_url=moto_endpoint, region="us-east-1")
    store.put(layout.metrics_key("initech", "staging", date(2026, 1, 1), "seg"), b"x")
    store.put(layout.payload_key("initech", "staging", date(2026, 1, 1), "seg"), b"x")
    store.put(layout.log_metrics_key("hooli", "qa", date(2026, 1, 1), "seg"), b"x")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    foreign = {"ID": "logs-expiry", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}}
    s3.put_bucket_lifecycle_configuration(Bucket=s3_bucket, LifecycleConfiguration={"Rules": [foreign]})
    vault = Vault(tmp_path, {"data_dir": str(tmp_path / "d"), **POLICY, "storage": {"url": f"s3://{s3_bucket}/vault", "endpoint_url": moto_endpoint, "region": "us-east-1"}}, store)

    shown = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file])
    assert shown.exit_code == 0, shown.output
    rendered = json.loads(shown.stdout)
    assert rendered["applied"] is False
    assert rendered["LifecycleConfiguration"]["Rules"] == expected_rules("vault/")
    assert s3.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"] == [foreign], "rendering applies nothing"

    applied = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file, "--apply"])
    assert applied.exit_code == 0, applied.output
    stored = s3.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]
    assert stored == [foreign, *expected_rules("vault/")], "the bucket's own rules are kept"

    # Applying again replaces ours (no duplicates) after a policy change.
    vault.config_doc["tenants"]["globex"]["audit_days"] = 50
    again = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file, "--apply"])
    assert again.exit_code == 0, again.output
    stored = s3.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]
    assert len(stored) == 1 + len(expected_rules("vault/"))
    assert {r["ID"]: r["Expiration"]["Days"] for r in stored}["tracevault/audit/tenant=globex"] == 51


def test_more_than_1000_rules_is_refused(s3_bucket: str, moto_endpoint: str, tmp_path: Path) -> None:
    from vault.store import S3Store

    tenants = {f"t{i:03d}": {} for i in range(340)}  # (340 + default) * 5 rules + the security log's > 1000
    doc = {"data_dir": str(tmp_path / "d"), "tenants": tenants, "storage": {"url": f"s3://{s3_bucket}", "endpoint_url": moto_endpoint, "region": "us-east-1"}}
    vault = Vault(tmp_path, doc, S3Store(s3_bucket, endpoint_url=moto_endpoint, region="us-east-1"))
    result = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file, "--apply"])
    assert result.exit_code == 1
    assert "1706 lifecycle rules" in result.output and "at most 1000" in result.output
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=s3_bucket)


def test_apply_is_refused_for_a_local_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    vault = Vault(tmp_path, {"data_dir": str(tmp_path / "d"), "storage": {"url": root.as_uri()}}, LocalStore(root))
    result = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file, "--apply"])
    assert result.exit_code == 1
    assert "needs an S3 store" in result.output and "retention run" in result.output
    shown = CliRunner().invoke(main, ["retention", "lifecycle", "--config", vault.config_file])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["LifecycleConfiguration"]["Rules"][0]["Filter"]["Prefix"] == "metrics/tenant=default/env=default/"


def test_every_prefix_of_the_layout_has_a_rule_with_its_sweep_window(tmp_path: Path) -> None:
    """Derived from the layout, so a new table is checked by itself: each kind of
    `vault.layout.KINDS` gets a rule per tenant (and env) whose days are the sweep's window plus
    one, and every object the store holds falls under some rule."""
    from policies.config import parse_config
    from retention.lifecycle import known_tenants, render_rules
    from retention.sweep import WINDOW_FIELDS, Windows
    from vault import securitylog

    assert set(WINDOW_FIELDS) == set(layout.KINDS), "every kind of the layout has a retention window"
    config = parse_config({"data_dir": str(tmp_path / "d"), **POLICY})
    store = LocalStore(tmp_path / "store")
    day = date(2026, 1, 1)
    for kind in layout.KINDS:  # one object of every kind, in an env nobody configured
        store.put(layout.Partition(kind, "initech", None if kind == "audit" else "staging", day).key("seg"), b"x")
    store.put(f"{securitylog.PREFIX}date=2026-01-01/x.json", b"x")

    tenants = known_tenants(store, config)
    rules = {rule["Filter"]["Prefix"]: rule["Expiration"]["Days"] for rule in render_rules(config, tenants, "base")}
    windows = Windows(config)
    for tenant, envs in tenants.items():
        for kind in layout.KINDS:
            for env in [None] if kind == "audit" else sorted(envs):
                prefix = "base/" + layout.partition_prefix(kind, tenant, env)
                assert rules.get(prefix) == windows.days(kind, tenant, env) + 1, prefix
    assert rules["base/" + securitylog.PREFIX] == windows.days("audit", config.tenancy.default_tenant, None) + 1
    for info in store.list(""):
        assert any(("base/" + info.key).startswith(prefix) for prefix in rules), f"no rule expires {info.key}"


def test_a_kind_without_a_window_is_refused(tmp_path: Path) -> None:
    from policies.config import parse_config
    from retention.sweep import Windows

    with pytest.raises(ValueError, match="no retention window for the kind 'logs'"):
        Windows(parse_config({"data_dir": str(tmp_path / "d")})).days("logs", "acme", "prod")
