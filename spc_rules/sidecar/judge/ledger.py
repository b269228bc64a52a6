"""What each chart series keeps between cycles, and counting each flagged point once.

Per chart series: the high-water mark and the detectors' states (``judging.Carry``), and per
signal the count of flagged points and the newest flagged timestamp. Since a cycle flags only
points no earlier cycle judged, every flag is new and counted as it comes, except one rule:
the counters count flagged points whose timestamp is after ``counted_after`` (the sidecar's
start). After a restart the first cycle judges the whole evaluation window again; its older
flags still set the newest flagged timestamp (an alert that fired before the restart stays
active through it), but the previous process already counted them, so counting them again
would make ``increase()`` see them twice.

A series absent from a result is forgotten: if it comes back, it starts afresh.

Per chart it also keeps the cadence of its points, from which ``effective`` stretches the
chart's windows for sparse points (``cadence.py``): the live cycle and a replay judge (and
fetch) each chart as ``effective`` gives it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from spc_rules.detectors.paging_run import PagingState
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.alarms import SEVERITIES, AlarmCarry, History
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.judge.cadence import chart_cadence, effective_chart
from spc_rules.sidecar.judge.evaluate import ChartResult, evaluate
from spc_rules.sidecar.judge.judging import Carry
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, Points, SeriesKey


@dataclass
class _Series:
    judged_until: float = float("nan")
    states: dict[str, FloatArray] = field(default_factory=dict)  # per detector: its state
    totals: dict[str, int] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    limits: tuple[float, float] = (float("nan"), float("nan"))  # kept Nelson center, sigma
    exclusions: Exclusions = field(default_factory=Exclusions)
    # Per severity: S up, S down, open up, open down, center, sigma, open since, fitted at,
    # calm at.
    alarm: dict[str, tuple[float, float, bool, bool, float, float, float, float, float]] = field(
        default_factory=dict
    )
    episodes: dict[str, int] = field(default_factory=dict)  # counted like `totals`
    started: dict[str, float] = field(default_factory=dict)  # newest episode's first point
    accepted: dict[str, int] = field(default_factory=dict)
    accepted_at: dict[str, float] = field(default_factory=dict)  # evaluation time


@dataclass(frozen=True)
class Violations:
    """Per signal, one entry per series of a ChartResult."""

    totals: dict[str, IntArray]
    last: dict[str, FloatArray]  # NaN: never flagged
    # Per severity (alarm episodes): counted episodes, the newest one's start, acceptances.
    episodes: dict[str, IntArray] = field(default_factory=dict)
    started: dict[str, FloatArray] = field(default_factory=dict)
    accepted: dict[str, IntArray] = field(default_factory=dict)
    accepted_at: dict[str, FloatArray] = field(default_factory=dict)

    def active(self, signal: str, now: float, hold: float) -> FloatArray:
        """1.0 where the newest flagged point is within ``hold`` of ``now``, else 0.0. Taken
        at scrape time, so a flag clears after ``hold`` even while cycles fail."""
        return np.where(self.last[signal] >= now - hold, 1.0, 0.0)


def _statistics(chart: ChartConfig) -> tuple[object, ...]:
    """The settings that define what the detectors' states mean."""
    return (chart.log, chart.detectors)


def _alarm_meaning(chart: ChartConfig) -> tuple[object, ...]:
    """The settings that define what the alarm detectors' states and references mean."""
    return (chart.log, chart.direction, chart.paging, chart.min_points)


