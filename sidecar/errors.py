"""Outcomes the receivers translate into OTLP status codes.

Messages are fixed strings or name a rule; they never carry span content, tenant-supplied
values or key material.
"""

from __future__ import annotations


class InvalidRequest(Exception):
    """Bad data from the client: HTTP 400, gRPC INVALID_ARGUMENT. Not retried by the client."""


class PayloadTooLarge(Exception):
    """Body over the wire limit or over the decompressed limit: HTTP 413, gRPC RESOURCE_EXHAUSTED."""


class Overloaded(Exception):
    """Too much in flight: HTTP 503 + Retry-After, gRPC UNAVAILABLE + RetryInfo. Nothing was accepted."""

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(Overloaded):
    """A sink could not take the spans (next hop down, store outage): retryable, nothing accepted."""
