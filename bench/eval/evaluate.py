"""Measure the redactor on the labelled dev corpus: `python -m bench.eval.evaluate` (`make eval`).

Every corpus text (see `bench.eval.corpus`) goes through ``Redactor.redact_texts`` with the
built-in policy; the outputs are then scored:

- **recall** per entity and per group = planted values fully removed / planted values. Groups:
  ``structured`` (email, phone, card, SSN, IBAN, IP), ``person``, ``location``, ``secret``,
  and ``evasion`` (every value planted in an evasion row, whatever its entity).
- **leaked secrets**: planted secrets still (partly) present anywhere, evasion rows included.
- **benign kept** = benign strings still present verbatim / benign strings.

When a value counts as leaked (see :func:`leak_reason`): the planted string is still in the
output, or its canonical form (escapes decoded, NFKC, format characters dropped) is in the
canonical output, or

- numeric entities (card, phone, SSN, IBAN) with >= 6 digits: the digits-only form is in a
  digit run of the output (runs may contain up to 3 separator characters between digits), or a
  run keeps a large piece of it: ``max(8, 60%)`` of the digits in a row (a half-masked card
  still leaks); IBANs also when their compact form is in the compacted output;
- PERSON: any planted name token of >= 3 letters is still a word of the output;
- EMAIL_ADDRESS: the local part (>= 3 characters) followed by ``@`` is still there;
- SECRET: any 12-character piece of the value (the whole value if shorter) is still there.

The report names failing rows by id, category and template pattern only. Planted values are
never printed: this output is meant to be pasted into tickets.

Exit status: 0; with ``--strict`` 1 when a target is missed (see ``TARGETS``).
"""

from __future__ import annotations

import argparse
import html
import math
import re
import sys
import time
import unicodedata
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import bench.common  # noqa: F401  (first: it switches tldextract's downloads off before presidio loads)
from bench.eval.corpus import (
    CATEGORIES,
    CORPUS_PATH,
    LOCATION,
    PERSON,
    SECRET,
    STRUCTURED_ENTITIES,
    load,
    name_tokens,
)

if TYPE_CHECKING:  # the engine (and its spaCy model) loads only when a run needs it
    from redactors.engine import Redactor

GROUPS = ("structured", "person", "location", "secret", "evasion")
SOURCES = ("dev-corpus", "presidio-templates", "faker", "libphonenumber", "places", "name-shapes")
NUMERIC_ENTITIES = frozenset({"CREDIT_CARD", "PHONE_NUMBER", "US_SSN", "IBAN_CODE"})
FAILED_TOKEN = "<REDACTION_FAILED>"

# Minimum recall per group; groups not listed are reported without a target.
TARGETS: dict[str, float] = {"structured": 0.99, "person": 0.90}
BENIGN_TARGET = 0.95
MAX_LEAKED_SECRETS = 0

SECRET_FRAGMENT = 12  # characters of a secret that count as a leak when they survive
_MIN_DIGITS = 6

_DIGIT_RUN = re.compile(r"[0-9](?:[^0-9A-Za-z<>]{0,3}[0-9])*")
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_X_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})")
_AT_WORD = re.compile(r"\s*[\[(]\s*at\s*[\])]\s*", re.I)
_DOT_WORD = re.compile(r"\s*[\[(]\s*dot\s*[\])]\s*", re.I)


# --------------------------------------------------------------------------- leak tests


