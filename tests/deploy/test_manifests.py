"""deploy/kubernetes: every manifest is valid against the Kubernetes schemas (offline, with
kubernetes-validate), and what the manifests say agrees with the config and the CLI: ports,
probe paths, config file paths, env var names, volumes, the CronJob's command, IAM scoping."""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import click
import kubernetes_validate
import pytest
import yaml

from policies.config import Config, parse_config
from policies.resolve import PolicySet
from sidecar.cli import main as cli_main
from sidecar.http_receiver import make_app
from tests.deploy.conftest import COLLECTOR, KUBERNETES, ROOT, iam_policy, k8s_documents, k8s_object
from tests.sidecar.conftest import USER_ID
from vault import layout
from vault.keyring import KmsKeyring
from vault.sink import READINESS_PROBE_KEY

# The oldest release the manifests target (native sidecars: init containers with
# restartPolicy Always are on by default from 1.29) and the newest schema bundled.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
CONFIG_MAP = "tracevault-config"
CONFIG_KEY = "tracevault.yaml"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


# -- schema validation --------------------------------------------------------------------------


def _ids() -> list[str]:
    return [f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in k8s_documents()]


def test_every_expected_manifest_is_there() -> None:
    kinds = {(doc["kind"], doc["metadata"]["name"]) for _, doc in k8s_documents()}
    assert {
        ("Deployment", "tracevault-collector"),
        ("ConfigMap", CONFIG_MAP),
        ("ConfigMap", "otelcol-config"),
        ("Secret", "tracevault-master-key"),
        ("CronJob", "tracevault-retention"),
        ("ServiceAccount", "tracevault-sidecar"),
        ("ServiceAccount", "tracevault-reader"),
        ("ServiceAccount", "tracevault-metrics-reader"),
        ("CronJob", "tracevault-alerts"),
        ("Service", "tracevault-collector"),
        ("NetworkPolicy", "tracevault-collector"),
    } <= kinds


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("file_name", "document"), k8s_documents(), ids=_ids())
def test_manifest_is_valid_against_the_kubernetes_schema(file_name: str, document: dict, version: str) -> None:
    # strict: unknown fields (a misspelt key) are errors, not silently ignored.
    kubernetes_validate.validate(document, version, strict=True)


