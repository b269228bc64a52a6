"""The query stage of a cycle: which raw samples each chart needs, fetched once per selector.

One ``/api/v1/query`` per histogram and window piece, never one per series. All charts of a
selector share one window fetch, from the earliest start any of them needs; each chart then
reads its own part. The window's samples are kept between cycles (``samplecache``), so a
later cycle asks only for what is new since the previous one, which is one query; the first
cycle, and any after a failed fetch or a reload that lengthens a window, fetch the whole
range, cut into ``max_range`` pieces that ``points.stitch`` joins again. A fixed-range
baseline is fetched on its own, once and again every ``baseline_refresh``.

Each piece is decoded as soon as it arrives (``Decoder``), in a worker thread, while
Prometheus is still answering the others: its time and the sidecar's overlap.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.config.selector import render_selector
from spc_rules.sidecar.config.windows import fetch_start
from spc_rules.sidecar.query import samplecache
from spc_rules.sidecar.query.decode import Body, DecodeError, RawSeries, decode_matrix
from spc_rules.sidecar.query.points import Points, SeriesKey, stitch
from spc_rules.sidecar.query.promapi import PromClient, QueryError, pieces_ms
from spc_rules.sidecar.query.samplecache import Held

Answer = list[RawSeries] | QueryError
# One fetch's pieces, each decoded, newest first; or the first error among them.
Pieces = list[list[RawSeries]] | QueryError
# A chart's raw series, one list per selector of ``selectors_of`` (a histogram has one; a p
# chart its numerator's and its denominator's), or the first error among them.
Parts = tuple[list[RawSeries], ...] | QueryError


@dataclass(frozen=True)
class Fetch:
    """Raw samples of one selector over [start_ms, end_ms], unix milliseconds."""

    selector: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class WindowFetch:
    """One selector's window this cycle: the query, and what the cache holds afterwards."""

    query: Fetch
    start_ms: int  # the earliest sample a chart of this selector needs
    held: Held | None  # the cache the query extends; None: the query replaces it


@dataclass(frozen=True)
class Plan:
    windows: dict[str, WindowFetch]  # by selector
    charts: dict[str, tuple[tuple[str, ...], int]]  # chart -> (its selectors, its start_ms)
    baselines: dict[str, tuple[Fetch, ...]]  # chart -> its fixed-range baseline, when due

    def queries(self) -> set[Fetch]:
        fixed = {f for fetches in self.baselines.values() for f in fetches}
        return {w.query for w in self.windows.values()} | fixed


@dataclass(frozen=True)
class CachedBaseline:
    """A fixed-range baseline's points, fetched at ``fetched_at`` for ``chart``."""

    chart: ChartConfig
    fetched_at: float
    points: dict[SeriesKey, Points]


@dataclass(frozen=True)
class Samples:
    """A cycle's decoded answers: the cache after it, and the raw series of every chart."""

    held: dict[str, Held]  # by selector, for the fetches that succeeded
    windows: dict[str, Parts]  # by chart
    baselines: dict[str, Parts]  # by chart, the fixed-range baselines fetched


def selector_of(chart: ChartConfig) -> str:
    """The selector of a histogram chart: its _sum and _count at once."""
    return render_selector((f"{chart.metric}_sum", f"{chart.metric}_count"), chart.matchers)


def selectors_of(chart: ChartConfig) -> tuple[str, ...]:
    """What a chart reads: its histogram, or a p chart's numerator and denominator."""
    p = chart.proportion
    return (selector_of(chart),) if p is None else (p.numerator.render(), p.denominator.render())


