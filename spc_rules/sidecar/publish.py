"""The sidecar's /metrics: a cycle's results rendered once, served as bytes to every scrape.

The per-series families (``exposition/series.py``) depend only on the results the last good
cycle of each chart produced, so they are rendered at the first scrape after new results
arrive (and gzipped at the first scrape that asks for gzip), then served as they are until
the next cycle; a series that leaves the input leaves the output too. What depends on the clock or
changes within a cycle, the rule flags active now, the per-chart families, the sidecar's
health and the incidents, is small and rendered at every scrape, after the cached part.
With gzip both parts are gzip members of one stream (RFC 1952, section 2.2).
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from servicekit.web.server import Handler, Request, Response
from spc_rules.sidecar.exposition.series import (
    FLAG_FAMILIES,
    SERIES_FAMILIES,
    Rows,
    flag_text,
    series_text,
)
from spc_rules.sidecar.families import PREFIX, ChartView
from spc_rules.sidecar.incidents.board import Incident
from spc_rules.sidecar.incidents.families import incident_families
from spc_rules.sidecar.query.promapi import REASONS

STAGES = ("query", "decode", "compute")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Fast over best: a 15 MB body compresses to a few MB at level 1 in a fraction of level 6's
# time, and the scrape waits for it once per cycle.
GZIP_LEVEL = 1


@dataclass
class Health:
    """The sidecar's own state; the service writes it, scrapes read it."""

    up: bool = False  # the last cycle evaluated every chart
    chart_up: dict[str, bool] = field(default_factory=dict)  # per configured chart
    cycles: int = 0
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    query_errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    reload_ok: bool = True
    reload_time: float = 0.0
    matches_nothing: dict[str, bool] = field(default_factory=dict)  # per evaluated chart


@dataclass(frozen=True)
class _Rendered:
    """One set of results, rendered: the per-series text and, once asked for, its gzip."""

    generation: int  # of the results rendered (SidecarCollector.views)
    charts: tuple[ChartView, ...]
    rows: tuple[Rows, ...]
    plain: bytes
    zipped: list[bytes] = field(default_factory=list)  # filled at most once, under the lock


class SidecarCollector:
    """The service replaces ``views`` (never mutates it) after each cycle."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.health = Health()
        self.incidents: Sequence[Incident] = ()
        self.incidents_opened: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()  # one render at a time
        self._views: Mapping[str, ChartView] = {}
        self._generation = 0
        self._rendered: _Rendered | None = None

    @property
    def views(self) -> Mapping[str, ChartView]:
        return self._views

    @views.setter
    def views(self, views: Mapping[str, ChartView]) -> None:
        """New results, rendered at the next scrape. Never waits for a render in progress
        (the event loop sets this); the old text is dropped now, so it does not hold the
        previous cycle's results in memory."""
        self._views = views
        self._generation += 1
        self._rendered = None

    def describe(self) -> list[Metric]:
        """Every family the sidecar can publish, without samples."""
        fixed = [f.metric() for f in (*SERIES_FAMILIES, *FLAG_FAMILIES)]
        return [
            *fixed,
            *_chart_families([], 0.0),
            *_health_families(Health()),
            *incident_families((), Counter()),
        ]

    def render(self, *, zipped: bool = False) -> bytes:
        """The whole exposition (gzip members with ``zipped``)."""
        cached = self._cached(zipped)
        now = self.clock()
        charts = list(cached.charts)
        dynamic = flag_text(charts, cached.rows, now).encode() + generate_latest(
            _Families(self, charts, now)
        )
        if not zipped:
            return cached.plain + dynamic
        return cached.zipped[0] + gzip.compress(dynamic, GZIP_LEVEL)

    def _cached(self, zipped: bool) -> _Rendered:
        with self._lock:
            rendered = self._rendered
            if rendered is None or rendered.generation != self._generation:
                generation, views = self._generation, self._views
                charts = tuple(views.values())
                rows = tuple(Rows.of(v.result) for v in charts)
                plain = series_text(charts, rows).encode()
                rendered = _Rendered(generation, charts, rows, plain)
                if self._generation == generation:  # else newer results came meanwhile
                    self._rendered = rendered
            if zipped and not rendered.zipped:
                rendered.zipped.append(gzip.compress(rendered.plain, GZIP_LEVEL))
            return rendered


