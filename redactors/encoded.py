"""Values that are wholly base64 or hex: decoded, so that what they hide is examined too.

- A value that decodes to text (UTF-8, printable) gives that text, to be scanned like any other
  content; a value holding a secret or PII is then dropped whole (the caller's choice of token).
- A base64 value that decodes to binary data is a blob, dropped whole, when it is a file: it
  starts with a file or compression signature (PNG, JPEG, PDF, gzip, zip, ...) or is 512
  characters or longer. Nothing inside a file is inspected, so a file fails closed.
- A shorter base64 value that decodes to other binary data (64 to 511 characters) is a random
  token, a hash or a small binary record: the value itself and its printable runs of 8
  characters or more are the text to scan, and it is dropped only when they hold a secret or
  PII. With no such run it is not treated as encoded at all (a look-alike such as
  ``sk-ant-...`` in the base64url alphabet, a digest, a nonce): the caller scans the value
  itself like any other string.
- Hex that decodes to binary is a hash or an id (a SHA-256, a trace id in text): kept as it is.
- Short or word-like values (``internationalization``, ``get_weather``) are not treated as
  encoded: they need 16 characters or more, and binary needs 64 or more with digits and both
  letter cases, as random base64 has.

Text inside text is decoded up to three levels deep (base64 of base64 of a secret).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

MIN_ENCODED_CHARS = 16
MIN_BLOB_CHARS = 64
MIN_FILE_CHARS = 512  # binary this long is a file (an image, a document), whatever its first bytes
MIN_RUN_BYTES = 8  # a printable run this long in binary may be text worth scanning
MAX_LEVELS = 3
_HEX = re.compile(r"(?:[0-9a-fA-F]{2}){8,}")
_B64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_B64_URL = re.compile(r"[A-Za-z0-9_\-]+={0,2}")
_PRINTABLE_SHARE = 0.95
_SPACE = re.compile(r"\s")
_NOT_ENCODED = re.compile(r"[^A-Za-z0-9+/_=\-\s]")  # a character _HEX, _B64 and _B64_URL all refuse
_PRINTABLE_RUN = re.compile(rb"[\x20-\x7e]{%d,}" % MIN_RUN_BYTES)
# The first bytes of the file and compression formats that travel as base64 in telemetry.
_FILE_SIGNATURES = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"BM", b"RIFF", b"OggS", b"fLaC",
    b"ID3", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x1cftyp", b"\x00\x00\x00\x20ftyp", b"\x1aE\xdf\xa3", b"BZh",
    b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd", b"7z\xbc\xaf", b"Rar!", b"\x7fELF", b"MZ", b"\xca\xfe\xba\xbe", b"wOF",
    b"\x00\x01\x00\x00\x00", b"SQLite format", b"PAR1", b"ARROW1", b"Obj\x01", b"\x78\x9c", b"\x78\xda",
    b"\x78\x01",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Encoded:
    """What an encoded value holds: ``text`` (decoded), or a binary ``blob``."""

    text: str | None = None
    blob: bool = False
    binary: bool = False  # text is the value and the printable runs of its binary: not decoded further


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
    if _NOT_ENCODED.search(text) is not None:
        return None  # neither hex nor either base64 alphabet (nor white space): no encoding fits
    if "\n" in text:
        compact = "".join(text.split())  # MIME base64 wraps with newlines
    else:
        compact = text.strip()
        if _SPACE.search(compact) is not None:  # the regex's \s is str.split's white space
            return None  # spaces inside: prose, not an encoded value
    if len(compact) < MIN_ENCODED_CHARS:
        return None
    if _HEX.fullmatch(compact):
        decoded = _as_text(bytes.fromhex(compact))
        return Encoded(text=decoded) if decoded is not None else None
    raw = _b64_bytes(compact)
    if raw is None:
        return None
    decoded = _as_text(raw)
    if decoded is not None:
        return Encoded(text=decoded)
    if len(compact) < MIN_BLOB_CHARS or not _looks_random(compact):
        return None
    return _binary(compact, raw)


def _binary(compact: str, raw: bytes) -> Encoded | None:
    """Base64 of binary data: a file (dropped whole), printable runs to scan, or a token."""
    if len(compact) >= MIN_FILE_CHARS or raw.startswith(_FILE_SIGNATURES):
        return Encoded(blob=True)
    runs = [run.decode("ascii") for run in _PRINTABLE_RUN.findall(raw)]
    # The value itself is scanned too: it may be a token whose alphabet happens to be base64's.
    return Encoded(text="\n".join([compact, *runs]), binary=True) if runs else None


def decode_encoded(text: str) -> Encoded | None:
    """What a wholly base64 or hex value holds, or None when it is not such a value."""
    found = _decode_once(text)
    if found is None or found.text is None or found.binary:
        return found
    for _ in range(MAX_LEVELS - 1):
        inner = _decode_once(found.text)
        if inner is None:
            break
        found = inner
        if found.text is None or found.binary:
            break
    return found
