"""Steady state: after its first cycle the sidecar asks only for what is new, one query per
selector, and publishes exactly what a sidecar that fetches every window whole publishes.

Two sidecars run the same cycles side by side (tests/sidecar/pair.py), one with the sample
cache and one without, against fake Prometheus servers over the same fleet
(tests/sidecar/fakeprom.py): counter resets, X-bar subgroups, missed scrapes, and cycles on
the 15 s scrape grid, so samples lie exactly at a cycle's end, at the start of the next
cycle's query, and at the start of every window.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable

import pytest

from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from testkit.fakeserver import serving
from tests.sidecar.data import METRIC, SCRAPE, generate
from tests.sidecar.expected import labels
from tests.sidecar.fakeprom import FakePrometheus
from tests.sidecar.pair import Clock, Pair, paired, published

T_END = 1_700_000_000.0
SCRAPES = 600  # 2.5 hours up to T_END
FIRST = T_END - 1215.0  # the first cycle; the cycle times below are on the scrape grid
MINUTE = 60_000  # ms
LATENCY = f'{{__name__=~"{METRIC}_sum|{METRIC}_count",error_type=""}}'
EVERYTHING = f'{{__name__=~"{METRIC}_sum|{METRIC}_count"}}'
SUCCESS = f'{{__name__=~"{METRIC}_sum|{METRIC}_count",error_type!="timeout"}}'
# Windows of 91 minutes, in 20-minute pieces: 5 queries each for a whole fetch. One chart
# reads every series of the histogram into one chart series; a pinned one needs only 11
# minutes (its judgement looks at the points just before its window: 1 minute of lookback).
CONFIG = f"""
global: {{lookback: 1m, overlap: 1m, max_range: 20m}}
charts:
  - {{name: latency, metric: {METRIC}, selector: '{{error_type=""}}', by: [target],
      evaluation: 30m, baseline: 1h, usl: 3s, ewma: true, cusum: true}}
  - {{name: pinned, metric: {METRIC}, selector: '{{error_type!="timeout"}}', by: [target],
      evaluation: 10m, baseline: {{center: 1.5s, sigma: 0.3}}}}
  - {{name: all, metric: {METRIC}, evaluation: 30m, baseline: 1h, min_points: 5}}
"""
WHOLE = 11


def _run(
    clock: Clock,
    body: Callable[[Pair, tuple[FakePrometheus, ...]], Awaitable[None]],
    load: Callable[[], SidecarConfig] = lambda: load_text(CONFIG, "t.yml"),
    *,
    delay: float = 0.0,
    left_open: bool = False,
) -> None:
    async def run() -> None:
        fleet = generate(T_END, SCRAPES)
        fakes = tuple(
            FakePrometheus(fleet, clock, delay=delay, left_open=left_open) for _ in range(2)
        )
        async with (
            serving(fakes[0].route) as one,
            serving(fakes[1].route) as two,
            paired((one.url, two.url), clock, load) as pair,
        ):
            await body(pair, fakes)

    asyncio.run(run())


@pytest.mark.parametrize(
    ("delay", "left_open"),
    [(0.0, False), (20.0, False), (0.0, True)],
    ids=["prometheus-2", "stored-20s-late", "left-open-ranges"],
)
def test_cycles_with_the_cache_publish_what_whole_fetches_publish(
    delay: float, left_open: bool
) -> None:
    restart = next(s for s in generate(T_END, SCRAPES) if s.labels["target"] == "restart")
    counts = [(sc.ts, sc.count) for sc in restart.scrapes]
    reset = next(t for (_, a), (t, b) in itertools.pairwise(counts) if b < a and t > FIRST)
    # 30 s cycles on the grid; the last sample of one is the last before a counter reset.
    times = [FIRST + 30.0 * i for i in range(40)]
    assert reset - SCRAPE in times and reset + SCRAPE in times
    # Then the clock stands still, moves off the grid, and jumps by more than max_range.
    times += [times[-1], times[-1] + 7.123, times[-1] + 52.123, times[-1] + 1552.123]
    clock = Clock(FIRST - 60.0)

    async def body(pair: Pair, _fakes: tuple[FakePrometheus, ...]) -> None:
        flagged = 0.0
        for i, now in enumerate(times):
            clock.now = now
            queries, whole = await pair.cycle()
            assert whole == WHOLE
            if i == 0:
                assert len(queries) == WHOLE
                continue
            at = round(now * 1000)
            span = at - round(times[i - 1] * 1000) + MINUTE  # since the last end - overlap
            if span <= 20 * MINUTE:
                assert sorted(queries) == sorted(
                    (s, at, span) for s in (LATENCY, EVERYTHING, SUCCESS)
                )
            else:  # the news of 26 minutes, in two pieces; the pinned chart's 11 whole
                assert sorted(q[2] for q in queries if q[0] == SUCCESS) == [11 * MINUTE]
                assert len(queries) == 5
            flagged += sum(
                v
                for (name, _), v in published(pair.cached).items()
                if name == "llmscope_spc_violations_total"
            )
        # The cycles judged something worth comparing.
        assert flagged > 0
        key = ("llmscope_spc_last_subgroup_size", labels(chart="latency", target="traffic"))
        assert published(pair.cached)[key] > 1

    _run(clock, body, delay=delay, left_open=left_open)


def test_a_failed_fetch_makes_the_next_one_whole_again() -> None:
    clock = Clock(FIRST)

    async def body(pair: Pair, fakes: tuple[FakePrometheus, ...]) -> None:
        assert len((await pair.cycle())[0]) == WHOLE
        clock.now += 30.0
        assert len((await pair.cycle())[0]) == 3
        for fake in fakes:
            fake.failing = True
        clock.now += 30.0
        await pair.cycle(ok=False)
        for fake in fakes:
            fake.failing = False
        clock.now += 30.0
        assert len((await pair.cycle())[0]) == WHOLE
        clock.now += 30.0
        assert len((await pair.cycle())[0]) == 3

    _run(clock, body)


def test_a_reload_that_lengthens_a_window_fetches_it_whole_and_a_shorter_one_does_not() -> None:
    clock = Clock(FIRST)
    texts = [CONFIG]

    def reload(pair: Pair, text: str) -> None:
        texts[0] = text
        for sidecar in (pair.cached, pair.whole):
            assert sidecar.reload() is None

    async def body(pair: Pair, _fakes: tuple[FakePrometheus, ...]) -> None:
        assert len((await pair.cycle())[0]) == WHOLE
        reload(pair, CONFIG.replace("baseline: 1h, usl", "baseline: 90m, usl"))
        clock.now += 30.0
        queries, _ = await pair.cycle()
        # The latency selector whole again (121 minutes: 7 pieces); the other only the news.
        assert len([q for q in queries if q[0] == LATENCY]) == 7
        assert sorted(q[2] for q in queries if q[0] != LATENCY) == [90_000, 90_000]
        reload(
            pair,
            CONFIG.replace(
                "evaluation: 30m, baseline: 1h, min", "evaluation: 10m, baseline: 1h, min"
            ),
        )
        clock.now += 30.0
        assert sorted(q[2] for q in (await pair.cycle())[0]) == [90_000] * 3

    _run(clock, body, lambda: load_text(texts[0], "t.yml"))
