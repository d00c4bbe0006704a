"""The alerts CronJob: the CLI parses its command, it reads the sidecar's config and no key."""

from __future__ import annotations

import click

from sidecar.cli import main as cli_main
from tests.deploy.conftest import k8s_object
from tests.deploy.test_manifests import CONFIG_MAP, _config_file_path, _pod_spec, _tracevault_container


def _alerts() -> tuple[dict, dict, dict]:
    cron = k8s_object("CronJob", "tracevault-alerts")
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return cron, pod, pod["containers"][0]


def test_alerts_cronjob_runs_the_check_with_the_sidecar_config() -> None:
    cron, pod, container = _alerts()
    assert cron["spec"]["concurrencyPolicy"] == "Forbid" and cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    config_path = str(_config_file_path(_tracevault_container(_pod_spec())))
    assert container["command"] + container["args"] == ["tracevault", "alerts", "check", "--config", config_path]
    mount = next(m for m in container["volumeMounts"] if config_path.startswith(m["mountPath"]))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == CONFIG_MAP and mount["readOnly"] is True
    # metrics rows only: no master key in its environment
    assert not any("valueFrom" in e for e in container.get("env", []))
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_alerts_cronjob_runs_as_the_metrics_reader_with_no_key_material() -> None:
    """Not the reader role (kms:Decrypt, payloads, deletes): an identity of its own whose IAM role
    is iam/metrics-reader-policy.json, and no volume but the config and a scratch dir."""
    _, pod, container = _alerts()
    account = k8s_object("ServiceAccount", pod["serviceAccountName"])
    assert pod["serviceAccountName"] == "tracevault-metrics-reader"
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].endswith(":role/tracevault-metrics-reader")
    retention = k8s_object("CronJob", "tracevault-retention")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] != retention["serviceAccountName"]
    for volume in pod["volumes"]:
        assert set(volume) <= {"name", "configMap", "emptyDir"}, volume  # no Secret, no data volume (keyring)
    assert not any("secretRef" in source for source in container.get("envFrom", []))


def test_alerts_cronjob_command_parses_with_the_cli() -> None:
    _, _, container = _alerts()
    args = container["args"]
    group = cli_main.commands[args[0]]
    assert isinstance(group, click.Group)
    command = group.commands[args[1]]
    context = command.make_context(args[1], list(args[2:]), parent=click.Context(group, info_name=args[0]))
    assert context.params["config_path"] == args[args.index("--config") + 1]
    assert context.params["tenant"] is None  # every tenant
