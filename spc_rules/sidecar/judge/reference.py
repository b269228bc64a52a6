"""What an alarm detector compares each new point with: per series, a reference center and
long-run sigma fitted on its usable points (``baseline.select``) of the window before the
points (``paging.reference`` for the page; ``ticket_reference`` ending ``ticket_gap`` earlier
for tickets), how many points that reference averages (the page's design pays for its error,
docs/paging.md), and the series' point interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from spc_rules import fit_limits_batch
from spc_rules.detectors.paging import Severity
from spc_rules.detectors.paging_scale import paging_sigma_rows
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge import attributes, warmup
from spc_rules.sidecar.judge.baseline import Exclusions, select
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import Points
from spc_rules.sidecar.query.windows import window

INTERVAL_POINTS = 40  # the point interval is the median spacing of the newest points
# The long-run sigma reads at least this much: its autocorrelation estimate needs more points
# than the center (from 1 h, AR(1) rho 0.6 paged 7 times the budget; from 2 h, within it).
SIGMA_WINDOW = 2 * 3600.0


# Rows fitted together. A first cycle fits every series' reference at once, and its
# windows, z-scores and sorted copies (a few (series x points) arrays per span) were the
# largest memory a sidecar held: 400 MB at 10,000 series. Rows are independent, so they
# are fitted a block at a time; later cycles refit a tenth of the series, under one block.
REFERENCE_ROWS = 2048


def reference(
    chart: ChartConfig,
    severity: Severity,
    series: Sequence[Points],
    end: FloatArray,
    exclusions: Sequence[Exclusions],
    *,
    codes: tuple[float, ...],
    upto: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Center and long-run sigma per series from its usable points before ``end`` (up to
    ``upto`` when it falls back to its earliest points), leaving out the episodes of the
    severity ``codes``."""
    if len(series) > REFERENCE_ROWS:
        blocks = []
        for a in range(0, len(series), REFERENCE_ROWS):
            rows = slice(a, a + REFERENCE_ROWS)
            part = series[rows], end[rows], exclusions[rows]
            blocks.append(reference(chart, severity, *part, codes=codes, upto=upto[rows]))
        return np.concatenate([c for c, _ in blocks]), np.concatenate([s for _, s in blocks])
    window = _window(chart, severity)
    spans = sorted({window, max(window, SIGMA_WINDOW * chart.cadence_scale)})
    if chart.proportion is not None:  # a share and its sigma_z from one window, >= 2 h
        spans = [spans[-1]]
        window = spans[0]
    center, sigma = np.empty(0), np.empty(0)
    for span in spans:
        c, s = _fit(chart, series, span, end=end, exclusions=exclusions, codes=codes, upto=upto)
        center = c if span == window else center
        sigma = s  # from the longer window when there are two
    return center, sigma


def _fit(
    chart: ChartConfig,
    series: Sequence[Points],
    window: float,
    *,
    end: FloatArray,
    exclusions: Sequence[Exclusions],
    codes: tuple[float, ...],
    upto: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    start = end - window
    chosen = select(
        series,
        start,
        end,
        exclusions,
        min_points=chart.min_points,
        upto=upto,
        codes=codes,
        flagged=False,
        check=warmup.chart_check(chart),
    )
    w = chosen.window
    if chart.proportion is not None:
        return attributes.reference(chart, w)  # the share, and Laney's sigma_z
    fit = fit_limits_batch(
        w.values,
        w.sizes,
        method="std",
        log=chart.log,
        min_points=chart.min_points,
        max_refits=chart.refits,
    )
    z = fit.zscores(w.values, w.sizes)
    # Rows past their counts are NaN: each row reads as paging_scale reads its points; NaN
    # where there are too few values, or no spread.
    ok = np.asarray(fit.ok, dtype=bool)
    scaled = paging_sigma_rows(np.where(ok[:, None], z, np.nan))
    sigma = np.where(ok, np.asarray(fit.sigma) * scaled, np.nan)
    return np.asarray(fit.center), sigma


def _window(chart: ChartConfig, severity: Severity) -> float:
    return chart.paging.ticket_reference if severity == "ticket" else chart.paging.reference


def reference_points(chart: ChartConfig, severity: Severity, interval: float) -> float:
    """How many points the page's reference averages: its design pays for their error. A
    pinned center is exact; so are the ticket's (docs/paging.md: why) and a p chart's share
    taken to be (its error in z units depends on the counts; not modelled yet)."""
    exact = chart.baseline.pinned(chart.log) is not None or chart.proportion is not None
    if exact or severity == "ticket":
        return math.inf
    return max(_window(chart, severity) / interval, 1.0)


def point_interval(points: Points) -> float:
    """The series' point interval now: the median spacing of its newest points."""
    stamps = points.timestamps[-INTERVAL_POINTS - 1 :]
    return float(np.median(np.diff(stamps))) if stamps.size > 1 else float("nan")


def point_intervals(series: Sequence[Points]) -> FloatArray:
    """``point_interval`` of every series at once (the same medians, in one sort): per
    series per cycle, ``np.median`` cost a tenth of a steady cycle at 10,000 series."""
    # Each row's newest points: all of them are "before" a start at +inf.
    newest = window(series, math.inf, math.inf, INTERVAL_POINTS + 1)
    gaps = np.diff(newest.timestamps, axis=1)  # NaN past each row's points
    n = np.isfinite(gaps).sum(axis=1)
    ordered = np.sort(gaps, axis=1)  # NaN last
    rows = np.arange(len(series))
    lo, hi = np.maximum((n - 1) // 2, 0), n // 2
    middle = (
        (ordered[rows, lo] + ordered[rows, hi]) / 2.0
        if gaps.shape[1]
        else np.full(len(series), np.nan)
    )
    return np.where(n > 0, middle, np.nan)
