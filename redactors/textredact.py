"""Free-text redaction: detect on a normalised view, mask the original text.

Detection (what matches) and action (how it is masked) are separate. Detectors
(`redactors/detectors/`) return findings with offsets into the original text; the one conflict
resolver (`redactors/conflicts.py`) merges overlaps into their union; the policy's operators
(`redactors/operators.py`) mask each merged span. Secrets always become ``<SECRET:kind>``,
whatever the PII method.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from policies.resolve import CompiledPolicy
from redactors.conflicts import resolve
from redactors.detectors.base import FAILED_ENTITY, FAILED_TOKEN, SECRET_ENTITY, Detector, Finding, ViewFindings, in_original
from redactors.identifiers import TenantPseudonymizer
from redactors.normalize import TextView, normalize
from redactors.operators import CompiledOperators, compile_operators, mask_partially
from redactors.processkey import new_key
from redactors.recurrence import recurring_names

__all__ = [
    "FAILED_ENTITY", "FAILED_TOKEN", "SECRET_ENTITY", "Finding", "RedactedText", "RedactionCache", "TextRedactor",
    "apply_findings", "in_original", "mask_partially", "merge_overlaps", "text_units",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class RedactedText:
    text: str
    counts: Counter[str]


def _failed() -> RedactedText:
    return RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1}))


def _join(parts: list[RedactedText]) -> RedactedText:
    if len(parts) == 1:
        return parts[0]
    counts: Counter[str] = Counter()
    for part in parts:
        counts.update(part.counts)
    if FAILED_ENTITY in counts:  # one failed paragraph fails the whole value closed
        return _failed()
    return RedactedText("".join(part.text for part in parts), counts)


def _priority(finding: Finding) -> tuple[int, float, int]:
    # Secrets outrank PII, then the higher score, then the longer span.
    return (1 if finding.is_secret else 0, finding.score, finding.end - finding.start)


def merge_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    """Overlapping findings become their union, labelled by the highest-priority member."""
    return [
        Finding(m.start, m.end, m.best.entity, m.best.score, m.best.label, m.best.canonical, m.best.rule)
        for m in resolve(findings, span=lambda f: (f.start, f.end), rank=_priority)
    ]


def apply_findings(text: str, findings: Sequence[Finding], operators: CompiledOperators, pseudo: TenantPseudonymizer) -> RedactedText:
    counts: Counter[str] = Counter()
    if not findings:
        return RedactedText(text, counts)
    out: list[str] = []
    cursor = 0
    for finding in merge_overlaps(findings):
        if finding.end <= finding.start:
            continue
        out.append(text[cursor : finding.start])
        out.append(operators.for_finding(finding).apply(finding, text[finding.start : finding.end], pseudo))
        counts[finding.entity] += 1
        cursor = finding.end
    out.append(text[cursor:])
    return RedactedText("".join(out), counts)


class RedactionCache:
    """Bounded LRU of redaction results per text unit (a message part, a document, a paragraph).

    Keys are keyed BLAKE2b digests (a MAC) under a random per-process key (drawn again in a forked child),
    scoped by tenant and env, so the cache holds no plain-text keys and a digest means nothing
    outside this process. The
    values are redacted texts. Failed redactions are never cached.
    """

    def __init__(self, max_entries: int = 20_000, max_chars: int = 64 * 1024 * 1024) -> None:
        self._key = new_key(self)
        self._entries: OrderedDict[bytes, RedactedText] = OrderedDict()
        self._chars = 0
        self._max_entries = max_entries
        self._max_chars = max_chars
        self.hits = 0
        self.misses = 0

    def renew_key(self) -> None:
        """In a forked child: a key of its own, and nothing cached under the parent's."""
        self._key = new_key(self)
        self._entries.clear()
        self._chars = 0

    def digest(self, scope: str, text: str) -> bytes:
        # Keyed BLAKE2b is a MAC in one C call (hmac.new builds two hash objects in Python).
        return hashlib.blake2b(scope.encode() + b"\x00" + text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=32).digest()

    def get(self, key: bytes) -> RedactedText | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: bytes, value: RedactedText) -> None:
        if FAILED_ENTITY in value.counts or len(value.text) > self._max_chars // 16:
            return
        previous = self._entries.pop(key, None)
        if previous is not None:
            self._chars -= len(previous.text)
        self._entries[key] = value
        self._chars += len(value.text)
        while self._entries and (len(self._entries) > self._max_entries or self._chars > self._max_chars):
            _, evicted = self._entries.popitem(last=False)
            self._chars -= len(evicted.text)

    def __len__(self) -> int:
        return len(self._entries)


