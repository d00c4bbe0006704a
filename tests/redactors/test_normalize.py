"""Tests for redactors.normalize: normalised detection views and their offset maps."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactors.normalize import TextView, collapse_digit_separators, normalize

BS = "\\"  # one literal backslash, to keep escape-text rows readable

# Each row: original, expected view text, [(view span, expected original span), ...].
NORMALIZE_ROWS = [
    pytest.param(
        "ｊｏｈｎ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john@example.com",
        [((0, 16), (0, 16)), ((4, 5), (4, 5)), ((5, 12), (5, 12))],
        id="fullwidth-email",
    ),
    pytest.param(
        "jo\u200bhn@exa\u200cmple.com", "john@example.com",
        # the ZWSP/ZWNJ sit inside the email span and are covered by it
        [((0, 16), (0, 18)), ((0, 2), (0, 2)), ((2, 4), (3, 5)), ((1, 3), (1, 4)), ((5, 12), (6, 14))],
        id="zero-width-in-email",
    ),
    pytest.param(
        "\u200bjohn@x.io\u200d", "john@x.io",
        # removed chars at the edges are not part of the smallest covering span
        [((0, 9), (1, 10))],
        id="zero-width-at-edges",
    ),
    pytest.param(
        "john%40example.com", "john@example.com",
        [((0, 16), (0, 18)), ((4, 5), (4, 7)), ((5, 16), (7, 18)), ((0, 4), (0, 4))],
        id="url-encoded-at",
    ),
    pytest.param(
        "john" + BS + "u0040example.com", "john@example.com",
        [((0, 16), (0, 21)), ((4, 5), (4, 10)), ((5, 6), (10, 11))],
        id="backslash-u-escape",
    ),
    pytest.param(
        "john" + BS + "x40x.io", "john@x.io",
        [((4, 5), (4, 8)), ((0, 9), (0, 12))],
        id="backslash-x-escape",
    ),
    pytest.param(
        "jo\u00adhn@example.com", "john@example.com",
        [((0, 16), (0, 17)), ((2, 3), (3, 4))],
        id="soft-hyphen",
    ),
    pytest.param(
        "mail me: ｊｏｈｎ＠ｘ．ｉｏ thanks", "mail me: john@x.io thanks",
        [((9, 18), (9, 18)), ((0, 8), (0, 8)), ((19, 25), (19, 25))],
        id="mixed-fullwidth-in-ascii",
    ),
    pytest.param(
        "mail me: jo\u200bhn%40x.io thanks", "mail me: john@x.io thanks",
        # the email in the view maps back to exactly "jo\u200bhn%40x.io"
        [((9, 18), (9, 21)), ((0, 8), (0, 8)), ((19, 25), (22, 28)), ((13, 14), (14, 17))],
        id="mixed-zw-and-percent",
    ),
    pytest.param("x%C3%A9y", "xéy", [((1, 2), (1, 7)), ((2, 3), (7, 8))], id="percent-utf8-2byte"),
    pytest.param(
        "%F0%9F%98%80!", "\U0001F600!", [((0, 1), (0, 12)), ((1, 2), (12, 13))], id="percent-utf8-4byte",
    ),
    pytest.param(
        "%e2%80%8bjohn", "john", [((0, 4), (9, 13))], id="percent-encoded-zwsp-removed",
    ),
    pytest.param("a%ZZb", "a%ZZb", [((1, 4), (1, 4))], id="percent-invalid-hex"),
    pytest.param("50 % off", "50 % off", [((3, 4), (3, 4))], id="lone-percent"),
    pytest.param("100%", "100%", [((0, 4), (0, 4))], id="trailing-percent"),
    pytest.param(
        "%C3 %FF %C3%41", "%C3 %FF %C3A",
        # invalid / truncated UTF-8 stays literal; the valid %41 after it still decodes
        [((0, 3), (0, 3)), ((8, 11), (8, 11)), ((11, 12), (11, 14))],
        id="percent-invalid-utf8",
    ),
    pytest.param("%2540", "%40", [((0, 1), (0, 3)), ((1, 3), (3, 5))], id="percent-decoded-once"),
    pytest.param("a+b%20c", "a+b c", [((1, 2), (1, 2)), ((3, 4), (3, 6))], id="plus-not-space"),
    pytest.param(
        BS + "ud83d" + BS + "ude00 ok", "\U0001F600 ok", [((0, 1), (0, 12)), ((1, 4), (12, 15))],
        id="surrogate-pair",
    ),
    pytest.param(
        BS + "ud83dx", BS + "ud83dx", [((0, 7), (0, 7))], id="lone-surrogate-stays",
    ),
    pytest.param(
        BS + BS + "u0040", BS + BS + "u0040", [((0, 7), (0, 7))], id="escaped-backslash-not-escape",
    ),
    pytest.param(
        BS + BS + BS + "u0040", BS + BS + "@", [((2, 3), (2, 8))], id="escaped-backslash-then-escape",
    ),
    pytest.param(BS + "xc3" + BS + "xa9", "é", [((0, 1), (0, 8))], id="backslash-x-utf8-run"),
    pytest.param(BS + "xe9t" + BS + "xe9", "été", [((0, 1), (0, 4)), ((2, 3), (5, 9))], id="backslash-x-latin1"),
    pytest.param(BS + "U0001F600", "\U0001F600", [((0, 1), (0, 10))], id="backslash-U8"),
    pytest.param("\ufb01le", "file", [((0, 1), (0, 1)), ((1, 2), (0, 1)), ((0, 2), (0, 1)), ((2, 4), (1, 3))], id="ligature"),
    pytest.param("x\u00b2", "x2", [((1, 2), (1, 2))], id="superscript"),
    pytest.param("e\u0301t\u00e9", "\u00e9t\u00e9", [((0, 1), (0, 2)), ((1, 2), (2, 3)), ((2, 3), (3, 4))], id="combining-composed"),
    pytest.param("e\u200b\u0301", "\u00e9", [((0, 1), (0, 3))], id="cf-removed-before-nfkc"),
    pytest.param("\uff76\uff9e", "\u30ac", [((0, 1), (0, 2))], id="halfwidth-kana-voiced"),
    pytest.param("Grüße aus Köln", "Grüße aus Köln", [((0, 5), (0, 5))], id="nfkc-text-identity"),
    pytest.param("plain ascii text", "plain ascii text", [((6, 11), (6, 11))], id="ascii-identity"),
    pytest.param("", "", [], id="empty"),
]


@pytest.mark.parametrize(("original", "expected", "spans"), NORMALIZE_ROWS)
def test_normalize_rows(original: str, expected: str, spans: list) -> None:
    view = normalize(original)
    assert view.text == expected
    assert view.is_identity == (original == expected)
    for (vs, ve), want in spans:
        assert view.to_original(vs, ve) == want, (vs, ve)
    if expected:
        s, e = view.to_original(0, len(expected))
        assert 0 <= s <= e <= len(original)


# Each row: original, expected collapsed view text, [(view span, expected original span), ...].
COLLAPSE_ROWS = [
    pytest.param("4111 1111 1111 1111", "4111111111111111", [((0, 16), (0, 19)), ((4, 8), (5, 9))], id="card-spaces"),
    pytest.param("4111-1111-1111-1111", "4111111111111111", [((0, 16), (0, 19)), ((12, 16), (15, 19))], id="card-hyphens"),
    pytest.param("4111.1111.1111.1111", "4111111111111111", [((0, 16), (0, 19))], id="card-dots"),
    pytest.param("4 1 1 1 1 1", "411111", [((0, 6), (0, 11)), ((1, 2), (2, 3))], id="spaced-digits"),
    pytest.param("123 - 45 - 6789", "123456789", [((0, 9), (0, 15)), ((3, 5), (6, 8))], id="ssn-spaced-hyphen"),
    pytest.param("4111\u20131111\u00a01111\u22121111", "4111111111111111", [((0, 16), (0, 19))], id="unicode-dashes-nbsp"),
    pytest.param("1\u2009234\u202f567", "1234567", [((0, 7), (0, 9))], id="thin-spaces"),
    pytest.param("call 212 555 0199 now", "call 2125550199 now", [((5, 15), (5, 17)), ((0, 4), (0, 4)), ((16, 19), (18, 21))], id="phone-keeps-words"),
    pytest.param("I have 3 apples", "I have 3 apples", [((7, 8), (7, 8))], id="digit-letter-untouched"),
    pytest.param("12/05/2024", "12/05/2024", [((0, 10), (0, 10))], id="slash-kept"),
    pytest.param("12    34", "12    34", [((0, 8), (0, 8))], id="run-too-long"),
    pytest.param("1 - - 2", "1 - - 2", [((0, 7), (0, 7))], id="run-of-five-kept"),
    pytest.param("a - 1 - b", "a - 1 - b", [((0, 9), (0, 9))], id="not-between-digits"),
    pytest.param(
        "card: ４１１１ １１１１ １１１１ １１１１!", "card: 4111111111111111!",
        [((6, 22), (6, 25)), ((22, 23), (25, 26))],
        id="fullwidth-card-composed",
    ),
    pytest.param(
        "4111%201111\u200b-1111", "411111111111", [((0, 12), (0, 17)), ((4, 8), (7, 11)), ((8, 12), (13, 17))],
        id="encoded-space-and-zwsp",
    ),
]


@pytest.mark.parametrize(("original", "expected", "spans"), COLLAPSE_ROWS)
def test_collapse_rows(original: str, expected: str, spans: list) -> None:
    view = collapse_digit_separators(normalize(original))
    assert view.text == expected
    for (vs, ve), want in spans:
        assert view.to_original(vs, ve) == want, (vs, ve)


def test_identity_fast_path_has_no_arrays() -> None:
    view = normalize("hello world 42")
    assert view.is_identity
    assert view._starts is None and view._ends is None
    assert view.to_original(3, 8) == (3, 8)
    assert collapse_digit_separators(view) is view


def test_collapse_of_identity_is_not_identity() -> None:
    view = collapse_digit_separators(normalize("pin 12 34"))
    assert view.text == "pin 1234"
    assert not view.is_identity
    assert view.to_original(4, 8) == (4, 9)


def test_textview_constructor_alone_is_identity() -> None:
    view = TextView("abc")
    assert view.is_identity
    assert view.to_original(1, 3) == (1, 3)


def test_empty_span_positions() -> None:
    view = normalize("\u200bab\u200b\u200bcd\u200b")
    assert view.text == "abcd"
    assert view.to_original(0, 0) == (0, 0)
    assert view.to_original(2, 2) == (3, 3)  # right after "ab"
    assert view.to_original(4, 4) == (7, 7)


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (2, 1), (0, 99), (7, 7)])
def test_out_of_range_span_rejected_without_text(start: int, end: int) -> None:
    secret = "ｓｅｃｒｅｔ"
    with pytest.raises(ValueError) as info:
        normalize(secret).to_original(start, end)
    assert "ｓ" not in str(info.value) and "secret" not in str(info.value)


def test_non_str_rejected() -> None:
    with pytest.raises(TypeError):
        normalize(b"bytes")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- properties

FULLWIDTH = st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F)
CF_CHARS = st.sampled_from(
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\u061c"]
)
HEX2 = st.integers(0, 255).map(lambda b: f"{b:02X}")
HEX4 = st.sampled_from(["0040", "D83D", "DE00", "00e9", "200B", "FF20", "0301", "dbff", "0025", "005C"]) | st.integers(
    0, 0xFFFF
).map(lambda u: f"{u:04x}")
FRAGMENTS = st.one_of(
    st.text(max_size=4),
    st.text(alphabet="ab1 @.-%\\", max_size=4),
    FULLWIDTH,
    CF_CHARS,
    HEX2.map(lambda h: "%" + h),
    HEX4.map(lambda h: BS + "u" + h),
    HEX2.map(lambda h: BS + "x" + h),
    st.sampled_from(["%", "%Z", BS, BS + BS, BS + "u12", "\u0301", "\ufb01", "\u00b2", "\u00a0", "\u2013", "\uff9e"]),
    st.sampled_from(["%C3%A9", "%F0%9F%98%80", "%E2%80%8B", BS + "ud83d" + BS + "ude00", BS + "U0001F600"]),
    st.text(alphabet="0123456789", min_size=1, max_size=4),
    st.sampled_from([" ", "-", " - ", ".", "\u2212", "\u2009", "/"]),
)
EVASIVE_TEXT = st.lists(FRAGMENTS, max_size=12).map("".join)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_map(view: TextView, original: str, data: st.DataObject) -> None:
    n = len(view.text)
    # every view char maps to a non-empty, in-bounds span; maps are non-decreasing
    prev = (0, 0)
    for i in range(n):
        s, e = view.to_original(i, i + 1)
        assert 0 <= s < e <= len(original)
        assert s >= prev[0] and e >= prev[1]
        prev = (s, e)
    if n == 0:
        assert view.to_original(0, 0) == (0, 0)
        return
    # random nested spans: a inside b => mapped a inside mapped b
    b0 = data.draw(st.integers(0, n - 1))
    b1 = data.draw(st.integers(b0 + 1, n))
    a0 = data.draw(st.integers(b0, b1 - 1))
    a1 = data.draw(st.integers(a0 + 1, b1))
    bs, be = view.to_original(b0, b1)
    as_, ae = view.to_original(a0, a1)
    assert 0 <= bs <= be <= len(original)
    assert 0 <= as_ <= ae <= len(original)
    assert bs <= as_ <= ae <= be
    # empty spans are in bounds too
    p = data.draw(st.integers(0, n))
    es, ee = view.to_original(p, p)
    assert es == ee and 0 <= es <= len(original)


@PROPS
@given(original=EVASIVE_TEXT, data=st.data())
def test_prop_normalize_map_in_bounds_and_monotonic(original: str, data: st.DataObject) -> None:
    view = normalize(original)
    assert isinstance(view.text, str)
    _check_map(view, original, data)
    if view.is_identity:
        assert view.text == original


@PROPS
@given(original=st.text(), data=st.data())
def test_prop_normalize_arbitrary_unicode(original: str, data: st.DataObject) -> None:
    view = normalize(original)
    _check_map(view, original, data)
    assert not any(unicodedata.category(c) == "Cf" for c in view.text)


@PROPS
@given(original=EVASIVE_TEXT)
def test_prop_each_view_char_comes_from_its_source(original: str) -> None:
    view = normalize(original)
    for i, ch in enumerate(view.text):
        s, e = view.to_original(i, i + 1)
        assert ch in normalize(original[s:e]).text


@PROPS
@given(original=st.text(alphabet=st.characters(max_codepoint=0x7F, exclude_characters="%\\&[({<")))
def test_prop_plain_ascii_is_identity(original: str) -> None:
    view = normalize(original)
    assert view.is_identity
    assert view.text == original
    assert view._starts is None


@PROPS
@given(original=EVASIVE_TEXT, data=st.data())
def test_prop_collapse_maps_to_original(original: str, data: st.DataObject) -> None:
    base = normalize(original)
    view = collapse_digit_separators(base)
    _check_map(view, original, data)
    # collapsing only removes characters: the collapsed text is a subsequence of the base
    it = iter(base.text)
    assert all(ch in it for ch in view.text)
    # and the map of a kept char is the map it had in the base view
    j = 0
    for i, ch in enumerate(view.text):
        while base.text[j] != ch:
            j += 1
        assert view.to_original(i, i + 1) == base.to_original(j, j + 1)
        j += 1


# No escape-like input: "%", "\\" and "&" start escapes, and "[at]"/"(dot)" are decoded too.
NFKC_TEXT = st.text(
    alphabet=st.characters(exclude_categories=("Cf", "Cs"), exclude_characters="%\\&[({<"), max_size=20
).filter(lambda s: unicodedata.is_normalized("NFKC", s))


@PROPS
@given(x=NFKC_TEXT, y=NFKC_TEXT)
def test_prop_normalized_text_untouched_by_slow_path(x: str, y: str) -> None:
    # The whole-string is_normalized shortcut and the per-cluster path must agree.
    assert normalize(x).is_identity
    view = normalize(x + " \ufb01 " + y)
    assert view.text == x + " fi " + y
    assert view.to_original(len(x) + 1, len(x) + 3) == (len(x) + 1, len(x) + 2)


@pytest.mark.parametrize(
    ("original", "view", "span_of_at"),
    [
        ("jane&#64;example.com", "jane@example.com", (4, 9)),
        ("jane&#x40;example.com", "jane@example.com", (4, 10)),
        ("jane&commat;example.com", "jane@example.com", (4, 12)),
        ("jane [at] example [dot] com", "jane@example.com", (4, 10)),
        ("jane(AT)example(DOT)com", "jane@example.com", (4, 8)),
        ("R&D and a &foo; entity", "R&D and a &foo; entity", None),
        ("see [attached] file", "see [attached] file", None),
    ],
)
def test_html_entities_and_spelled_separators(original: str, view: str, span_of_at: tuple[int, int] | None) -> None:
    result = normalize(original)
    assert result.text == view
    if span_of_at is not None:
        at = result.text.index("@")
        assert result.to_original(at, at + 1) == span_of_at
        assert result.to_original(0, len(result.text)) == (0, len(original))


_HINT_AS_WRITTEN = r"[%\\&]|[\[({<][ \t]*(?i:at|dot)[ \t]*[\])}>]"
_HINT_PIECES = st.sampled_from(["%", "\\", "&", "[", "(", "{", "<", "]", ")", "}", ">", " ", "\t", "at", "AT", "dot", "Dot", "a", "x", "é"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(_HINT_PIECES, max_size=25).map("".join))
def test_the_decode_hint_finds_what_its_two_alternatives_find(text: str) -> None:
    import re

    from redactors import normalize as module

    assert [m.span() for m in module._DECODE_HINT.finditer(text)] == [m.span() for m in re.finditer(_HINT_AS_WRITTEN, text)]


@pytest.mark.parametrize(
    ("text", "hint"),
    [("jane [at] example [dot] com", True), ("a%20b", True), ("x &amp; y", True), ("C:\\path", True), ("(AT)", True),
     ("jane at example dot com", False), ("[a t]", False), ("plain (text) here", False)],
)  # fmt: skip
def test_decode_hint_rows(text: str, hint: bool) -> None:
    from redactors import normalize as module

    assert (module._DECODE_HINT.search(text) is not None) == hint
