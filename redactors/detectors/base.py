"""The detector contract: what every detector returns, and how it is called.

A detector looks at a batch of text views and returns, per view, its findings in offsets of
the ORIGINAL text (`in_original` moves view offsets there), each naming the rule that fired.
`None` in place of a view's findings means "could not examine this view": the text redactor
then fails that value closed (`<REDACTION_FAILED>`), never passes it through. A detector that
raises is retried view by view, so that one bad text does not fail its batch.

Detectors are registered in one place, `redactors/detectors/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from policies.resolve import CompiledPolicy
from redactors.normalize import TextView

SECRET_ENTITY = "SECRET"
FAILED_ENTITY = "REDACTION_FAILED"
FAILED_TOKEN = "<REDACTION_FAILED>"


@dataclass(frozen=True, slots=True)
class Finding:
    """A detected span, in offsets of the ORIGINAL text.

    `label` is the secret kind for secrets. `canonical` is the matched text as the detector saw
    it (normalised), so that a full-width email pseudonymises like its ASCII twin. `rule` is the
    id of the rule that fired ("secret.github_token", "presidio.EmailRecognizer", ...).
    """

    start: int
    end: int
    entity: str
    score: float
    label: str = ""
    canonical: str = ""
    rule: str = ""

    @property
    def is_secret(self) -> bool:
        return self.entity == SECRET_ENTITY


# Per view: its findings, or None when the view could not be examined (fail closed).
ViewFindings = list[Finding] | None


@runtime_checkable
class Detector(Protocol):
    """Finds spans to mask. Stateless per call; compiled state is built once and cached."""

    name: str
    # Runs on structural values too (model names, trace states), not only on content.
    structural: bool
    # Needs the normalised view (evasions undone); False: the identity view is enough.
    normalised: bool

    def detect(self, views: Sequence[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
        """Findings per view, in original-text offsets; same length and order as `views`."""
        ...


def in_original(view: TextView, start: int, end: int, entity: str, score: float, label: str = "", rule: str = "") -> Finding:
    """A finding on `view` offsets, moved to original offsets."""
    original_start, original_end = view.to_original(start, end)
    return Finding(original_start, original_end, entity, score, label, view.text[start:end], rule)
