"""Judging one chart: limits from its baseline, rules over its new points, capability.

Every series of a chart goes through the engine at once, as rows of NaN-padded
(series x points) arrays. The engine (``spc_rules``) does all the statistics; this module
only picks the windows, calls it and keeps what is published. Which points a cycle flags is
``spc_rules.sidecar.judge.judging``'s business: only those no earlier cycle judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules import BatchLimits, capability_batch, fit_limits_batch
from spc_rules.sidecar.config.model import (
    ChartConfig,
)
from spc_rules.sidecar.config.windows import evaluation_window, fetch_span
from spc_rules.sidecar.judge import attributes, warmup
from spc_rules.sidecar.judge.alarms import (
    SEVERITIES,
    Episodes,
    History,
    accept_together,
    judge_alarms,
)
from spc_rules.sidecar.judge.baseline import select
from spc_rules.sidecar.judge.incremental.exclusions import advance_all
from spc_rules.sidecar.judge.incremental.rolling import rolling_limits
from spc_rules.sidecar.judge.judging import BoolArray, Carry, Flagged, Limits, judge_new
from spc_rules.sidecar.judge.reference import point_intervals
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import EMPTY, IntArray, Points, SeriesKey
from spc_rules.sidecar.query.windows import Window, window


@dataclass(frozen=True)
class ChartResult:
    """What one evaluation of a chart found, one entry per series (``keys``). Lines are on the
    original scale at the subgroup size of the series' latest point; sigma is on the fitting
    scale (of ln x with the log transform). NaN marks a value that does not exist."""

    chart: ChartConfig
    keys: tuple[SeriesKey, ...]
    evaluated_at: float
    window_start: float
    limits_ok: BoolArray
    provisional: BoolArray  # limits fitted on the series' earliest points (baseline.py)
    points_needed: IntArray  # usable points still missing before limits exist
    point_interval: FloatArray  # median spacing of each series' newest points (seconds)
    center: FloatArray
    sigma: FloatArray
    ucl: FloatArray
    lcl: FloatArray
    zones: Mapping[int, FloatArray]  # +-1 and +-2 sigma lines, keyed by the multiple
    last_value: FloatArray
    last_size: FloatArray
    baseline_points: IntArray
    window_points: IntArray
    capability: Mapping[str, FloatArray]  # cp, cpk, pp, ppk (absent without spec limits)
    flagged: Flagged  # of the points this evaluation judged for the first time
    alarms: Mapping[str, Episodes]  # per severity
    carry: Carry  # for the next evaluation
    history: History


def live_series(
    chart: ChartConfig, points: Mapping[SeriesKey, Points], now: float, lookback: float
) -> dict[SeriesKey, Points]:
    """The series that still exist: a point in the evaluation window, or a raw sample within
    ``lookback`` of now (scraped, but no new observation). The fetch reaches back over the
    baseline, so without this a series that stopped would linger for a baseline window."""
    start, end = evaluation_window(chart, now)
    return {
        key: p
        for key, p in points.items()
        if p.last_sample > now - lookback or np.any((p.timestamps > start) & (p.timestamps <= end))
    }


def evaluate(
    chart: ChartConfig,
    points: Mapping[SeriesKey, Points],
    now: float,
    baseline_points: Mapping[SeriesKey, Points] | None = None,
    *,
    carry: Carry | None = None,
    history: History | None = None,
) -> ChartResult:
    """Judge every series in ``points`` (fetched over the window, baseline included when it
    rolls); ``baseline_points`` come from the fixed range of a RangeBaseline. ``carry`` and
    ``history`` are what the previous evaluation left for these series (one row each, in
    ``points``' order); without them every series is new."""
    keys = tuple(points)
    rows = len(keys)
    start, end = evaluation_window(chart, now)
    series = [points[k] for k in keys]
    current = window(series, start, end)
    carry = carry or Carry.fresh(rows)
    history = history or History.fresh(rows)
    if _scheduled(chart):
        rolled = rolling_limits(chart, series, start, now, history)
        limits: Limits = rolled.limits
        provisional, usable = rolled.provisional, rolled.usable
        baseline_counts, limits_at = rolled.baseline_points, rolled.fitted_at
    else:
        base, provisional, usable = _baseline_window(
            chart, keys, series, start, fixed=baseline_points, history=history
        )
        limits = _kept(_limits(chart, base, rows), history)
        baseline_counts = base.counts if base is not None else np.zeros(rows, np.int64)
        limits_at = np.full(rows, np.nan)
    ok = np.asarray(limits.ok)
    since = np.fmax(carry.judged_until, start)  # NaN (never judged): the window start
    # A series judged for the first time (in the first cycle with limits: judge_new) has its
    # alarm references fitted on any of its points, its first ones included (warmup.py).
    pending = np.isnan(carry.judged_until)
    flagged, carried = judge_new(chart, series, limits, window_start=start, end=end, carry=carry)
    fresh = window(series, since, end)
    intervals = point_intervals(series)
    found: dict[str, Episodes] = accept_together(
        {
            s: judge_alarms(
                chart,
                s,
                series,
                fresh=fresh,
                since=since,
                upto=np.where(pending, now, since),
                ready=ok | ~pending,
                exclusions=history.exclusions,
                carry=history.alarms[s],
                now=now,
                intervals=intervals,
            )
            for s in SEVERITIES
        }
    )
    before = now - fetch_span(chart)
    exclusions, changed = advance_all(history.exclusions, flagged.get("1", ()), found, before)
    last_size = _last(current, current.sizes)
    n_line = np.where(np.isnan(last_size), 1.0, last_size)
    return ChartResult(
        chart=chart,
        keys=keys,
        evaluated_at=now,
        window_start=start,
        limits_ok=ok,
        provisional=provisional & ok,
        # At least 1 without limits: a series with enough points may wait for a steady level.
        points_needed=np.where(ok, 0, np.maximum(chart.min_points - usable, 1)),
        point_interval=intervals,
        center=limits.line(0.0, n_line),
        sigma=np.asarray(limits.sigma),
        ucl=limits.line(3.0, n_line),
        lcl=limits.line(-3.0, n_line),
        zones={m: limits.line(float(m), n_line) for m in (-2, -1, 1, 2)},
        last_value=_last(current, current.values),
        last_size=last_size,
        baseline_points=baseline_counts,
        window_points=current.counts,
        capability=_capability(chart, current),
        flagged=flagged,
        alarms=found,
        carry=carried,
        history=History(
            np.where(ok, limits.center, history.center),
            np.where(ok, limits.sigma, history.sigma),
            exclusions,
            {s: e.carry for s, e in found.items()},
            # An episode that opened, closed or was accepted changes what the baseline may
            # include: refit next cycle (-inf: due now, rolling.py).
            np.where(changed & np.isfinite(limits_at), -np.inf, limits_at),
            baseline_counts,
        ),
    )


def _scheduled(chart: ChartConfig) -> bool:
    """Whether the chart's limits are refitted on a schedule (``rolling``): a rolling
    baseline of a histogram chart without pinned limits."""
    return (
        chart.baseline.rolling_window > 0
        and chart.proportion is None
        and chart.baseline.pinned(chart.log) is None
    )


def _baseline_window(
    chart: ChartConfig,
    keys: Sequence[SeriesKey],
    series: Sequence[Points],
    start: float,
    *,
    fixed: Mapping[SeriesKey, Points] | None,
    history: History,
) -> tuple[Window | None, BoolArray, IntArray]:
    """The baseline's points, which rows are provisional, and the usable points per row."""
    rows = len(keys)
    baseline = chart.baseline
    no = np.zeros(rows, bool)
    if baseline.rolling_window > 0:
        chosen = select(
            series,
            start - baseline.rolling_window,
            start,
            history.exclusions,
            min_points=chart.min_points,
            upto=start + chart.evaluation,
            codes=(0.0, 1.0),
            flagged=True,
            check=warmup.chart_check(chart),
        )
        return chosen.window, chosen.provisional, chosen.usable
    span = baseline.fixed_range
    if span is not None:
        fixed = fixed or {}
        base = window([fixed.get(k, EMPTY) for k in keys], *span)
        return base, no, base.counts
    return None, no, np.full(rows, chart.min_points, np.int64)


def _kept(limits: Limits, history: History) -> Limits:
    """Rows without a fit keep the last limits they had (an episode longer than the
    baseline window leaves no usable point in it)."""
    if isinstance(limits, attributes.ProportionLimits):
        return attributes.kept(limits, history.center, history.sigma)
    keep = ~limits.ok & np.isfinite(history.center) & (history.sigma > 0)
    if not keep.any():
        return limits
    return BatchLimits(
        center=np.where(keep, history.center, limits.center),
        sigma=np.where(keep, history.sigma, limits.sigma),
        ok=limits.ok | keep,
        n_points=limits.n_points,
        n_dropped=limits.n_dropped,
        refits=limits.refits,
        log=limits.log,
        method=limits.method,
    )


def _limits(chart: ChartConfig, base: Window | None, rows: int) -> Limits:
    if chart.proportion is not None:
        assert base is not None  # p charts pin no limits (config.counters)
        return attributes.fit(chart, base)
    pinned = chart.baseline.pinned(chart.log)
    if pinned is not None:
        center, sigma = pinned
        return BatchLimits.pinned(np.full(rows, center), sigma, log=chart.log)
    assert base is not None
    return fit_limits_batch(
        base.values,
        base.sizes,
        method=chart.estimator,
        log=chart.log,
        min_points=chart.min_points,
        max_refits=chart.refits,
    )


def _last(current: Window, values: FloatArray) -> FloatArray:
    """Each row's value at its latest point (rows are left-aligned), NaN without a point in
    the window."""
    out = np.full(len(current.counts), np.nan)
    rows = np.flatnonzero(current.counts > 0)
    out[rows] = values[rows, current.counts[rows] - 1]
    return out


def _capability(chart: ChartConfig, current: Window) -> dict[str, FloatArray]:
    """Capability of the evaluation window's points."""
    if chart.usl is None and chart.lsl is None:
        return {}
    cap = capability_batch(
        current.values,
        current.sizes,
        usl=chart.usl,
        lsl=chart.lsl,
        log=chart.log,
        min_points=chart.min_points,
    )
    return {"cp": cap.cp, "cpk": cap.cpk, "pp": cap.pp, "ppk": cap.ppk}
