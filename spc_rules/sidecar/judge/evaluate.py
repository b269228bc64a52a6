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
    PinnedBaseline,
    RangeBaseline,
    RollingBaseline,
)
from spc_rules.sidecar.config.windows import evaluation_window
from spc_rules.sidecar.judge.judging import BoolArray, Carry, Flagged, judge_new
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import EMPTY, IntArray, Points, SeriesKey, Window, window


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
    carry: Carry  # for the next evaluation


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
    carry: Carry | None = None,
) -> ChartResult:
    """Judge every series in ``points`` (fetched over the window, baseline included when it
    rolls); ``baseline_points`` come from the fixed range of a RangeBaseline. ``carry`` is
    what the previous evaluation left for these series (one row each, in ``points``' order);
    without it every series is new."""
    keys = tuple(points)
    start, end = evaluation_window(chart, now)
    series = [points[k] for k in keys]
    current = window(series, start, end)
    base = _baseline_window(chart, keys, series, start, baseline_points)
    limits = _limits(chart, base, len(keys))
    carry = carry or Carry.fresh(len(keys))
    flagged, carried = judge_new(chart, series, limits, window_start=start, end=end, carry=carry)
    last_size = _last(current, current.sizes)
    n_line = np.where(np.isnan(last_size), 1.0, last_size)
    return ChartResult(
        chart=chart,
        keys=keys,
        evaluated_at=now,
        window_start=start,
        limits_ok=np.asarray(limits.ok),
        center=limits.line(0.0, n_line),
        sigma=np.asarray(limits.sigma),
        ucl=limits.line(3.0, n_line),
        lcl=limits.line(-3.0, n_line),
        zones={m: limits.line(float(m), n_line) for m in (-2, -1, 1, 2)},
        last_value=_last(current, current.values),
        last_size=last_size,
        baseline_points=base.counts if base is not None else np.zeros(len(keys), np.int64),
        window_points=current.counts,
        capability=_capability(chart, current),
        flagged=flagged,
        carry=carried,
    )


def _baseline_window(
    chart: ChartConfig,
    keys: Sequence[SeriesKey],
    series: Sequence[Points],
    start: float,
    fixed: Mapping[SeriesKey, Points] | None,
) -> Window | None:
    baseline = chart.baseline
    if isinstance(baseline, RollingBaseline):
        return window(series, start - baseline.window, start)
    if isinstance(baseline, RangeBaseline):
        fixed = fixed or {}
        return window([fixed.get(k, EMPTY) for k in keys], baseline.start, baseline.end)
    return None


def _limits(chart: ChartConfig, base: Window | None, rows: int) -> BatchLimits:
    pinned = chart.baseline
    if isinstance(pinned, PinnedBaseline):
        center = np.log(pinned.center) if chart.log else pinned.center
        return BatchLimits.pinned(np.full(rows, center), pinned.sigma, log=chart.log)
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
