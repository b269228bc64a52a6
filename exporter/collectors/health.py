"""Success and duration of every collector, as node_exporter reports its own.

One registered collector runs the named ones in turn. A collector that raises contributes
no series at all for that scrape (never half a set), ``llmscope_collector_success`` reads 0
for it, and the others are unaffected. A collector that finds nothing to report (a host
without a GPU) succeeds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from prometheus_client.metrics_core import GaugeMetricFamily, Metric

log = logging.getLogger("llmscope.collectors")


class DescribedCollector(Protocol):
    def describe(self) -> Iterable[Metric]: ...

    def collect(self) -> Iterable[Metric]: ...


def _health_families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    return (
        GaugeMetricFamily(
            "llmscope_collector_success",
            "Whether the collector succeeded in this scrape (1) or failed (0).",
            labels=["collector"],
        ),
        GaugeMetricFamily(
            "llmscope_collector_duration_seconds",
            "Time the collector took in this scrape.",
            labels=["collector"],
        ),
    )


class MonitoredCollectors:
    """Runs ``collectors`` (name -> collector) and adds the two health families."""

    def __init__(
        self,
        collectors: Mapping[str, DescribedCollector],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._collectors = dict(collectors)
        self._clock = clock
        self._failing: set[str] = set()

    def describe(self) -> Iterable[Metric]:
        families: list[Metric] = []
        for collector in self._collectors.values():
            families.extend(collector.describe())
        families.extend(_health_families())
        return families

    def collect(self) -> Iterable[Metric]:
        success, duration = _health_families()
        families: list[Metric] = []
        for name, collector in self._collectors.items():
            started = self._clock()
            try:
                produced = list(collector.collect())
            except Exception as err:
                self._note_failure(name, err)
                ok = False
            else:
                self._note_success(name)
                families.extend(produced)
                ok = True
            duration.add_metric([name], self._clock() - started)
            success.add_metric([name], 1.0 if ok else 0.0)
        families.extend((success, duration))
        return families

    def _note_failure(self, name: str, err: Exception) -> None:
        # Warn when a collector starts failing, not on every scrape while it keeps failing.
        level = logging.DEBUG if name in self._failing else logging.WARNING
        self._failing.add(name)
        log.log(level, "collector %s failed: %s: %s", name, type(err).__name__, err)

    def _note_success(self, name: str) -> None:
        if name in self._failing:
            self._failing.discard(name)
            log.info("collector %s works again", name)
