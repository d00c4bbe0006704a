"""The one conflict resolver: overlapping candidates become their union, labelled by the best.

A union, not a pick: when a name and an email overlap partially, masking only one of them would
leave part of the other in clear. Each merged span keeps the highest-ranked of its members
(`rank`, compared as tuples); on a tie the member that comes first (by start, then longest)
wins. Used by the text redactor for findings of all detectors and by the secret scanner for
its rule candidates.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Merged(Generic[T]):
    start: int
    end: int
    best: T


def resolve(candidates: Iterable[T], span: Callable[[T], tuple[int, int]], rank: Callable[[T], Any]) -> list[Merged[T]]:
    """Non-overlapping merged spans, sorted by start (spans that only touch stay apart)."""
    ordered = sorted(candidates, key=lambda c: (span(c)[0], -span(c)[1]))
    merged: list[Merged[T]] = []
    if not ordered:
        return merged
    start, end = span(ordered[0])
    best, best_rank = ordered[0], rank(ordered[0])
    for candidate in ordered[1:]:
        c_start, c_end = span(candidate)
        if c_start < end:
            end = max(end, c_end)
            candidate_rank = rank(candidate)
            if candidate_rank > best_rank:
                best, best_rank = candidate, candidate_rank
            continue
        merged.append(Merged(start, end, best))
        start, end, best, best_rank = c_start, c_end, candidate, rank(candidate)
    merged.append(Merged(start, end, best))
    return merged
