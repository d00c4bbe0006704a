"""Cue alternations behind a look-ahead for the letters they start with.

A context rule starts with a cue: one of tens of phrases ("spoke with|talked to|assigned to|...").
`re` has no multi-literal search: at every position where such a pattern may start it tries each
alternative in turn. ``first_letters(alternation)`` puts a look-ahead for the letters that the
alternatives start with in front, so that most positions are turned away by one character-set
test. The letters are derived from the alternation itself, so the look-ahead cannot fall out of
step with the phrases; an alternative that does not start with a letter (or whose first letter
may be absent) is refused at import, since no look-ahead could be derived for it.

Inside ``(?i:...)`` the class matches exactly what the alternatives' first letters match (`re`
folds a character set as it folds a literal: "ſ" for "s", "K" for "k"); tests/redactors/test_cues.py
compares the rules with and without the look-ahead.
"""

from __future__ import annotations


def _split_top(alternation: str) -> list[str]:
    """The alternatives of `alternation` at depth 0 (escapes and character sets respected)."""
    parts, depth, start, i, in_set = [], 0, 0, 0, False
    while i < len(alternation):
        char = alternation[i]
        if char == "\\":
            i += 2
            continue
        if in_set:
            in_set = char != "]"
        elif char == "[":
            in_set = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(alternation[start:i])
            start = i + 1
        i += 1
    parts.append(alternation[start:])
    return parts


def _group_end(part: str) -> int:
    """The index just past the group that opens `part` ("(?:a|b)c" -> 7)."""
    depth, i = 0, 0
    while i < len(part):
        if part[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(part[i], 0)
        i += 1
        if depth == 0:
            return i
    raise ValueError("unbalanced group in a cue alternation")


def _firsts(alternation: str) -> set[str]:
    letters: set[str] = set()
    for part in _split_top(alternation):
        if part.startswith(("(?:", "(?P<")):  # a group, named or not: its alternatives' letters
            end = _group_end(part)
            if part[end : end + 1] in ("?", "*", "{"):
                raise ValueError(f"a cue alternative may start without its group: {part[:30]!r}")
            inner = 3 if part.startswith("(?:") else part.index(">") + 1
            letters |= _firsts(part[inner : end - 1])
        elif part[:1].isalpha() and part[:1].isascii() and part[1:2] not in ("?", "*", "{"):
            letters.add(part[0])
        else:
            raise ValueError(f"a cue alternative must start with an ASCII letter: {part[:30]!r}")
    return letters


def first_letters(alternation: str, then: str = "") -> str:
    """``(?=[letters])then(?:alternation)``: the letters every alternative can start with, in
    both cases; `then` is a zero-width check at the same position (a look-behind), tried after
    the cheap one."""
    letters = _firsts(alternation)
    both = sorted({c.lower() for c in letters} | {c.upper() for c in letters})
    return f"(?=[{''.join(both)}]){then}(?:{alternation})"
