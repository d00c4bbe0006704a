"""Request body limits: a cap on the wire and a cap after decompression, enforced while inflating.

A compression bomb is refused as soon as the output passes the cap: the decompressor is asked
for at most cap + 1 bytes, so memory never grows past the limit.

The input is fed to each gzip member in slices that start small and grow: zlib copies whatever
follows the end of a member into `unused_data`, so feeding the whole body to every member of a
body made of thousands of tiny members would copy the body once per member (quadratic time).
"""

from __future__ import annotations

import zlib

from sidecar.errors import InvalidRequest, PayloadTooLarge

SUPPORTED_ENCODINGS = ("identity", "gzip")
_FIRST_SLICE = 256  # a gzip header and a small deflate stream fit; grows x2 per slice
_MAX_SLICE = 256 * 1024


def decompress_gzip(body: bytes, limit: int) -> bytes:
    """Inflate a gzip body (one or more members) without ever producing more than `limit` bytes."""
    out = bytearray()
    view = memoryview(body)
    position = 0
    while position < len(view):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        size = _FIRST_SLICE
        while True:
            piece = view[position : position + size]
            try:
                chunk = inflater.decompress(piece, limit - len(out) + 1)
            except zlib.error:
                raise InvalidRequest("body is not valid gzip") from None
            out += chunk
            if len(out) > limit or inflater.unconsumed_tail:
                raise PayloadTooLarge(f"decompressed body exceeds {limit} bytes")
            position += len(piece) - len(inflater.unused_data)
            if inflater.eof:
                break
            if position >= len(view):
                raise InvalidRequest("gzip body is truncated")
            size = min(size * 2, _MAX_SLICE)
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
