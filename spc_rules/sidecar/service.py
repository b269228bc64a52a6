"""The running sidecar: evaluation cycles, stale results on failure, backoff, reloads.

A cycle has three stages, timed separately: query (``fetching``: what is new in each
selector's window since the last cycle, or the whole window in pieces when nothing usable is
cached), decode (JSON to the cache, then points) and compute (the engine), the last two in a
worker thread, so the event loop keeps serving signals and reloads; a stop cancels a cycle.

Each chart stands alone: one whose query fails, or whose evaluation raises (a bug, logged
once with its traceback), keeps serving its last good results, which then age; its
``llmscope_spc_chart_up`` is 0, and ``llmscope_spc_up`` until every chart succeeds again.
After a cycle with failed queries the next one comes sooner (1s, 2s, 4s ... up to the
interval). Each kind of query failure is logged once when it starts, and the recovery once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from servicekit.errors import ConfigError
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.windows import backoff
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.judge.evaluate import live_series
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.publish import SidecarCollector
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.counters import points_of
from spc_rules.sidecar.query.fetching import CachedBaseline, Fetch, Plan
from spc_rules.sidecar.query.points import Points, SeriesKey
from spc_rules.sidecar.query.promapi import PromClient, QueryError
from spc_rules.sidecar.query.samplecache import Held
from spc_rules.sidecar.shard import WHOLE, Shard

log = logging.getLogger("llmscope.spc")

ConfigLoader = Callable[[], SidecarConfig]
# (chart name, "window" or "baseline") -> the chart's points
ChartPoints = dict[tuple[str, str], dict[SeriesKey, Points]]


@dataclass(frozen=True)
class _Computed:
    """What the compute stage produced, applied on the event loop afterwards."""

    views: dict[str, ChartView] = field(default_factory=dict)
    baselines: dict[str, CachedBaseline] = field(default_factory=dict)


class Sidecar:
    def __init__(
        self,
        load: ConfigLoader,
        prometheus_url: str,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_samples: bool = True,
    ) -> None:
        self._load = load
        self.shard: Shard = WHOLE  # the chart series judged here: --shard, set before run
        self._interval_flag = interval
        self.clock = clock
        self.collector = SidecarCollector(clock)
        # Flagged points up to now were counted by a previous run, if any (ledger.py).
        self.ledger = ViolationLedger(counted_after=clock())
        self.progress = ChartProgress()
        self.config = load()
        self.client = PromClient(
            prometheus_url,
            timeout=self.config.query_timeout,
            compression=self.config.compression,
            transport=transport,
        )
        self._baselines: dict[str, CachedBaseline] = {}
        # Window samples kept between cycles (samplecache.py); off: every cycle fetches all.
        self._cache_samples = cache_samples
        self._held: dict[str, Held] = {}
        self._failed_cycles = 0
        self._failing: set[str] = set()  # kinds of query failure of the last cycle
        self._broken: set[str] = set()  # charts whose evaluation raised in the last cycle
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._stopping = False
        self._apply(self.config)

    @property
    def interval(self) -> float:
        return self._interval_flag or self.config.interval

    async def aclose(self) -> None:
        await self.client.aclose()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()

    def reload(self) -> str | None:
        """Load the config again; on error keep the running one. Returns the error, if any."""
        try:
            config = self._load()
        except ConfigError as err:
            self.collector.health.reload_ok = False
            log.error(
                "reload failed, keeping the running configuration: %s", str(err).replace("\n", "; ")
            )
            return str(err)
        self._apply(config)
        n = len(config.charts)
        log.info("configuration reloaded from %s: %d chart%s", config.source, n, "s"[: n != 1])
        self._wake.set()  # evaluate the new charts now
        return None

    def _apply(self, config: SidecarConfig) -> None:
        # The ledger is left to the end of the next cycle: a cycle in flight may be using it.
        self.config = config
        self.client.timeout = config.query_timeout
        self.client.compression = config.compression
        names = {c.name for c in config.charts}
        self._baselines = {k: v for k, v in self._baselines.items() if k in names}
        self.collector.views = {k: v for k, v in self.collector.views.items() if k in names}
        health = self.collector.health
        health.chart_up = {n: health.chart_up.get(n, False) for n in sorted(names)}
        health.reload_ok = True
        health.reload_time = time.time()

    async def run(self) -> None:
        """Cycle every interval until stop(); after failed queries, retry with backoff."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            started = loop.time()
            # Cleared before the cycle: a reload or stop during it must not wait an interval.
            self._wake.clear()
            await self._cycle_until_stopped()
            if self._failed_cycles:
                delay = backoff(self._failed_cycles, self.interval)
            else:
                delay = self.interval - (loop.time() - started)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(delay, 0.0)):
                    await self._wake.wait()

    async def _cycle_until_stopped(self) -> None:
        cycle = asyncio.ensure_future(self.cycle())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({cycle, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not cycle.done():  # stopping: the results of this cycle are not needed
            cycle.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cycle
            return
        try:
            cycle.result()
        except Exception:  # a bug must not stop the sidecar serving its last results
            log.exception("evaluation cycle failed")
            self.collector.health.up = False
            self._failed_cycles += 1

    async def cycle(self) -> bool:
        """One evaluation of every chart; True when every chart was evaluated."""
        config = self.config
        now = round(self.clock(), 3)
        health = self.collector.health
        t0 = time.perf_counter()
        plan = fetching.plan(config, now, self._baselines, self._held)
        bodies = await fetching.query(self.client, config, plan.queries())
        t1 = time.perf_counter()
        broken: set[str] = set()
        points, errors, held = await asyncio.to_thread(self._points, config, plan, bodies, broken)
        self._held = held if self._cache_samples else {}
        t2 = time.perf_counter()
        cached = dict(self._baselines)
        computed = await asyncio.to_thread(self._compute, config, now, points, cached, broken)
        # A reload during the cycle may have removed charts this cycle evaluated.
        current = {c.name for c in self.config.charts}
        self.ledger.retain(current)
        self.progress.retain(current)
        health.matches_nothing = dict(self.progress.matches_nothing)
        self._baselines = {
            k: v for k, v in {**self._baselines, **computed.baselines}.items() if k in current
        }
        views = {**self.collector.views, **computed.views}
        self.collector.views = {k: v for k, v in views.items() if k in current}
        t3 = time.perf_counter()
        failed = set(errors) | broken
        chart_up = {n: health.chart_up.get(n, False) for n in sorted(current)}
        chart_up.update({c.name: c.name not in failed for c in config.charts if c.name in current})
        health.chart_up = chart_up
        health.stage_seconds.update(query=t1 - t0, decode=t2 - t1, compute=t3 - t2)
        health.cycles += 1
        for err in {id(e): e for e in errors.values()}.values():
            health.query_errors[err.reason] += 1
        self._report(errors)
        self._report_broken(broken)
        health.up = not failed
        return not failed

    def _points(
        self,
        config: SidecarConfig,
        plan: Plan,
        bodies: dict[Fetch, list[bytes] | QueryError],
        broken: set[str],
    ) -> tuple[ChartPoints, dict[str, QueryError], dict[str, Held]]:
        """Decode every fetch once, then rebuild each chart's points from it (worker thread)."""
        samples = fetching.collect(plan, bodies)
        charts = {c.name: c for c in config.charts}
        points: ChartPoints = {}
        errors: dict[str, QueryError] = {}
        answers = [((n, "window"), got) for n, got in samples.windows.items()]
        answers += [((n, "baseline"), got) for n, got in samples.baselines.items()]
        for (name, purpose), got in answers:
            if isinstance(got, QueryError):
                errors.setdefault(name, got)
            elif name not in broken:
                chart = charts[name]
                try:
                    report = self.progress.malformed(name)
                    points[(name, purpose)] = points_of(chart, self.shard.parts(got, chart), report)
                except Exception:
                    self._broke(name, broken)
        # A chart is evaluated only when all its fetches (window, baseline) came back.
        return {k: v for k, v in points.items() if k[0] not in errors}, errors, samples.held

    def _compute(
        self,
        config: SidecarConfig,
        now: float,
        points: ChartPoints,
        cached: Mapping[str, CachedBaseline],
        broken: set[str],
    ) -> _Computed:
        """Judge every chart whose points are here (worker thread; the ledger is only ever
        used by one cycle at a time)."""
        out = _Computed()
        for chart in config.charts:
            if (chart.name, "window") not in points:
                continue
            try:
                fresh = points.get((chart.name, "baseline"))
                if fresh is not None:
                    out.baselines[chart.name] = CachedBaseline(chart, now, fresh)
                known = cached.get(chart.name)
                baseline = fresh if fresh is not None else known.points if known else None
                live = live_series(chart, points[(chart.name, "window")], now, config.lookback)
                result, violations = self.ledger.judge(chart, live, now, baseline)
                out.views[chart.name] = ChartView(result, violations)
                self.progress.observe(result, now)
            except Exception:
                out.baselines.pop(chart.name, None)
                self._broke(chart.name, broken)
        return out

    def _broke(self, name: str, broken: set[str]) -> None:
        """Note a chart whose evaluation raised; log the traceback when it starts failing."""
        if name not in self._broken:
            log.exception("chart %s: evaluation failed; serving its last good results", name)
        broken.add(name)

    def _report_broken(self, broken: set[str]) -> None:
        for name in sorted(self._broken - broken):
            log.info("chart %s: evaluated again", name)
        self._broken = broken

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
