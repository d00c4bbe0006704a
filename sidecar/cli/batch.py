"""`tracevault redact --jsonl`: a stream of OTLP/JSON documents through the redaction pool.

The same `RedactionPool` as the service (`--workers auto|N|0`; 0 redacts in a thread of this
process). Memory is bounded: at most `window` lines are held at once (read, not yet written),
and the output keeps the input's order, line for line. A line that is not OTLP/JSON gets an
error object in its place (with its line number; the message never quotes content), and the
lines before and after it are answered normally. A line whose worker died is retried once on the
replacement worker; past the deadline it fails closed (every value masked), as in the service.
Line n goes to lane n of a pool with lanes (`RedactionPool(lanes=True)`, as `tracevault redact`
builds it): each worker sees the same lines in the same order on every run, so the output does
not depend on timing.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any

from sidecar.errors import InvalidRequest, PayloadTooLarge, Unavailable
from sidecar.workers import RedactedDocument, RedactionPool

ATTEMPTS = 2  # a line whose worker died is tried once more


@dataclass
class BatchStats:
    """What a stream did: lines written, errors, failed-closed lines, and the most lines held at once."""

    lines: int = 0
    errors: int = 0
    failed_closed: int = 0
    rejected: int = 0  # spans or log records refused (invalid tenant ids)
    peak_in_flight: int = 0
    messages: list[str] = field(default_factory=list)  # one per bad or failed-closed line (no content)


@dataclass(frozen=True)
class _Answer:
    text: str
    error: str | None = None  # the line's error, for stderr
    failed_closed: bool = False
    rejected: int = 0


async def _answer(pool: RedactionPool, number: int, line: str, tenant: str | None, chosen: str | None) -> _Answer:
    if not line.strip():
        return _Answer("")
    for attempt in range(ATTEMPTS):
        try:
            done: RedactedDocument = await pool.redact_document(line, tenant, chosen, lane=number)
        except (InvalidRequest, PayloadTooLarge) as exc:
            return _Answer(json.dumps({"error": str(exc), "line": number}), error=str(exc))
        except Unavailable as exc:
            if attempt + 1 < ATTEMPTS:
                continue
            message = f"not redacted ({exc})"
            return _Answer(json.dumps({"error": message, "line": number}), error=message)
        return _Answer(done.text, failed_closed=done.failed_closed, rejected=done.rejected)
    raise AssertionError("unreachable")  # the loop always returns


async def stream(
    pool: RedactionPool,
    lines: Iterable[str],
    write: Callable[[str], None],
    window: int,
    tenant: str | None = None,
    progress: Callable[[int], None] | None = None,
    chosen: str | None = None,
) -> BatchStats:
    """Redact `lines` (one document each; `chosen` as `--signal`) and `write` the answers in input order."""
    if window < 1:
        raise ValueError("window must be at least 1")
    stats = BatchStats()
    held: deque[tuple[int, Awaitable[_Answer]]] = deque()
    loop = asyncio.get_running_loop()

    async def write_head() -> None:
        number, pending = held.popleft()
        answer = await pending
        write(answer.text)
        stats.lines += 1
        stats.rejected += answer.rejected
        if answer.error is not None:
            stats.errors += 1
            stats.messages.append(f"line {number}: {answer.error}")
        elif answer.failed_closed:
            stats.failed_closed += 1
            stats.messages.append(f"line {number}: redaction passed its deadline or memory limit; every value was masked")
        if progress is not None:
            progress(stats.lines)

    await pool.warm_up()
    source = iter(lines)
    number = 0
    while True:
        while len(held) >= window:  # room first: a line read is a line held
            await write_head()
        line = next(source, None)
        if line is None:
            break
        number += 1
        held.append((number, loop.create_task(_answer(pool, number, line.rstrip("\r\n"), tenant, chosen))))
        stats.peak_in_flight = max(stats.peak_in_flight, len(held))
        await asyncio.sleep(0)  # let the new job reach a worker before the next line is read
    while held:
        await write_head()
    return stats


class Progress:
    """A progress line on stderr, only when stderr is a terminal: tqdm's when it is installed, else
    a plain counter redrawn at most twice a second."""

    def __init__(self, stream_: IO[str] | None = None) -> None:
        self._stream = stream_ or sys.stderr
        self._bar: Any = None
        self._last = 0.0
        self.enabled = self._stream.isatty()
        if self.enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self._bar = tqdm(unit=" lines", file=self._stream, dynamic_ncols=True)

    def update(self, lines: int) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(lines - self._bar.n)
            return
        now = time.monotonic()
        if now - self._last >= 0.5:
            self._last = now
            self._stream.write(f"\rtracevault redact: {lines:,} lines")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            self._stream.write("\n")
