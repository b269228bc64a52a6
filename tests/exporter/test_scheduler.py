"""Scheduling: no overlap, no lockstep, isolation of slow targets, the concurrency cap."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

from exporter.config.types import TargetConfig
from exporter.probing.scheduler import Scheduler


def target(name: str, interval: float) -> TargetConfig:
    return TargetConfig(name=name, provider="simulated", model="m", interval=interval)


class Recorder:
    """A probe function that logs start/end times and can be told to be slow."""

    def __init__(self, durations: dict[str, float], retry_after: float | None = None) -> None:
        self.durations = durations
        self.retry_after = retry_after
        self.starts: dict[str, list[float]] = {}
        self.spans: dict[str, list[tuple[float, float]]] = {}
        self.running = 0
        self.max_running = 0

    async def __call__(self, t: TargetConfig) -> float | None:
        start = time.monotonic()
        self.starts.setdefault(t.name, []).append(start)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.durations.get(t.name, 0.0))
        finally:
            self.running -= 1
        self.spans.setdefault(t.name, []).append((start, time.monotonic()))
        return self.retry_after


def run_for(
    seconds: float, recorder: Recorder, targets: list[TargetConfig], **kwargs: object
) -> dict[str, int]:
    skipped: dict[str, int] = {}

    async def go() -> None:
        scheduler = Scheduler(
            recorder,
            max_concurrency=int(str(kwargs.get("max_concurrency", 16))),
            on_skip=lambda t, n: skipped.__setitem__(t.name, skipped.get(t.name, 0) + n),
            rng=random.Random(3),
        )
        scheduler.update(targets)
        await asyncio.sleep(seconds)
        await scheduler.stop()

    asyncio.run(go())
    return skipped


def test_a_probe_never_overlaps_its_previous_one() -> None:
    recorder = Recorder({"slow": 0.25})
    skipped = run_for(1.2, recorder, [target("slow", 0.1)])
    spans = recorder.spans["slow"]
    assert len(spans) >= 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end
    assert skipped["slow"] >= 3  # overrun slots are skipped and counted, not queued


def test_a_hung_target_does_not_delay_another() -> None:
    recorder = Recorder({"hung": 60.0, "fast": 0.0})
    run_for(1.0, recorder, [target("hung", 0.1), target("fast", 0.1)])
    assert len(recorder.starts["hung"]) == 1
    assert len(recorder.starts["fast"]) >= 8


def test_targets_start_at_random_phases_not_in_lockstep() -> None:
    recorder = Recorder({})
    targets = [target(f"t{i}", 0.5) for i in range(8)]
    run_for(0.6, recorder, targets)
    firsts = sorted(recorder.starts[t.name][0] for t in targets)
    spread = firsts[-1] - firsts[0]
    assert spread > 0.1
    assert len({round(f, 3) for f in firsts}) == len(firsts)


def test_global_concurrency_cap_holds() -> None:
    recorder = Recorder({f"t{i}": 0.2 for i in range(6)})
    run_for(1.0, recorder, [target(f"t{i}", 0.05) for i in range(6)], max_concurrency=2)
    assert recorder.max_running == 2


def test_retry_after_pushes_the_next_probe_back() -> None:
    recorder = Recorder({}, retry_after=0.4)
    skipped = run_for(1.2, recorder, [target("limited", 0.05)])
    starts = recorder.starts["limited"]
    assert 2 <= len(starts) <= 3
    assert all(b - a >= 0.4 for a, b in itertools.pairwise(starts))
    assert skipped["limited"] >= 7  # each wait passes over about eight 50 ms slots


def test_update_keeps_unchanged_targets_and_stops_removed_ones() -> None:
    recorder = Recorder({})

    async def go() -> tuple[tuple[str, ...], tuple[str, ...]]:
        scheduler = Scheduler(recorder, max_concurrency=4, rng=random.Random(1))
        scheduler.update([target("a", 0.05), target("b", 0.05)])
        await asyncio.sleep(0.2)
        first = scheduler.running
        scheduler.update([target("a", 0.05), target("c", 0.05)])
        await asyncio.sleep(0.2)
        second = scheduler.running
        await scheduler.stop()
        return first, second

    first, second = asyncio.run(go())
    assert first == ("a", "b")
    assert set(second) == {"a", "c"}
    b_after = [s for s in recorder.starts["b"] if s > max(recorder.starts["c"][0], 0)]
    assert b_after == []


def test_a_probe_that_raises_does_not_end_the_schedule() -> None:
    calls = 0

    async def flaky(t: TargetConfig) -> float | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug in a probe")
        return None

    async def go() -> None:
        scheduler = Scheduler(flaky, max_concurrency=2, rng=random.Random(1))
        scheduler.update([target("t", 0.05)])
        await asyncio.sleep(0.4)
        await scheduler.stop()

    asyncio.run(go())
    assert calls >= 4


def test_an_endless_retry_after_is_capped_not_fatal() -> None:
    recorder = Recorder({}, retry_after=float("inf"))
    skipped = run_for(0.3, recorder, [target("limited", 0.05)])
    assert len(recorder.starts["limited"]) == 1
    assert skipped["limited"] > 0  # it waits (at most MAX_WAIT), and the task is alive


def test_a_target_whose_options_change_is_restarted() -> None:
    from exporter.providers.simulated import SimulatedOptions

    recorder = Recorder({})

    async def go() -> tuple[asyncio.Task[None], asyncio.Task[None]]:
        scheduler = Scheduler(recorder, max_concurrency=4, rng=random.Random(1))
        first = TargetConfig(
            name="a",
            provider="simulated",
            model="m",
            interval=0.05,
            options=SimulatedOptions(seed=1),
        )
        scheduler.update([first])
        before = scheduler._tasks["a"][1]
        scheduler.update([first])  # the same config: the task keeps running
        assert scheduler._tasks["a"][1] is before
        changed = TargetConfig(
            name="a",
            provider="simulated",
            model="m",
            interval=0.05,
            options=SimulatedOptions(seed=2),
        )
        scheduler.update([changed])
        after = scheduler._tasks["a"][1]
        await asyncio.sleep(0.05)
        await scheduler.stop()
        return before, after

    before, after = asyncio.run(go())
    assert before is not after
    assert before.cancelled()
