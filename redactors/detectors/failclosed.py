"""The detector of last resort: examines nothing, so every value fails closed.

Used when redaction cannot finish (a deadline passed): every string becomes
`<REDACTION_FAILED>`. Nothing here runs a regex or a model, and it needs no normalised view.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.resolve import CompiledPolicy
from redactors.detectors.base import ViewFindings
from redactors.normalize import TextView


class FailClosedDetector:
    name = "fail_closed"
    structural = True
    normalised = False

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        return [None for _ in views]
