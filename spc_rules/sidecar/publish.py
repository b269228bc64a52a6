"""The sidecar's /metrics: fresh families from the latest results at every scrape.

Nothing is kept in prometheus_client children: each scrape builds the families from the
results the last good cycle of each chart produced, so a series that leaves the input leaves
the output too. Per-series families carry ``chart`` and the chart's ``by`` labels.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spc_rules.sidecar.families import PREFIX, ChartView, add, alarm_families, chart_labels
from spc_rules.sidecar.incidents.board import Incident
from spc_rules.sidecar.incidents.families import incident_families
from spc_rules.sidecar.query.promapi import REASONS

STAGES = ("query", "decode", "compute")

# name: help, for the per-series gauges read straight off a ChartResult field.
_SERIES_GAUGES: dict[str, tuple[str, str]] = {
    "center": ("center", "Center line (the geometric mean with the log transform)."),
    "sigma": ("sigma", "Sigma of one observation on the fitting scale (of ln x with log)."),
    "upper_control_limit": ("ucl", "Upper control limit at the latest point's subgroup size."),
    "lower_control_limit": ("lcl", "Lower control limit at the latest point's subgroup size."),
    "last_value": ("last_value", "The latest point: an observation, or a subgroup mean."),
    "last_subgroup_size": ("last_size", "Observations in the latest point (1: individual)."),
    "baseline_points": ("baseline_points", "Points in the baseline the limits were fitted on."),
    "window_points": ("window_points", "Points in the evaluation window."),
    "limits_available": ("limits_ok", "1 with limits, 0 when too few baseline points."),
    "limits_provisional": (
        "provisional",
        "1 while the limits are fitted on the series' earliest points, not yet its baseline.",
    ),
    "limits_points_needed": (
        "points_needed",
        "Usable points the series still needs before it has limits (0 with limits).",
    ),
}
_CAPABILITY = {
    "cpk": "Cpk of the evaluation window against the chart's spec limits (within sigma).",
    "ppk": "Ppk of the evaluation window against the chart's spec limits (overall sigma).",
    "cp": "Cp of the evaluation window (only with both spec limits).",
    "pp": "Pp of the evaluation window (only with both spec limits).",
}


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


class SidecarCollector:
    """Registered once; ``views`` is replaced (never mutated) after each cycle."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.views: Mapping[str, ChartView] = {}
        self.health = Health()
        self.incidents: Sequence[Incident] = ()
        self.incidents_opened: Counter[tuple[str, str]] = Counter()

    def describe(self) -> Iterable[Metric]:
        return list(_families({}, Health(), 0.0)) + list(incident_families((), Counter()))

    def collect(self) -> Iterable[Metric]:
        families = list(_families(self.views, self.health, self.clock()))
        return families + list(incident_families(self.incidents, self.incidents_opened))


def _families(
    views: Mapping[str, ChartView],
    health: Health,
    now: float,
) -> Iterator[Metric]:
    charts = list(views.values())
    labels = {v.result.chart.name: chart_labels(v.result) for v in charts}
    for name, (attr, doc) in _SERIES_GAUGES.items():
        family = GaugeMetricFamily(PREFIX + name, doc)
        for v in charts:
            add(family, labels[v.result.chart.name], getattr(v.result, attr))
        yield family
    for side, sign in (("upper", 1), ("lower", -1)):
        family = GaugeMetricFamily(
            f"{PREFIX}zone_{side}", f"Zone bound {side} of the center at 1 and 2 sigmas."
        )
        for v in charts:
            for m in (1, 2):
                add(family, labels[v.result.chart.name], v.result.zones[sign * m], sigmas=str(m))
        yield family
    yield from _violation_families(charts, labels, now)
    yield from alarm_families(charts, labels)
    for name, doc in _CAPABILITY.items():
        family = GaugeMetricFamily(PREFIX + name, doc)
        for v in charts:
            if name in v.result.capability:
                add(family, labels[v.result.chart.name], v.result.capability[name])
        yield family
    yield from _chart_families(charts, now)
    yield from _health_families(health)


def _violation_families(
    charts: list[ChartView], labels: Mapping[str, list[dict[str, str]]], now: float
) -> Iterator[Metric]:
    active = GaugeMetricFamily(
        f"{PREFIX}violation_active",
        "1 while the newest point flagged by the rule is within the chart's hold time of now.",
    )
    last = GaugeMetricFamily(
        f"{PREFIX}violation_last_timestamp_seconds",
        "Unix time of the newest point the rule flagged.",
    )
    total = CounterMetricFamily(
        f"{PREFIX}violations", "Points the rule flagged, each counted once."
    )
    for v in charts:
        rows = labels[v.result.chart.name]
        side = v.result.chart.direction
        for signal in v.result.chart.signals:
            hold = v.result.chart.hold
            extra = {"rule": signal, "direction": side}
            add(active, rows, v.violations.active(signal, now, hold), **extra)
            add(last, rows, v.violations.last[signal], **extra)
            add(total, rows, v.violations.totals[signal], suffix="_total", **extra)
    yield from (active, last, total)


def _chart_families(charts: list[ChartView], now: float) -> Iterator[Metric]:
    info = GaugeMetricFamily(
        f"{PREFIX}chart_info",
        "Configured charts (value 1): the histogram judged, its selector and grouping labels, "
        "the transform, the baseline kind and the bad side.",
        labels=["chart", "metric", "selector", "by", "transform", "baseline", "direction"],
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
        kind = type(chart.baseline).__name__.removesuffix("Baseline").lower()
        selector = ",".join(m.render() for m in chart.matchers)
        labels = [chart.name, chart.metric, selector, ",".join(chart.by), chart.transform]
        info.add_metric([*labels, kind, chart.direction], 1.0)
        series.add_metric([chart.name], float(len(v.result.keys)))
        evaluated.add_metric([chart.name], v.result.evaluated_at)
        age.add_metric([chart.name], max(0.0, now - v.result.evaluated_at))
    yield from (info, series, evaluated, age)


def _health_families(health: Health) -> Iterator[Metric]:
    stages = GaugeMetricFamily(
        f"{PREFIX}cycle_duration_seconds",
        "Duration of the last evaluation cycle by stage: query (HTTP), decode (JSON to "
        "points), compute (limits, rules, capability).",
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
