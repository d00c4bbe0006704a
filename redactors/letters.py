"""Character classes for names and places in any Latin-script language ("Françoise", "Štrukelj").

``UPPER`` and ``LOWER`` are the upper- and lower-case letters of Basic Latin, Latin-1, the
Latin Extended-A/B blocks and Latin Extended Additional (Vietnamese "Nguyễn", "Phạm"), ready
to go inside a regex character class.
"""

from __future__ import annotations

_LATIN = [*range(0x41, 0x250), *range(0x1E00, 0x1F00)]
UPPER = "".join(ch for ch in map(chr, _LATIN) if ch.isupper() and ch.isalpha())
LOWER = "".join(ch for ch in map(chr, _LATIN) if ch.islower() and ch.isalpha())
