"""Payload segments: many encrypted span payloads in one object, with an index at the end.

Format, version 1 (all integers big-endian):

    magic        8 bytes   b"TVSEG\\x00\\x01\\n"
    frames       one per record, back to back, starting at offset 8
    footer       JSON (UTF-8): format, version, tenant, env, object_key, cipher, key_id,
                 wrapped_key (base64), created, and `index`: [{position, trace_id, span_id,
                 offset, length}]
    trailer      u64 footer offset, u32 footer length, 8 bytes b"TVSEGEND"

A frame is self-contained, so that one payload is read with a single ranged GET of
(offset, length) taken from the metrics row's `payload_ref`:

    u32 position | u16 len(key_id) | key_id | u16 len(wrapped) | wrapped data key | nonce + ciphertext

The wrapped data key repeats in every frame of a segment (it is the same fresh key for the
whole segment); the ciphertext's associated data binds tenant, env, object key and position,
so a frame moved to another segment, tenant, env or position fails to decrypt.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass

MAGIC = b"TVSEG\x00\x01\n"
TRAILER_MAGIC = b"TVSEGEND"
FORMAT_VERSION = 1
_TRAILER = struct.Struct(">QI8s")
_FRAME_HEAD = struct.Struct(">IH")


class CorruptSegment(Exception):
    """A segment or frame that does not parse. The message says where, never what it holds."""


@dataclass(frozen=True, slots=True)
class FrameInfo:
    position: int
    trace_id: str
    span_id: str
    offset: int
    length: int


@dataclass(frozen=True, slots=True)
class Frame:
    position: int
    key_id: str
    wrapped_key: bytes
    sealed: bytes  # nonce + ciphertext + tag


def encode_frame(position: int, key_id: str, wrapped_key: bytes, sealed: bytes) -> bytes:
    key_id_bytes = key_id.encode()
    return b"".join(
        (
            _FRAME_HEAD.pack(position, len(key_id_bytes)),
            key_id_bytes,
            struct.pack(">H", len(wrapped_key)),
            wrapped_key,
            sealed,
        )
    )


def decode_frame(data: bytes) -> Frame:
    try:
        position, key_id_length = _FRAME_HEAD.unpack_from(data, 0)
        cursor = _FRAME_HEAD.size
        key_id = data[cursor : cursor + key_id_length].decode()
        cursor += key_id_length
        (wrapped_length,) = struct.unpack_from(">H", data, cursor)
        cursor += 2
        wrapped = data[cursor : cursor + wrapped_length]
        cursor += wrapped_length
        sealed = data[cursor:]
    except (struct.error, UnicodeDecodeError):
        raise CorruptSegment("payload frame does not parse") from None
    if len(wrapped) != wrapped_length or len(sealed) < 12 + 16:
        raise CorruptSegment("payload frame is truncated")
    return Frame(position, key_id, wrapped, sealed)


@dataclass(frozen=True)
class SegmentHeader:
    tenant: str
    env: str
    object_key: str
    key_id: str
    wrapped_key: bytes
    created: str
    index: tuple[FrameInfo, ...]


def build_segment(header: SegmentHeader, frames: Sequence[bytes]) -> bytes:
    """Assemble a segment from frames whose offsets were fixed when they were spooled."""
    body = bytearray(MAGIC)
    for info, frame in zip(header.index, frames, strict=True):
        if info.offset < len(body) or info.length != len(frame):
            raise ValueError("frame offsets do not match the index")
        # A record lost to spool damage leaves a gap: pad it, so later frames stay at the
        # offsets their metrics rows recorded.
        body += bytes(info.offset - len(body))
        body += frame
    footer = json.dumps(
        {
            "format": "tracevault-segment",
            "version": FORMAT_VERSION,
            "tenant": header.tenant,
            "env": header.env,
            "object_key": header.object_key,
            "cipher": "AES-256-GCM",
            "key_id": header.key_id,
            "wrapped_key": base64.b64encode(header.wrapped_key).decode("ascii"),
            "created": header.created,
            "index": [
                {"position": i.position, "trace_id": i.trace_id, "span_id": i.span_id, "offset": i.offset, "length": i.length}
                for i in header.index
            ],
        },
        separators=(",", ":"),
    ).encode()
    footer_offset = len(body)
    body += footer
    body += _TRAILER.pack(footer_offset, len(footer), TRAILER_MAGIC)
    return bytes(body)


def parse_segment(data: bytes) -> tuple[SegmentHeader, dict[int, bytes]]:
    """Parse a whole segment: its header and its frames by position."""
    if len(data) < len(MAGIC) + _TRAILER.size or not data.startswith(MAGIC):
        raise CorruptSegment("not a tracevault segment (bad magic)")
    footer_offset, footer_length, trailer_magic = _TRAILER.unpack_from(data, len(data) - _TRAILER.size)
    if trailer_magic != TRAILER_MAGIC or footer_offset + footer_length != len(data) - _TRAILER.size:
        raise CorruptSegment("segment trailer is damaged")
    try:
        footer = json.loads(data[footer_offset : footer_offset + footer_length])
        if footer.get("version") != FORMAT_VERSION:
            raise CorruptSegment("unsupported segment version")
        index = tuple(
            FrameInfo(int(i["position"]), str(i["trace_id"]), str(i["span_id"]), int(i["offset"]), int(i["length"]))
            for i in footer["index"]
        )
        header = SegmentHeader(
            tenant=str(footer["tenant"]),
            env=str(footer["env"]),
            object_key=str(footer["object_key"]),
            key_id=str(footer["key_id"]),
            wrapped_key=base64.b64decode(footer["wrapped_key"]),
            created=str(footer["created"]),
            index=index,
        )
    except CorruptSegment:
        raise
    except (ValueError, KeyError, TypeError):
        raise CorruptSegment("segment footer does not parse") from None
    frames: dict[int, bytes] = {}
    for info in index:
        if info.offset < len(MAGIC) or info.offset + info.length > footer_offset:
            raise CorruptSegment("segment index points outside the frames")
        frames[info.position] = data[info.offset : info.offset + info.length]
    return header, frames


@dataclass(frozen=True, slots=True)
class PayloadRef:
    """Where one payload lives: `<object key>#<position>:<offset>:<length>`."""

    object_key: str
    position: int
    offset: int
    length: int

    def __str__(self) -> str:
        return f"{self.object_key}#{self.position}:{self.offset}:{self.length}"

    @classmethod
    def parse(cls, text: str) -> PayloadRef:
        key, sep, location = text.rpartition("#")
        parts = location.split(":")
        if not sep or not key or len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise ValueError("payload_ref must look like <object key>#<position>:<offset>:<length>")
        return cls(key, int(parts[0]), int(parts[1]), int(parts[2]))