def test_the_schema_check_catches_a_misspelt_field() -> None:
    deployment = copy.deepcopy(k8s_object("Deployment", "tracevault-collector"))
    deployment["spec"]["template"]["spec"]["initContainers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def test_schema_validation_needs_no_network() -> None:
    """kubernetes-validate reads its bundled schemas: run it with every connection refused."""
    script = textwrap.dedent(
        f"""
        import sys
        def guard(event, args):
            if event in ("socket.getaddrinfo", "socket.connect", "socket.gethostbyname"):
                raise PermissionError("network access during validation")
        sys.addaudithook(guard)
        import glob, yaml, kubernetes_validate
        count = 0
        for path in sorted(glob.glob({str(KUBERNETES / "*.yaml")!r})):
            for doc in yaml.safe_load_all(open(path)):
                if doc is not None:
                    kubernetes_validate.validate(doc, {K8S_VERSIONS[0]!r}, strict=True)
                    count += 1
        print("validated", count)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"validated {len(k8s_documents())}" in result.stdout


# -- the sidecar pod agrees with the config ------------------------------------------------------


def _config_map_document() -> dict:
    return yaml.safe_load(k8s_object("ConfigMap", CONFIG_MAP)["data"][CONFIG_KEY])


def _config() -> Config:
    return parse_config(_config_map_document(), source=f"ConfigMap {CONFIG_MAP}")


def _pod_spec() -> dict:
    return k8s_object("Deployment", "tracevault-collector")["spec"]["template"]["spec"]


def _tracevault_container(pod: dict) -> dict:
    candidates = [c for c in pod.get("initContainers", []) + pod["containers"] if c["name"] == "tracevault"]
    assert len(candidates) == 1
    container = candidates[0]
    if container in pod.get("initContainers", []):
        # An init container that is not a native sidecar would block the pod forever.
        assert container.get("restartPolicy") == "Always"
    return container


def _mounts(pod: dict, container: dict) -> dict[str, tuple[dict, dict]]:
    """mountPath -> (volumeMount, volume)."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    return {m["mountPath"]: (m, volumes[m["name"]]) for m in container.get("volumeMounts", [])}


def _volume_for(pod: dict, container: dict, path: Path) -> tuple[str, dict, dict]:
    """The mount that holds `path` (the longest mount path that is a parent of it)."""
    best = None
    for mount_path, (mount, volume) in _mounts(pod, container).items():
        if path == Path(mount_path) or Path(mount_path) in path.parents:
            if best is None or len(mount_path) > len(best[0]):
                best = (mount_path, mount, volume)
    assert best is not None, f"{path} is on no volume (the root filesystem is read-only)"
    return best


def _config_file_path(container: dict) -> Path:
    args = container.get("args", [])
    assert "--config" in args
    return Path(args[args.index("--config") + 1])


def _quantity_bytes(text: str) -> int:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9}
    match = re.fullmatch(r"(\d+)([A-Za-z]*)", str(text))
    assert match, text
    return int(match.group(1)) * units.get(match.group(2), 1)


def test_config_map_is_a_valid_tracevault_config() -> None:
    config = _config()
    assert PolicySet(config).compiled()  # policies compile, as `tracevault config-check` does
    assert config.vault_enabled and config.keyring.type == "kms"  # production: writer-only KMS
    assert not config.access.admin_enabled  # the sidecar's role cannot decrypt


def test_tracevault_runs_serve_with_the_mounted_config() -> None:
    pod = _pod_spec()
    container = _tracevault_container(pod)
    assert container["args"][:1] == ["serve"]
    config_file = _config_file_path(container)
    _, mount, volume = _volume_for(pod, container, config_file)
    assert volume["configMap"]["name"] == CONFIG_MAP
    assert config_file.name == CONFIG_KEY
    assert mount.get("readOnly") is True
    # `serve` has a --config option (the name the manifest uses).
    assert "--config" in [opt for p in cli_main.commands["serve"].params for opt in p.opts]


def test_ports_and_probes_match_the_http_listener() -> None:
    config = _config()
    container = _tracevault_container(_pod_spec())
    ports = {p["containerPort"] for p in container["ports"]}
    assert {config.server.http_port, config.server.grpc_port} <= ports
    # The kubelet probes the pod IP: a loopback-only listener would never become ready.
    assert config.server.http_host not in LOOPBACK
    # The HTTP app serves the probe paths (built with a stand-in pipeline: only routes matter).
    app = make_app(config, SimpleNamespace(metrics=None), lambda: True)
    routes = {(route.method, route.resource.canonical) for route in app.router.routes()}
    probes = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }
    for probe, path in probes.items():
        http_get = container[probe]["httpGet"]
        assert http_get["path"] == path, probe
        assert http_get["port"] == config.server.http_port, probe
        assert ("GET", http_get["path"]) in routes


def test_master_key_comes_from_the_secret_under_the_configured_name() -> None:
    config = _config()
    container = _tracevault_container(_pod_spec())
    env = {e["name"]: e for e in container["env"]}
    ref = env[config.keys.master_key_env]["valueFrom"]["secretKeyRef"]
    secret = k8s_object("Secret", ref["name"])
    assert ref["key"] in secret.get("stringData", {}) | secret.get("data", {})
    # The example is a placeholder that tracevault refuses, never something that looks usable.
    placeholder = (secret.get("stringData") or {})[ref["key"]]
    assert "REPLACE" in placeholder
    from policies.keys import MasterKeyError, _decode

    with pytest.raises(MasterKeyError):
        _decode(placeholder, "example")


def test_writable_paths_are_volumes_and_the_root_filesystem_is_read_only() -> None:
    config = _config()
    pod = _pod_spec()
    container = _tracevault_container(pod)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    for path in (config.data_dir, config.spool_dir(), Path("/tmp")):
        _, mount, _ = _volume_for(pod, container, Path(path))
        assert not mount.get("readOnly"), path
    # The spool volume holds more than spool.max_bytes, so the receivers push back (503)
    # before the volume is full.
    _, _, volume = _volume_for(pod, container, config.spool_dir())
    assert _quantity_bytes(volume["emptyDir"]["sizeLimit"]) > config.spool.max_bytes