class _Families:
    """The small families rendered at every scrape, for prometheus_client's renderer."""

    def __init__(self, owner: SidecarCollector, charts: list[ChartView], now: float) -> None:
        self.owner, self.charts, self.now = owner, charts, now

    def collect(self) -> Iterable[Metric]:
        yield from _chart_families(self.charts, self.now)
        yield from _health_families(self.owner.health)
        yield from incident_families(self.owner.incidents, self.owner.incidents_opened)


def metrics_route(collector: SidecarCollector) -> Handler:
    """GET /metrics: the text format, gzipped when the scraper accepts gzip."""

    def handle(request: Request) -> Response:
        accepted = request.headers.get("accept-encoding", "")
        zipped = any(part.split(";")[0].strip() == "gzip" for part in accepted.split(","))
        body = collector.render(zipped=zipped)
        headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if zipped else None
        return Response(200, CONTENT_TYPE, body, headers)

    return handle


def _chart_families(charts: list[ChartView], now: float) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        f"{PREFIX}chart_info",
        "Configured charts (value 1): the histogram judged, its selector and grouping labels, "
        "the transform, the kind (histogram or p), the baseline kind and the bad side.",
        labels=["chart", "metric", "selector", "by", "transform", "kind", "baseline", "direction"],
    )
    series = GaugeMetricFamily(
        f"{PREFIX}series", "Series in the chart's latest results.", labels=["chart"]
    )
    evaluated = GaugeMetricFamily(
        f"{PREFIX}last_evaluation_timestamp_seconds",
        "Unix time of the evaluation whose results are served.",
        labels=["chart"],
    )
    age = GaugeMetricFamily(
        f"{PREFIX}results_age_seconds",
        "Age of the results served; it grows while evaluations fail (stale results).",
        labels=["chart"],
    )
    for v in charts:
        chart = v.result.chart
        baseline = type(chart.baseline).__name__.removesuffix("Baseline").lower()
        selector = ",".join(m.render() for m in chart.matchers)
        labels = [chart.name, chart.metric, selector, ",".join(chart.by), chart.transform]
        info.add_metric([*labels, chart.kind, baseline, chart.direction], 1.0)
        series.add_metric([chart.name], float(len(v.result.keys)))
        evaluated.add_metric([chart.name], v.result.evaluated_at)
        age.add_metric([chart.name], max(0.0, now - v.result.evaluated_at))
    yield from (info, series, evaluated, age)


def _health_families(health: Health) -> Iterator[Metric]:
    stages = GaugeMetricFamily(
        f"{PREFIX}cycle_duration_seconds",
        "Duration of the last evaluation cycle by stage: query (waiting on the API), "
        "decode (JSON to points, answers decoded as they arrive included), compute (limits, "
        "rules, capability); they sum to the cycle.",
        labels=["stage"],
    )
    for stage, seconds in list(health.stage_seconds.items()):
        stages.add_metric([stage], seconds)
    errors = CounterMetricFamily(
        f"{PREFIX}query_errors",
        "Failed queries to the Prometheus API by reason.",
        labels=["reason"],
    )
    for reason, count in list(health.query_errors.items()):
        errors.add_metric([reason], float(count))
    cycles = CounterMetricFamily(f"{PREFIX}cycles", "Evaluation cycles run, good or not.")
    cycles.add_metric([], float(health.cycles))
    up = GaugeMetricFamily(
        f"{PREFIX}up", "1 when the last evaluation cycle succeeded for every chart."
    )
    up.add_metric([], 1.0 if health.up else 0.0)
    chart_up = GaugeMetricFamily(
        f"{PREFIX}chart_up",
        "1 when the chart's last evaluation succeeded (0 also before its first).",
        labels=["chart"],
    )
    for chart, ok in list(health.chart_up.items()):
        chart_up.add_metric([chart], 1.0 if ok else 0.0)
    empty = GaugeMetricFamily(
        f"{PREFIX}chart_matches_nothing",
        "1 when the chart has matched no series for longer than its evaluation window.",
        labels=["chart"],
    )
    for chart, nothing in list(health.matches_nothing.items()):
        empty.add_metric([chart], 1.0 if nothing else 0.0)
    reload_ok = GaugeMetricFamily(
        f"{PREFIX}config_last_reload_successful", "Whether the last configuration reload succeeded."
    )
    reload_ok.add_metric([], 1.0 if health.reload_ok else 0.0)
    reload_time = GaugeMetricFamily(
        f"{PREFIX}config_last_reload_success_timestamp_seconds",
        "Unix time of the last successful configuration load.",
    )
    reload_time.add_metric([], health.reload_time)
    yield from (stages, errors, cycles, up, chart_up, empty, reload_ok, reload_time)
