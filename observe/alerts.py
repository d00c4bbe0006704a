"""`tracevault alerts check`: the tutorial's alert table, a recent window against a baseline.

The window is the ``window_hours`` before ``now``; the baseline is the ``baseline_hours`` before
the window. Each alert compares one aggregate of the metrics rows (span start times) in the two:

| alert | aggregate | fires when |
|---|---|---|
| ``ttft_p95_doubled`` | p95 of ``ttft_ms`` | window / baseline >= ``ttft_p95_ratio`` |
| ``tpot_p95_increased`` | p95 of ``tpot_ms`` | window / baseline >= ``tpot_p95_ratio`` |
| ``refusal_rate_spiked`` | share of ``refusal`` | window - baseline >= ``refusal_rate_delta`` |
| ``cost_per_task_rose`` | mean cost per trace | window / baseline >= ``cost_per_task_ratio`` |
| ``tool_failures_rose`` | share of ``tool_status = 'error'`` | window - baseline >= ``tool_failure_rate_delta`` |
| ``retrieval_score_dropped`` | mean of ``retrieval_score_mean`` | baseline - window >= ``retrieval_score_drop`` |

An aggregate with fewer than ``min_samples`` values in either window gives no verdict
(``insufficient_data``), never a firing alert. Reads metrics rows only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from observe.queries import connect, load_metrics
from policies.config import AlertsConfig
from vault.reader import VaultReader
from vault.store import ObjectStore

_SUMMARY = """
select quantile_cont(ttft_ms, 0.95), count(ttft_ms),
       quantile_cont(tpot_ms, 0.95), count(tpot_ms),
       count_if(refusal) / nullif(count(refusal), 0), count(refusal),
       count_if(tool_status = 'error') / nullif(count(tool_status), 0), count(tool_status),
       avg(retrieval_score_mean), count(retrieval_score_mean)
from metrics
"""
_COST = "select avg(cost_usd), count(*) from cost_per_trace where priced_calls > 0"
# (alert, aggregate, comparison, threshold field)
_ALERTS = (
    ("ttft_p95_doubled", "ttft_p95_ms", "ratio", "ttft_p95_ratio"),
    ("tpot_p95_increased", "tpot_p95_ms", "ratio", "tpot_p95_ratio"),
    ("refusal_rate_spiked", "refusal_rate", "rise", "refusal_rate_delta"),
    ("cost_per_task_rose", "cost_per_task_usd", "ratio", "cost_per_task_ratio"),
    ("tool_failures_rose", "tool_failure_rate", "rise", "tool_failure_rate_delta"),
    ("retrieval_score_dropped", "retrieval_score_mean", "drop", "retrieval_score_drop"),
)


@dataclass(frozen=True)
class Verdict:
    alert: str
    status: str  # "firing", "ok" or "insufficient_data"
    aggregate: str
    window: float | None
    baseline: float | None
    window_samples: int
    baseline_samples: int
    comparison: str
    threshold: float


def summarise(store: ObjectStore, tenant: str, since: datetime, until: datetime) -> dict[str, tuple[float | None, int]]:
    """Each alert's aggregate over the tenant's rows in [since, until), with its sample count."""
    con = connect(load_metrics(store, tenant, since, until))
    row = con.execute(_SUMMARY).fetchone()
    cost = con.execute(_COST).fetchone()
    names = ("ttft_p95_ms", "tpot_p95_ms", "refusal_rate", "tool_failure_rate", "retrieval_score_mean")
    summary = {name: (row[2 * i], int(row[2 * i + 1])) for i, name in enumerate(names)}
    summary["cost_per_task_usd"] = (cost[0], int(cost[1]))
    return summary


def _fires(comparison: str, window: float, baseline: float, threshold: float) -> bool:
    if comparison == "ratio":
        return baseline > 0 and window / baseline >= threshold
    if comparison == "rise":
        return window - baseline >= threshold
    return baseline - window >= threshold


def judge(window: dict[str, tuple[float | None, int]], baseline: dict[str, tuple[float | None, int]], config: AlertsConfig) -> list[Verdict]:
    verdicts = []
    for alert, aggregate, comparison, field in _ALERTS:
        (w, wn), (b, bn) = window[aggregate], baseline[aggregate]
        threshold = float(getattr(config, field))
        if w is None or b is None or wn < config.min_samples or bn < config.min_samples:
            status = "insufficient_data"
        else:
            status = "firing" if _fires(comparison, float(w), float(b), threshold) else "ok"
        verdicts.append(Verdict(alert, status, aggregate, w, b, wn, bn, comparison, threshold))
    return verdicts


def tenants_in(store: ObjectStore) -> list[str]:
    return sorted({p.tenant for p in VaultReader(store).partitions("metrics")})


def check(store: ObjectStore, config: AlertsConfig, now: datetime, tenants: list[str]) -> dict[str, Any]:
    """The verdicts of every alert for each tenant, as a JSON-ready document."""
    window_start = now - timedelta(hours=config.window_hours)
    baseline_start = window_start - timedelta(hours=config.baseline_hours)
    document: dict[str, Any] = {
        "now": now.isoformat(),
        "window": {"since": window_start.isoformat(), "until": now.isoformat()},
        "baseline": {"since": baseline_start.isoformat(), "until": window_start.isoformat()},
        "tenants": {},
        "firing": 0,
    }
    for tenant in tenants:
        verdicts = judge(summarise(store, tenant, window_start, now), summarise(store, tenant, baseline_start, window_start), config)
        document["tenants"][tenant] = [asdict(v) for v in verdicts]
        document["firing"] += sum(1 for v in verdicts if v.status == "firing")
    return document
