"""Progress of long retention jobs: a rich progress bar on a terminal, plain lines otherwise.

Progress always goes to stderr, so that stdout carries only the JSON report. Plain lines are
throttled (at most one per ``interval`` seconds, plus the last one) so that a cron log of a large
bucket stays readable. Messages name counts and partitions, never object content.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any


class Progress:
    """``with Progress("deleting", total) as p: p.advance(n, "payloads/tenant=a/...")``"""

    def __init__(self, label: str, total: int, *, stream: IO[str] | None = None, interval: float = 2.0, enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._interval = interval
        self._enabled = enabled and total > 0
        self._last_line = 0.0
        self._rich: Any = None
        self._task: Any = None

    def _is_tty(self) -> bool:
        isatty = getattr(self._stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def __enter__(self) -> Progress:
        if self._enabled and self._is_tty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[where]}"),
                console=Console(file=self._stream),
                transient=False,
            )
            self._rich.start()
            self._task = self._rich.add_task(self.label, total=self.total, where="")
        return self

    def advance(self, count: int, where: str = "") -> None:
        self.done += count
        if not self._enabled:
            return
        if self._rich is not None:
            self._rich.update(self._task, advance=count, where=where)
            return
        now = time.monotonic()
        if self.done >= self.total or now - self._last_line >= self._interval:
            self._last_line = now
            suffix = f" ({where})" if where else ""
            print(f"tracevault: {self.label}: {self.done}/{self.total}{suffix}", file=self._stream, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None