def test_pod_runs_as_non_root_and_matches_the_image_user() -> None:
    pod = _pod_spec()
    context = pod["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] != 0
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)[-1]
    assert user.split(":")[0] == str(context["runAsUser"])


def test_workers_and_grace_period_fit_the_pod() -> None:
    config = _config()
    pod = _pod_spec()
    container = _tracevault_container(pod)
    # `auto` would count the node's cores, not the container's: one worker per requested CPU.
    assert isinstance(config.server.workers, int) and config.server.workers >= 1
    assert float(container["resources"]["requests"]["cpu"]) == config.server.workers
    assert "memory" in container["resources"]["limits"]
    # SIGTERM drains (shutdown_grace_seconds) and then flushes the spool before the kill.
    assert pod["terminationGracePeriodSeconds"] > config.server.shutdown_grace_seconds + 10


def test_image_tag_is_the_project_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    images = [_tracevault_container(_pod_spec())["image"]]
    cron = k8s_object("CronJob", "tracevault-retention")
    images += [c["image"] for c in cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]]
    for image in images:
        assert image.rsplit(":", 1)[1] == version


def test_collector_container_uses_the_checked_in_collector_config() -> None:
    pod = _pod_spec()
    collector = next(c for c in pod["containers"] if c["name"] == "otel-collector")
    flag = next(a for a in collector["args"] if a.startswith("--config="))
    path = Path(flag.split("=", 1)[1])
    _, _, volume = _volume_for(pod, collector, path)
    config_map = k8s_object("ConfigMap", volume["configMap"]["name"])
    embedded = yaml.safe_load(config_map["data"][path.name])
    assert embedded == yaml.safe_load((COLLECTOR / "otelcol-http.yaml").read_text(encoding="utf-8"))
    # The collector's own receivers are what the Service exposes.
    named_ports = {p["name"]: p["containerPort"] for p in collector["ports"]}
    service = k8s_object("Service", "tracevault-collector")
    for port in service["spec"]["ports"]:
        assert named_ports[port["targetPort"]] == port["port"]


def test_service_and_network_policy_select_the_pod_and_keep_tracevault_private() -> None:
    config = _config()
    labels = k8s_object("Deployment", "tracevault-collector")["spec"]["template"]["metadata"]["labels"]
    service = k8s_object("Service", "tracevault-collector")
    policy = k8s_object("NetworkPolicy", "tracevault-collector")
    assert service["spec"]["selector"].items() <= labels.items()
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    allowed = {p["port"] for rule in policy["spec"]["ingress"] for p in rule.get("ports", [])}
    assert config.server.http_port not in allowed and config.server.grpc_port not in allowed
    assert all(rule.get("ports") for rule in policy["spec"]["ingress"])  # no all-ports rule
    assert config.server.http_port not in {p["port"] for p in service["spec"]["ports"]}


