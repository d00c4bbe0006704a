"""Character classes for names and places in any Latin-script language ("Françoise", "Štrukelj").

``UPPER`` and ``LOWER`` are the upper- and lower-case letters of Basic Latin, Latin-1, the
Latin Extended-A/B blocks and Latin Extended Additional (Vietnamese "Nguyễn", "Phạm"), ready
to go inside a regex character class. The lower-case partners of those upper-case letters that
lie outside the blocks (IPA Extensions: Azerbaijani "ə" of "Ə", Hausa "ɓ" and "ɗ", Akan "ɛ" and
"ɔ") are lower-case letters too: "Vəlixanov" and "Şəfa" are one word each.
"""

from __future__ import annotations

_LATIN = [*range(0x41, 0x250), *range(0x1E00, 0x1F00)]
_LATIN_SET = frozenset(_LATIN)
UPPER = "".join(ch for ch in map(chr, _LATIN) if ch.isupper() and ch.isalpha())
_PARTNERS = sorted({ch.lower() for ch in UPPER if len(ch.lower()) == 1 and ord(ch.lower()) not in _LATIN_SET})
LOWER = "".join(ch for ch in map(chr, _LATIN) if ch.islower() and ch.isalpha()) + "".join(_PARTNERS)