# Long values are cached per paragraph: a RAG prompt repeats its system prompt and documents
# while its question changes. Names do not cross a blank line, so NER loses nothing.
PARAGRAPH_SPLIT_CHARS = 1500
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def text_units(text: str) -> list[str]:
    """Split a long text at blank lines into units that concatenate back to the text."""
    if len(text) < PARAGRAPH_SPLIT_CHARS:
        return [text]
    units: list[str] = []
    start = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        units.append(text[start : match.end()])
        start = match.end()
    units.append(text[start:])
    return [unit for unit in units if unit] or [text]


STRUCTURAL_CACHE_ENTRIES = 20_000
STRUCTURAL_CACHE_CHARS = 8 * 1024 * 1024


class TextRedactor:
    """Redacts batches of free-text values for one compiled policy with a set of detectors.

    Content values go through every detector; structural values (`redact_secrets_only`) only
    through those marked `structural`. A value any detector could not examine fails closed.
    """

    def __init__(self, detectors: Sequence[Detector], cache: RedactionCache | None = None) -> None:
        self._detectors = tuple(detectors)
        self._structural = tuple(d for d in self._detectors if d.structural)
        self._normalised = any(d.normalised for d in self._detectors)
        self.cache = cache if cache is not None else RedactionCache()
        # Structural values (model names, tool names, attribute keys) repeat on nearly every
        # span; their results are kept apart from the content cache and its hit rate.
        self._structural_cache = RedactionCache(max_entries=STRUCTURAL_CACHE_ENTRIES, max_chars=STRUCTURAL_CACHE_CHARS)

    def redact_secrets_only(self, text: str, policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> RedactedText:
        """Structural values: no PII scan, but a key pasted into a model name is still stripped."""
        key = self._structural_cache.digest(f"{policy.tenant}\x00{policy.env}", text)
        cached = self._structural_cache.get(key)
        if cached is not None:
            return cached
        result = self._redact([text], policy, pseudo, self._structural)[0]
        self._structural_cache.put(key, result)  # failed results are never kept
        return result

    def redact_many(self, texts: Sequence[str], policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> list[RedactedText]:
        """Redact many texts: cached units are reused, the rest go through one NER batch."""
        scope = f"{policy.tenant}\x00{policy.env}"
        per_text_units = [text_units(text) for text in texts]
        keys: dict[str, bytes] = {}
        done: dict[str, RedactedText] = {}
        missing: list[str] = []
        for units in per_text_units:
            for unit in units:
                if unit in done or unit in keys:
                    continue
                key = self.cache.digest(scope, unit)
                keys[unit] = key
                cached = self.cache.get(key)
                if cached is not None:
                    done[unit] = cached
                else:
                    missing.append(unit)
        for unit, result in zip(missing, self._redact(missing, policy, pseudo, self._detectors)):
            done[unit] = result
            self.cache.put(keys[unit], result)
        return [_join([done[unit] for unit in units]) for units in per_text_units]

    def _redact(self, texts: Sequence[str], policy: CompiledPolicy, pseudo: TenantPseudonymizer, detectors: Sequence[Detector]) -> list[RedactedText]:
        """Every detector over the batch, then the operators. A failing text fails closed alone."""
        if not texts:
            return []
        views = [self._view(text) for text in texts]
        findings: list[ViewFindings] = [[] if view is not None else None for view in views]
        for detector in detectors:
            live = {i: view for i, view in enumerate(views) if view is not None and findings[i] is not None}
            if not live:
                break
            for index, found in zip(live, _detect(detector, list(live.values()), policy), strict=True):
                current = findings[index]
                if found is None or current is None:
                    findings[index] = None
                else:
                    current.extend(found)
        operators = compile_operators(policy)
        results: list[RedactedText] = []
        for text, found in zip(texts, findings, strict=True):
            if found is None:
                results.append(_failed())
                continue
            try:
                results.append(apply_findings(text, [*found, *recurring_names(text, found)], operators, pseudo))
            except Exception:  # noqa: BLE001 - fail closed: never pass the value through
                results.append(_failed())
        return results

    def _view(self, text: str) -> TextView | None:
        if not self._normalised:
            return TextView(text)
        try:
            return normalize(text)
        except Exception:  # noqa: BLE001 - fail closed: a text we cannot normalise is not examined
            return None


def _detect(detector: Detector, views: list[TextView], policy: CompiledPolicy) -> list[ViewFindings]:
    """The detector over the batch; if it raises, view by view, so that one bad text fails alone."""
    try:
        found: list[ViewFindings] | None = detector.detect(views, policy)
    except Exception:  # noqa: BLE001 - retried per view below; a view that still fails, fails closed
        found = None
    if found is not None and len(found) == len(views):
        return found
    if len(views) == 1:
        return [None]  # raised, or answered for the wrong number of views: examined nothing
    return [_detect(detector, [view], policy)[0] for view in views]
