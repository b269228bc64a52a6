"""The running exporter: config, scheduler, probes, metrics and reloads wired together."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Gauge

from exporter.accounting.budget import BudgetGuard
from exporter.accounting.pricing import price_for, probe_spend, shipped_table
from exporter.canary.book import CanaryBook
from exporter.canary.jobs import CanaryJob, canary_jobs
from exporter.canary.state import StateFile
from exporter.collectors import Collectors, EnergyRecorder, register
from exporter.config.keys import missing_key
from exporter.config.types import Config, TargetConfig
from exporter.metrics.canary import CanaryCollector
from exporter.metrics.identity import ModelIdentity
from exporter.metrics.probes import ProbeMetrics
from exporter.probing.harness import ProbeResult, run_probe
from exporter.probing.scheduler import Scheduler
from exporter.probing.workload import probe_prompt
from exporter.providers.protocol import ProbeContext, Recall
from exporter.providers.table import PROVIDERS
from exporter.transport.client import ProbeClient
from servicekit.cli import count
from servicekit.logs import SECRETS

log = logging.getLogger("llmscope.exporter")

ConfigLoader = Callable[[], Config]
_LOGGED_ONCE = {"auth": "authentication refused", "invalid_url": "the request URL cannot be used"}


class Exporter:
    """Owns the shared HTTP client and the scheduler; ``apply`` swaps configurations."""

    def __init__(
        self,
        load: ConfigLoader,
        registry: CollectorRegistry,
        *,
        environ: Mapping[str, str] = os.environ,
        client: ProbeClient | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._load = load
        self._environ = environ
        self.metrics = ProbeMetrics()
        registry.register(self.metrics)
        self.identity = ModelIdentity()
        registry.register(self.identity)
        self._reload_ok = Gauge(
            "llmscope_config_last_reload_successful",
            "Whether the last configuration reload succeeded.",
            registry=registry,
        )
        self._reload_time = Gauge(
            "llmscope_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
            registry=registry,
        )
        self._client = client
        self._scheduler: Scheduler | None = None
        self._config: Config | None = None
        self._keys: dict[str, str | None] = {}
        self._logged_once: set[tuple[str, str]] = set()  # (target, reason) already logged
        self._recalls: dict[str, Recall] = {}  # per probe target: its look-ups after a probe
        self._registry = registry
        self._collectors: Collectors | None = None
        self.energy = EnergyRecorder(registry, None)
        self._budget = BudgetGuard(wall_clock)
        self._paused: set[str] = set()
        self._canary_scheduler: Scheduler | None = None
        self._canary_jobs: dict[str, CanaryJob] = {}
        self.canaries: CanaryBook | None = None

    @property
    def config(self) -> Config:
        assert self._config is not None
        return self._config

    async def start(self) -> None:
        config = self._load()
        # Collector settings and max_concurrency are read at start only (a restart applies
        # them). NVML start-up and the price table's parse block: keep them off the loop.
        self._collectors = await asyncio.to_thread(register, self._registry, config.collectors)
        self.energy.meter = self._collectors.energy_meter
        await asyncio.to_thread(shipped_table)
        # One probe client for all targets (docs/exporter.md): it keeps each target's
        # connection between probes and shares one TLS context and the proxy settings.
        self._client = self._client or ProbeClient(environ=self._environ)
        self._scheduler = Scheduler(
            self._probe,
            max_concurrency=config.max_concurrency,
            on_lateness=lambda t, s: self.metrics.observe_lateness(t.name, s),
            on_skip=lambda t, n: self.metrics.count_skipped(t.name, n),
        )
        state = StateFile(config.canary_state_file)
        self.canaries = CanaryBook(await asyncio.to_thread(state.load), state)
        self._registry.register(CanaryCollector(self.canaries))
        self._canary_scheduler = Scheduler(
            self._canary_probe, max_concurrency=config.max_concurrency
        )
        self._apply(config)

    async def stop(self) -> None:
        if self._scheduler is not None:
            await self._scheduler.stop()
        if self._canary_scheduler is not None:
            await self._canary_scheduler.stop()
        if self._client is not None:
            self._client.close()
        if self._collectors is not None:
            self._collectors.stop()

    async def reload(self) -> str | None:
        """Load the config again; on error keep the running one. Returns the error, if any."""
        try:
            # Loading may block (the built-in config asks whether Ollama answers).
            config = await asyncio.to_thread(self._load)
        except Exception as err:  # ConfigError, or anything a bad file provokes
            self._reload_ok.set(0)
            log.error(
                "reload failed, keeping the running configuration: %s", str(err).replace("\n", "; ")
            )
            return str(err)
        self._apply(config)
        log.info(
            "configuration reloaded from %s: %s",
            config.source,
            count(len(config.targets), "target"),
        )
        return None

    def _apply(self, config: Config) -> None:
        assert self._scheduler is not None
        old = {t.name for t in self._config.targets} if self._config else set()
        for gone in old - {t.name for t in config.targets}:
            self.energy.forget(gone)
            self._paused.discard(gone)
            if self._client is not None:
                self._client.drop(gone)
        self._config = config
        self._logged_once.clear()
        self._recalls.clear()  # look-ups after a probe start afresh: a target may have moved
        active: list[TargetConfig] = []
        self.metrics.declare(
            (t, PROVIDERS[t.provider].semconv_name, PROVIDERS[t.provider].endpoint(t))
            for t in config.targets
        )
        self.identity.declare(t.name for t in config.targets)
        for target in config.targets:
            self._api_key(target)
            why = missing_key(target, self._environ)
            if why is not None:
                log.warning("target %s is idle: %s", target.name, why)
                self.metrics.set_idle(target.name, "missing_api_key")
                continue
            self._publish_budget(target)
            active.append(target)
        self._scheduler.update(active)
        self._apply_canaries(active)
        self._reload_ok.set(1)
        self._reload_time.set(time.time())

    def _apply_canaries(self, active: list[TargetConfig]) -> None:
        assert self._canary_scheduler is not None
        assert self.canaries is not None
        self._canary_jobs = canary_jobs(active)
        self.canaries.configure((j.parent.name, j.canary) for j in self._canary_jobs.values())
        self._canary_scheduler.update(j.probe_target for j in self._canary_jobs.values())

    def _publish_budget(self, target: TargetConfig) -> None:
        """Budget state survives a reload: the day's count and a pause stay as they were."""
        paused = target.name in self._paused and target.budget is not None
        self.metrics.set_idle(target.name, "budget_exhausted" if paused else None)
        if target.budget is None:
            return
        self.metrics.set_paused(target.name, paused)
        self.metrics.set_spent(target.name, *self._budget.spent(target.name))
        if target.budget.daily_usd is not None and price_for(target) is None:
            log.warning(
                "target %s: budget.daily_usd cannot apply, no price is known for %s %s "
                "(add a pricing block)",
                target.name,
                target.provider,
                target.model,
            )

    def _api_key(self, target: TargetConfig) -> str | None:
        if not target.api_key_env:
            return None
        value = self._environ.get(target.api_key_env, "")
        key = value if value.strip() else None  # empty or blank: no key (missing_key says so)
        if key:
            SECRETS.add(key)
        self._keys[target.name] = key
        return key

    async def _probe(self, target: TargetConfig) -> float | None:
        assert self._client is not None
        if self._budget.exhausted(target.name, target.budget):
            self._pause(target)
            return None
        if target.name in self._paused:
            self._paused.discard(target.name)
            self.metrics.set_paused(target.name, False)
            self.metrics.set_idle(target.name, None)
        provider = PROVIDERS[target.provider]
        ctx = ProbeContext(
            client=self._client,
            target=target,
            prompt=probe_prompt(target),
            api_key=self._keys.get(target.name),
            max_body_bytes=self.config.max_body_bytes,
            recall=self._recalls.setdefault(target.name, Recall()),
        )
        with self.metrics.in_flight():
            # NVML calls block in C: keep them off the event loop that times the stream.
            start_j = await asyncio.to_thread(self.energy.before, target) if target.gpu else None
            result = await run_probe(provider, ctx)
            if start_j is not None:
                reported = result.success and not result.output_estimated
                tokens = result.output_tokens if reported else None
                await asyncio.to_thread(self.energy.after, target, start_j, tokens)
        self.metrics.record(target.name, result, self._charge(target, result))
        if self.identity.observe(target.name, result.served):
            log.warning("target %s: the model serving it changed: %s", target.name, result.served)
        self._log(target, result.reason, result.message)
        return result.retry_after

    def _log(self, target: TargetConfig, reason: str | None, message: str) -> None:
        """Failures that repeat unchanged until someone fixes the config or the key are
        logged once per target (again after a success or a reload); others every time."""
        if reason in _LOGGED_ONCE:
            if (target.name, reason) not in self._logged_once:
                self._logged_once.add((target.name, reason))
                log.error("target %s: %s: %s", target.name, _LOGGED_ONCE[reason], message)
        elif reason is not None:
            log.info("target %s: probe failed (%s): %s", target.name, reason, message)
        else:
            self._logged_once = {k for k in self._logged_once if k[0] != target.name}

    def _charge(self, target: TargetConfig, result: ProbeResult) -> dict[str, float] | None:
        """The probe's cost, charged to the target's daily budget (canary probes too)."""
        spend = probe_spend(
            target, result.input_tokens, result.output_tokens, result.cached_input_tokens
        )
        if target.budget is not None:
            tokens = (result.input_tokens or 0) + (result.output_tokens or 0)
            self._budget.charge(target.name, tokens, sum((spend or {}).values()))
            self.metrics.set_spent(target.name, *self._budget.spent(target.name))
        return spend

    async def _canary_probe(self, probe_target: TargetConfig) -> float | None:
        """One canary question: budget first, then the probe, the verdict and the state file."""
        job = self._canary_jobs.get(probe_target.name)
        if job is None or self._client is None or self.canaries is None:
            return None
        parent, name = job.parent, job.canary.name
        if self._budget.exhausted(parent.name, parent.budget):
            self._pause(parent)
            return None
        self.canaries.sent(parent.name, name)
        ctx = ProbeContext(
            client=self._client,
            target=probe_target,
            prompt=job.canary.prompt,  # fixed: no nonce, the same question every time
            api_key=self._keys.get(parent.name),
            max_body_bytes=self.config.max_body_bytes,
            recall=self._recalls.setdefault(probe_target.name, Recall()),
        )
        result = await run_probe(PROVIDERS[parent.provider], ctx)
        self._charge(parent, result)
        if result.success:
            self.canaries.observe(parent.name, name, result.answer_text)
            await asyncio.to_thread(self.canaries.save)
        else:
            log.info("target %s: canary %s failed (%s)", parent.name, name, result.reason)
        return result.retry_after

    def _pause(self, target: TargetConfig) -> None:
        """Send nothing; each slot checks again, so the target resumes on the new UTC day."""
        if target.name not in self._paused:
            self._paused.add(target.name)
            log.warning("target %s paused until 00:00 UTC: daily budget reached", target.name)
        self.metrics.set_paused(target.name, True)
        self.metrics.set_idle(target.name, "budget_exhausted")
