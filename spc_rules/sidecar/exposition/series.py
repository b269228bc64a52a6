"""The per-series families of the sidecar's /metrics (docs/sidecar.md, "Samples per chart
series"): what each chart series publishes, with which labels, and when.

A series publishes only what a dashboard or an alert reads and Prometheus cannot work out
itself: the zone lines are recording rules over ``center``, ``sigma``,
``last_subgroup_size`` and the chart's transform (prometheus/templates/spc.yml); flags,
open episodes, their references and the counters of rare events appear only while they
hold (the alerts compare with ``== 1``, the dashboards take a missing flag as none).
Labels: ``chart`` and ``series`` (the ``by`` pairs in one label, which alerts and
dashboards key on) on every family; the ``by`` labels themselves only where an alert or a
dashboard reads them (the families alerts fire from, and ``last_value``, which the control
chart joins with the histogram's own labels).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules.sidecar.exposition.text import Family, labels, lines
from spc_rules.sidecar.families import PREFIX, ChartView, series_label
from spc_rules.sidecar.judge.evaluate import ChartResult


@dataclass(frozen=True)
class Rows:
    """The label prefixes of a chart's series: ``short`` (chart, series) and ``full`` (with
    the ``by`` labels), and the chart's bad side."""

    short: list[str]
    full: list[str]
    direction: str

    @classmethod
    def of(cls, result: ChartResult) -> Rows:
        by, chart = result.chart.by, result.chart.name
        short, full = [], []
        for key in result.keys:
            head = labels((("chart", chart), ("series", series_label(by, key))))
            short.append(head)
            full.append(f"{head},{labels(zip(by, key, strict=True))}" if by else head)
        return cls(short, full, result.chart.direction)


def _gauge(name: str, text: str) -> Family:
    return Family(PREFIX + name, "gauge", text)


def _counter(name: str, text: str) -> Family:
    return Family(PREFIX + name, "counter", text)


# name: (ChartResult field, full labels?), read straight off the result.
_LINES = {
    "center": ("center", False),
    "sigma": ("sigma", False),
    "upper_control_limit": ("ucl", False),
    "lower_control_limit": ("lcl", False),
    "last_value": ("last_value", True),
    "last_subgroup_size": ("last_size", False),
    "baseline_points": ("baseline_points", False),
    "window_points": ("window_points", False),
    "limits_available": ("limits_ok", True),
}
_HELP = {
    "center": "Center line (the geometric mean with the log transform).",
    "sigma": "Sigma of one observation on the fitting scale (of ln x with log).",
    "upper_control_limit": "Upper control limit at the latest point's subgroup size.",
    "lower_control_limit": "Lower control limit at the latest point's subgroup size.",
    "last_value": "The latest point: an observation, or a subgroup mean.",
    "last_subgroup_size": "Observations in the latest point (1: individual).",
    "baseline_points": "Points in the baseline the limits were fitted on.",
    "window_points": "Points in the evaluation window.",
    "limits_available": "1 with limits, 0 when too few baseline points.",
}
PROVISIONAL = _gauge(
    "limits_provisional",
    "1 while the limits are fitted on the series' earliest points (absent otherwise).",
)
NEEDED = _gauge(
    "limits_points_needed",
    "Usable points the series still needs before it has limits (absent with limits).",
)
CAPABILITY = {
    "cpk": "Cpk of the evaluation window against the chart's spec limits (within sigma).",
    "ppk": "Ppk of the evaluation window against the chart's spec limits (overall sigma).",
    "cp": "Cp of the evaluation window (only with both spec limits).",
    "pp": "Pp of the evaluation window (only with both spec limits).",
}
VIOLATIONS = _counter("violations", "Points any rule flagged, each counted once per rule.")
STATISTIC = _gauge(
    "alarm_statistic", "The alarm detector's CUSUM at the newest point, in sigma units."
)
THRESHOLD = _gauge(
    "alarm_threshold",
    "The detector's decision line h: an episode opens when the statistic passes it.",
)
# Per severity, published only while they hold (open, or after a first event).
ACTIVE = _gauge("alarm_active", "1 while an alarm episode is open (absent otherwise).")
REFERENCE = _gauge(
    "alarm_reference",
    "While an episode is open: the level new points are compared with (original scale; "
    "geometric mean with log).",
)
STARTED = _gauge(
    "alarm_started_timestamp_seconds",
    "Unix time of the point that opened the newest alarm episode.",
)
EPISODES = _counter("alarms", "Alarm episodes opened after the sidecar's start (from the first).")
ACCEPTED = _counter(
    "shifts_accepted",
    "Episodes open longer than accept_after, accepted as the new normal (from the first).",
)
ACCEPTED_AT = _gauge(
    "shift_accepted_timestamp_seconds",
    "Unix time of the evaluation that accepted the newest shift as the new normal.",
)
# Per rule, published while the rule's newest flag is within the chart's hold time of now.
VIOLATION_ACTIVE = _gauge(
    "violation_active",
    "1 while the newest point flagged by the rule is within the chart's hold time of now "
    "(absent otherwise).",
)
VIOLATION_LAST = _gauge(
    "violation_last_timestamp_seconds",
    "Unix time of the newest point the rule flagged, while the rule's flag is active.",
)

