"""Detectors, registered here and only here (see `redactors/detectors/base.py` for the contract).

A new detector is a class with `name`, `structural`, `normalised` and `detect(views, policy)`,
added to `build_detectors`; neither the walker nor the text redactor changes. Their findings
are merged by the one conflict resolver (`redactors/conflicts.py`) and masked by the policy's
operators (`redactors/operators.py`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redactors.detectors.base import Detector, Finding
from redactors.detectors.failclosed import FailClosedDetector
from redactors.detectors.secrets import SecretsDetector

if TYPE_CHECKING:
    from redactors.pii import PiiAnalyzer


def build_detectors(secrets: SecretsDetector, analyzer: PiiAnalyzer | None) -> tuple[Detector, ...]:
    """The detectors of the redaction engine, in order (earlier findings win exact ties)."""
    if analyzer is None:
        return (secrets,)
    from redactors.detectors.pii import ContextRulesDetector, DigitsDetector, PiiDetector

    return (secrets, PiiDetector(analyzer), ContextRulesDetector(analyzer), DigitsDetector(analyzer))


__all__ = ["Detector", "FailClosedDetector", "Finding", "SecretsDetector", "build_detectors"]