def canonical(text: str) -> str:
    """A reading of `text` with common obfuscations undone.

    Written independently of `redactors.normalize` on purpose: the yardstick must not share
    the bugs of what it measures.
    """
    text = _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _X_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = urllib.parse.unquote(text)
    text = html.unescape(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _AT_WORD.sub("@", text)
    return _DOT_WORD.sub(".", text)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def _compact(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def _word_re(token: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![^\W\d_]){re.escape(token)}(?![^\W\d_])")


def partial_digits(n: int) -> int:
    """How many consecutive digits of an n-digit value still count as a leak."""
    return min(n, max(8, math.ceil(0.6 * n)))


def leak_reason(value: str, entity: str, output: str) -> str | None:
    """Why `value` (planted as `entity`) counts as leaked in `output`; None when it is gone."""
    if value in output:
        return "verbatim"
    value_c, output_c = canonical(value), canonical(output)
    if value_c and value_c in output_c:
        return "canonical"
    if entity == PERSON:
        for token in name_tokens(value):
            pattern = _word_re(token)
            if pattern.search(output) or pattern.search(output_c):
                return "name-token"
    if entity in NUMERIC_ENTITIES:
        digits = _digits(value_c)
        if len(digits) >= _MIN_DIGITS:
            runs = [_digits(run) for run in _DIGIT_RUN.findall(output_c)]
            if any(digits in run for run in runs):
                return "digits"
            k = partial_digits(len(digits))
            pieces = {digits[i : i + k] for i in range(len(digits) - k + 1)}
            if any(piece in run for run in runs for piece in pieces):
                return "partial-digits"
        if entity == "IBAN_CODE" and _compact(value_c) in _compact(output_c):
            return "compact"
    if entity == "EMAIL_ADDRESS" and "@" in value_c:
        local = value_c.split("@", 1)[0]
        if len(local) >= 3 and local + "@" in output_c:
            return "email-local-part"
    if entity == SECRET:
        size = min(len(value_c), SECRET_FRAGMENT)
        if any(value_c[i : i + size] in output_c for i in range(len(value_c) - size + 1)):
            return "secret-fragment"
    return None


def group_of(category: str, entity: str) -> str:
    if category == "evasion":
        return "evasion"
    if entity in STRUCTURED_ENTITIES:
        return "structured"
    return {PERSON: "person", LOCATION: "location", "ADDRESS": "location", SECRET: "secret"}[entity]


# --------------------------------------------------------------------------- scoring


@dataclass(slots=True)
class Tally:
    planted: int = 0
    leaked: int = 0

    @property
    def removed(self) -> int:
        return self.planted - self.leaked

    @property
    def recall(self) -> float:
        return self.removed / self.planted if self.planted else 1.0


@dataclass(frozen=True, slots=True)
class Miss:
    """A failing row, described without its content."""

    id: str
    category: str
    pattern: str
    entity: str  # "BENIGN" for a lost benign phrase
    reason: str


@dataclass(slots=True)
class Report:
    rows: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    entities: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    patterns: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    leaks: list[Miss] = field(default_factory=list)
    benign: Tally = field(default_factory=Tally)  # planted = phrases, leaked = lost phrases
    benign_lost: list[Miss] = field(default_factory=list)
    failed_rows: list[str] = field(default_factory=list)
    secrets: Tally = field(default_factory=Tally)
    seconds: float = 0.0

    @property
    def benign_kept(self) -> float:
        return self.benign.recall

    @property
    def leaked_secrets(self) -> int:
        return self.secrets.leaked


def score(rows: Sequence[dict], outputs: Sequence[str]) -> Report:
    """Score redacted `outputs` (one per row, in order) against the corpus `rows`."""
    if len(rows) != len(outputs):
        raise ValueError("one output per row")
    report = Report(rows=len(rows))
    for row, output in zip(rows, outputs):
        category, pattern = row["category"], row.get("pattern", "")
        report.categories[category] += 1
        if output == FAILED_TOKEN:
            report.failed_rows.append(row["id"])
        for planted in row["planted"]:
            entity = planted["entity"]
            group = group_of(category, entity)
            reason = leak_reason(planted["value"], entity, output)
            leaked = int(reason is not None)
            tallies = [report.groups[group], report.entities[(group, entity)], report.patterns[pattern]]
            if entity == SECRET:
                tallies.append(report.secrets)
            for tally in tallies:
                tally.planted += 1
                tally.leaked += leaked
            if reason is not None:
                report.leaks.append(Miss(row["id"], category, pattern, entity, reason))
        for phrase in row["benign"]:
            report.benign.planted += 1
            if phrase not in output:
                report.benign.leaked += 1
                report.benign_lost.append(Miss(row["id"], category, pattern, "BENIGN", "lost"))
    return report


def check_targets(report: Report) -> list[str]:
    """The missed targets, as sentences (empty when all are met)."""
    missed = []
    for group, target in TARGETS.items():
        tally = report.groups.get(group, Tally())
        if tally.planted == 0:
            missed.append(f"{group}: nothing planted")
        elif tally.recall < target:
            missed.append(f"{group} recall {tally.recall:.1%} < {target:.0%}")
    if report.leaked_secrets > MAX_LEAKED_SECRETS:
        missed.append(f"{report.leaked_secrets} leaked secret(s) > {MAX_LEAKED_SECRETS}")
    if report.benign_kept < BENIGN_TARGET:
        missed.append(f"benign kept {report.benign_kept:.1%} < {BENIGN_TARGET:.0%}")
    return missed


# --------------------------------------------------------------------------- output


def _pct(tally: Tally) -> str:
    return f"{tally.recall:6.1%}" if tally.planted else "     -"


def format_report(report: Report, max_listed: int = 200) -> str:
    lines: list[str] = []
    cats = ", ".join(f"{c} {report.categories[c]}" for c in CATEGORIES if report.categories[c])
    lines.append(f"tracevault redaction eval: {report.rows} rows ({cats})")
    if report.seconds:
        lines.append(f"redaction time {report.seconds:.1f} s")
    lines.append("")
    header = f"{'group':<11} {'entity':<14} {'planted':>7} {'removed':>7} {'leaked':>6} {'recall':>7}  target"
    lines += [header, "-" * len(header)]
    for group in GROUPS:
        entities = sorted(e for g, e in report.entities if g == group)
        for entity in entities:
            t = report.entities[(group, entity)]
            lines.append(f"{group:<11} {entity:<14} {t.planted:>7} {t.removed:>7} {t.leaked:>6} {_pct(t):>7}")
        t = report.groups.get(group, Tally())
        target = TARGETS.get(group)
        verdict = ""
        if target is not None:
            verdict = f">= {target:.0%}  " + ("ok" if t.planted and t.recall >= target else "MISSED")
        lines.append(f"{group:<11} {'(all)':<14} {t.planted:>7} {t.removed:>7} {t.leaked:>6} {_pct(t):>7}  {verdict}".rstrip())
        lines.append("")
    s = report.secrets
    ok = "ok" if s.leaked <= MAX_LEAKED_SECRETS else "MISSED"
    lines.append(f"leaked secrets (all rows)  {s.leaked} of {s.planted}   target {MAX_LEAKED_SECRETS}  {ok}")
    b = report.benign
    ok = "ok" if report.benign_kept >= BENIGN_TARGET else "MISSED"
    lines.append(
        f"benign kept                {b.removed} of {b.planted} = {report.benign_kept:.1%}   target >= {BENIGN_TARGET:.0%}  {ok}"
    )
    lines.append(f"rows failed closed         {len(report.failed_rows)}")

    failing = sorted((p, t) for p, t in report.patterns.items() if t.leaked)
    lost_by_pattern = Counter(m.pattern for m in report.benign_lost)
    if failing:
        lines += ["", "Patterns with leaks (leaked / planted):"]
        for pattern, t in sorted(failing, key=lambda pt: (-pt[1].leaked / pt[1].planted, pt[0])):
            lines.append(f"  {pattern:<44} {t.leaked:>3} / {t.planted:<3}")
    if report.leaks:
        lines += ["", f"Leaked values ({len(report.leaks)}; ids only, values are never printed):"]
        for m in report.leaks[:max_listed]:
            lines.append(f"  {m.id:<16} {m.category:<10} {m.entity:<14} {m.pattern:<44} {m.reason}")
        if len(report.leaks) > max_listed:
            lines.append(f"  ... {len(report.leaks) - max_listed} more")
    if report.benign_lost:
        lines += ["", "Patterns losing benign text (phrases lost):"]
        for pattern, n in lost_by_pattern.most_common():
            lines.append(f"  {pattern:<44} {n:>3}")
        lines += ["", f"Benign phrases lost ({len(report.benign_lost)}; ids only):"]
        for m in report.benign_lost[:max_listed]:
            lines.append(f"  {m.id:<16} {m.category:<10} {m.pattern}")
        if len(report.benign_lost) > max_listed:
            lines.append(f"  ... {len(report.benign_lost) - max_listed} more")
    if report.failed_rows:
        lines += ["", "Rows that failed closed: " + " ".join(report.failed_rows[:max_listed])]
    missed = check_targets(report)
    lines += ["", "TARGETS MISSED: " + "; ".join(missed) if missed else "All targets met."]
    return "\n".join(lines)


# --------------------------------------------------------------------------- running


def redact_corpus(
    rows: Sequence[dict], redactor: Redactor | None = None, batch_size: int = 256
) -> tuple[list[str], float]:
    """Redact every row's text with the built-in policy; returns (outputs, seconds)."""
    if redactor is None:
        from policies.config import Config
        from redactors.engine import Redactor

        redactor = Redactor.build(Config(), master_secret=b"0" * 32)
    started = time.perf_counter()
    outputs: list[str] = []
    texts = [row["text"] for row in rows]
    for i in range(0, len(texts), batch_size):
        outputs.extend(r.text for r in redactor.redact_texts(texts[i : i + batch_size]))
    return outputs, time.perf_counter() - started


def evaluate(path: Path | str = CORPUS_PATH, redactor: Redactor | None = None) -> Report:
    """Redact the corpus at `path` (with `redactor`, or one built with the built-in policy) and score it."""
    rows = load(path)
    outputs, seconds = redact_corpus(rows, redactor)
    report = score(rows, outputs)
    report.seconds = seconds
    return report


def comparison_rows(sources: Sequence[str] = SOURCES) -> list[dict]:
    """Rows of every requested source, each with ``source`` and ``split``."""
    from bench.eval import nameshapes, public

    rows: list[dict] = []
    if "dev-corpus" in sources:
        rows += public.with_split([{**row, "source": "dev-corpus"} for row in load()])
    makers = {
        "presidio-templates": public.presidio_rows,
        "faker": public.faker_rows,
        "libphonenumber": public.libphonenumber_rows,
        "places": public.places_rows,
        "name-shapes": nameshapes.shape_rows,
    }
    for name, make in makers.items():
        if name in sources:
            rows += make()
    return rows


def run_comparison(sources: Sequence[str], with_naive: bool) -> tuple[str, list[str]]:
    """Redact every row with tracevault (and naive Presidio) and format the comparison."""
    from bench.eval.compare import format_comparison, tally

    rows = comparison_rows(sources)
    outputs, _ = redact_corpus(rows)
    naive = None
    if with_naive:
        from bench.run import NaivePresidio

        presidio = NaivePresidio()
        naive = tally(rows, [presidio.redact(row["text"]) for row in rows])
    return format_comparison(tally(rows, outputs), naive)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval.evaluate", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS_PATH, help="labelled corpus (JSONL)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--max-listed", type=int, default=200, help="failing rows listed per section")
    parser.add_argument("--source", action="append", choices=SOURCES, help="compare on these sources only (default: all)")
    parser.add_argument("--no-naive", action="store_true", help="skip naive Presidio in the comparison")
    parser.add_argument("--no-detail", action="store_true", help="skip the detailed dev-corpus report")
    args = parser.parse_args(argv)
    missed: list[str] = []
    if not args.no_detail:
        report = evaluate(args.corpus)
        print(format_report(report, args.max_listed))
        missed += check_targets(report)
    table, compared_missed = run_comparison(args.source or SOURCES, not args.no_naive)
    print("\nPer source, split and entity: recall (tracevault, naive Presidio) and ordinary words changed\n")
    print(table)
    print("COMPARISON TARGETS MISSED:\n  " + "\n  ".join(compared_missed) if compared_missed else "Comparison targets met.")
    return 1 if args.strict and (missed or compared_missed) else 0


if __name__ == "__main__":
    sys.exit(main())
