"""The walker and the text redactor against the Detector contract, with fake detectors only.

No model is loaded here: the fakes find fixed words. One test proves in a fresh process that
redacting a request through the walker and the text redactor imports no spaCy model package.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from policies.config import parse_config
from policies.resolve import CompiledPolicy, PolicySet
from redactors.conflicts import resolve
from redactors.detectors import FailClosedDetector, Finding, SecretsDetector
from redactors.detectors.base import Detector, ViewFindings, in_original
from redactors.identifiers import Pseudonymizer
from redactors.normalize import TextView
from redactors.operators import OPERATORS, compile_operators
from redactors.textredact import FAILED_TOKEN, TextRedactor
from redactors.walker import fail_closed, redact_resource_spans
from tests.redactors.otlp_builders import attribute, make_request, make_span

ROOT = Path(__file__).resolve().parents[2]
PSEUDO = Pseudonymizer(bytes(32)).for_tenant("acme")


class WordDetector:
    """Finds a fixed word as an entity; `fail_on` makes it answer None for views holding it."""

    structural = False
    normalised = True

    def __init__(self, word: str, entity: str, *, fail_on: str | None = None, raise_on: str | None = None, score: float = 0.9) -> None:
        self.name = f"word:{word}"
        self.word, self.entity, self.fail_on, self.raise_on, self.score = word, entity, fail_on, raise_on, score
        self.calls: list[int] = []

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        self.calls.append(len(views))
        if self.raise_on is not None and any(self.raise_on in view.text for view in views):
            raise RuntimeError("detector failure")
        out: list[ViewFindings] = []
        for view in views:
            if self.fail_on is not None and self.fail_on in view.text:
                out.append(None)
                continue
            found = []
            at = view.text.find(self.word)
            while at >= 0:
                found.append(in_original(view, at, at + len(self.word), self.entity, self.score, rule=f"fake.{self.word}"))
                at = view.text.find(self.word, at + 1)
            out.append(found)
        return out


class WrongLength(WordDetector):
    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        return super().detect(views, policy)[:-1] if len(views) > 1 else []


def _policy(document: dict | None = None) -> CompiledPolicy:
    return PolicySet(parse_config(document or {})).resolve("acme", "prod")


def test_fakes_satisfy_the_protocol() -> None:
    for detector in (WordDetector("x", "PERSON"), SecretsDetector(), FailClosedDetector()):
        assert isinstance(detector, Detector)


def test_findings_of_every_detector_are_merged_and_masked_in_original_offsets() -> None:
    # The fake sees the normalised view: full-width letters are found and masked in the original.
    text = TextRedactor([WordDetector("alice", "PERSON"), WordDetector("bob", "PERSON")])
    results = text.redact_many(["ask ａｌｉｃｅ and bob", "nobody here"], _policy(), PSEUDO)
    assert results[0].text == "ask <PERSON> and <PERSON>"
    assert results[0].counts == Counter({"PERSON": 2})
    assert results[1].text == "nobody here" and not results[1].counts


def test_a_view_a_detector_could_not_examine_fails_closed_alone() -> None:
    text = TextRedactor([WordDetector("alice", "PERSON", fail_on="BROKEN")])
    results = text.redact_many(["BROKEN alice", "hello alice"], _policy(), PSEUDO)
    assert results[0].text == FAILED_TOKEN and results[0].counts == Counter({"REDACTION_FAILED": 1})
    assert results[1].text == "hello <PERSON>"


def test_a_detector_that_raises_is_retried_per_view() -> None:
    detector = WordDetector("alice", "PERSON", raise_on="EXPLODE")
    results = TextRedactor([detector]).redact_many(["EXPLODE alice", "hello alice", "alice again"], _policy(), PSEUDO)
    assert [r.text for r in results] == [FAILED_TOKEN, "hello <PERSON>", "<PERSON> again"]
    assert detector.calls == [3, 1, 1, 1]


def test_a_detector_answering_for_the_wrong_number_of_views_examined_nothing() -> None:
    results = TextRedactor([WrongLength("alice", "PERSON")]).redact_many(["alice", "bob"], _policy(), PSEUDO)
    assert [r.text for r in results] == [FAILED_TOKEN, FAILED_TOKEN]


def test_structural_values_only_meet_structural_detectors() -> None:
    token = "gh" + "p_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    text = TextRedactor([SecretsDetector(), WordDetector("alice", "PERSON")])
    result = text.redact_secrets_only(f"alice {token}", _policy(), PSEUDO)
    assert result.text == "alice <SECRET:github_token>"
    assert result.counts == Counter({"SECRET": 1})


def test_the_policy_picks_the_operator_per_entity() -> None:
    policy = _policy({"defaults": {"default_method": "mask", "methods": {"PERSON": "pseudonym", "LOCATION": "remove"}}})
    text = TextRedactor([WordDetector("alice", "PERSON"), WordDetector("paris", "LOCATION"), WordDetector("4111111111111111", "CREDIT_CARD")])
    result = text.redact_many(["alice in paris paid 4111111111111111"], policy, PSEUDO)[0]
    assert result.text.startswith("<PERSON:") and " in  paid ************1111" in result.text
    assert compile_operators(policy).for_finding(Finding(0, 1, "PERSON", 1.0)) is OPERATORS["pseudonym"]
    assert compile_operators(policy).for_finding(Finding(0, 1, "SECRET", 1.0, "x")).name == "secret"


def test_the_merged_finding_keeps_the_rule_of_the_best_member() -> None:
    from redactors.textredact import merge_overlaps

    merged = merge_overlaps([Finding(0, 5, "PERSON", 0.6, rule="a"), Finding(3, 9, "PERSON", 0.9, rule="b"), Finding(20, 25, "URL", 0.5, rule="c")])
    assert [(f.start, f.end, f.rule) for f in merged] == [(0, 9, "b"), (20, 25, "c")]


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        # (start, end, rank, id) -> (start, end, id of the best member)
        ([], []),
        ([(0, 4, 1, "a"), (4, 8, 2, "b")], [(0, 4, "a"), (4, 8, "b")]),  # touching spans stay apart
        ([(0, 4, 1, "a"), (2, 10, 1, "b"), (9, 12, 5, "c")], [(0, 12, "c")]),  # a chain is one union
        ([(5, 9, 3, "late"), (0, 6, 3, "early")], [(0, 9, "early")]),  # a tie goes to the first by start
        ([(0, 6, 3, "short"), (0, 9, 3, "long")], [(0, 9, "long")]),  # same start: the longer comes first
    ],
)
def test_the_one_conflict_resolver(spans: list[tuple[int, int, int, str]], expected: list[tuple[int, int, str]]) -> None:
    merged = resolve(spans, span=lambda s: (s[0], s[1]), rank=lambda s: s[2])
    assert [(m.start, m.end, m.best[3]) for m in merged] == expected


def test_the_walker_sends_content_to_the_detectors_and_keeps_structure() -> None:
    secrets = SecretsDetector()
    text = TextRedactor([secrets, WordDetector("alice", "PERSON")])
    messages = [{"role": "user", "parts": [{"type": "text", "content": "I am alice"}]}]
    request = make_request([make_span(name="chat alice", attributes={"gen_ai.input.messages": json.dumps(messages), "gen_ai.request.model": "alice-1"})])
    policy = _policy()
    counts = redact_resource_spans(list(request.resource_spans), policy, PSEUDO, secrets.rules(policy), text)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "chat <PERSON>"
    assert json.loads(attribute(span, "gen_ai.input.messages").string_value) == [{"role": "user", "parts": [{"type": "text", "content": "I am <PERSON>"}]}]
    assert attribute(span, "gen_ai.request.model").string_value == "alice-1", "structural: only structural detectors"
    assert counts == Counter({"PERSON": 2})


def test_fail_closed_masks_every_string_and_runs_no_detector() -> None:
    request = make_request([make_span(name="chat", attributes={"input.value": "hello", "gen_ai.request.model": "gpt-4o", "user.id": "u-1"})])
    counts = fail_closed(list(request.resource_spans), _policy(), PSEUDO)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert attribute(span, "input.value").string_value == FAILED_TOKEN
    assert attribute(span, "gen_ai.request.model").string_value == FAILED_TOKEN
    assert attribute(span, "user.id").string_value.startswith("pn:")
    assert counts["REDACTION_FAILED"] >= 3


SCRIPT = """
import json, sys
from collections import Counter
from policies.config import Config
from policies.resolve import PolicySet
from redactors.detectors import SecretsDetector
from redactors.detectors.base import in_original
from redactors.identifiers import Pseudonymizer
from redactors.textredact import TextRedactor
from redactors.walker import redact_resource_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from google.protobuf import json_format

class Fake:
    name, structural, normalised = "fake", False, True
    def detect(self, views, policy):
        return [[in_original(v, i, i + 5, "PERSON", 1.0, rule="fake") for i in range(len(v.text)) if v.text.startswith("alice", i)] for v in views]

policy = PolicySet(Config()).resolve("default", "default")
secrets = SecretsDetector()
request = json_format.ParseDict({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "alice", "attributes": [
    {"key": "input.value", "value": {"stringValue": "hi alice"}}]}]}]}]}, ExportTraceServiceRequest())
counts = redact_resource_spans(list(request.resource_spans), policy, Pseudonymizer(bytes(32)).for_tenant("default"), secrets.rules(policy), TextRedactor([secrets, Fake()]))
# No model package is imported (redactors.shapes imports redactors.pii for its Luhn check, so the
# spaCy library itself may be imported; no pipeline is loaded).
loaded = sorted(m for m in sys.modules if m.startswith("en_core_web"))
print(json.dumps({"counts": dict(counts), "name": request.resource_spans[0].scope_spans[0].spans[0].name, "loaded": loaded}))
"""


def test_walker_and_text_redactor_load_no_model() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == {"counts": {"PERSON": 2}, "name": "<PERSON>", "loaded": []}
