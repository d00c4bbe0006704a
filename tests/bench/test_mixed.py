"""The mixed workload (bench/mixed.py): deterministic, with the shape issue 17 asks for."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.mixed import CONVENTIONS, MIXED, TENANTS, MixedGenerator, generate_mixed, repetition_shares
from bench.workload import SPAN_NAMES, Workload, attribute_strings, to_request

TRACES = 150


@pytest.fixture(scope="module")
def mixed() -> Workload:
    return generate_mixed(TRACES, seed=11)


def _text(trace) -> str:
    return "\n".join(v for s in trace.spans for v in attribute_strings(s.attributes))


def test_same_seed_same_workload_other_seed_other_workload() -> None:
    first, again, other = generate_mixed(4, seed=1), generate_mixed(4, seed=1), generate_mixed(4, seed=2)
    assert to_request(first.spans).SerializeToString() == to_request(again.spans).SerializeToString()
    assert to_request(first.spans).SerializeToString() != to_request(other.spans).SerializeToString()
    generator = MixedGenerator(seed=1)
    assert [t.user_turn for t in generator.workload(2).traces + generator.workload(2).traces] == [t.user_turn for t in first.traces]


def test_tenants_and_conventions_all_occur_and_each_trace_is_one_tenant(mixed: Workload) -> None:
    assert mixed.kind == MIXED
    assert set(Counter(t.tenant for t in mixed.traces)) == set(TENANTS)
    assert set(Counter(t.convention for t in mixed.traces)) == set(CONVENTIONS)
    for trace in mixed.traces:
        assert tuple(s.name for s in trace.spans) == SPAN_NAMES
        assert {s.resource.attributes["tenant.id"] for s in trace.spans} == {trace.tenant}
    request = to_request(mixed.spans[:90])
    tenants = [kv.value.string_value for rs in request.resource_spans for kv in rs.resource.attributes if kv.key == "tenant.id"]
    assert len(tenants) == len(set(tenants)) > 1  # an export carries one resource per tenant


def test_each_tenant_has_its_own_system_prompt(mixed: Workload) -> None:
    prompts = {t.tenant: t.system_prompt for t in mixed.traces}
    assert len(set(prompts.values())) == len(TENANTS)
    for trace in mixed.traces:
        assert trace.system_prompt.split("\n\n")[0] in _text(trace)


def test_user_turns_carry_two_or_three_pii_values_and_every_value_is_in_the_trace(mixed: Workload) -> None:
    pii_counts = Counter()
    for trace in mixed.traces:
        pii = [(e, v) for e, v in trace.planted if e != "SECRET"]
        pii_counts[len(pii)] += 1
        assert pii[0] == ("PERSON", trace.person.full)
        text = _text(trace)
        for _, value in trace.planted:
            assert value in text
    assert set(pii_counts) == {2, 3}


def test_a_third_of_the_tool_calls_carry_a_secret(mixed: Workload) -> None:
    share = sum(t.api_key is not None for t in mixed.traces) / TRACES
    assert 0.22 <= share <= 0.45
    prefixes = Counter(t.api_key[:4] for t in mixed.traces if t.api_key)
    assert len(prefixes) >= 3  # several providers' formats


def test_about_half_the_words_are_in_strings_that_occur_once(mixed: Workload) -> None:
    shares = repetition_shares(mixed)
    assert 0.40 <= shares["strings"] <= 0.60
    assert 0.18 <= shares["paragraphs"] <= 0.40
    assert shares["paragraphs"] < shares["strings"]  # documents repeat inside unique prompts
