"""The one converter between OTLP AnyValue and plain Python values (both directions).

kvlist -> dict, array -> list, scalars as they are, an empty AnyValue -> None. Nesting deeper
than `max_depth` raises RecursionError, or gives None for that subtree with `too_deep_as_none`.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

MAX_DEPTH = 64


def any_to_py(value: AnyValue, depth: int = 0, *, max_depth: int = MAX_DEPTH, too_deep_as_none: bool = False) -> Any:
    if depth > max_depth:
        if too_deep_as_none:
            return None
        raise RecursionError("value nested too deeply")
    kind = value.WhichOneof("value")
    if kind == "kvlist_value":
        return {kv.key: any_to_py(kv.value, depth + 1, max_depth=max_depth, too_deep_as_none=too_deep_as_none) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [any_to_py(v, depth + 1, max_depth=max_depth, too_deep_as_none=too_deep_as_none) for v in value.array_value.values]
    if kind is None:
        return None
    return getattr(value, kind)


def py_to_any(obj: Any) -> AnyValue:
    if obj is None:
        return AnyValue()
    if isinstance(obj, bool):
        return AnyValue(bool_value=obj)
    if isinstance(obj, int):
        return AnyValue(int_value=obj)
    if isinstance(obj, float):
        return AnyValue(double_value=obj)
    if isinstance(obj, bytes):
        return AnyValue(bytes_value=obj)
    if isinstance(obj, dict):
        return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=py_to_any(v)) for k, v in obj.items()]))
    if isinstance(obj, list):
        return AnyValue(array_value=ArrayValue(values=[py_to_any(v) for v in obj]))
    return AnyValue(string_value=str(obj))
