"""Normalised views of text for detection, with an exact offset map back to the original.

Detectors (regexes, NER) run on ``normalize(original).text`` so that common evasions
(full-width letters, zero-width characters, URL/JSON escapes, spaced-out card numbers)
are caught; the masker then asks the view where a detected span lives in the ORIGINAL
string (``TextView.to_original``) and masks that.

Offset map
----------
A non-identity view stores two parallel integer arrays, one entry per view character:
``starts[i]``/``ends[i]`` is the half-open span of original characters that produced view
character ``i`` (a decoded escape token, a base character plus its combining marks, a
ligature, ...).  Characters produced from the same source unit share that unit's span;
removed characters (``Cf``) belong to no view character.  Every step works left to
right and emits units in order, so both arrays are non-decreasing and
``starts[i] < ends[i]``.  Hence the smallest original span covering view ``[a, b)`` is
simply ``(starts[a], ends[b - 1])`` -- O(1), and monotonic under span inclusion.
Derived views (``collapse_digit_separators``) store the composed arrays, so they map
straight back to the original string.

The identity view (the hot path: plain ASCII) stores no arrays at all.
"""

from __future__ import annotations

import html
import re
import unicodedata
from array import array
from dataclasses import dataclass, field

__all__ = ["TextView", "normalize", "collapse_digit_separators"]


@dataclass(frozen=True, slots=True)
class TextView:
    """A normalised text plus the map from its offsets to offsets of the original string.

    ``TextView(text)`` alone is the identity view of ``text``.
    """

    text: str
    # Per view char: original span [_starts[i], _ends[i]).  Both None for the identity view.
    _starts: array | None = field(default=None, repr=False, compare=False)
    _ends: array | None = field(default=None, repr=False, compare=False)
    # Length of the original string (None: same as len(text), identity view).
    _original_length: int | None = field(default=None, repr=False, compare=False)

    @property
    def is_identity(self) -> bool:
        """True when ``text`` is the original and offsets map 1:1 (callers may skip mapping)."""
        return self._starts is None

    @property
    def original_length(self) -> int:
        """Length of the original string this view was built from."""
        return len(self.text) if self._original_length is None else self._original_length

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the view span ``[start, end)`` to the smallest covering span of the original.

        For ``start < end`` the result covers every original character that contributed to
        view characters ``start .. end-1`` (zero-width characters removed at the edges of
        the span are not included; those strictly inside are, since the span is contiguous).
        For ``start == end`` the result is the empty span located right after the original
        characters of the view prefix ``[0, start)`` (``(0, 0)`` for ``start == 0``).
        """
        n = len(self.text)
        if not (0 <= start <= end <= n):
            raise ValueError(f"span [{start}, {end}) out of range for view of length {n}")
        starts = self._starts
        if starts is None:
            return start, end
        ends = self._ends
        if start == end:
            pos = ends[start - 1] if start else 0
            return pos, pos
        return starts[start], ends[end - 1]


# --------------------------------------------------------------------------- step 1: escapes

# One left-to-right tokeniser.  An escaped backslash pair is consumed as a literal token
# so that in ``\\u0040`` (JSON for the six characters ``\u0040``) the ``u0040`` is not
# taken for an escape.  Runs of %XX and of \xXX are matched whole so multi-byte UTF-8
# sequences can be decoded; runs of \uXXXX so surrogate pairs can be joined.
_ESCAPE_RE = re.compile(
    r"(?P<pct>(?:%[0-9A-Fa-f]{2})+)"
    r"|(?P<bs2>\\\\)"
    r"|(?P<u>(?:\\u[0-9A-Fa-f]{4})+)"
    r"|(?P<x>(?:\\x[0-9A-Fa-f]{2})+)"
    r"|\\U(?P<U>[0-9A-Fa-f]{8})"
    # Escaped line breaks and tabs of JSON or log text: "Phone:\\n+41 ..." reads as two lines.
    r"|(?P<ctl>\\[nrt])"
    # HTML character references: &#64; &#x40; &commat; ...
    r"|(?P<ent>&(?:#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});)"
    # Spelled-out separators in obfuscated emails: "jane [at] example [dot] com".
    r"|(?P<at>[ \t]*[\[({<][ \t]*(?i:at)[ \t]*[\])}>][ \t]*)"
    r"|(?P<dot>[ \t]*[\[({<][ \t]*(?i:dot)[ \t]*[\])}>][ \t]*)"
)
_CONTROL_ESCAPES = {"\\n": "\n", "\\r": "\r", "\\t": "\t"}
# One character class first, then look-behinds for which it was: a pattern that starts with a
# class lets the regex engine skip to those characters (two alternatives made it try every one).
_DECODE_HINT = re.compile(r"[%\\&\[({<](?:(?<=[%\\&])|(?<=[\[({<])[ \t]*(?i:at|dot)[ \t]*[\])}>])")


def _utf8_len(lead: int) -> int:
    """Length of the UTF-8 sequence announced by ``lead`` (0 if not a valid lead byte)."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


