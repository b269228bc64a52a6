"""Background sampling between scrapes, so a spike during a probe is not missed.

A scrape every 15 s sees only the value at that instant; a 2 s power spike during a probe
falls between two scrapes. The sampler reads a few quantities at a fixed rate (0.5 s by
default) and keeps, per quantity, the maximum and mean since the last ``take()``, which the
collector calls at scrape time.

It is a daemon thread rather than an asyncio task: NVML calls block in C, and on the event
loop they would delay the very probes whose timing we measure. pynvml's ctypes calls release
the GIL while the driver works; the Python work per tick is a few dict updates.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

log = logging.getLogger("llmscope.collectors.sampler")

Reader = Callable[[], Mapping[Hashable, float]]


@dataclass(frozen=True)
class Window:
    """Samples of one quantity since the previous ``take()``."""

    max: float
    mean: float
    samples: int  # 0: no new sample yet, max and mean repeat the latest known value


@dataclass
class _Running:
    max: float
    total: float
    count: int


class PeakSampler:
    """Calls ``read`` every ``interval`` seconds and keeps max and mean per key."""

    def __init__(
        self,
        read: Reader,
        interval: float,
        *,
        name: str = "llmscope-sampler",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"sample interval must be greater than zero, got {interval}")
        self._read = read
        self._interval = interval
        self._name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[Hashable, _Running] = {}
        self._latest: dict[Hashable, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    @property
    def interval(self) -> float:
        return self._interval

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        self._stop.set()
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        next_at = self._clock()
        while not self._stop.is_set():
            self.sample_once()
            # Fixed rate; after a stall (a slow driver call) skip the missed ticks.
            next_at += self._interval
            now = self._clock()
            if next_at < now:
                next_at = now + self._interval
            self._stop.wait(next_at - now)

    def sample_once(self) -> None:
        """One reading; a failing reader is logged on its first failure, never raised."""
        try:
            reading = self._read()
        except Exception as err:
            if not self._failing:
                log.warning("%s: sampling failed: %s", self._name, err)
            self._failing = True
            return
        if self._failing:
            log.info("%s: sampling works again", self._name)
        self._failing = False
        with self._lock:
            for key in self._latest.keys() - reading.keys():
                # The quantity vanished (lost GPU, unsupported now): forget it entirely.
                del self._latest[key]
                self._running.pop(key, None)
            for key, value in reading.items():
                self._latest[key] = value
                run = self._running.get(key)
                if run is None:
                    self._running[key] = _Running(value, value, 1)
                else:
                    run.max = max(run.max, value)
                    run.total += value
                    run.count += 1

    def take(self) -> dict[Hashable, Window]:
        """Max and mean per key since the previous take, and start a new window."""
        with self._lock:
            running, self._running = self._running, {}
            latest = dict(self._latest)
        windows: dict[Hashable, Window] = {}
        for key, value in latest.items():
            run = running.get(key)
            if run is None:
                windows[key] = Window(max=value, mean=value, samples=0)
            else:
                windows[key] = Window(max=run.max, mean=run.total / run.count, samples=run.count)
        return windows
