"""The batch CLI row's usage notes: each counter of `getrusage(RUSAGE_CHILDREN)` lands in its own
field, as the difference between the readings around the command."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.batchcli import children_usage

FIELDS = ("ru_utime", "ru_stime", "ru_minflt", "ru_majflt", "ru_inblock", "ru_nvcsw", "ru_nivcsw")


def _reading(**values: float) -> SimpleNamespace:
    return SimpleNamespace(**{name: values.get(name, 0) for name in FIELDS})


@pytest.mark.parametrize(
    ("grown", "expected"),
    [
        # a cold page cache: the model read from disk
        ({"ru_utime": 20.0, "ru_stime": 1.5, "ru_majflt": 900, "ru_inblock": 250_000},
         {"user_seconds": 20.0, "system_seconds": 1.5, "major_faults": 900, "blocks_read": 250_000}),
        # its twin on a warm cache and a contended machine: no faults or reads, switches instead
        ({"ru_utime": 20.0, "ru_stime": 1.5, "ru_minflt": 400_000, "ru_nvcsw": 3_000, "ru_nivcsw": 12_000},
         {"user_seconds": 20.0, "system_seconds": 1.5, "minor_faults": 400_000, "voluntary_switches": 3_000, "involuntary_switches": 12_000}),
    ],
)  # fmt: skip
def test_children_usage_is_the_difference_per_counter(grown: dict[str, float], expected: dict[str, float]) -> None:
    base = {name: 7 for name in FIELDS}  # children reaped before the command: not counted
    before = _reading(**base)
    after = _reading(**{name: base[name] + grown.get(name, 0) for name in FIELDS})
    usage = children_usage(before, after)
    names = ("user_seconds", "system_seconds", "minor_faults", "major_faults", "blocks_read", "voluntary_switches", "involuntary_switches")
    assert set(usage) == set(names)
    assert usage == {name: pytest.approx(expected.get(name, 0)) for name in names}
