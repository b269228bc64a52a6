"""A one-line progress bar on stderr, drawn only when stderr is a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 30


class Progress:
    """``[#######-------]  45/200 probes, 2 failed, 00:23``, redrawn in place with ``\\r``."""

    def __init__(
        self, total: int, stream: TextIO, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self._stream = stream
        self._clock = clock
        self._start = clock()
        self.enabled = stream.isatty()

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if self.enabled:
            self._stream.write("\r" + self.line())
            self._stream.flush()

    def line(self) -> str:
        filled = WIDTH * self.done // max(self.total, 1)
        elapsed = int(self._clock() - self._start)
        return (
            f"[{'#' * filled}{'-' * (WIDTH - filled)}] {self.done:>{len(str(self.total))}}"
            f"/{self.total} probes, {self.failed} failed, {elapsed // 60:02d}:{elapsed % 60:02d}"
        )

    def finish(self) -> None:
        if self.enabled:
            self._stream.write("\n")
            self._stream.flush()
