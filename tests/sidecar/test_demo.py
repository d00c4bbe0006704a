"""`tracevault demo` against a running in-process sidecar that forwards to a recording next hop:
the trace arrives, what the demo shows as "after tracevault" is exactly what was forwarded, the
raw PII and the API key never leave the sidecar, and the closing commands parse with the CLI."""

from __future__ import annotations

import io
import json
import shlex
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from rich.console import Console

from policies.config import parse_config
from sidecar import demo as demo_module
from sidecar.cli import main
from tests.sidecar.conftest import NextHop, Sidecar, attributes_of, sidecar_document, start_sidecar


@pytest.fixture(scope="module")
def demo_sidecar(next_hop_server: NextHop, tmp_path_factory: pytest.TempPathFactory) -> tuple[Sidecar, Path]:
    data_dir = tmp_path_factory.mktemp("demo-data")
    document = sidecar_document(data_dir, next_hop_server)
    config_file = data_dir / "tracevault.yaml"
    config_file.write_text(yaml.safe_dump(document), encoding="utf-8")
    server = start_sidecar(parse_config(document))
    yield server, config_file
    server.stop()


def _forwarded_attributes(hop: NextHop) -> dict[bytes, dict]:
    received = hop.wait_for_attempts(1)
    return {span.span_id: attributes_of(span) for r in received for span in r.spans()}


def test_demo_sends_the_trace_and_shows_what_the_sidecar_forwards(demo_sidecar: tuple[Sidecar, Path], next_hop: NextHop) -> None:
    server, config_file = demo_sidecar
    result = demo_module.run_demo(server.base_url, "demo", str(config_file))
    assert result.status == 200 and result.rejected_spans == 0

    forwarded = _forwarded_attributes(next_hop)
    redacted = {span.span_id: attributes_of(span) for rs in result.redacted.resource_spans for ss in rs.scope_spans for span in ss.spans}
    assert len(forwarded) == 4
    # What the demo prints as "after tracevault" is what the sidecar really forwarded,
    # pseudonyms included (same config, same master key).
    assert redacted == forwarded
    wire = json.dumps({k.hex(): v for k, v in forwarded.items()})
    for raw in demo_module.RAW_VALUES:
        assert raw not in wire, raw
    # Structure, models and token counts arrive intact.
    chat = next(a for a in forwarded.values() if a.get("gen_ai.operation.name") == "chat")
    assert chat["gen_ai.usage.input_tokens"] == 1840 and chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert json.loads(chat["gen_ai.input.messages"])[1]["role"] == "user"
    tool = next(a for a in forwarded.values() if a.get("gen_ai.operation.name") == "execute_tool")
    assert json.loads(tool["gen_ai.tool.call.arguments"])["api_key"] == "<SECRET:api_key>"
    # The sidecar's own counters moved for this request.
    assert any("PERSON" in k for k in result.counters) and any(k.startswith("tracevault_spans_accepted") for k in result.counters)
    # The metrics rows: one per span, no content, token counts kept.
    assert len(result.rows) == 4
    chat_row = next(r for r in result.rows if r["operation"] == "chat")
    assert (chat_row["tenant"], chat_row["env"], chat_row["input_tokens"], chat_row["output_tokens"]) == ("demo", "dev", 1840, 96)
    assert chat_row["redactions"]["PERSON"] >= 1
    assert not any(raw in json.dumps(result.rows, default=str) for raw in demo_module.RAW_VALUES)


def test_demo_command_prints_side_by_side_and_the_next_steps(
    demo_sidecar: tuple[Sidecar, Path], next_hop: NextHop, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config_file = demo_sidecar
    result = CliRunner().invoke(main, ["demo", "--url", server.base_url, "--tenant", "acme", "--config", str(config_file)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "HTTP 200, 4 accepted, 0 refused" in out
    # Side by side: the raw value on the "in" line, the masked one on the "out" line.
    assert f"in:  {demo_module.USER_ID}" in out
    for marker in ("<PERSON>", "<EMAIL_ADDRESS>", "<CREDIT_CARD>", "<IBAN_CODE>", "<SECRET:api_key>", "pn:"):
        assert marker in out
    assert "input_tokens=1840" in out and "tenant=acme" in out
    # The closing commands name this trace and parse with the real CLI (when it has them).
    steps = [line.strip() for line in out.splitlines() if line.strip().startswith(("export TRACEVAULT_GRANT_TOKEN", "tracevault payload get"))]
    assert len(steps) == 2
    issue = shlex.split(steps[0].split("$(", 1)[1].rsplit(")", 1)[0])
    get = shlex.split(steps[1])
    trace_id = issue[issue.index("--trace-id") + 1]
    assert get[get.index("--trace-id") + 1] == trace_id and len(trace_id) == 32
    monkeypatch.setenv("TRACEVAULT_GRANT_TOKEN", "a-token")  # what the export line sets
    for argv in (issue, get):
        group = main.commands.get(argv[1])
        if group is None:
            continue  # that command is not in this tree yet
        command = group.commands[argv[2]]
        args = ["someone" if a == "$(whoami)" else a for a in argv[3:]]
        context = command.make_context(argv[2], args, parent=click.Context(group, info_name=argv[1]))
        assert context.params.get("config_path") == str(config_file)


def test_rich_rendering_on_a_terminal(demo_sidecar: tuple[Sidecar, Path], next_hop: NextHop) -> None:
    server, config_file = demo_sidecar
    result = demo_module.run_demo(server.base_url, "demo", str(config_file))
    buffer = io.StringIO()
    demo_module.render_rich(result, str(config_file), Console(file=buffer, force_terminal=True, width=160, color_system=None))
    text = buffer.getvalue()
    assert "after tracevault" in text and "<EMAIL_ADDRESS>" in text and "tracevault payload get" in text


def test_demo_without_a_sidecar_says_how_to_start_one(tmp_path: Path) -> None:
    from tests.sidecar.conftest import free_port

    result = CliRunner().invoke(main, ["demo", "--url", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert "no sidecar at" in result.output and "tracevault serve" in result.output


def test_demo_refuses_a_bad_tenant() -> None:
    result = CliRunner().invoke(main, ["demo", "--tenant", "Not A Tenant"])
    assert result.exit_code == 2 and "--tenant" in result.output
