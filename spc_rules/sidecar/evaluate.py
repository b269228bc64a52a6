"""Judging one chart: limits from its baseline, rules over its evaluation window, capability.

Every series of a chart goes through the engine at once, as rows of NaN-padded
(series x points) arrays. The engine (``spc_rules``) does all the statistics; this module
only picks the windows, calls it and keeps what is published.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from spc_rules import BatchLimits, capability_batch, cusum, ewma, fit_limits_batch, judge
from spc_rules.sidecar.decode import FloatArray
from spc_rules.sidecar.model import ChartConfig, PinnedBaseline, RangeBaseline, RollingBaseline
from spc_rules.sidecar.points import EMPTY, IntArray, Points, SeriesKey, Window, window

BoolArray = NDArray[np.bool_]
# The rules see this many points from just before the evaluation window, so that a point's
# flags never depend on where the window starts: the longest pattern (rule 7) spans 15.
CONTEXT_POINTS = 14
# Per signal ("1".."8", "ewma", "cusum"): the timestamps of each series' flagged points.
Flagged = Mapping[str, tuple[FloatArray, ...]]


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
    flagged: Flagged


def evaluation_window(chart: ChartConfig, now: float) -> tuple[float, float]:
    """(start, end) of the evaluation window; points with start < timestamp <= end."""
    return now - chart.evaluation, now


def fetch_start(chart: ChartConfig, now: float, lookback: float) -> float:
    """Where the cycle's window fetch begins: the baseline too when it rolls just before."""
    start, _ = evaluation_window(chart, now)
    if isinstance(chart.baseline, RollingBaseline):
        start -= chart.baseline.window
    return start - lookback


def evaluate(
    chart: ChartConfig,
    points: Mapping[SeriesKey, Points],
    now: float,
    baseline_points: Mapping[SeriesKey, Points] | None = None,
) -> ChartResult:
    """Judge every series in ``points`` (fetched over the window, baseline included when it
    rolls); ``baseline_points`` come from the fixed range of a RangeBaseline."""
    keys = tuple(points)
    start, end = evaluation_window(chart, now)
    series = [points[k] for k in keys]
    judged = window(series, start, end, CONTEXT_POINTS)
    in_window = judged.counts - judged.context
    base = _baseline_window(chart, keys, series, start, baseline_points)
    limits = _limits(chart, base, len(keys))
    last_size = _last(judged, judged.sizes, in_window)
    n_line = np.where(np.isnan(last_size), 1.0, last_size)
    return ChartResult(
        chart=chart,
        keys=keys,
        evaluated_at=now,
        window_start=start,
        limits_ok=np.asarray(limits.ok),
        center=limits.line(0.0),
        sigma=np.asarray(limits.sigma),
        ucl=limits.line(3.0, n_line),
        lcl=limits.line(-3.0, n_line),
        zones={m: limits.line(float(m), n_line) for m in (-2, -1, 1, 2)},
        last_value=_last(judged, judged.values, in_window),
        last_size=last_size,
        baseline_points=base.counts if base is not None else np.zeros(len(keys), np.int64),
        window_points=in_window,
        capability=_capability(chart, judged),
        flagged=_flagged(chart, judged, limits),
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


def _last(judged: Window, values: FloatArray, in_window: IntArray) -> FloatArray:
    """Each row's value at its latest point (rows are left-aligned), NaN without a point in
    the window."""
    out = np.full(len(judged.counts), np.nan)
    rows = np.flatnonzero(in_window > 0)
    out[rows] = values[rows, judged.counts[rows] - 1]
    return out


def _capability(chart: ChartConfig, judged: Window) -> dict[str, FloatArray]:
    """Capability of the window's own points (the context is masked out)."""
    if chart.usl is None and chart.lsl is None:
        return {}
    inside = judged.inside
    cap = capability_batch(
        np.where(inside, judged.values, np.nan),
        np.where(inside, judged.sizes, np.nan),
        usl=chart.usl,
        lsl=chart.lsl,
        log=chart.log,
        min_points=chart.min_points,
    )
    return {"cp": cap.cp, "cpk": cap.cpk, "pp": cap.pp, "ppk": cap.ppk}


def _flagged(
    chart: ChartConfig, judged: Window, limits: BatchLimits
) -> dict[str, tuple[FloatArray, ...]]:
    """Rule flags of the window's points, judged after their context (EWMA and CUSUM start
    from their zero state at the first context point)."""
    masks: dict[str, BoolArray] = {}
    if chart.rules:
        flags = judge(judged.values, limits, judged.sizes)
        masks.update({str(r): flags[r - 1] for r in chart.rules})
    fitted = limits.to_fit_scale(judged.values)
    if chart.ewma is not None:
        e = ewma(
            fitted,
            limits.center,
            limits.sigma,
            judged.sizes,
            lam=chart.ewma.lam,
            width=chart.ewma.width,
        )
        masks["ewma"] = e.signal
    if chart.cusum is not None:
        c = cusum(
            fitted, limits.center, limits.sigma, judged.sizes, k=chart.cusum.k, h=chart.cusum.h
        )
        masks["cusum"] = c.signal
    inside = judged.inside
    return {name: _timestamps(mask & inside, judged.timestamps) for name, mask in masks.items()}


def _timestamps(mask: BoolArray, stamps: FloatArray) -> tuple[FloatArray, ...]:
    """Per row, the timestamps where ``mask`` is set."""
    rows, cols = np.nonzero(mask)  # row-major, so each row's hits are contiguous
    hits = stamps[rows, cols]
    bounds = np.searchsorted(rows, np.arange(mask.shape[0] + 1))
    return tuple(hits[bounds[i] : bounds[i + 1]] for i in range(mask.shape[0]))
