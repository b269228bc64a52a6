"""Per-target probe schedules: fixed rate, random phase, never overlapping, capped.

Each target runs in its own task, so a slow or hung target delays nobody else. A target's
first probe falls at a random phase within its interval (targets never fire in lockstep),
then at a fixed rate. A probe that overruns its interval makes the next slots be skipped
and counted, never run back to back; a Retry-After pushes the next probe past it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterable

from exporter.config.types import TargetConfig

log = logging.getLogger("llmscope.scheduler")

# The longest wait a server's Retry-After may impose; longer asks are cut to this.
MAX_WAIT = 3600.0

# Runs one probe of a target; returns the seconds the server asked to wait, if any.
ProbeFn = Callable[[TargetConfig], Awaitable[float | None]]


class Scheduler:
    def __init__(
        self,
        probe: ProbeFn,
        *,
        max_concurrency: int,
        on_lateness: Callable[[TargetConfig, float], None] = lambda t, s: None,
        on_skip: Callable[[TargetConfig, int], None] = lambda t, n: None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._probe = probe
        self._limit = asyncio.Semaphore(max_concurrency)
        self._on_lateness = on_lateness
        self._on_skip = on_skip
        self._rng = rng or random.Random()
        self._clock = clock
        self._tasks: dict[str, tuple[TargetConfig, asyncio.Task[None]]] = {}

    @property
    def running(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    def update(self, targets: Iterable[TargetConfig]) -> None:
        """Start new targets, restart changed ones, stop removed ones; others keep going."""
        wanted = {t.name: t for t in targets}
        for name, (old, task) in list(self._tasks.items()):
            if wanted.get(name) != old or task.done():
                task.cancel()
                del self._tasks[name]
        for name, target in wanted.items():
            if name not in self._tasks:
                task = asyncio.create_task(self._loop(target), name=f"probe:{name}")
                self._tasks[name] = (target, task)

    async def stop(self) -> None:
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, target: TargetConfig) -> None:
        interval = target.interval
        next_at = self._clock() + self._rng.uniform(0.0, interval)
        while True:
            await asyncio.sleep(max(0.0, next_at - self._clock()))
            async with self._limit:
                self._on_lateness(target, max(0.0, self._clock() - next_at))
                try:
                    wait = await self._probe(target)
                except Exception:  # a bug must not end this target's schedule for good
                    log.exception("target %s: probe raised; the schedule goes on", target.name)
                    wait = None
            now = self._clock()
            next_at += interval
            earliest = now + min(wait, MAX_WAIT) if wait and wait > 0 else now
            if next_at < earliest:
                missed = math.ceil((earliest - next_at) / interval)
                next_at += missed * interval
                self._on_skip(target, missed)
