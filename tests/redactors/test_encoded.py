"""Encoded values (redactors/encoded.py) through the real redactor: files are dropped whole,
short binary is dropped only when its printable text holds a secret or PII, and token-shaped
look-alikes that merely fit the base64 alphabet survive."""

from __future__ import annotations

import base64
import random
import zlib

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from redactors.encoded import MIN_FILE_CHARS, decode_encoded
from redactors.engine import Redactor
from tests.redactors.otlp_builders import attribute, make_request, make_span

BLOB = "<BLOB_REMOVED>"
EMAIL = "sarah.connor@example.com"
TOKEN = "ghp_" + "Zq7XmK2pL9vR4sT8wY1bN6cD3fG5hJ0kQ2wE"


# Pattern entities only: what the NER model reads into random text is the PII detector's
# business (tests/redactors/test_ner_input.py), not the encoding rules'.
PATTERNS = {"defaults": {"entities": ["EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "IP_ADDRESS"]}}


@pytest.fixture(scope="module")
def patterns_redactor(make_redactor) -> Redactor:  # noqa: ANN001 - the session fixture's builder
    return make_redactor(PATTERNS)


def _random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _out(redactor: Redactor, value: str) -> str:
    items = list(make_request([make_span(attributes={"app.payload": value})]).resource_spans)
    redactor.redact_resource_spans(items, "acme", "prod")
    span = ExportTraceServiceRequest(resource_spans=items).resource_spans[0].scope_spans[0].spans[0]
    return attribute(span, "app.payload").string_value


def _binary_between(secret: bytes, seed: int) -> bytes:
    """Short binary (no file signature) with a printable run in the middle."""
    return b"\x01\x02\x93\xfe" + _random_bytes(20, seed) + b"\x00" + secret + b"\x00" + _random_bytes(20, seed + 1)


DROPPED = [
    # (why, value)
    ("png-signature", _b64(b"\x89PNG\r\n\x1a\n" + _random_bytes(60, 1))),
    ("jpeg-signature", _b64(b"\xff\xd8\xff\xe0" + _random_bytes(60, 2))),
    ("zlib-compressed-text", _b64(zlib.compress(f"mail {EMAIL} ".encode() * 3 + _random_bytes(40, 3)))),
    ("long-binary-is-a-file", _b64(_random_bytes(MIN_FILE_CHARS, 4))),
    ("short-binary-holding-a-token", _b64(_binary_between(f"token={TOKEN}".encode(), 5))),
    ("short-binary-holding-an-email", _b64(_binary_between(f"contact {EMAIL}".encode(), 7))),
    # a provider token that happens to be base64 with a readable run ("BedrockAPIKey-"): the
    # value itself is scanned as well, and is a secret
    ("token-in-the-base64-alphabet", "ABSK" + _b64(b"BedrockAPIKey-" + _random_bytes(80, 8))),
]

KEPT = [
    # (why, value): no file, nothing readable inside
    ("random-key-bytes", _b64(_random_bytes(84, 11))),
    ("random-urlsafe", base64.urlsafe_b64encode(_random_bytes(90, 12)).decode().rstrip("=")),
    ("token-with-dashes", "sk-ant-admin01-abc123xyz-456de-klMnopqrstuvwx-3456yza789bcde-1234fghijklmnopAA"),
    ("short-binary-with-benign-text", _b64(_binary_between(b"release candidate build", 13))),
]


@pytest.mark.parametrize(("why", "value"), DROPPED, ids=[row[0] for row in DROPPED])
def test_files_and_binary_holding_secrets_or_pii_are_dropped(patterns_redactor: Redactor, why: str, value: str) -> None:
    assert _out(patterns_redactor, value) == BLOB, why


@pytest.mark.parametrize(("why", "value"), KEPT, ids=[row[0] for row in KEPT])
def test_binary_look_alikes_survive(patterns_redactor: Redactor, why: str, value: str) -> None:
    assert _out(patterns_redactor, value) == value, why


def test_what_short_binary_yields_for_scanning() -> None:
    found = decode_encoded(_b64(_binary_between(b"release candidate build", 13)))
    assert found is not None and not found.blob
    assert found.text is not None and "release candidate build" in found.text
    assert decode_encoded(_b64(_random_bytes(84, 11))) is None
    assert decode_encoded(_b64(b"\x89PNG\r\n\x1a\n" + _random_bytes(60, 1))) == type(found)(blob=True)


def _decode_once_as_written(text: str):
    """`_decode_once`'s white-space rule as first written: every value split and joined."""
    from redactors import encoded

    compact = "".join(text.split())
    if len(compact) < encoded.MIN_ENCODED_CHARS or (compact != text.strip() and "\n" not in text):
        return None
    return encoded._decode_once(compact)


_SECRET_B64 = _b64(f"token={TOKEN}".encode())


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        (_SECRET_B64, True),  # found: a whole base64 value
        (f"  {_SECRET_B64}\t", True),  # white space around it only
        ("\n".join(_SECRET_B64[i : i + 16] for i in range(0, len(_SECRET_B64), 16)), True),  # MIME-wrapped
        (f"{_SECRET_B64[:20]} {_SECRET_B64[20:]}", False),  # benign twin: a space inside is prose
        (f"{_SECRET_B64[:20]}\u00a0{_SECRET_B64[20:]}", False),  # no-break space: white space to str.split and \s
        (f"{_SECRET_B64[:20]}\u2028{_SECRET_B64[20:]}", False),
        (f"{_SECRET_B64[:20]}\x1c{_SECRET_B64[20:]}", False),  # a file separator is white space to both
        ("c2hvcnQ=", False),  # too short
        ("\r\n".join(_SECRET_B64[i : i + 16] for i in range(0, len(_SECRET_B64), 16)), True),  # CRLF-wrapped
        (f"{_SECRET_B64}.", False),  # a character no encoding has: not read as one
        (f"{_SECRET_B64[:20]}\n{_SECRET_B64[20:]}!", False),
        (f"{_SECRET_B64[:20]}\u00e9{_SECRET_B64[20:]}", False),
    ],
)
def test_white_space_rule_decides_as_splitting_every_value(text: str, decoded: bool) -> None:
    from redactors import encoded

    found = encoded._decode_once(text)
    assert (found is not None) == decoded
    assert found == _decode_once_as_written(text)
