"""Values that are wholly base64 or hex: decoded, so that what they hide is examined too.

- A value that decodes to text (UTF-8, printable) gives that text, to be scanned like any other
  content; a value holding a secret or PII is then dropped whole (the caller's choice of token).
- A base64 value that decodes to binary data and is long enough to be a blob (an image, a file)
  is a blob, dropped whole.
- Hex that decodes to binary is a hash or an id (a SHA-256, a trace id in text): kept as it is.
- Short or word-like values (``internationalization``, ``get_weather``) are not treated as
  encoded: they need 16 characters or more, and a binary blob needs 64 or more with digits and
  both letter cases, as random base64 has.

Text inside text is decoded up to three levels deep (base64 of base64 of a secret).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

MIN_ENCODED_CHARS = 16
MIN_BLOB_CHARS = 64
MAX_LEVELS = 3
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9_\-]+={0,2}")
_PRINTABLE_SHARE = 0.95


@dataclass(frozen=True, slots=True)
class Encoded:
    """What an encoded value holds: ``text`` (decoded), or a binary ``blob``."""

    text: str | None = None
    blob: bool = False


def _as_text(raw: bytes) -> str | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text:
        return None
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\r\t")
    return text if printable >= _PRINTABLE_SHARE * len(text) else None


def _b64_bytes(compact: str) -> bytes | None:
    body = compact.rstrip("=")
    if len(body) % 4 == 1:
        return None
    padded = body + "=" * (-len(body) % 4)
    try:
        if _B64.fullmatch(compact):
            return base64.b64decode(padded, validate=True)
        if _B64_URL.fullmatch(compact):
            return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        return None
    return None


def _looks_random(compact: str) -> bool:
    return any(ch.isdigit() for ch in compact) and any(ch.islower() for ch in compact) and any(ch.isupper() for ch in compact)


def _decode_once(text: str) -> Encoded | None:
    compact = "".join(text.split())
    if len(compact) < MIN_ENCODED_CHARS or (compact != text.strip() and "\n" not in text):
        return None  # spaces inside: prose, not an encoded value (MIME base64 wraps with newlines)
    if _HEX.fullmatch(compact):
        decoded = _as_text(bytes.fromhex(compact))
        return Encoded(text=decoded) if decoded is not None else None
    raw = _b64_bytes(compact)
    if raw is None:
        return None
    decoded = _as_text(raw)
    if decoded is not None:
        return Encoded(text=decoded)
    if len(compact) >= MIN_BLOB_CHARS and _looks_random(compact):
        return Encoded(blob=True)
    return None


def decode_encoded(text: str) -> Encoded | None:
    """What a wholly base64 or hex value holds, or None when it is not such a value."""
    found = _decode_once(text)
    if found is None or found.text is None:
        return found
    for _ in range(MAX_LEVELS - 1):
        inner = _decode_once(found.text)
        if inner is None:
            break
        found = inner
        if found.text is None:
            break
    return found
