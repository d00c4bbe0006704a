"""A name found once in a text is a name wherever else it stands in that text.

The detectors read each mention on its own: "Hi Maria Lopez, ..." is found, but "Maria" alone
two lines below, with no cue around it, often is not, and one surviving mention leaks the name.
Every capitalised word of three letters or more of a PERSON finding (in capitals too: "LOPEZ"
of "MARIA LOPEZ") is masked at its other whole-word occurrences in the same text, written the
same way; stop words, titles and roles ("Will", "May", "Mrs", "Caller") are not carried over,
nor lower-case words ("mark" of "mark smith" is a verb elsewhere).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from spacy.lang.en.stop_words import STOP_WORDS

from redactors.detectors.base import Finding
from redactors.letters import LOWER, UPPER
from redactors.namecues import ROLE_WORDS

_NAME_WORD = re.compile(rf"(?<![\w'’-])(?:[{UPPER}][{LOWER}'’]{{2,}}|[{UPPER}]{{3,}})(?![\w'’-])")
RULE = "recurrence.name"


def _carried(word: str) -> bool:
    lower = word.lower()
    return lower not in STOP_WORDS and lower not in ROLE_WORDS


def recurring_names(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """PERSON findings at the other occurrences of the words of the PERSON findings in `findings`."""
    scores: dict[str, float] = {}
    for finding in findings:
        if finding.entity == "PERSON":
            for word in _NAME_WORD.findall(text, finding.start, finding.end):
                if _carried(word):
                    scores[word] = max(scores.get(word, 0.0), finding.score)
    if not scores:
        return []
    words = sorted(scores, key=len, reverse=True)
    pattern = re.compile(rf"(?<![\w'’-])(?:{'|'.join(map(re.escape, words))})(?![\w-])(?!['’](?!s\b))")
    spans = [(f.start, f.end) for f in findings]
    added = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if not any(s < end and start < e for s, e in spans):
            added.append(Finding(start, end, "PERSON", scores[match.group()], rule=RULE))
    return added
