"""The running sidecar: evaluation cycles, stale results on failure, backoff, reloads.

A cycle has three stages, timed separately: query (``fetching``: what is new in each
selector's window since the last cycle, or the whole window in pieces when nothing usable is
cached), decode (JSON to the cache, then points; each answer as it arrives, while the others
are still out) and compute (the engine), the last two in a worker thread, so the event loop
keeps serving signals and reloads; a stop cancels a cycle.

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
from collections.abc import Callable

import httpx

from servicekit.errors import ConfigError
from servicekit.httpclient import NO_SETTINGS, ClientSettings
from spc_rules.sidecar import heap, stages
from spc_rules.sidecar.config.loader import SidecarConfig
from spc_rules.sidecar.config.windows import backoff
from spc_rules.sidecar.failures import FailureLog
from spc_rules.sidecar.incidents.engine import Failures, IncidentEngine
from spc_rules.sidecar.incidents.identity import TargetInfo, fetch_host_cpu, fetch_info
from spc_rules.sidecar.incidents.movements import any_moving
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.progress import ChartProgress
from spc_rules.sidecar.publish import SidecarCollector
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.fetching import CachedBaseline
from spc_rules.sidecar.query.promapi import PromClient
from spc_rules.sidecar.query.samplecache import Held
from spc_rules.sidecar.shard import WHOLE, Shard

log = logging.getLogger("llmscope.spc")

ConfigLoader = Callable[[], SidecarConfig]


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
        http: ClientSettings = NO_SETTINGS,
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
            max_bytes=self.config.max_answer_bytes,
            transport=transport,
            http=http,
        )
        self._baselines: dict[str, CachedBaseline] = {}
        # Window samples kept between cycles (samplecache.py); off: every cycle fetches all.
        self._cache_samples = cache_samples
        self._held: dict[str, Held] = {}
        self.failures = FailureLog(self.client.base_url)
        self.incidents = IncidentEngine(self.config.incidents)
        self._info = TargetInfo()
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
        self.client.max_bytes = config.max_answer_bytes
        self.incidents.configure(config.incidents)  # the incidents under way go on
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
            if self.failures.failed_cycles:
                delay = backoff(self.failures.failed_cycles, self.interval)
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
            self.failures.failed_cycles += 1

    async def cycle(self) -> bool:
        """One evaluation of every chart; True when every chart was evaluated."""
        config = self.config
        now = round(self.clock(), 3)
        health = self.collector.health
        t0 = time.perf_counter()
        failures = self.failures
        with heap.collected_at_end():  # its time counts in the compute stage
            plan = fetching.plan(config, now, self._baselines, self._held, self.ledger.effective)
            decoder = fetching.Decoder()
            answers = await fetching.query(self.client, config, plan.queries(), decoder)
            t1 = time.perf_counter()
            use = stages.Stages(self.shard, self.progress, self.ledger, failures.broke)
            decoded = await asyncio.to_thread(use.decode, config, plan, answers)
            self._held = decoded.held if self._cache_samples else {}
            t2 = time.perf_counter()
            cached = dict(self._baselines)
            computed = await asyncio.to_thread(use.compute, config, now, decoded.points, cached)
            self._publish(computed)
            heap.fit_to(sum(len(v.result.keys) for v in computed.views.values()))
            await self._incidents(now, decoded.failures)
        t3 = time.perf_counter()
        failed = failures.cycle_ended(decoded.errors)
        current = {c.name for c in self.config.charts}
        chart_up = {n: health.chart_up.get(n, False) for n in sorted(current)}
        chart_up.update({c.name: c.name not in failed for c in config.charts if c.name in current})
        health.chart_up = chart_up
        # Answers decoded while others were still out count as decode: the query stage is
        # the wait on Prometheus that decoding did not hide, and the stages sum to the cycle.
        overlap = decoder.seconds
        health.stage_seconds.update(
            query=t1 - t0 - overlap, decode=t2 - t1 + overlap, compute=t3 - t2
        )
        health.cycles += 1
        for err in {id(e): e for e in decoded.errors.values()}.values():
            health.query_errors[err.reason] += 1
        health.up = not failed
        return not failed

    async def _incidents(self, now: float, failures: Failures) -> None:
        """Group this cycle's episodes into incidents (docs/incidents.md)."""
        at_ms = round(now * 1000)
        cpu = None
        # Context is read only while something moves: a calm cycle asks nothing more.
        if any_moving(self.collector.views, failures):
            info = await fetch_info(self.client, at_ms, round(self.config.lookback * 1000))
            if info is not None:
                self._info = info
            # The newest minute of the host CPU: a saturated probing host is our side.
            cpu = await fetch_host_cpu(self.client, at_ms, 60_000)
        self.incidents.update(now, self.collector.views, failures, self._info, cpu)
        self.collector.incidents = self.incidents.incidents()
        self.collector.incidents_opened = self.incidents.opened()

    def _publish(self, computed: stages.Computed) -> None:
        """Apply a cycle's results; a reload during the cycle may have removed charts."""
        current = {c.name for c in self.config.charts}
        self.ledger.retain(current)
        self.progress.retain(current)
        self.collector.health.matches_nothing = dict(self.progress.matches_nothing)
        self._baselines = {
            k: v for k, v in {**self._baselines, **computed.baselines}.items() if k in current
        }
        views = {**self.collector.views, **computed.views}
        self.collector.views = {k: v for k, v in views.items() if k in current}
