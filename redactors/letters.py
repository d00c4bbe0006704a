"""Character classes for names and places in any Latin-script language ("Françoise", "Štrukelj").

``UPPER`` and ``LOWER`` are the upper- and lower-case letters of Basic Latin, Latin-1 and the
Latin Extended-A/B blocks, ready to go inside a regex character class.
"""

from __future__ import annotations

UPPER = "".join(ch for ch in map(chr, range(0x41, 0x250)) if ch.isupper() and ch.isalpha())
LOWER = "".join(ch for ch in map(chr, range(0x61, 0x250)) if ch.islower() and ch.isalpha())
