"""`tracevault redact --jsonl --workers`: the service's redaction pool over a stream (issue 17).

Real processes: the command runs as a subprocess with worker processes, and the streaming loop
runs on a real `RedactionPool` (workers 0: the loaded model in a thread). No timing assertions.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from policies.config import parse_config
from redactors.engine import Redactor
from redactors.pii import PiiAnalyzer
from sidecar.cli.batch import stream
from sidecar.workers import STALL_ENV, RedactionPool
from tests.procs import redaction_workers
from tests.sidecar.conftest import EMAIL, PERSON, json_request

TRACEVAULT = Path(sys.executable).with_name("tracevault")
SECRET = b"\x07" * 32
STALL = "stall-this-line-in-the-worker"


def _config(tmp_path: Path, **server: object) -> Path:
    path = tmp_path / "tracevault.yaml"
    path.write_text(yaml.safe_dump({"data_dir": str(tmp_path / "data"), "server": server}), encoding="utf-8")
    return path


def _lines(count: int) -> list[str]:
    """Documents that differ by service name, so that the output order can be read back."""
    return [json.dumps(json_request([({"service.name": f"svc-{i}"}, 1)])) for i in range(count)]


def _service(line: str) -> str:
    attributes = json.loads(line)["resourceSpans"][0]["resource"]["attributes"]
    return next(kv["value"]["stringValue"] for kv in attributes if kv["key"] == "service.name")


def _run(config: Path, lines: list[str], *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TRACEVAULT), "redact", "--config", str(config), "--tenant", "acme", "--jsonl", *args],
        input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_pool_answers_in_input_order_and_as_the_in_process_path(tmp_path: Path) -> None:
    config = _config(tmp_path)
    lines = _lines(12)
    pooled = _run(config, lines, "--workers", "2")
    local = _run(config, lines, "--workers", "0")
    assert pooled.returncode == 0, pooled.stderr
    out = pooled.stdout.splitlines()
    assert [_service(line) for line in out] == [f"svc-{i}" for i in range(12)]
    assert out == local.stdout.splitlines()  # same keyed pseudonyms, same masks
    assert EMAIL not in pooled.stdout and PERSON not in pooled.stdout
    assert pooled.stderr == ""  # no progress bar: stderr is not a terminal


def test_a_bad_line_is_answered_in_place_with_its_number_and_the_rest_survive(tmp_path: Path) -> None:
    lines = _lines(5)
    lines[2] = '{"resourceSpans": [ not json'
    result = _run(_config(tmp_path), lines, "--workers", "2")
    assert result.returncode == 1
    out = result.stdout.splitlines()
    assert len(out) == 5
    assert [_service(out[i]) for i in (0, 1, 3, 4)] == ["svc-0", "svc-1", "svc-3", "svc-4"]
    assert json.loads(out[2]) == {"error": "body is not valid JSON", "line": 3}
    assert "tracevault: line 3: body is not valid JSON" in result.stderr
    assert "1 line(s) were not redacted" in result.stderr
    assert "not json" not in result.stderr  # the message never quotes the line


@pytest.mark.parametrize("value", ["-1", "two", "1.5"])
def test_a_bad_workers_value_is_a_usage_error(tmp_path: Path, value: str) -> None:
    result = _run(_config(tmp_path), _lines(1), "--workers", value)
    assert result.returncode == 2
    assert "--workers" in result.stderr
    assert result.stdout == ""


def test_workers_killed_mid_stream_cost_no_line_and_keep_the_order(tmp_path: Path) -> None:
    """Line 3 stalls in its worker; the test kills every worker then. The lines held by the dead
    workers are retried on the replacements; line 3 stalls again and fails closed at the
    deadline (every value masked). Every line is answered, in order."""
    config = _config(tmp_path, redaction_timeout_seconds=5)
    lines = _lines(8)
    lines[2] = json.dumps(json_request([({"service.name": "svc-2", "note": STALL}, 1)]))
    process = subprocess.Popen(
        [str(TRACEVAULT), "redact", "--config", str(config), "--tenant", "acme", "--jsonl", "--workers", "2"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, STALL_ENV: STALL},
    )  # fmt: skip
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("\n".join(lines) + "\n")
        process.stdin.close()
        head = [process.stdout.readline(), process.stdout.readline()]  # lines 1 and 2: line 3 is now held
        killed = redaction_workers(process.pid)
        assert len(killed) == 2
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        rest = process.stdout.read().splitlines()
        stderr = process.stderr.read() if process.stderr else ""
        assert process.wait(timeout=300) == 0, stderr
    finally:
        if process.poll() is None:
            process.kill()
    out = [line.rstrip("\n") for line in head] + rest
    assert len(out) == 8
    assert [_service(out[i]) for i in (0, 1, 3, 4, 5, 6, 7)] == [f"svc-{i}" for i in (0, 1, 3, 4, 5, 6, 7)]
    assert _service(out[2]) == "<REDACTION_FAILED>"  # failed closed: every string value masked
    assert EMAIL not in out[2] and STALL not in out[2]
    assert all("<REDACTION_FAILED>" not in out[i] for i in (0, 1, 3, 4, 5, 6, 7))
    assert "line 3: redaction passed its deadline" in stderr
    assert not set(killed) & set(redaction_workers(process.pid))


def test_the_stream_holds_at_most_the_window(analyzer: PiiAnalyzer) -> None:
    """The number of lines read but not yet written never passes the window, whatever the input length."""
    config = parse_config({"server": {"workers": 0}})
    pool = RedactionPool(config, SECRET, local_redactor=Redactor.build(config, SECRET, analyzer=analyzer))
    read = 0
    held: list[int] = []
    written: list[str] = []

    def lines():
        nonlocal read
        for line in _lines(40):
            read += 1
            yield line

    def write(text: str) -> None:
        written.append(text)
        held.append(read - len(written) + 1)  # lines held when this one was written (itself included)

    try:
        stats = asyncio.run(stream(pool, lines(), write, window=3, tenant="acme"))
    finally:
        pool.shutdown()
    assert stats.lines == 40 and len(written) == 40
    assert max(held) == 3 == stats.peak_in_flight
    assert [_service(line) for line in written] == [f"svc-{i}" for i in range(40)]
    with pytest.raises(ValueError, match="window"):
        asyncio.run(stream(pool, [], write, window=0))


def test_the_output_is_the_same_on_every_run_whatever_the_window(tmp_path: Path) -> None:
    """A cached NER answer depends on the context a sentence was first seen in, so each worker
    must see the same lines in the same order on every run: line n goes to worker n mod N
    (lanes), never to whichever is idle first. Mixed benchmark traffic (repeated system prompts
    and documents across lines); the window changes how many lines wait, not who redacts them."""
    from bench.batchcli import write_jsonl
    from bench.common import Source
    from bench.mixed import MIXED
    from bench.workload import DEFAULT_SEED

    source = tmp_path / "mixed.jsonl"
    write_jsonl(source, Source(MIXED, DEFAULT_SEED).take, traces=30)
    lines = source.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 5
    config = _config(tmp_path)
    runs = [_run(config, lines, "--workers", "2", "--max-in-flight", window) for window in ("1", "8")]
    assert all(run.returncode == 0 for run in runs), [run.stderr for run in runs]
    assert len(runs[0].stdout.splitlines()) == len(lines)
    assert runs[0].stdout == runs[1].stdout
