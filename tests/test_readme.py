"""The README's tour works as written: the trace it shows is redacted as it says."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from sidecar.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"


def test_tour_trace_is_redacted_as_documented(tmp_path: Path, monkeypatch) -> None:
    match = re.search(r"cat > /tmp/trace.json <<'EOF'\n(.*?)\n   EOF", README.read_text(), re.S)
    assert match, "the tour's trace is missing from the README"
    trace = tmp_path / "trace.json"
    trace.write_text("\n".join(line[3:] for line in match.group(1).splitlines()))
    monkeypatch.chdir(tmp_path)  # the embedded default creates ./tracevault-data here
    result = CliRunner().invoke(main, ["redact", str(trace)])
    assert result.exit_code == 0, result.output
    span = json.loads(result.stdout)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    attributes = {a["key"]: a["value"] for a in span["attributes"]}
    messages = json.loads(attributes["gen_ai.input.messages"]["stringValue"])
    assert messages[0]["parts"][0]["content"] == (
        "Hi, my name is <PERSON>, my card <CREDIT_CARD> was charged twice. Email me at <EMAIL_ADDRESS>"
    )
    assert json.loads(attributes["gen_ai.tool.call.arguments"]["stringValue"]) == {"api_key": "<SECRET:api_key>", "order": "A-1009"}
    assert re.fullmatch(r"pn:[0-9a-f]{8}:[0-9a-f]{24}", attributes["user.id"]["stringValue"])
    assert attributes["gen_ai.request.model"]["stringValue"] == "gpt-4o-mini"
    assert attributes["gen_ai.usage.input_tokens"]["intValue"] == "1840"
    assert attributes["tracevault.redactions.PERSON"]["intValue"] == "1"
    assert span["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert (tmp_path / "tracevault-data" / "keys" / "master.key").stat().st_mode & 0o777 == 0o600


def test_tour_log_record_is_redacted_as_documented(tmp_path: Path, monkeypatch) -> None:
    match = re.search(r"cat > /tmp/log.json <<'EOF'\n(.*?)\n   EOF", README.read_text(), re.S)
    assert match, "the tour's log record is missing from the README"
    source = tmp_path / "log.json"
    source.write_text("\n".join(line[3:] for line in match.group(1).splitlines()))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["redact", str(source)])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    body = {kv["key"]: kv["value"]["stringValue"] for kv in record["body"]["kvlistValue"]["values"]}
    assert body == {"role": "user", "content": "I am <PERSON>, call me on <PHONE_NUMBER> or mail <EMAIL_ADDRESS>"}
    attributes = {a["key"]: a["value"] for a in record["attributes"]}
    assert json.loads(attributes["gen_ai.tool.call.arguments"]["stringValue"]) == {"api_key": "<SECRET:api_key>", "order": "A-1009"}
    assert re.fullmatch(r"pn:[0-9a-f]{8}:[0-9a-f]{24}", attributes["user.id"]["stringValue"])
    assert attributes["gen_ai.request.model"]["stringValue"] == "gpt-4o-mini"
    assert attributes["tracevault.redactions.PERSON"]["intValue"] == "1"
    assert record["eventName"] == "gen_ai.client.inference.operation.details" and record["severityNumber"] == 9
    assert (record["traceId"], record["spanId"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    # The same user gets the same pseudonym in the span of the tour and in its log record.
    trace = re.search(r"cat > /tmp/trace.json <<'EOF'\n(.*?)\n   EOF", README.read_text(), re.S)
    assert trace
    (tmp_path / "trace.json").write_text("\n".join(line[3:] for line in trace.group(1).splitlines()))
    span = json.loads(CliRunner().invoke(main, ["redact", str(tmp_path / "trace.json")]).stdout)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert {a["key"]: a["value"] for a in span["attributes"]}["user.id"] == attributes["user.id"]
