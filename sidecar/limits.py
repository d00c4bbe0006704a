"""Request body limits: a cap on the wire and a cap after decompression, enforced while inflating.

A compression bomb is refused as soon as the output passes the cap: the decompressor is asked
for at most cap + 1 bytes, so memory never grows past the limit.
"""

from __future__ import annotations

import zlib

from sidecar.errors import InvalidRequest, PayloadTooLarge

SUPPORTED_ENCODINGS = ("identity", "gzip")


def decompress_gzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body (one or more members) without ever producing more than `limit` bytes."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            chunk = inflater.decompress(data, limit - len(out) + 1)
        except zlib.error:
            raise InvalidRequest("body is not valid gzip") from None
        out += chunk
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"decompressed body exceeds {limit} bytes")
        if not inflater.eof:
            raise InvalidRequest("gzip body is truncated")
        data = inflater.unused_data
    return bytes(out)


def decode_body(body: bytes, content_encoding: str, limit: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        return decompress_gzip(body, limit)
    if encoding == "identity":
        if len(body) > limit:
            raise PayloadTooLarge(f"body exceeds {limit} bytes")
        return body
    raise ValueError("unsupported content encoding")