class ViolationLedger:
    def __init__(self, counted_after: float) -> None:
        self.counted_after = counted_after
        self._series: dict[str, dict[SeriesKey, _Series]] = {}
        self._charts: dict[str, ChartConfig] = {}
        self._cadence: dict[str, float] = {}  # per chart, seconds between points

    def effective(self, chart: ChartConfig) -> ChartConfig:
        """``chart`` (as configured) with its windows stretched to the cadence of its points
        in the previous cycle; as configured until one is known."""
        cadence = self._cadence.get(chart.name, float("nan"))
        return effective_chart(chart, cadence, self._charts.get(chart.name))

    def judge(
        self,
        chart: ChartConfig,
        points: Mapping[SeriesKey, Points],
        now: float,
        baseline_points: Mapping[SeriesKey, Points] | None = None,
    ) -> tuple[ChartResult, Violations]:
        """One cycle of one chart, as the sidecar runs it: what the series carry, the
        evaluation, and the record of what it found."""
        keys = tuple(points)
        result = evaluate(
            chart,
            points,
            now,
            baseline_points,
            carry=self.carry(chart, keys),
            history=self.history(chart, keys),
        )
        return result, self.record(result)

    def carry(self, chart: ChartConfig, keys: Sequence[SeriesKey]) -> Carry:
        """What the previous cycle left for these series of ``chart``. A reload that changed
        the chart keeps the marks (no point is judged twice), but the detectors start from
        their zero state if their settings or the transform changed."""
        known = self._series.get(chart.name, {})
        previous = self._charts.get(chart.name)
        keep_charts = previous is None or _statistics(previous) == _statistics(chart)
        rows = [known.get(k) or _Series() for k in keys]
        marks = np.array([s.judged_until for s in rows], dtype=np.float64)
        if not keep_charts:
            return Carry(marks)
        states = {}
        for detector in chart.detectors:
            zero = np.zeros(detector.state_size)
            kept = [s.states.get(detector.name, zero) for s in rows]
            states[detector.name] = np.array(kept, np.float64).reshape(-1, detector.state_size)
        return Carry(marks, states)

    def history(self, chart: ChartConfig, keys: Sequence[SeriesKey]) -> History:
        """Kept limits, exclusions and alarm states of these series; a reload that changes
        what the detectors mean starts them afresh (the exclusions stay)."""
        known = self._series.get(chart.name, {})
        previous = self._charts.get(chart.name)
        keep = previous is None or _alarm_meaning(previous) == _alarm_meaning(chart)
        rows = [known.get(k) or _Series() for k in keys]
        fresh = History.fresh(len(rows))
        alarms: dict[str, AlarmCarry] = {}
        for severity in SEVERITIES:
            saved = [s.alarm.get(severity) if keep else None for s in rows]
            blank = (0.0, 0.0, False, False, np.nan, np.nan, np.nan, np.nan, np.nan)
            cols = list(zip(*[v or blank for v in saved], strict=True)) if rows else []
            if not cols:
                alarms[severity] = fresh.alarms[severity]
                continue
            alarms[severity] = AlarmCarry(
                PagingState(
                    np.array(cols[0], np.float64),
                    np.array(cols[1], np.float64),
                    np.array(cols[2], bool),
                    np.array(cols[3], bool),
                ),
                np.array(cols[4], np.float64),
                np.array(cols[5], np.float64),
                np.array(cols[6], np.float64),
                np.array(cols[7], np.float64),
                np.array(cols[8], np.float64),
            )
        return History(
            np.array([s.limits[0] for s in rows], np.float64),
            np.array([s.limits[1] for s in rows], np.float64),
            tuple(s.exclusions for s in rows),
            alarms,
        )

    def record(self, result: ChartResult) -> Violations:
        """Keep the result's carry, count its flags; series absent from it are forgotten."""
        chart = result.chart
        old = self._series.get(chart.name, {})
        rows = len(result.keys)
        totals = {s: np.zeros(rows, np.int64) for s in chart.signals}
        last = {s: np.full(rows, np.nan) for s in chart.signals}
        kept: dict[SeriesKey, _Series] = {}
        carry = result.carry
        alarms = _AlarmCounts(rows)
        for row, key in enumerate(result.keys):
            state = old.get(key) or _Series()
            self._keep_history(state, result, row)
            alarms.count(state, result, row, self.counted_after)
            state.judged_until = float(carry.judged_until[row])
            state.states = {name: st[row].copy() for name, st in carry.states.items()}
            for signal in chart.signals:
                stamps = result.flagged.get(signal, ())
                hits = stamps[row] if row < len(stamps) else np.empty(0)
                count = state.totals.get(signal, 0)
                newest = state.last.get(signal, float("nan"))
                if hits.size:
                    count += int(np.count_nonzero(hits > self.counted_after))
                    newest = float(np.fmax(newest, hits.max()))
                state.totals[signal], state.last[signal] = count, newest
                totals[signal][row], last[signal][row] = count, newest
            kept[key] = state
        self._series[chart.name] = kept
        self._charts[chart.name] = chart
        cadence = chart_cadence(result.point_interval)
        if math.isfinite(cadence):  # known: some series has two points
            self._cadence[chart.name] = cadence
        return Violations(
            totals, last, alarms.episodes, alarms.started, alarms.accepted, alarms.accepted_at
        )

    @staticmethod
    def _keep_history(state: _Series, result: ChartResult, row: int) -> None:
        history = result.history
        state.limits = (float(history.center[row]), float(history.sigma[row]))
        state.exclusions = history.exclusions[row]
        for severity, a in history.alarms.items():
            st = a.state
            state.alarm[severity] = (
                float(st.upper[row]),
                float(st.lower[row]),
                bool(st.open_upper[row]),
                bool(st.open_lower[row]),
                float(a.center[row]),
                float(a.sigma[row]),
                float(a.open_since[row]),
                float(a.fitted_at[row]),
                float(a.calm_at[row]),
            )

    def retain(self, charts: set[str]) -> None:
        """Forget charts that a reload removed."""
        for name in set(self._series) - charts:
            del self._series[name]
        for name in set(self._charts) - charts:
            del self._charts[name]
        for name in set(self._cadence) - charts:
            del self._cadence[name]


class _AlarmCounts:
    """Per severity, the published arrays of one result's series."""

    def __init__(self, rows: int) -> None:
        self.episodes: dict[str, IntArray] = {s: np.zeros(rows, np.int64) for s in SEVERITIES}
        self.started: dict[str, FloatArray] = {s: np.full(rows, np.nan) for s in SEVERITIES}
        self.accepted: dict[str, IntArray] = {s: np.zeros(rows, np.int64) for s in SEVERITIES}
        self.accepted_at: dict[str, FloatArray] = {s: np.full(rows, np.nan) for s in SEVERITIES}

    def count(self, state: _Series, result: ChartResult, row: int, counted_after: float) -> None:
        for severity, found in result.alarms.items():
            opened = found.opened[row]
            count = state.episodes.get(severity, 0)
            newest = state.started.get(severity, float("nan"))
            if opened.size:
                count += int(np.count_nonzero(opened > counted_after))
                newest = float(np.fmax(newest, opened.max()))
            accepted = state.accepted.get(severity, 0)
            accepted_at = state.accepted_at.get(severity, float("nan"))
            if found.accepted[row]:
                accepted, accepted_at = accepted + 1, result.evaluated_at
            state.episodes[severity], state.started[severity] = count, newest
            state.accepted[severity], state.accepted_at[severity] = accepted, accepted_at
            self.episodes[severity][row], self.started[severity][row] = count, newest
            self.accepted[severity][row] = accepted
            self.accepted_at[severity][row] = accepted_at