# Offset maps under construction are plain lists: ``starts[i]``/``ends[i]`` for output char
# ``i``.  A step whose input map is the identity gets ``None`` and uses ``range`` instead.


def _extend_map(
    starts: list[int], ends: list[int],
    src_starts: list[int] | None, src_ends: list[int] | None, a: int, b: int,
) -> None:
    """Append the map entries of input chars ``a .. b-1`` (copied 1:1 to the output)."""
    if src_starts is None:
        starts.extend(range(a, b))
        ends.extend(range(a + 1, b + 1))
    else:
        starts.extend(src_starts[a:b])
        ends.extend(src_ends[a:b])


def _decode_byte_run(
    pos: int, hexes: str, width: int, latin1_fallback: bool,
    out: list[str], starts: list[int], ends: list[int],
) -> None:
    """Decode a run of ``%XX`` (``width`` 3) or ``\\xXX`` (``width`` 4) escapes starting at ``pos``.

    ``hexes`` is the concatenated two hex digits of each escape.  A valid UTF-8 sequence
    becomes one character spanning all its escapes.  A byte that starts no valid sequence
    stays as its literal text for ``%XX``, and becomes ``chr(byte)`` for ``\\xXX`` (Python
    ``str`` literal semantics).
    """
    data = bytes.fromhex(hexes)
    count = len(data)
    i = 0
    while i < count:
        at = pos + i * width
        k = _utf8_len(data[i])
        if k and i + k <= count:
            try:
                ch = data[i:i + k].decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                out.append(ch)
                starts.append(at)
                ends.append(at + k * width)
                i += k
                continue
        if latin1_fallback:
            out.append(chr(data[i]))
            starts.append(at)
            ends.append(at + width)
        else:
            out.append("%" + hexes[2 * i:2 * i + 2])
            starts.extend(range(at, at + width))
            ends.extend(range(at + 1, at + width + 1))
        i += 1


def _decode_u_run(
    pos: int, run: str, out: list[str], starts: list[int], ends: list[int],
) -> None:
    """Decode a run of ``\\uXXXX`` escapes, joining surrogate pairs; lone surrogates stay literal."""
    units = [int(run[j + 2:j + 6], 16) for j in range(0, len(run), 6)]
    count = len(units)
    i = 0
    while i < count:
        at = pos + 6 * i
        cu = units[i]
        if 0xD800 <= cu <= 0xDBFF and i + 1 < count and 0xDC00 <= units[i + 1] <= 0xDFFF:
            out.append(chr(0x10000 + ((cu - 0xD800) << 10) + (units[i + 1] - 0xDC00)))
            starts.append(at)
            ends.append(at + 12)
            i += 2
            continue
        if 0xD800 <= cu <= 0xDFFF:
            out.append(run[6 * i:6 * i + 6])
            starts.extend(range(at, at + 6))
            ends.extend(range(at + 1, at + 7))
        else:
            out.append(chr(cu))
            starts.append(at)
            ends.append(at + 6)
        i += 1