def plan(
    config: SidecarConfig,
    now: float,
    cached: Mapping[str, CachedBaseline],
    held: Mapping[str, Held],
    effective: Callable[[ChartConfig], ChartConfig] | None = None,
) -> Plan:
    """Every selector's window query (only the news where ``held`` allows), and the
    fixed-range baselines due for a (re)fetch. ``effective`` gives the windows a chart is
    judged with (``ViolationLedger.effective``: stretched for sparse points)."""
    end_ms = round(now * 1000)  # the cycle's time is whole milliseconds
    overlap_ms = round(config.overlap * 1000)
    charts: dict[str, tuple[tuple[str, ...], int]] = {}
    baselines: dict[str, tuple[Fetch, ...]] = {}
    for chart in config.charts:
        selectors = selectors_of(chart)
        # Durations in whole milliseconds: the same range every cycle, whatever the float.
        judged = effective(chart) if effective is not None else chart
        span_ms = round((now - fetch_start(judged, now, config.lookback)) * 1000)
        charts[chart.name] = (selectors, end_ms - span_ms)
        base = chart.baseline
        known = cached.get(chart.name)
        fixed = base.fixed_range
        if fixed is not None and (
            known is None
            or known.chart != chart
            or now - known.fetched_at >= config.baseline_refresh
        ):
            first = math.floor((fixed[0] - config.lookback) * 1000)
            last = math.ceil(fixed[1] * 1000)
            baselines[chart.name] = tuple(Fetch(s, first, last) for s in selectors)
    windows: dict[str, WindowFetch] = {}
    for selector in sorted({s for ss, _ in charts.values() for s in ss}):
        start_ms = min(start for ss, start in charts.values() if selector in ss)
        known_held = held.get(selector)
        first = samplecache.query_range(known_held, start_ms, end_ms, overlap_ms)
        incremental = known_held if first > start_ms else None
        windows[selector] = WindowFetch(Fetch(selector, first, end_ms), start_ms, incremental)
    return Plan(windows, charts, baselines)


class Decoder:
    """Decodes each answer as it arrives, one at a time in a worker thread (they hold the GIL
    and a body's worth of memory each), and counts the seconds that took: the cycle's
    decode stage, though spent while other queries were still out."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._one = asyncio.Lock()

    async def __call__(self, body: Body) -> list[RawSeries]:
        async with self._one:
            start = time.perf_counter()
            try:
                return await asyncio.to_thread(decode_matrix, body)
            finally:
                self.seconds += time.perf_counter() - start


async def query(
    client: PromClient,
    config: SidecarConfig,
    fetches: set[Fetch],
    receive: Callable[[Body], Awaitable[list[RawSeries]]],
) -> dict[Fetch, Pieces]:
    """The pieces of every fetch, each handed to ``receive`` (a ``Decoder``) as it arrives,
    or the first error of its pieces; a malformed answer is a ``bad_response``."""
    gate = asyncio.Semaphore(config.max_concurrent_queries)

    async def piece(selector: str, at: int, span: int) -> list[RawSeries]:
        async with gate:
            body = await client.raw_samples(selector, at, span)
        try:
            return await receive(body)
        except DecodeError as err:
            raise QueryError("bad_response", f"cannot decode the answer: {err}") from None

    async def fetch(f: Fetch) -> Pieces:
        parts = pieces_ms(f.start_ms, f.end_ms, config.max_range)
        got = await asyncio.gather(
            *(piece(f.selector, at, span) for at, span in parts), return_exceptions=True
        )
        for item in got:
            if isinstance(item, QueryError):
                return item
            if isinstance(item, BaseException):
                raise item
        return [p for p in got if not isinstance(p, BaseException)]

    ordered = sorted(fetches, key=lambda f: (f.selector, f.start_ms, f.end_ms))
    results = await asyncio.gather(*(fetch(f) for f in ordered))
    return dict(zip(ordered, results, strict=True))


def decode(pieces: Pieces) -> Answer:
    """The stitched series of one fetch."""
    if isinstance(pieces, QueryError):
        return pieces
    return stitch(s for piece in pieces for s in piece)


def collect(plan: Plan, answers: Mapping[Fetch, Pieces]) -> Samples:
    """Stitch every answer once, extend the cache with the window answers, and cut out each
    chart's part. A selector whose fetch failed leaves the cache: its next fetch is whole
    again, which also picks up samples a remote-write client delivers late after an outage."""
    held: dict[str, Held] = {}
    selectors: dict[str, Answer] = {}
    for selector, w in plan.windows.items():
        got = decode(answers[w.query])
        if not isinstance(got, QueryError):
            held[selector] = samplecache.update(
                w.held, got, w.query.start_ms, w.start_ms, w.query.end_ms
            )
        selectors[selector] = got
    windows: dict[str, Parts] = {}
    for name, (chart_selectors, start_ms) in plan.charts.items():
        windows[name] = _parts(
            [
                got if isinstance(got, QueryError) else samplecache.since(held[s], start_ms)
                for s in chart_selectors
                for got in (selectors[s],)
            ]
        )
    baselines = {
        name: _parts([decode(answers[f]) for f in fs]) for name, fs in plan.baselines.items()
    }
    return Samples(held, windows, baselines)


def _parts(answers: list[Answer]) -> Parts:
    """A chart's answers, one per selector, or the first error among them."""
    for got in answers:
        if isinstance(got, QueryError):
            return got
    return tuple(got for got in answers if not isinstance(got, QueryError))
