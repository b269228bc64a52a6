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

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.alarms import SEVERITIES, AlarmCarry, History
from spc_rules.sidecar.judge.baseline import Exclusions
from spc_rules.sidecar.judge.cadence import chart_cadence, effective_chart
from spc_rules.sidecar.judge.evaluate import ChartResult, evaluate
from spc_rules.sidecar.judge.incremental.kept import (
    AlarmCounts,
    Array,
    Kept,
    count_after,
    take,
    take_alarm,
)
from spc_rules.sidecar.judge.judging import Carry
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, Points, SeriesKey


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


def _limits_meaning(chart: ChartConfig) -> tuple[object, ...]:
    """The settings the Nelson limits are fitted with."""
    c = chart
    return (
        c.log, c.baseline, c.estimator, c.min_points, c.refits, c.evaluation, c.min_subgroup,
        c.min_effect, c.direction,
    )  # fmt: skip


def _alarm_meaning(chart: ChartConfig) -> tuple[object, ...]:
    """The settings that define what the alarm detectors' states and references mean."""
    return (chart.log, chart.direction, chart.paging, chart.min_points)


class ViolationLedger:
    def __init__(self, counted_after: float) -> None:
        self.counted_after = counted_after
        self._kept: dict[str, Kept] = {}
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
        kept = self._kept.get(chart.name)
        if kept is None:
            return Carry.fresh(len(keys))
        rows = kept.rows(keys)
        marks = take(kept.judged_until, rows, np.nan)
        previous = self._charts.get(chart.name)
        if previous is not None and _statistics(previous) != _statistics(chart):
            return Carry(marks)
        states = {}
        for detector in chart.detectors:
            got = kept.states.get(detector.name)
            if got is None or got.shape[1:] != (detector.state_size,):
                states[detector.name] = np.zeros((len(keys), detector.state_size))
            else:
                states[detector.name] = take(got, rows, 0.0)
        return Carry(marks, states)

    def history(self, chart: ChartConfig, keys: Sequence[SeriesKey]) -> History:
        """Kept limits, exclusions and alarm states of these series; a reload that changes
        what the detectors mean starts them afresh (the exclusions stay)."""
        kept = self._kept.get(chart.name)
        fresh = History.fresh(len(keys))
        if kept is None:
            return fresh
        rows = kept.rows(keys)
        previous = self._charts.get(chart.name)
        keep = previous is None or _alarm_meaning(previous) == _alarm_meaning(chart)
        alarms: dict[str, AlarmCarry] = {
            s: take_alarm(kept.alarm[s], rows) if keep and s in kept.alarm else fresh.alarms[s]
            for s in SEVERITIES
        }
        exclusions = kept.exclusions
        if rows is not None:
            none = Exclusions()
            exclusions = tuple(exclusions[r] if r >= 0 else none for r in rows.tolist())
        # Limits fitted under other settings are refitted now.
        refit = previous is not None and _limits_meaning(previous) != _limits_meaning(chart)
        return History(
            take(kept.center, rows, np.nan),
            take(kept.sigma, rows, np.nan),
            exclusions,
            alarms,
            np.full(len(keys), np.nan) if refit else take(kept.limits_at, rows, np.nan),
            take(kept.baseline_points, rows, 0),
        )

    def record(self, result: ChartResult) -> Violations:
        """Keep the result's carry, count its flags; series absent from it are forgotten."""
        chart = result.chart
        n = len(result.keys)
        old = self._kept.get(chart.name)
        rows = old.rows(result.keys) if old is not None else None

        def before(columns: Mapping[str, Array] | None, name: str, fill: float) -> Array:
            got = columns.get(name) if columns is not None else None
            if got is None:
                return np.full(n, fill, np.int64 if fill == 0 else np.float64)
            return take(got, rows, fill)

        totals, last = {}, {}
        for signal in chart.signals:
            count, newest = count_after(result.flagged.get(signal, ()), n, self.counted_after)
            totals[signal] = before(old.totals if old else None, signal, 0) + count
            last[signal] = np.fmax(before(old.last if old else None, signal, np.nan), newest)
        kept = AlarmCounts(n)
        published = AlarmCounts(n)
        for severity in SEVERITIES:
            e = before(old.episodes if old else None, severity, 0)
            s = before(old.started if old else None, severity, np.nan)
            a = before(old.accepted if old else None, severity, 0)
            at = before(old.accepted_at if old else None, severity, np.nan)
            found = result.alarms.get(severity)
            if found is not None:
                count, newest = count_after(found.opened, n, self.counted_after)
                took = np.asarray(found.accepted, bool)
                e, s = e + count, np.fmax(s, newest)
                a, at = a + took, np.where(took, result.evaluated_at, at)
                published.set(severity, e, s, a, at)
            kept.set(severity, e, s, a, at)
        history, carry = result.history, result.carry
        alarm = {s: take_alarm(c, rows) for s, c in old.alarm.items()} if old else {}
        alarm.update(history.alarms)
        self._kept[chart.name] = Kept(
            keys=result.keys,
            judged_until=np.asarray(carry.judged_until, np.float64),
            states={name: np.asarray(st, np.float64) for name, st in carry.states.items()},
            totals=totals,
            last=last,
            center=np.asarray(history.center, np.float64),
            sigma=np.asarray(history.sigma, np.float64),
            limits_at=history.limits_at,
            baseline_points=history.baseline_points,
            exclusions=history.exclusions,
            alarm=alarm,
            episodes=kept.episodes,
            started=kept.started,
            accepted=kept.accepted,
            accepted_at=kept.accepted_at,
        )
        self._charts[chart.name] = chart
        cadence = chart_cadence(result.point_interval)
        if math.isfinite(cadence):  # known: some series has two points
            self._cadence[chart.name] = cadence
        return Violations(
            {s: totals[s].copy() for s in chart.signals},
            {s: last[s].copy() for s in chart.signals},
            published.episodes,
            published.started,
            published.accepted,
            published.accepted_at,
        )

    def retain(self, charts: set[str]) -> None:
        """Forget charts that a reload removed."""
        for name in set(self._kept) - charts:
            del self._kept[name]
        for name in set(self._charts) - charts:
            del self._charts[name]
        for name in set(self._cadence) - charts:
            del self._cadence[name]
