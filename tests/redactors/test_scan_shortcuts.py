"""The scanner's and the views' shortcuts find exactly what the plain regex loops find.

`_prose_matches` tries `_PROSE_RX` only where a match can start (before "is"/"was") and only
where a secret word ends at the blanks before them; the base64/hex scan looks for long runs only
in texts with a word as long (white space as `str.split` sees it is the regex's); the
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


def test_prose_shortcut_skips_anchors_without_a_secret_word_before_them() -> None:
    rows = [
        ("this is fine and the key is hunter22", ["hunter22"]),  # the first anchor has no secret word
        ("monkey is abcd1234", ["abcd1234"]),  # the regex has no left word boundary: neither has the filter
        ("my PASSWORD's  \t was now x9y8z7w6", ["x9y8z7w6"]),
        ("the credentials is: \"s3cr3tv4l\"", ["s3cr3tv4l"]),
        ("the passwordless flow is simple", []),
        ("the token\nis abcdefgh", []),  # a newline is not a blank
    ]
    for text, values in rows:
        found = [m.group("v") for m in secrets._prose_matches(text)]
        assert found == values, text
        assert found == [m.group("v") for m in secrets._PROSE_RX.finditer(text)], text


_RUN_PIECES = st.sampled_from([
    "a", "Zz09", "+/", "_-", "=", ".", "aGVsbG8gd29ybGQ", "0123456789abcdef", " ", "\n", "\t", "\x0b", "\x0c", "\x1c",
    "\x1f", "\x85", "\u00a0", "\u1680", "\u2007", "\u2028", "\u202f", "\u3000", "\u200b", "\ufeff", '"', "'", "`",
    "<", ">", "(", ")", "{", "}", "[", "]", ",", ";", "é", "\u0663",
])  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(st.lists(_RUN_PIECES, max_size=40).map("".join))
def test_a_long_run_is_inside_a_long_word(text: str) -> None:
    words = text.split()
    for run in (m.group() for m in secrets._LONG_RUN.finditer(text)):
        assert any(run in word for word in words)  # so some word is at least as long as the run
    if max(map(len, words), default=0) < secrets._LONG_RUN_CHARS:
        assert secrets._LONG_RUN.search(text) is None


def test_encoded_scan_still_finds_a_secret_in_base64_and_skips_prose() -> None:
    rules = secrets.SecretRules.compile(())
    import base64

    token = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vX7yZ9bC1dE3fG5"
    encoded = base64.b64encode(f"token={token}".encode()).decode()
    assert [f.kind for f in rules.scan(f"config blob {encoded} end")] == ["github_token"]
    assert rules.scan("a long sentence of short words only, nothing encoded in it at all, " * 4) == []
