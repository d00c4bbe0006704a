"""The text that spaCy tokenizes for NER: long tokens split up, every offset unchanged.

spaCy's tokenizer strips prefixes and suffixes from a whitespace-delimited token one at a time,
and searches the whole remaining token for each: quadratic in the token's length. 8 KB of
`[[[...]]]` took 10-12 s, 6,000 characters of `aaa...!!!` 23 s. No entity NER can find is a
run of more than `MAX_TOKEN_CHARS` characters without whitespace, so in such a run every
character that is neither a letter nor a digit becomes a space: a run of punctuation turns into
whitespace (a token with no letters needs no NER), and words glued together by punctuation are
tokenized as words. Every token is then either short or a plain run of letters and digits,
which the tokenizer handles in linear time. Runs of 4 or more punctuation characters become
spaces anywhere: each punctuation character is a token of its own, NER finds nothing in them,
and `[[[[...]]]]` words of 32 characters would otherwise cost as much NER as 32 words each.

A line break written as the two characters backslash and "n" becomes a space and a real line
break, so that the words on either side are words of their own.

The result has the same length as the input, and every character outside the long runs is
unchanged, so the offsets of NER findings are offsets in the original text. Only NER sees this
text: the pattern recognizers (e-mail, card, IBAN, ...) still read the original.
"""

from __future__ import annotations

import re

MAX_TOKEN_CHARS = 32
MAX_PUNCTUATION_RUN = 3
_LONG_RUN = re.compile(rf"\S{{{MAX_TOKEN_CHARS + 1},}}")
_NOT_ALNUM = re.compile(r"[\W_]")
_PUNCTUATION_RUN = re.compile(rf"(?:[^\w\s]|_){{{MAX_PUNCTUATION_RUN + 1},}}")


def _split(match: re.Match[str]) -> str:
    return _NOT_ALNUM.sub(" ", match.group())


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


# A line break written as the two characters "\\n" (text JSON-escaped twice, templates): the model
# reads "Ott\\nAid worker" as one word. Not before a lower-case letter ("C:\\new" is a path).
_ESCAPED_BREAK = re.compile(r"(?<!\\)\\n(?![a-z])")


def ner_input(text: str) -> str:
    """`text` with runs of punctuation blanked, escaped line breaks made real, and every run of
    more than MAX_TOKEN_CHARS non-space characters split at its punctuation; same length, same offsets."""
    if "\\n" in text:
        text = _ESCAPED_BREAK.sub(" \n", text)
    return _LONG_RUN.sub(_split, _PUNCTUATION_RUN.sub(_blank, text))
