"""A tiny progress printer for long command-line runs (stderr, quiet for short ones)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints ``label: done/total`` to stderr at most every ``every`` seconds, once a run
    has lasted ``after`` seconds, and a final line when it printed anything."""

    def __init__(self, total: int, label: str, *, every: float = 0.5, after: float = 1.0, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.label, self.every, self.after = total, label, every, after
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        self.done = 0
        self.printed = False

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.start >= self.after and now - self.last >= self.every:
            self.last = now
            self.printed = True
            print(f"{self.label}: {self.done}/{self.total}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.enabled and self.printed:
            secs = time.monotonic() - self.start
            print(f"{self.label}: {self.done}/{self.total} done in {secs:.1f} s", file=self.stream, flush=True)
