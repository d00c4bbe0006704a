"""The scanner's and the views' shortcuts find exactly what the plain regex loops find.

`_prose_matches` tries `_PROSE_RX` only where a match can start (before "is"/"was"); the
assignment loop takes the value's group from `lastgroup`; the digit-separator pattern matches the
digit before a run instead of looking behind for it. Generated text mixes the secret words,
the verbs, blanks and value shapes, so that matches start, overlap and abut in every way.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from redactors import normalize, secrets

_PROSE_PIECES = st.sampled_from([
    " ", "  ", "\t", "\n", "is", "IS", "was", "Was", "password", "Passphrase", "passphrase's", "token", "key", "keys",
    "'s", "s", ":", '"', "`", "abcd1234", "hunter22", "now", "set to", "changed\tto", "x", "credential", "pwd",
    "\u017f", "\u212a", ".", "my", "this",
])  # fmt: skip
_ASSIGN_PIECES = st.sampled_from([
    "password", "token", "key", "api key", "x", "=", ":", "::=", "?=", "=>", "<-", '"', "'", "`", "\\\"", "[", "]",
    ",", " ", "\t", "\n", "abc123", "${VAR}", "(", ")", "{", "}", ";",
])  # fmt: skip


def _spans(matches) -> list[tuple[int, int, str, str]]:
    return [(m.start(), m.end(), m.group("w"), m.group("v")) for m in matches]


@settings(max_examples=2000, deadline=None)
@given(st.lists(_PROSE_PIECES, max_size=40).map("".join))
def test_prose_matches_are_finditers(text: str) -> None:
    assert _spans(secrets._prose_matches(text)) == _spans(secrets._PROSE_RX.finditer(text))


@settings(max_examples=1000, deadline=None)
@given(st.lists(_ASSIGN_PIECES, max_size=40).map("".join))
def test_the_last_group_of_an_assignment_is_its_value(text: str) -> None:
    for m in secrets._ASSIGN_RX.finditer(text):
        value_groups = [g for g in ("dq", "sq", "eq", "bq", "arr", "bare") if m.group(g) is not None]
        assert value_groups == [m.lastgroup]


def test_prose_shortcut_still_finds_a_password_in_prose() -> None:
    text = "fyi the admin password is now Tr0ub4dor&3, and the token was changed to 9f8e7d6c5b4a"
    found = [text[m.start("v") : m.end("v")] for m in secrets._prose_matches(text)]
    assert found == ["Tr0ub4dor&3,", "9f8e7d6c5b4a"]


_DIGIT_PIECES = st.sampled_from(["1", "23", "4", " ", "  ", "   ", "    ", "-", ".", "\t", "\u2013", "\u00a0", "a", "/", "\u0663"])
# The separator runs as the pattern wrote them before it matched the digit in front.
_LOOKBEHIND_SEPARATORS = re.compile(r"(?<=\d)[ \t\-\u2010-\u2015\u2212.\u00a0\u2009\u202f]{1,3}(?=\d)")


@settings(max_examples=2000, deadline=None)
@given(st.lists(_DIGIT_PIECES, max_size=30).map("".join))
def test_digit_separator_runs_are_the_look_behind_pattern_s(text: str) -> None:
    ours = [(m.start() + 1, m.end()) for m in normalize._DIGIT_SEP_RE.finditer(text)]
    assert ours == [m.span() for m in _LOOKBEHIND_SEPARATORS.finditer(text)]
    collapsed = normalize.collapse_digit_separators(normalize.TextView(text)).text
    assert collapsed == _LOOKBEHIND_SEPARATORS.sub("", text)


# Two rules' patterns as first written, their look-behind in front (no literal to search for).
_LEADING_LOOK_BEHINDS = {
    "vault-legacy-token": r"(?<![\w.\-])s\.(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[a-z])[A-Za-z0-9]{24}(?![\w.\-])",
    "facebook-access-token": r"(?<![0-9])[0-9]{15,16}(?:\||%7[Cc])[0-9A-Za-z_\-]{27,40}(?![0-9A-Za-z_\-])",
}
_TOKEN_PIECES = st.sampled_from([
    "s.", "S.", "s", ".", "-", "_", "x", " ", "\n", "|", "%7C", "%7c", "1", "12345678901234", "123456789012345",
    "aB3dE5gH7jK9mN1pQ3sT5vX7", "AbCdEfGhIjKlMnOpQrStUvWxYz0123", "abcdefghij", "ABCDEFGHIJ", "0123456789", "é", "\u0663",
])  # fmt: skip


@settings(max_examples=2000, deadline=None)
@given(st.lists(_TOKEN_PIECES, max_size=30).map("".join))
def test_look_behinds_after_the_first_characters_match_the_same(text: str) -> None:
    from redactors.secret_rules import BUILTIN_RULES as RULES

    by_id = {rule.id: rule.pattern for rule in RULES}
    for rule_id, written in _LEADING_LOOK_BEHINDS.items():
        ours = [m.span() for m in re.finditer(by_id[rule_id], text)]
        assert ours == [m.span() for m in re.finditer(written, text)], rule_id


def test_look_behinds_moved_still_find_and_refuse() -> None:
    from redactors.secret_rules import BUILTIN_RULES as RULES

    by_id = {rule.id: rule.pattern for rule in RULES}
    vault = "aB3dE5gH7jK9mN1pQ3sT5vX7"
    assert re.search(by_id["vault-legacy-token"], f"token s.{vault} ok")
    assert not re.search(by_id["vault-legacy-token"], f"token xs.{vault} ok")
    assert re.search(by_id["facebook-access-token"], "t=123456789012345|" + "a" * 30)
    assert not re.search(by_id["facebook-access-token"], "t=91234567890123456|" + "a" * 30)
