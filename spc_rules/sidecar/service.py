"""The running sidecar: evaluation cycles, stale results on failure, backoff, reloads.

A cycle has three stages, timed separately: query (every chart's window, one query per
histogram and window piece, identical fetches shared, several in flight), decode (JSON to
points) and compute (the engine). A chart whose query fails keeps serving its last good
results, which then age (``llmscope_spc_results_age_seconds``) while ``llmscope_spc_up`` is 0;
after a failed cycle the next one comes sooner (1s, 2s, 4s ... up to the interval), and the
first good cycle recovers. Each kind of failure is logged once when it starts, and the
recovery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from spc_rules.sidecar.config import SidecarConfig, SidecarConfigError
from spc_rules.sidecar.decode import DecodeError, RawSeries, decode_matrix
from spc_rules.sidecar.evaluate import evaluate, fetch_start
from spc_rules.sidecar.ledger import ViolationLedger
from spc_rules.sidecar.model import ChartConfig, RangeBaseline
from spc_rules.sidecar.points import Points, SeriesKey, chart_points, stitch
from spc_rules.sidecar.promapi import PromClient, QueryError, pieces
from spc_rules.sidecar.publish import ChartView, SidecarCollector
from spc_rules.sidecar.selector import render_selector

log = logging.getLogger("llmscope.spc")

ConfigLoader = Callable[[], SidecarConfig]


@dataclass(frozen=True)
class _Fetch:
    """Raw samples of one selector over [start, end]; charts with the same one share it."""

    selector: str
    start: float
    end: float


@dataclass(frozen=True)
class _Cached:
    chart: ChartConfig
    fetched_at: float
    points: dict[SeriesKey, Points]


class Sidecar:
    def __init__(
        self,
        load: ConfigLoader,
        prometheus_url: str,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._load = load
        self._interval_flag = interval
        self.clock = clock
        self.collector = SidecarCollector(clock)
        self.ledger = ViolationLedger()
        self.config = load()
        self.client = PromClient(
            prometheus_url,
            timeout=self.config.query_timeout,
            compression=self.config.compression,
            transport=transport,
        )
        self._baselines: dict[str, _Cached] = {}
        self._failed_cycles = 0
        self._failing: set[str] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._apply(self.config)

    @property
    def interval(self) -> float:
        return self._interval_flag or self.config.interval

    async def aclose(self) -> None:
        await self.client.aclose()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def reload(self) -> str | None:
        """Load the config again; on error keep the running one. Returns the error, if any."""
        try:
            config = self._load()
        except SidecarConfigError as err:
            self.collector.health.reload_ok = False
            log.error(
                "reload failed, keeping the running configuration: %s", str(err).replace("\n", "; ")
            )
            return str(err)
        self._apply(config)
        log.info("configuration reloaded from %s: %d charts", config.source, len(config.charts))
        self._wake.set()  # evaluate the new charts now
        return None

    def _apply(self, config: SidecarConfig) -> None:
        self.config = config
        self.client.timeout = config.query_timeout
        self.client.compression = config.compression
        names = {c.name for c in config.charts}
        self.ledger.retain(names)
        self._baselines = {k: v for k, v in self._baselines.items() if k in names}
        self.collector.views = {k: v for k, v in self.collector.views.items() if k in names}
        self.collector.health.reload_ok = True
        self.collector.health.reload_time = time.time()

    async def run(self) -> None:
        """Cycle every interval until stop(); a failed cycle is retried with backoff."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            try:
                ok = await self.cycle()
            except Exception:  # a bug must not stop the sidecar serving its last results
                log.exception("evaluation cycle failed")
                self.collector.health.up = False
                self._failed_cycles += 1
                ok = False
            if ok:
                delay = self.interval - (loop.time() - started)
            else:
                delay = backoff(self._failed_cycles, self.interval)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._wake.wait()

    async def cycle(self) -> bool:
        """One evaluation of every chart; True when every chart was evaluated."""
        config = self.config
        now = round(self.clock(), 3)
        health = self.collector.health
        t0 = time.perf_counter()
        plan = self._plan(config, now)
        bodies = await self._query(config, set(plan.values()))
        t1 = time.perf_counter()
        points, errors = self._points(config, plan, bodies)
        t2 = time.perf_counter()
        views = dict(self.collector.views)
        for chart in config.charts:
            if chart.name not in errors:
                baseline = self._baseline_points(chart, now, points.get((chart.name, "baseline")))
                result = evaluate(chart, points[(chart.name, "window")], now, baseline)
                views[chart.name] = ChartView(result, self.ledger.record(result))
        # A reload during the query stage may have removed charts this cycle evaluated.
        current = {c.name for c in self.config.charts}
        self.ledger.retain(current)
        self.collector.views = {k: v for k, v in views.items() if k in current}
        t3 = time.perf_counter()
        health.stage_seconds.update(query=t1 - t0, decode=t2 - t1, compute=t3 - t2)
        health.cycles += 1
        for err in {id(e): e for e in errors.values()}.values():
            health.query_errors[err.reason] += 1
        self._report(errors)
        health.up = not errors
        return not errors

    def _points(
        self,
        config: SidecarConfig,
        plan: dict[tuple[str, str], _Fetch],
        bodies: dict[_Fetch, list[bytes] | QueryError],
    ) -> tuple[dict[tuple[str, str], dict[SeriesKey, Points]], dict[str, QueryError]]:
        """Decode every fetch once, then rebuild each chart's points from it."""
        raw = {f: _decode(b) for f, b in bodies.items()}
        charts = {c.name: c for c in config.charts}
        points: dict[tuple[str, str], dict[SeriesKey, Points]] = {}
        errors: dict[str, QueryError] = {}
        for (name, purpose), fetch in plan.items():
            got = raw[fetch]
            if isinstance(got, QueryError):
                errors.setdefault(name, got)
            else:
                points[(name, purpose)] = chart_points(got, charts[name].metric, charts[name].by)
        return points, errors

    def _plan(self, config: SidecarConfig, now: float) -> dict[tuple[str, str], _Fetch]:
        plan: dict[tuple[str, str], _Fetch] = {}
        for chart in config.charts:
            selector = render_selector(
                (f"{chart.metric}_sum", f"{chart.metric}_count"), chart.matchers
            )
            start = fetch_start(chart, now, config.lookback)
            plan[(chart.name, "window")] = _Fetch(selector, start, now)
            base = chart.baseline
            cached = self._baselines.get(chart.name)
            if isinstance(base, RangeBaseline) and (
                cached is None
                or cached.chart != chart
                or now - cached.fetched_at >= config.baseline_refresh
            ):
                plan[(chart.name, "baseline")] = _Fetch(
                    selector, base.start - config.lookback, base.end
                )
        return plan

    async def _query(
        self, config: SidecarConfig, fetches: set[_Fetch]
    ) -> dict[_Fetch, list[bytes] | QueryError]:
        gate = asyncio.Semaphore(config.max_concurrent_queries)

        async def piece(selector: str, at: int, span: int) -> bytes:
            async with gate:
                return await self.client.raw_samples(selector, at, span)

        async def fetch(f: _Fetch) -> list[bytes] | QueryError:
            parts = pieces(f.start, f.end, config.max_range)
            got = await asyncio.gather(
                *(piece(f.selector, at, span) for at, span in parts), return_exceptions=True
            )
            for item in got:
                if isinstance(item, QueryError):
                    return item
                if isinstance(item, BaseException):
                    raise item
            return [b for b in got if isinstance(b, bytes)]

        ordered = sorted(fetches, key=lambda f: (f.selector, f.start, f.end))
        results = await asyncio.gather(*(fetch(f) for f in ordered))
        return dict(zip(ordered, results, strict=True))

    def _baseline_points(
        self, chart: ChartConfig, now: float, fresh: dict[SeriesKey, Points] | None
    ) -> dict[SeriesKey, Points] | None:
        """The fixed-range baseline of a chart: fetched this cycle, or cached."""
        if fresh is not None:
            self._baselines[chart.name] = _Cached(chart, now, fresh)
            return fresh
        cached = self._baselines.get(chart.name)
        return cached.points if cached is not None else None

    def _report(self, errors: dict[str, QueryError]) -> None:
        """Log a kind of failure when it begins, and the recovery when all have ended."""
        logged = set(self._failing)
        for name, err in errors.items():
            if err.reason not in logged:
                logged.add(err.reason)
                log.error(
                    "chart %s: query to %s failed (%s): %s; serving the last good results",
                    name,
                    self.client.base_url,
                    err.reason,
                    err,
                )
        if errors:
            self._failed_cycles += 1
        else:
            if self._failing:
                log.info(
                    "queries to %s succeed again after %d failed cycles",
                    self.client.base_url,
                    self._failed_cycles,
                )
            self._failed_cycles = 0
        self._failing = {err.reason for err in errors.values()}


def _decode(bodies: list[bytes] | QueryError) -> list[RawSeries] | QueryError:
    if isinstance(bodies, QueryError):
        return bodies
    try:
        return stitch(s for body in bodies for s in decode_matrix(body))
    except DecodeError as err:
        return QueryError("bad_response", f"cannot decode the answer: {err}")


def backoff(failed_cycles: int, interval: float) -> float:
    """Seconds before the next try after ``failed_cycles`` failures in a row: 1, 2, 4 ...,
    never longer than the interval."""
    return min(interval, 2.0 ** min(max(failed_cycles - 1, 0), 16))
