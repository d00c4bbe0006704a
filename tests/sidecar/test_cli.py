"""`tracevault redact` (the service's transform as a command) and `tracevault serve` under SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from click.testing import CliRunner, Result

from sidecar import otlp
from sidecar.cli import main
from tests.sidecar.conftest import (
    EMAIL,
    OPENAI_KEY,
    PERSON,
    USER_ID,
    WAIT_SECONDS,
    NextHop,
    Sidecar,
    free_port,
    json_logs_request,
    json_request,
    pseudonym,
    records_of,
)

TRACEVAULT = Path(sys.executable).with_name("tracevault")


@pytest.fixture
def cli_config(tmp_path: Path) -> Path:
    path = tmp_path / "tracevault.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data")}), encoding="utf-8")
    return path


def redact(args: list[str], stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["redact", *args], input=stdin, catch_exceptions=False)


def _spans(document: dict) -> list[dict]:
    return [span for rs in document["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]]


def _attributes(span: dict) -> dict:
    return {kv["key"]: next(iter(kv["value"].values())) for kv in span["attributes"]}


def test_redact_masks_content_and_keeps_ids(cli_config: Path) -> None:
    document = json_request([({"service.name": "chatbot"}, 2)])
    result = redact(["--config", str(cli_config), "--tenant", "acme"], json.dumps(document))
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert [s["traceId"] for s in _spans(out)] == [s["traceId"] for s in _spans(document)]
    assert [s["spanId"] for s in _spans(out)] == [s["spanId"] for s in _spans(document)]
    attributes = _attributes(_spans(out)[0])
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    assert attributes["gen_ai.usage.input_tokens"] in ("57", 57)
    messages = json.loads(attributes["gen_ai.input.messages"])
    assert messages[0]["role"] == "user"
    assert "<EMAIL_ADDRESS>" in messages[0]["parts"][0]["content"]
    assert attributes["tracevault.redactions.EMAIL_ADDRESS"] in ("1", 1)
    for needle in (EMAIL, OPENAI_KEY, USER_ID, PERSON):
        assert needle not in result.stdout


def test_redact_output_equals_what_the_server_forwards(
    cli_config: Path, sidecar: Sidecar, next_hop: NextHop
) -> None:
    """`tracevault redact` is exactly the transform the service applies before forwarding."""
    document = json_request([({"service.name": "chatbot", "deployment.environment.name": "prod"}, 3)])
    body = json.dumps(document)
    response = requests.post(
        sidecar.traces_url, data=body, headers={"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS
    )
    assert response.status_code == 200
    (received,) = next_hop.received
    forwarded = otlp.request_to_json_document(received.request)

    result = redact(["--config", str(cli_config), "--tenant", "acme"], body)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == forwarded


def test_redact_without_tenant_uses_resource_tenants_and_drops_invalid_ones(cli_config: Path) -> None:
    document = json_request([({"tenant.id": "Bad Tenant"}, 2), ({"tenant.id": "beta"}, 1)])
    result = redact(["--config", str(cli_config)], json.dumps(document))
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert len(out["resourceSpans"]) == 1
    (span,) = _spans(out)
    assert _attributes(span)["user.id"] == pseudonym("beta", USER_ID)
    assert "2 spans refused" in result.stderr
    assert "Bad Tenant" not in result.stderr


def test_redact_detects_a_logs_request(cli_config: Path) -> None:
    document = json_logs_request([({"service.name": "chatbot"}, 2)])
    detected = redact(["--config", str(cli_config), "--tenant", "acme"], json.dumps(document))
    chosen = redact(["--config", str(cli_config), "--tenant", "acme", "--signal", "logs"], json.dumps(document))
    assert detected.exit_code == 0, detected.stderr
    assert detected.stdout == chosen.stdout
    out = json.loads(detected.stdout)
    assert list(out) == ["resourceLogs"]
    records = records_of(out)
    assert [(r["traceId"], r["spanId"]) for r in records] == [(r["traceId"], r["spanId"]) for r in records_of(document)]
    assert records[0]["eventName"] == "gen_ai.client.inference.operation.details"
    attributes = _attributes(records[0])
    assert attributes["user.id"] == pseudonym("acme", USER_ID)
    assert attributes["gen_ai.request.model"] == "gpt-4o"
    body = {kv["key"]: kv["value"]["stringValue"] for kv in records[0]["body"]["kvlistValue"]["values"]}
    assert body["role"] == "user" and "<EMAIL_ADDRESS>" in body["content"] and "<PERSON>" in body["content"]
    for needle in (EMAIL, OPENAI_KEY, USER_ID, PERSON):
        assert needle not in detected.stdout


def test_redact_logs_output_equals_what_the_server_forwards(cli_config: Path, sidecar: Sidecar, next_hop: NextHop) -> None:
    body = json.dumps(json_logs_request([({"service.name": "chatbot", "deployment.environment.name": "prod"}, 2)]))
    response = requests.post(sidecar.logs_url, data=body, headers={"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}, timeout=WAIT_SECONDS)
    assert response.status_code == 200
    (received,) = next_hop.received
    result = redact(["--config", str(cli_config), "--tenant", "acme"], body)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == otlp.request_to_json_document(received.request)


def test_redact_refuses_a_signal_that_contradicts_the_document(cli_config: Path) -> None:
    logs = json.dumps(json_logs_request())
    result = redact(["--config", str(cli_config), "--signal", "traces"], logs)
    assert result.exit_code != 0 and "resourceLogs" in result.stderr
    both = json.dumps({**json_request(), **json_logs_request()})
    result = redact(["--config", str(cli_config)], both)
    assert result.exit_code != 0 and "both" in result.stderr
    refused = redact(["--config", str(cli_config)], json.dumps(json_logs_request([({"tenant.id": "Bad Tenant"}, 2)])))
    assert refused.exit_code == 0 and "2 log records refused" in refused.stderr


def test_jsonl_mixes_signals_line_by_line(cli_config: Path) -> None:
    lines = [json.dumps(json_request()), json.dumps(json_logs_request()), "{}"]
    result = redact(["--config", str(cli_config), "--tenant", "acme", "--jsonl"], "\n".join(lines))
    assert result.exit_code == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert list(out[0]) == ["resourceSpans"] and list(out[1]) == ["resourceLogs"] and out[2] == {}
    assert EMAIL not in result.stdout
    only_logs = redact(["--config", str(cli_config), "--tenant", "acme", "--jsonl", "--signal", "logs"], "\n".join(lines))
    assert only_logs.exit_code != 0 and "1 line(s)" in only_logs.stderr  # the trace line contradicts --signal
    assert json.loads(only_logs.stdout.splitlines()[0])["line"] == 1


def test_redact_reads_a_file_argument(cli_config: Path, tmp_path: Path) -> None:
    source = tmp_path / "request.json"
    source.write_text(json.dumps(json_request()), encoding="utf-8")
    from_file = redact(["--config", str(cli_config), "--tenant", "acme", str(source)])
    from_stdin = redact(["--config", str(cli_config), "--tenant", "acme"], source.read_text(encoding="utf-8"))
    assert from_file.exit_code == 0
    assert from_file.stdout == from_stdin.stdout


def test_jsonl_answers_line_for_line(cli_config: Path) -> None:
    good = json.dumps(json_request())
    other = json.dumps(json_request([({"service.name": "other"}, 2)]))
    bad_id = json.dumps(json_request(trace_id="jane.doe.secret.value.not.hexxx"))
    lines = [good, "{not json", "", bad_id, other]
    result = redact(["--config", str(cli_config), "--tenant", "acme", "--jsonl"], "\n".join(lines) + "\n")
    assert result.exit_code != 0
    assert "2 line(s)" in result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines)
    single = redact(["--config", str(cli_config), "--tenant", "acme"], good)
    assert out[0] == single.stdout.rstrip("\n")
    assert json.loads(out[1]) == {"error": "body is not valid JSON", "line": 2}
    assert out[2] == ""
    error = json.loads(out[3])
    assert error["line"] == 4 and "traceId" in error["error"]
    assert "jane" not in out[3]
    assert len(_spans(json.loads(out[4]))) == 2


def test_jsonl_all_valid_exits_zero(cli_config: Path) -> None:
    lines = [json.dumps(json_request([({"service.name": f"s{i}"}, 1)])) for i in range(3)]
    result = redact(["--config", str(cli_config), "--tenant", "acme", "--jsonl"], "\n".join(lines))
    assert result.exit_code == 0
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"] for o in out] == ["s0", "s1", "s2"]


@pytest.mark.parametrize("tenant", ["Acme", "..", "a/b", "", "x" * 64])
def test_invalid_tenant_option_is_a_usage_error(cli_config: Path, tenant: str) -> None:
    result = redact(["--config", str(cli_config), "--tenant", tenant], json.dumps(json_request()))
    assert result.exit_code == 2
    assert "--tenant" in result.stderr
    assert result.stdout == ""


def test_malformed_single_document_is_an_error(cli_config: Path) -> None:
    result = redact(["--config", str(cli_config)], "[1, 2")
    assert result.exit_code == 1
    assert "not valid JSON" in result.stderr
    assert result.stdout == ""


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    result = redact(["--config", str(tmp_path / "nope.yaml")], "{}")
    assert result.exit_code == 1
    assert "cannot read config file" in result.stderr


# -- tracevault serve as a process ---------------------------------------------------------------


def _wait_ready(base_url: str, process: subprocess.Popen, want: int = 200) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "tracevault serve exited early"
        try:
            if requests.get(f"{base_url}/readyz", timeout=5).status_code == want:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)  # polling a readiness endpoint: there is no event to wait on across processes
    raise AssertionError(f"/readyz never answered {want}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [
        pytest.param(signal.SIGTERM, False, id="sigterm-to-server"),  # Kubernetes, docker stop
        pytest.param(signal.SIGINT, True, id="sigint-to-process-group"),  # Ctrl-C; systemd sends to the group too
    ],
)
def test_serve_drains_and_exits_zero_on_signal(tmp_path: Path, next_hop: NextHop, signum: int, whole_group: bool) -> None:
    http_port, grpc_port = free_port(), free_port()
    config = tmp_path / "serve.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data_dir": str(tmp_path / "data"),
                # Forward-only: a request held at the next hop stays in flight during the drain.
                # Draining with the vault is covered in test_vault_e2e.py.
                "vault_enabled": False,
                "server": {"http_port": http_port, "grpc_port": grpc_port, "workers": 1, "shutdown_grace_seconds": 20},
                "forward": {"endpoint": next_hop.url, "max_attempts": 1, "timeout_seconds": WAIT_SECONDS},
            }
        ),
        encoding="utf-8",
    )
    base_url = f"http://127.0.0.1:{http_port}"
    process = subprocess.Popen(
        [str(TRACEVAULT), "serve", "--config", str(config)],
        cwd=tmp_path,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, holding the server and its worker
    )
    try:
        _wait_ready(base_url, process)
        body = json.dumps(json_request())
        headers = {"Content-Type": otlp.JSON, "X-Tenant-Id": "acme"}
        # One request through the worker process.
        assert requests.post(f"{base_url}/v1/traces", data=body, headers=headers, timeout=WAIT_SECONDS).status_code == 200
        (received,) = next_hop.received
        assert EMAIL.encode() not in received.request.SerializeToString()

        # A second one held at the next hop while SIGTERM arrives: it must complete (drain).
        next_hop.hold()
        answers: dict[str, int] = {}
        sender = threading.Thread(
            target=lambda: answers.setdefault(
                "status", requests.post(f"{base_url}/v1/traces", data=body, headers=headers, timeout=WAIT_SECONDS).status_code
            )
        )
        sender.start()
        next_hop.wait_for_attempts(2)
        if whole_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        _wait_ready(base_url, process, want=503)  # draining: no longer ready, still answering
        refused = requests.post(f"{base_url}/v1/traces", data=body, headers=headers, timeout=WAIT_SECONDS)
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        next_hop.release()
        sender.join(WAIT_SECONDS)
        assert answers["status"] == 200
        assert process.wait(timeout=30) == 0
    finally:
        next_hop.release()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr  # e.g. no worker killed by KeyboardInterrupt
    assert EMAIL not in stderr and USER_ID not in stderr
