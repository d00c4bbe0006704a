"""The number coercers behind metrics and evaluations columns (one parser each, shared)."""

from __future__ import annotations

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue

from vault.derived import finite_number
from vault.metrics import _as_count, _as_float

CASES = [
    # value, finite_number (scores: either sign), _as_float (non-negative), _as_count
    (AnyValue(double_value=0.25), 0.25, 0.25, None),
    (AnyValue(int_value=7), 7.0, 7.0, 7),
    (AnyValue(string_value=" 0.5 "), 0.5, 0.5, None),
    (AnyValue(string_value="42"), 42.0, 42.0, 42),
    (AnyValue(string_value="1e3"), 1000.0, 1000.0, 1000),
    (-1.5, -1.5, None, None),
    (AnyValue(bool_value=True), None, None, None),
    (AnyValue(string_value="nan"), None, None, None),
    (AnyValue(string_value="inf"), None, None, None),
    (AnyValue(string_value="seven"), None, None, None),
    (AnyValue(string_value="1" * 33), None, None, None),
    (AnyValue(string_value=""), None, None, None),
    (AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)])), None, None, None),
    (None, None, None, None),
]


@pytest.mark.parametrize(("value", "score", "positive", "count"), CASES)
def test_numbers_are_parsed_once_and_bounded_per_column(value: object, score: float | None, positive: float | None, count: int | None) -> None:
    assert finite_number(value) == score
    assert _as_float(value) == positive
    assert _as_count(value) == count