def _decode_escapes(original: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Step 1: decode %XX, \\uXXXX, \\xXX, \\UXXXXXXXX, \\n, \\r, \\t.  Map is ``None`` when nothing decoded."""
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed = False
    last = 0
    for m in _ESCAPE_RE.finditer(original):
        kind = m.lastgroup
        if kind == "bs2":
            continue  # an escaped backslash: literal, copied with the surrounding text
        m_start, m_end = m.span()
        if last < m_start:
            out.append(original[last:m_start])
            starts.extend(range(last, m_start))
            ends.extend(range(last + 1, m_start + 1))
        emitted = len(starts)
        run = m.group()
        if kind == "pct":
            hexes = "".join([run[j + 1:j + 3] for j in range(0, len(run), 3)])
            _decode_byte_run(m_start, hexes, 3, False, out, starts, ends)
        elif kind == "x":
            hexes = "".join([run[j + 2:j + 4] for j in range(0, len(run), 4)])
            _decode_byte_run(m_start, hexes, 4, True, out, starts, ends)
        elif kind == "u":
            _decode_u_run(m_start, run, out, starts, ends)
        elif kind in ("ent", "at", "dot", "ctl"):
            decoded = _CONTROL_ESCAPES[run] if kind == "ctl" else "@" if kind == "at" else "." if kind == "dot" else html.unescape(run)
            if len(decoded) == 1 and decoded != run:
                out.append(decoded)
                starts.append(m_start)
                ends.append(m_end)
            else:  # an unknown entity such as "&foo;" stays literal
                out.append(run)
                starts.extend(range(m_start, m_end))
                ends.extend(range(m_start + 1, m_end + 1))
        else:  # "U"
            cp = int(m.group("U"), 16)
            if cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF:
                out.append(chr(cp))
                starts.append(m_start)
                ends.append(m_end)
            else:
                out.append(run)
                starts.extend(range(m_start, m_end))
                ends.extend(range(m_start + 1, m_end + 1))
        # Every decoded escape shrinks the text, so "same count" means all stayed literal.
        if len(starts) - emitted != m_end - m_start:
            changed = True
        last = m_end
    if not changed:
        return original, None, None
    n = len(original)
    if last < n:
        out.append(original[last:])
        starts.extend(range(last, n))
        ends.extend(range(last + 1, n + 1))
    return "".join(out), starts, ends


# --------------------------------------------------------------------------- step 2: Cf removal


def _remove_format_chars(
    text: str, src_starts: list[int] | None, src_ends: list[int] | None,
) -> tuple[str, list[int] | None, list[int] | None, bool]:
    """Step 2: drop every character of category ``Cf``.  Returns (text, starts, ends, changed)."""
    if text.isascii():
        return text, src_starts, src_ends, False
    category = unicodedata.category
    found = [c for c in set(text) if category(c) == "Cf"]
    if not found:
        return text, src_starts, src_ends, False
    pattern = re.compile("[" + "".join(map(re.escape, found)) + "]+")
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in pattern.finditer(text):
        a = m.start()
        if last < a:
            out.append(text[last:a])
            _extend_map(starts, ends, src_starts, src_ends, last, a)
        last = m.end()
    if last < len(text):
        out.append(text[last:])
        _extend_map(starts, ends, src_starts, src_ends, last, len(text))
    return "".join(out), starts, ends, True


# --------------------------------------------------------------------------- step 3: NFKC

# A non-ASCII run, plus the ASCII character before it (it may be the base of a cluster
# whose combining marks follow).  ASCII characters never extend a cluster.
_NON_ASCII_RE = re.compile(r"[\x00-\x7f]?[^\x00-\x7f]+")


def _extends_cluster(ch: str) -> bool:
    """True when ``ch`` attaches to the preceding character for normalisation purposes."""
    if unicodedata.category(ch)[0] == "M":  # Mn, Mc, Me: combining marks
        return True
    cp = ord(ch)
    # Hangul medial/final jamo (compose with the preceding syllable/leading jamo) and the
    # half-width katakana (semi-)voiced sound marks (NFKC turns them into combining marks).
    return 0x1160 <= cp <= 0x11FF or 0xD7B0 <= cp <= 0xD7FF or cp == 0xFF9E or cp == 0xFF9F


def _nfkc_clusters(
    text: str, src_starts: list[int] | None, src_ends: list[int] | None,
) -> tuple[str, list[int] | None, list[int] | None, bool]:
    """Step 3: NFKC per cluster (a character and the marks attached to it).

    A cluster already in NFKC is copied with its per-character map; otherwise each
    character of its normal form maps to the whole cluster's original span.
    """
    if text.isascii() or unicodedata.is_normalized("NFKC", text):
        return text, src_starts, src_ends, False
    nfkc = unicodedata.normalize
    is_norm = unicodedata.is_normalized
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    changed = False
    last = 0  # text[:last] has been emitted
    for m in _NON_ASCII_RE.finditer(text):
        a, b = m.span()
        if last < a:
            out.append(text[last:a])
            _extend_map(starts, ends, src_starts, src_ends, last, a)
        i = a
        while i < b:
            j = i + 1
            while j < b and _extends_cluster(text[j]):
                j += 1
            cluster = text[i:j]
            if is_norm("NFKC", cluster):
                out.append(cluster)
                _extend_map(starts, ends, src_starts, src_ends, i, j)
            else:
                normal = nfkc("NFKC", cluster)
                out.append(normal)
                if src_starts is None:
                    s, e = i, j
                else:
                    s, e = src_starts[i], src_ends[j - 1]
                k = len(normal)
                starts.extend([s] * k)
                ends.extend([e] * k)
                changed = True
            i = j
        last = b
    if not changed:
        return text, src_starts, src_ends, False
    if last < len(text):
        out.append(text[last:])
        _extend_map(starts, ends, src_starts, src_ends, last, len(text))
    return "".join(out), starts, ends, True


# --------------------------------------------------------------------------- public API


def _make_view(text: str, starts: list[int], ends: list[int], original_length: int) -> TextView:
    typecode = "i" if original_length < 2**31 - 1 else "q"
    return TextView(text, array(typecode, starts), array(typecode, ends), original_length)


def normalize(original: str) -> TextView:
    """Build the detection view of ``original``: decode escapes, drop ``Cf`` chars, NFKC.

    The three steps run in this order, once each (no re-decoding of what a later step
    produces).  Returns an identity view (no offset arrays) when nothing changes.
    """
    if not isinstance(original, str):
        raise TypeError("normalize() expects a str")
    # Hot path: plain ASCII with nothing to decode (ASCII has no Cf chars and is NFKC).
    needs_decoding = _DECODE_HINT.search(original) is not None
    if original.isascii() and not needs_decoding:
        return TextView(original)

    if needs_decoding:
        text, starts, ends = _decode_escapes(original)
        changed = starts is not None
    else:
        text, starts, ends, changed = original, None, None, False
    text, starts, ends, removed = _remove_format_chars(text, starts, ends)
    text, starts, ends, normalised = _nfkc_clusters(text, starts, ends)
    if not (changed or removed or normalised):
        return TextView(original)
    n = len(original)
    if text == original and starts == list(range(n)) and ends == list(range(1, n + 1)):
        return TextView(original)
    return _make_view(text, starts, ends, n)


# Separators removed between digits by collapse_digit_separators: space, tab, hyphen-minus,
# the Unicode dashes U+2010..U+2015 and minus U+2212, dot, NBSP, thin space, narrow NBSP.
# Not slash (dates).  NFKC has already turned NBSP/thin spaces into U+0020 in a normalize()
# view; they are listed for views built otherwise.
# The digit before a run is matched, not looked behind for: a pattern that starts with a class
# lets the regex engine skip to digits (the separators are the match from its second character).
_DIGIT_SEP_RE = re.compile(r"\d[ \t\-\u2010-\u2015\u2212.\u00a0\u2009\u202f]{1,3}(?=\d)")


def collapse_digit_separators(view: TextView) -> TextView:
    """Derive a view where separator runs of 1-3 chars between two digits are removed.

    "4111 1111 1111 1111", "4111-1111-1111-1111", "123 - 45 - 6789" become digit runs;
    letters and separators not flanked by digits on both sides are untouched.  The
    derived view's ``to_original`` maps to the ORIGINAL string of ``view``.  Returns
    ``view`` itself when there is nothing to collapse.
    """
    text = view.text
    src_starts, src_ends = view._starts, view._ends
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    last = 0
    for m in _DIGIT_SEP_RE.finditer(text):
        a = m.start() + 1  # after the digit
        out.append(text[last:a])
        _extend_map(starts, ends, src_starts, src_ends, last, a)
        last = m.end()
    if last == 0:
        return view
    out.append(text[last:])
    _extend_map(starts, ends, src_starts, src_ends, last, len(text))
    return _make_view("".join(out), starts, ends, view.original_length)
