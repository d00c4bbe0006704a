"""Free-text redaction: detect on a normalised view, mask the original text.

Detection (what matches) and action (how it is masked) are separate: detectors return findings
with offsets into the original text; `apply_findings` merges overlaps and applies the policy's
method per entity. Secrets always become ``<SECRET:kind>``, whatever the PII method.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policies.resolve import CompiledPolicy
from redactors.identifiers import TenantPseudonymizer
from redactors.normalize import TextView, collapse_digit_separators, normalize
from redactors.pii import PiiAnalyzer, candidate_entities
from redactors.known_secrets import KnownSecrets
from redactors.secrets import SecretRules

FAILED_TOKEN = "<REDACTION_FAILED>"
SECRET_ENTITY = "SECRET"
FAILED_ENTITY = "REDACTION_FAILED"
_DIGIT_ENTITIES = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "IBAN_CODE", "US_SSN"})


@dataclass(frozen=True, slots=True)
class Finding:
    """A detected span, in offsets of the ORIGINAL text.

    `label` is the secret kind for secrets. `canonical` is the matched text as the detector saw
    it (normalised), so that a full-width email pseudonymises like its ASCII twin.
    """

    start: int
    end: int
    entity: str
    score: float
    label: str = ""
    canonical: str = ""

    @property
    def is_secret(self) -> bool:
        return self.entity == SECRET_ENTITY


@dataclass(frozen=True, slots=True)
class RedactedText:
    text: str
    counts: Counter[str]


def _join(parts: list[RedactedText]) -> RedactedText:
    if len(parts) == 1:
        return parts[0]
    counts: Counter[str] = Counter()
    for part in parts:
        counts.update(part.counts)
    if FAILED_ENTITY in counts:  # one failed paragraph fails the whole value closed
        return RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1}))
    return RedactedText("".join(part.text for part in parts), counts)


def _priority(finding: Finding) -> tuple[int, float, int]:
    # Secrets outrank PII, then the higher score, then the longer span.
    return (1 if finding.is_secret else 0, finding.score, finding.end - finding.start)


def merge_overlaps(findings: Sequence[Finding]) -> list[Finding]:
    """Merge overlapping findings into their union, labelled by the highest-priority member.

    A union, not a pick: when a name and an email overlap partially, masking only one of them
    would leave part of the other in clear.
    """
    merged: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.start, -f.end)):
        if merged and finding.start < merged[-1].end:
            last = merged[-1]
            winner = max(last, finding, key=_priority)
            merged[-1] = Finding(
                last.start, max(last.end, finding.end), winner.entity, winner.score, winner.label,
                winner.canonical,
            )
        else:
            merged.append(finding)
    return merged


def mask_partially(entity: str, value: str) -> str:
    """`mask`: digits-like entities keep their last 4 alphanumerics, others their first letter."""
    alnum_positions = [i for i, ch in enumerate(value) if ch.isalnum()]
    if entity in _DIGIT_ENTITIES:
        keep = set(alnum_positions[-4:]) if len(alnum_positions) > 8 else set()
    else:
        keep = set(alnum_positions[:1]) if len(alnum_positions) > 3 else set()
    return "".join(ch if (i in keep or not ch.isalnum()) else "*" for i, ch in enumerate(value))


def replacement_for(finding: Finding, original: str, canonical: str, policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> str:
    if finding.is_secret:
        return f"<SECRET:{finding.label}>"
    method = policy.method_for(finding.entity)
    if method == "replace":
        return f"<{finding.entity}>"
    if method == "pseudonym":
        return pseudo.entity_tag(finding.entity, canonical)
    if method == "mask":
        return mask_partially(finding.entity, original)
    return ""  # remove


def in_original(view: TextView, start: int, end: int, entity: str, score: float, label: str = "") -> Finding:
    """A finding on `view` offsets, moved to original offsets."""
    original_start, original_end = view.to_original(start, end)
    return Finding(original_start, original_end, entity, score, label, view.text[start:end])


def apply_findings(
    text: str,
    findings: Sequence[Finding],
    policy: CompiledPolicy,
    pseudo: TenantPseudonymizer,
) -> RedactedText:
    counts: Counter[str] = Counter()
    if not findings:
        return RedactedText(text, counts)
    out: list[str] = []
    cursor = 0
    for finding in merge_overlaps(findings):
        if finding.end <= finding.start:
            continue
        out.append(text[cursor : finding.start])
        original = text[finding.start : finding.end]
        out.append(replacement_for(finding, original, finding.canonical or original, policy, pseudo))
        counts[finding.entity] += 1
        cursor = finding.end
    out.append(text[cursor:])
    return RedactedText("".join(out), counts)


class RedactionCache:
    """Bounded LRU of redaction results per text unit (a message part, a document, a paragraph).

    Keys are HMAC-SHA256 digests under a random per-process key, scoped by tenant and env, so
    the cache holds no plain-text keys and a digest means nothing outside this process. The
    values are redacted texts. Failed redactions are never cached.
    """

    def __init__(self, max_entries: int = 20_000, max_chars: int = 64 * 1024 * 1024) -> None:
        self._key = os.urandom(32)
        self._entries: OrderedDict[bytes, RedactedText] = OrderedDict()
        self._chars = 0
        self._max_entries = max_entries
        self._max_chars = max_chars
        self.hits = 0
        self.misses = 0

    def digest(self, scope: str, text: str) -> bytes:
        return hmac.new(self._key, scope.encode() + b"\x00" + text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

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


class TextRedactor:
    """Redacts batches of free-text values for one compiled policy."""

    def __init__(
        self, analyzer: PiiAnalyzer | None, cache: RedactionCache | None = None,
        known_secrets: Callable[[CompiledPolicy], KnownSecrets] | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._secret_rules: dict[tuple[tuple[str, ...], str, str], SecretRules] = {}
        self._known_secrets = known_secrets  # loads a policy's known-secrets file
        self.cache = cache if cache is not None else RedactionCache()

    def secret_rules(self, policy: CompiledPolicy) -> SecretRules:
        known_file = policy.known_secrets_file if self._known_secrets is not None else ""
        key = (policy.secret_key_names, known_file, policy.tenant if known_file else "")
        rules = self._secret_rules.get(key)
        if rules is None:
            known = self._known_secrets(policy) if known_file and self._known_secrets is not None else None
            rules = SecretRules.compile(policy.secret_key_names, known=known)
            self._secret_rules[key] = rules
        return rules

    def redact_secrets_only(self, text: str, policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> RedactedText:
        """Structural values: no PII scan, but a key pasted into a model name is still stripped."""
        try:
            view = normalize(text)
            findings = self._secrets(view, self.secret_rules(policy))
            return apply_findings(text, findings, policy, pseudo)
        except Exception:  # fail closed: never pass the value through
            return RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1}))

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
        for unit, result in zip(missing, self._redact_uncached(missing, policy, pseudo)):
            done[unit] = result
            self.cache.put(keys[unit], result)
        return [_join([done[unit] for unit in units]) for units in per_text_units]

    def _redact_uncached(self, texts: Sequence[str], policy: CompiledPolicy, pseudo: TenantPseudonymizer) -> list[RedactedText]:
        """One batched NER pass over many texts. A failing text fails closed alone."""
        if not texts:
            return []
        rules = self.secret_rules(policy)
        views: list[TextView | None] = []
        for text in texts:
            try:
                views.append(normalize(text))
            except Exception:
                views.append(None)
        pii_entities = policy.entities if self._analyzer is not None else frozenset()
        artifacts = self._artifacts(views, policy) if pii_entities else None
        results: list[RedactedText] = []
        for index, (text, view) in enumerate(zip(texts, views)):
            if view is None or (artifacts is not None and artifacts[index] is None):
                results.append(RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1})))
                continue
            try:
                findings = self._secrets(view, rules)
                if pii_entities and artifacts is not None:
                    findings.extend(self._pii(view, artifacts[index], policy))
                results.append(apply_findings(text, findings, policy, pseudo))
            except Exception:
                results.append(RedactedText(FAILED_TOKEN, Counter({FAILED_ENTITY: 1})))
        return results

    def _artifacts(self, views: Sequence[TextView | None], policy: CompiledPolicy) -> list[list | None]:
        """Per text, the NLP artefacts of each chunk; None where NER failed on that text."""
        assert self._analyzer is not None
        analyzer = self._analyzer
        pieces: list[tuple[int, int, str]] = []  # (text index, chunk offset, chunk)
        for index, view in enumerate(views):
            if view is not None:
                for offset, chunk in analyzer.chunks(view.text):
                    # Without NER, a chunk that no pattern recognizer can match needs no
                    # tokens at all (most prose has no '@' and few digits).
                    if policy.ner_enabled or candidate_entities(chunk, policy.entities):
                        pieces.append((index, offset, chunk))
        per_text: list[list | None] = [[] if v is not None else None for v in views]
        try:
            batch = analyzer.artifacts([chunk for _, _, chunk in pieces], policy.ner_enabled)
        except Exception:
            # One bad text must not fail the whole batch: retry one by one.
            batch = []
            for index, _, chunk in pieces:
                try:
                    batch.extend(analyzer.artifacts([chunk], policy.ner_enabled))
                except Exception:
                    batch.append(None)
        for (index, offset, chunk), artifact in zip(pieces, batch):
            slot = per_text[index]
            if slot is None:
                continue
            if artifact is None:
                per_text[index] = None
            else:
                slot.append((offset, chunk, artifact))
        return per_text

    @staticmethod
    def _secrets(view: TextView, rules: SecretRules) -> list[Finding]:
        return [in_original(view, s.start, s.end, SECRET_ENTITY, 1.0, s.kind) for s in rules.scan(view.text)]

    def _pii(self, view: TextView, chunk_artifacts: list, policy: CompiledPolicy) -> list[Finding]:
        assert self._analyzer is not None
        findings: list[Finding] = []
        for offset, chunk, artifact in chunk_artifacts:
            for f in self._analyzer.analyze(chunk, artifact, policy.entities, policy.score_threshold):
                findings.append(in_original(view, f.start + offset, f.end + offset, f.entity, f.score))
        if policy.entities & {"CREDIT_CARD", "IBAN_CODE"}:
            # Cards already ran on the view itself; on an unchanged view only the case-blind
            # IBAN check adds anything.
            collapsed = collapse_digit_separators(view)
            changed = collapsed.text != view.text
            for f in self._analyzer.analyze_collapsed_digits(collapsed.text, policy.entities, policy.score_threshold, cards=changed):
                findings.append(in_original(collapsed, f.start, f.end, f.entity, f.score))
        return findings