def test_service_accounts_carry_irsa_role_annotations() -> None:
    pod = _pod_spec()
    cron_pod = k8s_object("CronJob", "tracevault-retention")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    for name in (pod["serviceAccountName"], cron_pod["serviceAccountName"]):
        account = k8s_object("ServiceAccount", name)
        assert re.fullmatch(r"arn:aws:iam::\d{12}:role/[\w+=,.@-]+", account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"])
    # Writer and reader are different identities.
    assert pod["serviceAccountName"] != cron_pod["serviceAccountName"]


# -- the retention CronJob -----------------------------------------------------------------------


def _cron() -> tuple[dict, dict, dict]:
    cron = k8s_object("CronJob", "tracevault-retention")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return cron, pod, pod["containers"][0]


def test_cronjob_runs_retention_with_the_same_config() -> None:
    cron, pod, container = _cron()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    command = container["command"] + container["args"]
    sidecar_config = _config_file_path(_tracevault_container(_pod_spec()))
    assert command == ["tracevault", "retention", "run", "--config", str(sidecar_config)]
    _, mount, volume = _volume_for(pod, container, sidecar_config)
    assert volume["configMap"]["name"] == CONFIG_MAP and mount.get("readOnly") is True
    config = _config()
    env = {e["name"] for e in container["env"]}
    assert config.keys.master_key_env in env
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    _, data_mount, _ = _volume_for(pod, container, config.data_dir)
    assert not data_mount.get("readOnly")


def test_cronjob_command_parses_with_the_cli() -> None:
    _, _, container = _cron()
    args = container["args"]
    group = cli_main.commands.get(args[0])
    assert isinstance(group, click.Group), f"`{args[0]}` is not a command group of the CLI"
    command = group.commands[args[1]]
    # Parse exactly the manifest's arguments, as click would at run time (nothing is run).
    context = command.make_context(args[1], list(args[2:]), parent=click.Context(group, info_name=args[0]))
    assert context.params["config_path"] == args[args.index("--config") + 1]


# -- IAM -----------------------------------------------------------------------------------------


def _bucket_and_prefix() -> tuple[str, str]:
    url = urlsplit(_config().store_url())
    assert url.scheme == "s3"
    return url.netloc, url.path.strip("/")


def _statements(policy: dict) -> list[dict]:
    return [dict(s, Action=[s["Action"]] if isinstance(s["Action"], str) else s["Action"]) for s in policy["Statement"]]


def _actions(policy: dict) -> set[str]:
    return {a for s in _statements(policy) if s["Effect"] == "Allow" for a in s["Action"]}


def test_sidecar_policy_can_seal_but_never_decrypt() -> None:
    policy = iam_policy("sidecar-policy.json")
    actions = _actions(policy)
    assert "kms:GenerateDataKey" in actions
    for action in actions:
        assert "*" not in action, action
        assert not action.startswith("kms:Decrypt") and action != "kms:ReEncryptFrom"
    assert "s3:DeleteObject" not in actions
    # GenerateDataKey only with tracevault's encryption context (the one KmsKeyring sends).
    context_keys = set(KmsKeyring._context("t", "e"))
    generate = next(s for s in _statements(policy) if "kms:GenerateDataKey" in s["Action"])
    conditions = generate["Condition"]
    assert set(conditions["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]) == context_keys
    assert set(conditions["Null"]) == {f"kms:EncryptionContext:{k}" for k in context_keys}
    # Scoped to the tenant keys named by keyring.kms_key_id (alias/tracevault-{tenant}).
    alias_pattern = _config().keyring.kms_key_id.replace("{tenant}", "*")
    assert conditions["ForAnyValue:StringLike"]["kms:ResourceAliases"] == [alias_pattern]


def test_reader_policy_can_decrypt_and_expire() -> None:
    actions = _actions(iam_policy("reader-policy.json"))
    assert {"kms:Decrypt", "s3:DeleteObject", "s3:GetObject", "s3:ListBucket"} <= actions
    assert not any("*" in a for a in actions)


def test_metrics_reader_policy_reads_metrics_only_tables_and_nothing_else() -> None:
    bucket, prefix = _bucket_and_prefix()
    policy = iam_policy("metrics-reader-policy.json")
    assert _actions(policy) == {"s3:GetObject", "s3:ListBucket"}, "no KMS action, no write, no delete"
    metrics_only = {"metrics", "evaluations"}  # the layout's tables that hold no content
    assert metrics_only < set(layout.KINDS)
    objects = [r for s in _statements(policy) for r in s["Resource"] if r != f"arn:aws:s3:::{bucket}"]
    assert sorted(objects) == sorted(f"arn:aws:s3:::{bucket}/{prefix}/{kind}/*" for kind in metrics_only)
    listing = next(s for s in _statements(policy) if "s3:ListBucket" in s["Action"])
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == sorted(f"{prefix}/{kind}/*" for kind in metrics_only)


@pytest.mark.parametrize("name", ["sidecar-policy.json", "reader-policy.json", "metrics-reader-policy.json"])
def test_policies_name_the_configured_bucket_and_prefix(name: str) -> None:
    bucket, prefix = _bucket_and_prefix()
    for statement in _statements(iam_policy(name)):
        for resource in statement["Resource"]:
            if resource.startswith("arn:aws:s3:::"):
                path = resource[len("arn:aws:s3:::"):]
                assert path == bucket or path.startswith(f"{bucket}/{prefix}/"), resource
        prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if prefixes:
            assert all(p.startswith(f"{prefix}/") for p in prefixes)


# -- the sidecar's actual AWS calls are the ones its policy allows ------------------------------

_S3_ACTIONS = {
    "PutObject": "s3:PutObject", "HeadObject": "s3:GetObject", "GetObject": "s3:GetObject",
    "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "DeleteObjects": "s3:DeleteObject",
    "DeleteObject": "s3:DeleteObject", "GetBucketVersioning": "s3:GetBucketVersioning",
}
_KMS_ACTIONS = {"GenerateDataKey": "kms:GenerateDataKey", "Decrypt": "kms:Decrypt", "DescribeKey": "kms:DescribeKey"}


def _allowed(policy: dict, action: str, resource: str, params: dict[str, Any]) -> bool:
    for statement in _statements(policy):
        if statement["Effect"] != "Allow" or action not in statement["Action"]:
            continue
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in statement["Resource"]):
            continue
        condition = statement.get("Condition", {})
        if "s3:prefix" in condition.get("StringLike", {}):
            if not any(fnmatch.fnmatchcase(params.get("Prefix", ""), p) for p in condition["StringLike"]["s3:prefix"]):
                continue
        if "kms:EncryptionContextKeys" in condition.get("ForAllValues:StringEquals", {}):
            context = params.get("EncryptionContext") or {}
            allowed_keys = set(condition["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"])
            if not context or not set(context) <= allowed_keys:
                continue
            required = {k.removeprefix("kms:EncryptionContext:") for k, v in condition.get("Null", {}).items() if v == "false"}
            if not required <= set(context):
                continue
        return True
    return False


@dataclass
class AwsRun:
    """The ConfigMap's config pointed at moto, and every AWS call made while using it."""

    config_file: Path
    tenant: str
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    sidecar_calls: list[tuple[str, str, dict]] = field(default_factory=list)

    def record(self, model: Any, params: dict, **_: Any) -> None:
        self.calls.append((model.service_model.service_name, model.name, dict(params)))


@pytest.fixture(scope="module")
def aws_run(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsRun]:
    import base64

    import boto3

    tmp = tmp_path_factory.mktemp("aws-run")
    bucket, _ = _bucket_and_prefix()
    document = _config_map_document()
    document["data_dir"] = str(tmp / "data")
    document["server"].update(http_host="127.0.0.1", http_port=0, grpc_port=0, workers=0, shutdown_grace_seconds=5)
    document["storage"].update(endpoint_url=moto_endpoint, region="us-east-1", max_attempts=1)
    document["keyring"].update(endpoint_url=moto_endpoint, region="us-east-1")
    document["spool"].update(fsync=False)
    config_file = tmp / "tracevault.yaml"
    config_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    config = parse_config(document)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        patch.setenv(config.keys.master_key_env, base64.b64encode(bytes(range(7, 39))).decode())
        boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
        run = AwsRun(config_file, "acme")
        KmsKeyring(config.keyring, boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")).ensure_tenant_key(run.tenant)
        # From here on, every client made from boto3's default session (as the store and the
        # keyring make theirs) reports its calls.
        # (A fresh session, put back as it was when the context ends.)
        patch.setattr(boto3, "DEFAULT_SESSION", boto3.session.Session())
        boto3.DEFAULT_SESSION.events.register("provide-client-params.s3.*", run.record)
        boto3.DEFAULT_SESSION.events.register("provide-client-params.kms.*", run.record)
        _run_sidecar(run)
        run.sidecar_calls, run.calls = list(run.calls), []
        yield run


def _run_sidecar(run: AwsRun) -> None:
    """The sidecar with the ConfigMap's config: receive one request, then SIGTERM (drain, flush)."""
    import requests

    from policies.config import load_config
    from tests.sidecar.conftest import json_request, start_sidecar

    config = load_config(run.config_file)
    request = json_request()
    # An evaluation event too, so the sidecar writes every table of the layout (evaluations/ as well).
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["events"] = [
        {"name": "gen_ai.evaluation.result", "timeUnixNano": "1700000000400000000",
         "attributes": [{"key": "gen_ai.evaluation.name", "value": {"stringValue": "relevance"}},
                        {"key": "gen_ai.evaluation.score.value", "value": {"doubleValue": 0.5}}]}
    ]
    server = start_sidecar(config)
    try:
        response = requests.post(
            f"http://127.0.0.1:{server.http_port}/v1/traces",
            json=request, headers={config.tenancy.header: run.tenant}, timeout=30,
        )
        assert response.status_code == 200, response.text
    finally:
        server.stop()


def _check_calls(policy: dict, calls: list[tuple[str, str, dict]], kms_key_ref: str) -> set[str]:
    key_arn = f"arn:aws:kms:eu-west-1:111122223333:key/{'0' * 8}"  # the policy's account/region
    operations = set()
    for service, operation, params in calls:
        operations.add(operation)
        if service == "s3" and operation == "DeleteObjects":  # IAM checks s3:DeleteObject on each key
            for item in params["Delete"]["Objects"]:
                key_arn_s3 = f"arn:aws:s3:::{params['Bucket']}/{item['Key']}"
                assert _allowed(policy, "s3:DeleteObject", key_arn_s3, params), (operation, item["Key"])
            continue
        if service == "s3":
            action = _S3_ACTIONS[operation]
            resource = f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
        else:
            action = _KMS_ACTIONS[operation]
            if "KeyId" in params and not params["KeyId"].startswith("arn:"):
                assert params["KeyId"] == kms_key_ref
            resource = key_arn
        shown = {k: v for k, v in params.items() if k not in ("Body", "CiphertextBlob")}
        assert _allowed(policy, action, resource, params), (operation, shown)
    return operations


def test_sidecar_aws_calls_are_allowed_by_its_policy(aws_run: AwsRun) -> None:
    """The sidecar ran with the ConfigMap's config against moto (S3 and KMS); every AWS call it
    made must be allowed by iam/sidecar-policy.json: a missing permission (or a call that the
    policy should not need) fails here rather than in a cluster."""
    from policies.config import load_config

    config = load_config(aws_run.config_file)
    _, prefix = _bucket_and_prefix()
    calls = aws_run.sidecar_calls
    operations = _check_calls(iam_policy("sidecar-policy.json"), calls, config.keyring.kms_key_id.replace("{tenant}", aws_run.tenant))
    # It did store something, with a sealed data key, and it probed readiness.
    assert {"PutObject", "GenerateDataKey", "HeadObject"} <= operations
    assert "Decrypt" not in operations
    assert f"{prefix}/{READINESS_PROBE_KEY}" in {p.get("Key") for _, op, p in calls if op == "HeadObject"}
    stored = {p["Key"] for _, op, p in calls if op == "PutObject"}
    for kind in ("metrics", "payloads", "evaluations"):  # every table a span (with an evaluation event) goes to
        assert any(k.startswith(f"{prefix}/{kind}/") for k in stored), kind


def test_alert_and_report_aws_calls_are_allowed_by_the_metrics_reader_policy(aws_run: AwsRun) -> None:
    """The alert check (as its CronJob runs it) and the report, over what the sidecar stored: every
    AWS call must be allowed by iam/metrics-reader-policy.json, which has no KMS action and no
    payloads/ prefix, so neither can unwrap a data key or read a payload. (Runs before the
    reader's erasure below, while the store still holds the sidecar's rows.)"""
    from click.testing import CliRunner

    policy = iam_policy("metrics-reader-policy.json")
    aws_run.calls.clear()
    config_arg = ["--config", str(aws_run.config_file)]
    checked = CliRunner().invoke(cli_main, ["alerts", "check", *config_arg])
    assert checked.exit_code == 0, checked.output
    assert aws_run.tenant in json.loads(checked.stdout)["tenants"]
    reported = CliRunner().invoke(cli_main, ["report", *config_arg, "--tenant", aws_run.tenant, "--since", "2020-01-01", "--format", "json"])
    assert reported.exit_code == 0, reported.output
    operations = _check_calls(policy, aws_run.calls, "unused")
    assert {"ListObjectsV2", "GetObject"} <= operations
    assert not any(service == "kms" for service, _, _ in aws_run.calls), "the alert path never calls KMS"
    read = {p["Key"].split("/")[1] for _, op, p in aws_run.calls if op == "GetObject"}
    assert read <= {"metrics", "evaluations"} and "metrics" in read
    key_arn = f"arn:aws:kms:eu-west-1:111122223333:key/{'0' * 8}"
    context = {"EncryptionContext": {"tracevault:tenant": aws_run.tenant, "tracevault:env": "default"}}
    assert not _allowed(policy, "kms:Decrypt", key_arn, context), "it could not unwrap a data key if it tried"
    payload = next(p["Key"] for _, op, p in aws_run.sidecar_calls if op == "PutObject" and "/payloads/" in p["Key"])
    assert not _allowed(policy, "s3:GetObject", f"arn:aws:s3:::{payload}", {}), "nor read a payload segment"


@pytest.mark.parametrize(
    ("policy", "action", "kinds"),
    [
        ("sidecar-policy.json", "s3:PutObject", layout.ENV_KINDS),  # every object the vault's flush writes
        ("reader-policy.json", "s3:DeleteObject", layout.ENV_KINDS),  # the sweep expires every env kind
        ("reader-policy.json", "s3:GetObject", layout.ENV_KINDS),
        ("reader-policy.json", "s3:PutObject", layout.ENV_KINDS),  # erasure (evaluations too) and compaction rewrite
    ],
)
def test_policies_cover_every_table_of_the_layout(policy: str, action: str, kinds: tuple[str, ...]) -> None:
    """The AWS run above sends spans only; log records (log_metrics) and evaluations land under
    prefixes of their own, which the policies must name as well."""
    bucket, prefix = _bucket_and_prefix()
    for kind in kinds:
        key = layout.sibling_key(layout.metrics_key("acme", "prod", date(2026, 1, 1), "seg"), kind)
        assert _allowed(iam_policy(policy), action, f"arn:aws:s3:::{bucket}/{prefix}/{key}", {}), (policy, action, kind)


def test_reader_aws_calls_are_allowed_by_its_policy(aws_run: AwsRun) -> None:
    """Then, as the reader: the retention sweep, a grant and an audited payload read of what the
    sidecar stored. Every AWS call must be allowed by iam/reader-policy.json."""
    from click.testing import CliRunner

    from policies.config import load_config

    assert {"grant", "payload", "retention"} <= set(cli_main.commands)
    config = load_config(aws_run.config_file)
    aws_run.calls.clear()
    runner = CliRunner()
    config_arg = ["--config", str(aws_run.config_file)]
    swept = runner.invoke(cli_main, ["retention", "run", *config_arg, "--dry-run"])
    assert swept.exit_code == 0, swept.output
    trace_id = "5b8efff798038103d269b633813fc60c"  # json_request's trace
    issued = runner.invoke(cli_main, ["grant", "issue", *config_arg, "--tenant", aws_run.tenant, "--env", "default",
                                      "--principal", "oncall", "--reason", "INC-1", "--ttl", "15m", "--trace-id", trace_id])
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.strip().splitlines()[-1]
    read = runner.invoke(cli_main, ["payload", "get", *config_arg, "--token", token, "--trace-id", trace_id])
    assert read.exit_code == 0, read.output
    assert '"records"' in read.stdout
    erased = runner.invoke(cli_main, ["erase", *config_arg, "--tenant", aws_run.tenant, "--user-id", USER_ID])
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.stdout)["evaluations_rows_removed"] == 1
    operations = _check_calls(iam_policy("reader-policy.json"), aws_run.calls, config.keyring.kms_key_id.replace("{tenant}", aws_run.tenant))
    assert "Decrypt" in operations and "GetObject" in operations
