"""One name, every mention: a name found once in a text is masked wherever else it stands there.

The detectors judge each mention by its own context, so "Sonja Thygesen called. Sonja said ..."
may yield the first and not the second, and the second leaks the name. After every detector has
run on a text, each word of its PERSON findings (capitalised, three letters or more, not a title)
is also masked at its other whole-word, same-case occurrences in that text, unless the occurrence
sits in code or an identifier (``redactors.benign.is_code_like``). Nothing crosses texts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from redactors.benign import is_code_like
from redactors.detectors.base import Finding

PERSON = "PERSON"
RULE = "mentions.same_name"
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_TITLES = frozenset("mr mrs ms miss mx dr prof sir madam dear the and von van der den del".split())


def other_mentions(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """PERSON findings for the other mentions of the words of `findings`' PERSON spans."""
    people = [f for f in findings if f.entity == PERSON]
    words = {w for f in people for w in _WORD.findall(text[f.start : f.end]) if len(w) >= 3 and w[0].isupper() and w.lower() not in _TITLES}
    if not words:
        return []
    pattern = re.compile(r"(?<![\w'’-])(?:" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?=['’]s\b|(?![\w'’-]))")
    covered = [(f.start, f.end) for f in findings]
    found = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if not any(s <= start < e or s < end <= e for s, e in covered) and not is_code_like(text, start, end):
            found.append(Finding(start, end, PERSON, min(f.score for f in people), rule=RULE))
    return found
