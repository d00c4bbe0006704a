"""Runs taken in turn with a baseline (the batch CLI row): each run is compared with the faster
of the two baseline runs beside it, per wall second and per CPU second, and the verdict is the
median of those ratios. A host that drifts in speed moves both sides of one pair's ratio."""

from __future__ import annotations

import pytest

from bench.common import Throughput, paired_ratios
from bench.run import paired_row


def _t(spans: int, seconds: float, cpu: float, leaked: int | None = None, complete: bool = True) -> Throughput:
    notes = {} if leaked is None else {"workload_leaks": {"planted": {"PERSON": 10}, "leaked": {"PERSON": leaked} if leaked else {}}}
    return Throughput("row", spans, spans * 10, seconds, complete, notes, cpu)


@pytest.mark.parametrize(
    ("baselines", "runs", "wall", "cpu", "median", "shown"),
    [
        # a steady host: every pair reads 10x per core and 20x wall
        ([(100, 10, 10)] * 4, [(1000, 5, 10)] * 3, [20.0] * 3, [10.0] * 3, (20.0, 10.0), 1),
        # the host slows down by half for the second pair, on both sides: its ratio holds
        ([(100, 10, 10), (100, 20, 20), (100, 20, 20), (100, 10, 10)], [(1000, 5, 10), (1000, 10, 20), (1000, 5, 10)],
         [20.0, 20.0, 20.0], [10.0, 10.0, 10.0], (20.0, 10.0), 1),
        # the faster flanking baseline is the yardstick: (100 spans / 8 s) beats (100 / 10 s)
        ([(100, 10, 10), (100, 8, 8)], [(1000, 5, 10)], [16.0], [8.0], (16.0, 8.0), 0),
        # one slow run among three: the median ignores it, and the median run is shown
        ([(100, 10, 10)] * 4, [(1000, 5, 10), (1000, 10, 25), (1000, 4, 9)], [20.0, 10.0, 25.0], [10.0, 4.0, 100 / 9], (20.0, 10.0), 0),
        # two runs: the median is their mean, the slower per core is shown
        ([(100, 10, 10)] * 3, [(1000, 5, 10), (1000, 4, 8)], [20.0, 25.0], [10.0, 12.5], (22.5, 11.25), 0),
    ],
)  # fmt: skip
def test_each_run_against_the_faster_baseline_beside_it(baselines: list, runs: list, wall: list, cpu: list, median: tuple, shown: int) -> None:
    paired = paired_ratios([_t(*r) for r in runs], [_t(*b) for b in baselines])
    assert paired["x_naive_runs"] == pytest.approx(wall)
    assert paired["x_naive_cpu_runs"] == pytest.approx(cpu)
    assert (paired["x_naive"], paired["x_naive_cpu"]) == pytest.approx(median)
    assert paired["shown"] == shown
    assert len(paired["baseline_words_per_s"]) == len(baselines)


@pytest.mark.parametrize(("runs", "baselines"), [(0, 1), (2, 2), (2, 4)])
def test_a_run_needs_a_baseline_on_each_side(runs: int, baselines: int) -> None:
    with pytest.raises(ValueError, match="baselines around them"):
        paired_ratios([_t(1000, 5, 10)] * runs, [_t(100, 10, 10)] * baselines)


def test_the_row_is_the_median_run_with_the_worst_leaks_and_every_run_complete() -> None:
    runs = [_t(1000, 5, 10, leaked=0), _t(1000, 10, 25, leaked=2), _t(1000, 4, 9, leaked=0, complete=False)]
    paired = paired_ratios(runs, [_t(100, 10, 10)] * 4)
    row = paired_row(runs, paired)
    assert (row.seconds, row.cpu_seconds) == (5, 10)  # the median run (10x per core) of 4x, 10x and 11.1x
    assert row.notes["workload_leaks"]["leaked"] == {"PERSON": 2}  # a leak in any run is reported
    assert row.complete is False
    assert [run["cpu_seconds"] for run in row.notes["runs"]] == [10, 25, 9]
    assert row.notes["paired"] is paired
