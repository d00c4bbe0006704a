"""The derived metrics columns of schema version 2 (docs/storage.md), filled into a row.

Every value is a number, a boolean or a label; nothing here copies text:

- ``tpot_ms`` = (duration - TTFT) / (output tokens - 1), when both are known and there are at
  least two output tokens; ``output_tokens_per_s`` = output tokens / duration.
- ``cost_usd``, ``price_source``, ``price_version``: :class:`vault.prices.Pricer`.
- ``finish_reasons``: the label values of ``gen_ai.response.finish_reasons`` (and the older
  ``gen_ai.completion.N.finish_reason`` and output messages' ``finish_reason``).
- ``tool_status``: ``ok`` or ``error`` on tool spans (operation ``execute_tool`` or ``tool``).
- ``retrieval_score_min|max|mean``: over ``retrieval.documents.N.document.score`` or the
  ``score`` of ``gen_ai.retrieval.documents`` entries.
- ``input_chars`` ... ``refusal``: the ``tracevault.signal.*`` attributes that the redaction
  step measured on the original text (``redactors/signals.py``), accepted only in their shape:
  non-negative ints, a two-letter lowercase code, a boolean.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redactors.walker import SIGNAL_PREFIX
from vault.prices import Cost, Pricer, Usage

_SIGNAL_COUNTS = ("input_chars", "input_words", "output_chars", "output_words")
_LANGUAGE = re.compile(r"[a-z]{2}")
_OI_SCORE = re.compile(r"retrieval\.documents\.(\d+)\.document\.score$")
_OLLM_FINISH = re.compile(r"gen_ai\.completion\.(\d+)\.finish_reason$")
_TOOL_OPERATIONS = frozenset({"execute_tool", "tool"})
_MAX_REASONS = 16
_MAX_COUNT = 2**62
_JSON_LIMIT = 4 * 1024 * 1024


def plain(value: Any) -> Any:
    """An AnyValue (or plain value) as Python: scalars, lists and dicts; JSON strings stay strings."""
    if value is None or isinstance(value, (str, bool, int, float, list, dict)):
        return value
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [plain(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: plain(kv.value) for kv in value.kvlist_value.values}
    if kind in ("string_value", "bool_value", "int_value", "double_value"):
        return getattr(value, kind)
    return None


def _json(value: Any) -> Any:
    value = plain(value)
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{") and len(value) <= _JSON_LIMIT:
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return None
    return value


def finite_number(value: Any) -> float | None:
    """A finite number of either sign from an AnyValue, a number or a short numeric string;
    None for booleans, text, arrays and maps (a retrieval or evaluation score)."""
    value = plain(value)
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip()) if len(value) <= 32 else None
        except ValueError:
            return None
    if isinstance(value, (int, float)) and math.isfinite(float(value)):
        return float(value)
    return None


def retrieval_scores(span_attributes: Mapping[str, Any]) -> list[float]:
    scores = [s for key, v in span_attributes.items() if _OI_SCORE.match(key) and (s := finite_number(v)) is not None]
    if not scores and "gen_ai.retrieval.documents" in span_attributes:
        documents = _json(span_attributes["gen_ai.retrieval.documents"])
        if isinstance(documents, list):
            scores = [s for d in documents if isinstance(d, dict) and (s := finite_number(d.get("score"))) is not None]
    return scores


def finish_reasons(span_attributes: Mapping[str, Any], names: Sequence[str], label: Callable[[str], str | None]) -> list[str] | None:
    found: list[Any] = []
    for name in names:
        if name in span_attributes:
            value = _json(span_attributes[name])
            found.extend(value if isinstance(value, list) else [value])
            break
    if not found:
        found = [plain(v) for key, v in sorted(span_attributes.items()) if _OLLM_FINISH.match(key)]
    if not found and "gen_ai.output.messages" in span_attributes:
        messages = _json(span_attributes["gen_ai.output.messages"])
        if isinstance(messages, list):
            found = [m.get("finish_reason") for m in messages if isinstance(m, dict)]
    reasons = [r for v in found if isinstance(v, str) and (r := label(v.strip().lower())) is not None]
    return reasons[:_MAX_REASONS] if reasons else None


def _signal_count(value: Any) -> int | None:
    value = plain(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_COUNT:
        return value
    return None


def _signal_language(value: Any) -> str | None:
    value = plain(value)
    return value if isinstance(value, str) and _LANGUAGE.fullmatch(value) else None


def _signal_bool(value: Any) -> bool | None:
    value = plain(value)
    return value if isinstance(value, bool) else None


def _timing(row: dict[str, Any]) -> None:
    duration, ttft, tokens = row.get("duration_ms"), row.get("ttft_ms"), row.get("output_tokens")
    if duration is not None and tokens is not None and duration > 0:
        row["output_tokens_per_s"] = tokens / (duration / 1000.0)
    if duration is not None and ttft is not None and tokens is not None and tokens > 1 and duration >= ttft:
        row["tpot_ms"] = (duration - ttft) / (tokens - 1)


def _cost(row: dict[str, Any], pricer: Pricer) -> None:
    start = row.get("start_time") or row.get("received_at")
    usage = Usage(row.get("input_tokens"), row.get("output_tokens"), row.get("cache_read_tokens"), row.get("cache_write_tokens"))
    cost: Cost | None = pricer.cost(row["tenant"], row.get("provider"), (row.get("response_model"), row.get("request_model")), usage, start.date())
    if cost is not None:
        row["cost_usd"], row["price_source"], row["price_version"] = cost.usd, cost.source, cost.version


def _signals(row: dict[str, Any], span_attributes: Mapping[str, Any]) -> None:
    for name in _SIGNAL_COUNTS:
        row[name] = _signal_count(span_attributes.get(SIGNAL_PREFIX + name))
    row["language"] = _signal_language(span_attributes.get(SIGNAL_PREFIX + "language"))
    refusal = _signal_bool(span_attributes.get(SIGNAL_PREFIX + "refusal"))
    if "content_filter" in (row.get("finish_reasons") or ()):
        refusal = True
    row["refusal"] = refusal


def _tool_status(row: dict[str, Any], span_name: str) -> str | None:
    if row.get("operation") in _TOOL_OPERATIONS or span_name.startswith("execute_tool "):
        return "error" if row.get("status_code") == "error" or row.get("error_type") else "ok"
    return None


def derived_columns(
    row: dict[str, Any],
    attrs: Any,
    sources: Mapping[str, tuple[str, ...]],
    pricer: Pricer,
    *,
    label: Callable[[str], str | None],
    guard: Callable[[Callable[[], Any]], Any],
) -> None:
    """Fill the version-2 columns of ``row`` in place; each one that cannot be computed is null."""
    span_attributes: Mapping[str, Any] = attrs.span
    for name in ("tpot_ms", "output_tokens_per_s", "cost_usd", "price_source", "price_version"):
        row[name] = None
    guard(lambda: _timing(row))
    guard(lambda: _cost(row, pricer))
    row["finish_reasons"] = guard(lambda: finish_reasons(span_attributes, sources.get("finish_reasons", ()), label))
    row["tool_status"] = guard(lambda: _tool_status(row, row["name"]))
    scores = guard(lambda: retrieval_scores(span_attributes)) or []
    row["retrieval_score_min"] = min(scores) if scores else None
    row["retrieval_score_max"] = max(scores) if scores else None
    row["retrieval_score_mean"] = sum(scores) / len(scores) if scores else None
    guard(lambda: _signals(row, span_attributes))
    for name in (*_SIGNAL_COUNTS, "language", "refusal"):
        row.setdefault(name, None)
