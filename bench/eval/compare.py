"""Per source, split and entity type: tracevault's recall next to naive Presidio's on the same
rows, and the share of ordinary words each one changed (``make eval``).

Sources: the dev corpus (split by template into ``dev`` and held-out ``test``) and the public
sets of ``bench.eval.public``. A planted value counts as removed as in
``bench.eval.evaluate.leak_reason``; whole postal addresses (``ADDRESS``) count as leaked when
any distinctive part of them survives (a house number, a street or city name, a postcode).

**Ordinary words changed** = words of prose in the input (letters only, not part of an
identifier, path or key=value pair) outside every planted value that
are not found, in order, in the output (a word-level diff), over all such words. Company names,
job titles, product names and the sentence around the PII are ordinary words.

Targets (``TARGETS``) apply to the held-out test split of the dev corpus and to every part of
every public set.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.eval.corpus import LOCATION, PERSON, SECRET, STRUCTURED_ENTITIES
from bench.eval.public import ADDRESS

# A word of prose: letters only, not glued to digits, paths, addresses or key=value syntax.
_WORD = re.compile(r"(?<![\w./@:=-])[^\W\d_]{2,}(?:['’][^\W\d_]+)?(?![\w/@:=-])")
_DISTINCTIVE = re.compile(r"[^\W\d_]{3,}|\d{3,}")
# Parts of an address that say nothing about where it is.
GENERIC_ADDRESS_WORDS = frozenset(
    """street st avenue ave road rd boulevard blvd lane ln drive dr court ct way place plaza suite
    apt apartment unit box flat floor psc apo fpo dpo usns uss the and""".split()
)

MIN_RECALL = {**dict.fromkeys(STRUCTURED_ENTITIES, 0.99), PERSON: 0.95, LOCATION: 0.90, ADDRESS: 0.90, SECRET: 1.0}
MAX_WORDS_CHANGED = 0.02


def _nfkc(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf")


def _count_word(text: str, token: str) -> int:
    return len(re.findall(rf"(?<![^\W_]){re.escape(token)}(?![^\W_])", text))


def address_leaked(value: str, text: str, output: str) -> bool:
    """A distinctive part of a planted address is in the output more often than in the rest of the input."""
    rest = _nfkc(text.replace(value, " "))
    output = _nfkc(output)
    for token in _DISTINCTIVE.findall(_nfkc(value)):
        if token.lower() in GENERIC_ADDRESS_WORDS:
            continue
        if _count_word(output, token) > _count_word(rest, token):
            return True
    return False


def words_changed(text: str, planted: Sequence[dict], output: str) -> tuple[int, int]:
    """(ordinary words in `text`, how many of them the output lost)."""
    covered = [False] * len(text)
    for p in planted:
        start = text.find(p["value"])
        while start >= 0:
            covered[start : start + len(p["value"])] = [True] * len(p["value"])
            start = text.find(p["value"], start + 1)
    words = [(m.group(), not any(covered[m.start() : m.end()])) for m in _WORD.finditer(text)]
    out_words = _WORD.findall(output)
    matcher = difflib.SequenceMatcher(None, [w for w, _ in words], out_words, autojunk=False)
    kept = set()
    for block in matcher.get_matching_blocks():
        kept.update(range(block.a, block.a + block.size))
    ordinary = [i for i, (_, plain) in enumerate(words) if plain]
    return len(ordinary), sum(1 for i in ordinary if i not in kept)


@dataclass(slots=True)
class Side:
    """One redactor's results on one (source, split)."""

    planted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    leaked: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    words: int = 0
    words_changed: int = 0

    def recall(self, entity: str) -> float | None:
        n = self.planted.get(entity, 0)
        return (n - self.leaked.get(entity, 0)) / n if n else None

    @property
    def changed_share(self) -> float:
        return self.words_changed / self.words if self.words else 0.0


def tally(rows: Sequence[dict], outputs: Sequence[str]) -> dict[tuple[str, str], Side]:
    """Per (source, split): planted and leaked counts per entity, and ordinary words changed."""
    from bench.eval.evaluate import leak_reason

    sides: dict[tuple[str, str], Side] = defaultdict(Side)
    for row, output in zip(rows, outputs, strict=True):
        side = sides[(row["source"], row["split"])]
        for p in row["planted"]:
            entity = p["entity"]
            side.planted[entity] += 1
            if entity == ADDRESS:
                leaked = address_leaked(p["value"], row["text"], output)
            else:
                leaked = leak_reason(p["value"], entity, output) is not None
            side.leaked[entity] += int(leaked)
        total, changed = words_changed(row["text"], row["planted"], output)
        side.words += total
        side.words_changed += changed
    return sides


def targeted(source: str, split: str) -> bool:
    """Targets apply to the dev corpus's held-out part and to every public set."""
    return source != "dev-corpus" or split == "test"


def verdicts(ours: Side, naive: Side | None) -> list[str]:
    """The missed targets of one (source, split), as sentences."""
    missed = []
    for entity in sorted(ours.planted):
        recall = ours.recall(entity)
        if recall is None:
            continue
        if entity in MIN_RECALL and recall < MIN_RECALL[entity]:
            missed.append(f"{entity} {recall:.1%} < {MIN_RECALL[entity]:.0%}")
        theirs = naive.recall(entity) if naive else None
        if theirs is not None and recall < theirs:
            missed.append(f"{entity} {recall:.1%} below naive Presidio {theirs:.1%}")
    if ours.changed_share > MAX_WORDS_CHANGED:
        missed.append(f"ordinary words changed {ours.changed_share:.1%} > {MAX_WORDS_CHANGED:.0%}")
    return missed


def _pct(value: float | None) -> str:
    return f"{value:6.1%}" if value is not None else "     -"


def format_comparison(ours: dict[tuple[str, str], Side], naive: dict[tuple[str, str], Side] | None) -> tuple[str, list[str]]:
    """The table, and every missed target as "source/split: sentence"."""
    lines = [
        f"{'source':<19} {'split':<5} {'entity':<14} {'planted':>7} {'tracevault':>10} {'naive':>7}",
        "-" * 67,
    ]
    missed: list[str] = []
    for key in sorted(ours):
        source, split = key
        mine, theirs = ours[key], (naive or {}).get(key)
        for entity in sorted(mine.planted):
            naive_recall = theirs.recall(entity) if theirs else None
            lines.append(f"{source:<19} {split:<5} {entity:<14} {mine.planted[entity]:>7} {_pct(mine.recall(entity)):>10} {_pct(naive_recall):>7}")
        naive_words = _pct(theirs.changed_share) if theirs else "     -"
        lines.append(f"{source:<19} {split:<5} {'words changed':<14} {mine.words:>7} {_pct(mine.changed_share):>10} {naive_words:>7}")
        if targeted(source, split):
            missed += [f"{source}/{split}: {m}" for m in verdicts(mine, theirs)]
        lines.append("")
    return "\n".join(lines), missed
