"""Integration with a real OTLP backend: Arize Phoenix, from PyPI, on loopback.

The test installs Phoenix (the version in requirements/phoenix.txt) into its own venv,
`.venv-phoenix`, created on first use and reused after: never into `.venv`, whose pins its
dependencies would break. It starts Phoenix on free loopback ports with its working directory in
a temp dir, starts tracevault forwarding to Phoenix's OTLP/HTTP endpoint (vault off), sends
GenAI spans with the OpenTelemetry SDK's OTLP exporter, and reads them back through Phoenix's
REST and GraphQL APIs: the content must arrive masked, the secret stripped, the identifiers
pseudonymised, and the token counts, model names and span kinds intact, as Phoenix itself
interprets them (its token totals, its span kinds).

Slow: the first run installs Phoenix (about a minute on this machine, and PyPI must be
reachable); each run starts Phoenix (about 10 s). When the install itself fails the test is
failed with pip's last lines; everything after the install fails loudly too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from policies.config import parse_config
from tests.deploy.conftest import ROOT
from tests.sidecar.conftest import free_port, pseudonym, sidecar_document, start_sidecar

pytestmark = pytest.mark.slow

VENV = ROOT / ".venv-phoenix"
REQUIREMENTS = ROOT / "requirements" / "phoenix.txt"
INSTALL_TIMEOUT = 900
START_TIMEOUT = 120
PROJECT = "tracevault-it"

PERSON = "Sarah Connor"
EMAIL = "sarah.connor@example.com"
CARD = "4111 1111 1111 1111"
USER_ID = "user-8812"
API_KEY = "sk-proj-" + "Q7vF3kL9mN2pR8sT1wX4yZ6aB0cD5eG7hJ9kL2mN4pQ6rS8t"


def _phoenix_python() -> Path:
    """The Phoenix venv's interpreter; (re)installs when the pinned requirement changed.
    Serialised across processes: two test runs at once must not install into one venv."""
    import fcntl

    with (ROOT / ".venv-phoenix.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_phoenix()


def _install_phoenix() -> Path:
    python = VENV / "bin" / "python"
    stamp = VENV / ".tracevault-installed"
    wanted = REQUIREMENTS.read_text(encoding="utf-8")
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    started = time.monotonic()
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, timeout=120)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
        capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
    )
    if install.returncode != 0:
        # A failure, not a skip: CI reaches PyPI, and a skipped integration test proves nothing.
        pytest.fail(f"could not install Phoenix from PyPI: {install.stderr.strip().splitlines()[-3:]}")
    stamp.write_text(wanted, encoding="utf-8")
    print(f"installed Phoenix into {VENV} in {time.monotonic() - started:.0f}s")
    return python


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server on loopback; yields its base URL."""
    python = _phoenix_python()
    work = tmp_path_factory.mktemp("phoenix")
    http_port, grpc_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")},
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(http_port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(work),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "HOME": str(work),
    }
    log = (work / "phoenix.log").open("w")
    process = subprocess.Popen(
        [str(python), "-m", "phoenix.server.main", "serve"], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{http_port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise AssertionError(f"Phoenix exited with {process.returncode}: {(work / 'phoenix.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"Phoenix did not start in {START_TIMEOUT}s: {(work / 'phoenix.log').read_text()[-2000:]}")
            time.sleep(0.25)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def _send_spans(endpoint: str, tenant: str) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot", "openinference.project.name": PROJECT}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers={"X-Tenant-Id": tenant})))
    tracer = provider.get_tracer("openinference.instrumentation.openai", "0.1")
    with tracer.start_as_current_span("agent") as agent:
        agent.set_attribute("openinference.span.kind", "AGENT")
        agent.set_attribute("user.id", USER_ID)
        with tracer.start_as_current_span("ChatCompletion") as llm:
            llm.set_attribute("openinference.span.kind", "LLM")
            llm.set_attribute("llm.model_name", "gpt-4o")
            llm.set_attribute("llm.provider", "openai")
            llm.set_attribute("input.value", f"Hi, I am {PERSON}. My card {CARD} was charged twice; mail {EMAIL}")
            llm.set_attribute("input.mime_type", "text/plain")
            llm.set_attribute("llm.input_messages.0.message.role", "user")
            llm.set_attribute("llm.input_messages.0.message.content", f"Hi, I am {PERSON}. Mail me at {EMAIL}")
            llm.set_attribute("llm.output_messages.0.message.role", "assistant")
            llm.set_attribute("llm.output_messages.0.message.content", f"Sorry {PERSON}, I will refund you.")
            llm.set_attribute("output.value", f"Sorry {PERSON}, I will refund you.")
            llm.set_attribute("llm.token_count.prompt", 57)
            llm.set_attribute("llm.token_count.completion", 12)
            llm.set_attribute("llm.token_count.total", 69)
            llm.set_attribute("gen_ai.usage.input_tokens", 57)
            llm.set_attribute("gen_ai.usage.output_tokens", 12)
            llm.set_attribute("user.id", USER_ID)
        with tracer.start_as_current_span("lookup_order") as tool:
            tool.set_attribute("openinference.span.kind", "TOOL")
            tool.set_attribute("tool.name", "lookup_order")
            tool.set_attribute("tool.parameters", json.dumps({"order": "A-1009", "api_key": API_KEY}))
    provider.shutdown()


def _spans(base: str, expected: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while True:
        response = requests.get(f"{base}/v1/projects/{PROJECT}/spans", params={"limit": 100}, timeout=10)
        if response.status_code == 200:
            data = response.json()["data"]
            if len(data) >= expected:
                return data
        if time.monotonic() > deadline:
            raise AssertionError(f"Phoenix has {response.status_code} {response.text[:300]} after 30s")
        time.sleep(0.25)


def test_forwarded_spans_arrive_in_phoenix_masked_with_token_counts_intact(phoenix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import base64

    from tests.sidecar.conftest import MASTER_KEY_ENV, MASTER_SECRET

    monkeypatch.setenv(MASTER_KEY_ENV, base64.b64encode(MASTER_SECRET).decode())
    document = sidecar_document(tmp_path / "data", None, {"vault_enabled": False})
    document["forward"] = {"endpoint": f"{phoenix}/v1/traces", "compression": "gzip", "timeout_seconds": 10}
    sidecar = start_sidecar(parse_config(document))
    try:
        _send_spans(sidecar.traces_url, "acme")
        assert sidecar.metric("tracevault_spans_accepted_total") == 3
    finally:
        sidecar.stop()

    spans = {s["name"]: s for s in _spans(phoenix, 3)}
    assert set(spans) == {"agent", "ChatCompletion", "lookup_order"}
    everything = json.dumps(list(spans.values()))
    for raw in (PERSON, EMAIL, CARD, USER_ID, API_KEY, "4111"):
        assert raw not in everything, raw

    llm = spans["ChatCompletion"]["attributes"]
    flat = _flatten(llm)
    assert flat["input.value"] == "Hi, I am <PERSON>. My card <CREDIT_CARD> was charged twice; mail <EMAIL_ADDRESS>"
    assert "<PERSON>" in json.dumps(llm) and "<EMAIL_ADDRESS>" in json.dumps(llm)
    # Token counts, model and span kind: intact, and understood by Phoenix.
    assert flat["llm.token_count.prompt"] == 57
    assert flat["llm.token_count.completion"] == 12
    assert flat["llm.token_count.total"] == 69
    assert flat["gen_ai.usage.input_tokens"] == 57
    assert flat["llm.model_name"] == "gpt-4o"
    assert spans["ChatCompletion"]["span_kind"] == "LLM"
    assert spans["lookup_order"]["span_kind"] == "TOOL"
    # The identifier is the tenant's keyed pseudonym; the secret is stripped inside the JSON.
    assert flat["user.id"] == pseudonym("acme", USER_ID)
    # (Phoenix stores a JSON-string attribute exploded into its keys: accept either form.)
    tool = _flatten(spans["lookup_order"]["attributes"])
    parameters = json.loads(tool["tool.parameters"]) if "tool.parameters" in tool else {
        k.removeprefix("tool.parameters."): v for k, v in tool.items() if k.startswith("tool.parameters.")
    }
    assert parameters == {"order": "A-1009", "api_key": "<SECRET:api_key>"}
    assert tool["tracevault.redactions.SECRET"] == 1
    # One trace, parent links kept.
    assert len({s["context"]["trace_id"] for s in spans.values()}) == 1
    assert spans["ChatCompletion"]["parent_id"] == spans["agent"]["context"]["span_id"]

    # Phoenix's own aggregation over the token counts (GraphQL), not just the stored attribute.
    query = "{ projects { edges { node { name tokenCountTotal tokenCountPrompt tokenCountCompletion } } } }"
    answer = requests.post(f"{phoenix}/graphql", json={"query": query}, timeout=10).json()
    project = next(e["node"] for e in answer["data"]["projects"]["edges"] if e["node"]["name"] == PROJECT)
    assert (project["tokenCountPrompt"], project["tokenCountCompletion"], project["tokenCountTotal"]) == (57, 12, 69)


def _flatten(attributes: dict, prefix: str = "") -> dict:
    """Phoenix nests dotted attribute names ({"llm": {"token_count": {...}}}); flatten them."""
    flat = {}
    for key, value in attributes.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                flat.update(_flatten(item, f"{name}.{index}."))
        else:
            flat[name] = value
    return flat
