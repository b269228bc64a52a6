"""The exporter's probe metrics, as a client_python collector: fresh families at every scrape.

Recording updates plain per-target state (``series.py``) under a lock; a scrape renders it
through the family catalogue (``catalog.py``). Removing a target is deleting its entry.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from prometheus_client import disable_created_metrics
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from exporter.config.types import TargetConfig
from exporter.metrics.buckets import (
    DURATION_BUCKETS,
    GAP_BUCKETS,
    PHASE_BUCKETS,
    THROUGHPUT_BUCKETS,
    TOKEN_BUCKETS,
    TTFC_BUCKETS,
)
from exporter.metrics.catalog import families
from exporter.metrics.series import IDLE_REASONS, Histo, TargetSeries, histo
from exporter.probing.harness import ProbeResult

# _created series double every family and carry no information for probes. Process-wide:
# the energy and host collectors' families have none either.
disable_created_metrics()  # type: ignore[no-untyped-call]


class ProbeMetrics(Collector):
    """Records probe results and target state; renders them when Prometheus scrapes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # scrapes run on the web server's threads
        self._targets: dict[str, TargetSeries] = {}
        self._in_flight = 0

    # --- recording (event loop) -------------------------------------------------------

    def declare(self, targets: Iterable[tuple[TargetConfig, str, str]]) -> None:
        """The configured targets, each with its semconv provider name and the root URL its
        probes go to. Series of targets no longer configured disappear; those still
        configured keep their counts, with info, interval and budget refreshed."""
        with self._lock:
            old, self._targets = self._targets, {}
            for target, semconv_name, endpoint in targets:
                fresh = TargetSeries.of(target, semconv_name, endpoint)
                kept = old.get(target.name)
                if kept is not None:
                    kept.genai, kept.info, kept.interval = fresh.genai, fresh.info, fresh.interval
                    kept.budget = fresh.budget
                    fresh = kept
                self._targets[target.name] = fresh

    def record(
        self, target: str, result: ProbeResult, spend: Mapping[str, float] | None = None
    ) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None:
                _record(s, result, spend or {})

    def set_idle(self, target: str, reason: str | None) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None:
                s.idle = {known: 1.0 if known == reason else 0.0 for known in IDLE_REASONS}

    def set_paused(self, target: str, paused: bool) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None and s.budget is not None:
                s.budget.paused = 1.0 if paused else 0.0

    def set_spent(self, target: str, tokens: int, usd: float) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None and s.budget is not None:
                s.budget.spent_tokens, s.budget.spent_usd = float(tokens), usd

    def observe_lateness(self, target: str, seconds: float) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None:
                if s.lateness is None:
                    s.lateness = Histo(PHASE_BUCKETS)
                s.lateness.observe(seconds)

    def count_skipped(self, target: str, probes: int) -> None:
        with self._lock:
            s = self._targets.get(target)
            if s is not None:
                s.skipped = (s.skipped or 0.0) + probes

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Counts a probe as running for the duration of the block."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    # --- rendering (scrape threads) ---------------------------------------------------

    def describe(self) -> Iterator[Metric]:
        return iter(())  # registering touches nothing; names are checked by the tests

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            targets = list(self._targets.values())
            yield from families(targets, self._in_flight)


def _record(s: TargetSeries, result: ProbeResult, spend: Mapping[str, float]) -> None:
    s.probes += 1
    s.last = result.timestamp
    s.status = float(result.status or 0)
    s.success = 1.0 if result.success else 0.0
    histo(s.duration, result.reason or "", DURATION_BUCKETS).observe(result.duration)
    for phase, seconds in result.phases.items():
        histo(s.phase, phase, PHASE_BUCKETS).observe(seconds)
    s.rate_limit.update(result.rate_limits)
    for kind, usd in spend.items():  # failed probes that streamed were billed
        s.cost[kind] = s.cost.get(kind, 0.0) + usd
    if not result.success:
        reason = result.reason or "internal"
        s.errors[reason] = s.errors.get(reason, 0.0) + 1
        return
    if result.time_to_first_chunk is not None:
        s.ttfc = s.ttfc or Histo(TTFC_BUCKETS)
        s.ttfc.observe(result.time_to_first_chunk)
    if result.time_to_first_reasoning is not None:
        s.ttfr = s.ttfr or Histo(TTFC_BUCKETS)
        s.ttfr.observe(result.time_to_first_reasoning)
    if result.time_to_first_answer is not None:
        s.ttfa = s.ttfa or Histo(TTFC_BUCKETS)
        s.ttfa.observe(result.time_to_first_answer)
    s.chunk_gap = s.chunk_gap or Histo(GAP_BUCKETS)
    for gap in result.gaps:
        s.chunk_gap.observe(gap)
    if result.output_tokens_per_second is not None:
        s.throughput = s.throughput or Histo(THROUGHPUT_BUCKETS)
        s.throughput.observe(result.output_tokens_per_second)
    for phase, seconds in result.server_timings.items():
        histo(s.server_phase, phase, DURATION_BUCKETS).observe(seconds)
    for kind, count, estimated in (
        ("input", result.input_tokens, result.input_estimated),
        ("output", result.output_tokens, result.output_estimated),
        ("reasoning", result.reasoning_tokens, False),  # a part of output, never estimated
    ):
        if count is None:
            continue
        key = (kind, "estimated" if estimated else "reported")
        s.tokens[key] = s.tokens.get(key, 0.0) + count
        if not estimated:
            histo(s.token_usage, kind, TOKEN_BUCKETS).observe(count)