SERIES_FAMILIES: tuple[Family, ...] = (
    *(_gauge(name, _HELP[name]) for name in _LINES),
    PROVISIONAL,
    NEEDED,
    *(_gauge(name, text) for name, text in CAPABILITY.items()),
    VIOLATIONS,
    STATISTIC,
    THRESHOLD,
    ACTIVE,
    REFERENCE,
    STARTED,
    EPISODES,
    ACCEPTED,
    ACCEPTED_AT,
)
FLAG_FAMILIES = (VIOLATION_ACTIVE, VIOLATION_LAST)


def series_text(views: Sequence[ChartView], rows: Sequence[Rows]) -> str:
    """The per-series families that depend only on the results (not on the clock)."""
    return "".join(_family_text(f, views, rows) for f in SERIES_FAMILIES)


def _family_text(family: Family, views: Sequence[ChartView], rows: Sequence[Rows]) -> str:
    body = "".join(_chart_lines(family, v, r) for v, r in zip(views, rows, strict=True))
    return family.header() + body if body else ""


def _chart_lines(family: Family, view: ChartView, rows: Rows) -> str:
    return "".join(_pieces(family, view, rows))


def _pieces(family: Family, view: ChartView, rows: Rows) -> Iterator[str]:
    result, vi, name = view.result, view.violations, family.name.removeprefix(PREFIX)
    sample = family.sample
    if name in _LINES:
        attr, full = _LINES[name]
        yield lines(sample, rows.full if full else rows.short, getattr(result, attr))
    elif family is PROVISIONAL:
        yield lines(sample, rows.full, result.provisional, keep=np.asarray(result.provisional))
    elif family is NEEDED:
        needed = np.asarray(result.points_needed)
        yield lines(sample, rows.full, needed, keep=needed > 0)
    elif name in CAPABILITY:
        if name in result.capability:
            labelled = rows.full if name == "cpk" else rows.short  # the alert reads cpk
            yield lines(sample, labelled, result.capability[name])
    elif family is VIOLATIONS:
        signals = result.chart.signals
        total = sum(
            (np.asarray(vi.totals[s], np.float64) for s in signals), np.zeros(len(rows.short))
        )
        yield lines(sample, rows.short, total)
    else:
        yield from _alarm_pieces(family, view, rows)


def _alarm_pieces(family: Family, view: ChartView, rows: Rows) -> Iterator[str]:
    result, vi, sample = view.result, view.violations, family.sample
    for severity, found in result.alarms.items():
        if family in (STATISTIC, THRESHOLD):
            values = found.statistic if family is STATISTIC else found.threshold
            yield lines(sample, rows.short, values, f'severity="{severity}"')
            continue
        extra = f'severity="{severity}",direction="{rows.direction}"'
        is_open = np.asarray(found.carry.state.open, bool)
        if family is ACTIVE:
            yield lines(sample, rows.full, np.ones(len(is_open)), extra, keep=is_open)
        elif family is REFERENCE:
            yield lines(sample, rows.full, found.reference, extra, keep=is_open)
        elif family is STARTED:
            yield lines(sample, rows.full, vi.started[severity], extra)
        elif family is ACCEPTED_AT:
            yield lines(sample, rows.full, vi.accepted_at[severity], extra)
        else:
            counts = np.asarray((vi.episodes if family is EPISODES else vi.accepted)[severity])
            yield lines(sample, rows.full, counts, extra, keep=counts > 0)


def flag_text(views: Sequence[ChartView], rows: Sequence[Rows], now: float) -> str:
    """The rule flags active at ``now``: a flag clears ``hold`` after the newest flagged
    point, even while cycles fail (so it is taken at scrape time)."""
    active, last = [], []
    for view, row in zip(views, rows, strict=True):
        chart = view.result.chart
        for signal in chart.signals:
            stamps = np.asarray(view.violations.last[signal], np.float64)
            keep = stamps >= now - chart.hold
            if not keep.any():
                continue
            extra = f'rule="{signal}",direction="{row.direction}"'
            active.append(lines(VIOLATION_ACTIVE.sample, row.full, keep * 1.0, extra, keep))
            last.append(lines(VIOLATION_LAST.sample, row.full, stamps, extra, keep))
    if not active:
        return ""
    return VIOLATION_ACTIVE.header() + "".join(active) + VIOLATION_LAST.header() + "".join(last)
