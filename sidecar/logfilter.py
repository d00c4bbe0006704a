"""Log hygiene for the HTTP server library: its records never carry request bytes.

aiohttp logs HTTP parser errors ("Data after `Connection: close`", a bad chunk size, an invalid
header line, a header too long, a bad request line, ...) at ERROR with the exception, whose text
quotes the offending raw bytes: span content from the body, or the start of an
`Authorization` header or a query-string token. Its access log would print the request line
(with the query string). `install()` puts a filter on aiohttp's loggers that rewrites each of
their records to a fixed message naming the exception class only, with no arguments and no
traceback. The record's level is kept, so an operator still sees that something failed.
"""

from __future__ import annotations

import logging

AIOHTTP_LOGGERS = ("aiohttp.server", "aiohttp.access", "aiohttp.web", "aiohttp.internal", "aiohttp.client", "aiohttp.websocket")


class ClassOnlyFilter(logging.Filter):
    """Rewrites a record to "<logger>: <exception class>" with no arguments and no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        what = type(exc).__name__ if exc is not None else "event"
        record.msg = "%s (details withheld: they may quote request bytes)"
        record.args = (what,)
        record.exc_info = None
        record.exc_text = None
        record.stack_info = None
        return True


_FILTER = ClassOnlyFilter()


def install() -> None:
    """Filter every aiohttp logger (idempotent)."""
    for name in AIOHTTP_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
