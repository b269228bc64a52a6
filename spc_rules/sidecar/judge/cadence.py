"""Sparse cadences: a chart's windows stretched to the spacing of its points
(docs/alerting.md, "Sparse cadences").

The defaults (1 h evaluation and page reference, 6 h baseline, 5 h ticket reference ...) are
sized for points every 15 s to 1 min. A chart whose points come every 5 minutes or every hour
would hold a handful of points in them, fewer than ``min_points``, and never get limits. So
every window of a chart is multiplied by one **scale**, the smallest power of two at which the
page's reference holds ``REFERENCE_POINTS`` (at least ``min_points``) points of the chart's
cadence: 1 up to 90 s points, 2 at 2 minutes, 4 at 5 minutes, 64 at 1 hour. Powers of two,
and a scale goes down only when the cadence allows a quarter of it, so a cadence that wobbles
does not change the chart's settings (which restarts its alarm detectors: ledger.py).

The cadence is the median over the chart's series of their point interval
(``ChartResult.point_interval``) in the previous cycle; the first cycle of a chart, and a
chart without one, keep the scale they have (1 at first). p charts keep theirs: their points
are subgroups of a fixed length.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig, RollingBaseline
from spc_rules.sidecar.query.decode import FloatArray

# The fewest points the page's reference should hold (and min_points): its design pays for
# the reference's error, which below ~40 points costs a much higher h (docs/alerting.md).
REFERENCE_POINTS = 40


def chart_cadence(intervals: FloatArray) -> float:
    """A chart's cadence: the median of its series' point intervals (NaN: none known)."""
    known = intervals[np.isfinite(intervals) & (intervals > 0)]
    return float(np.median(known)) if known.size else math.nan


def scale_for(chart: ChartConfig, cadence: float, current: int = 1) -> int:
    """The windows' scale for points every ``cadence`` seconds, from the ``current`` one."""
    if chart.proportion is not None or not cadence > 0:
        return current
    needed = max(chart.min_points, REFERENCE_POINTS) * cadence / chart.paging.reference
    least = 1 << max(math.ceil(math.log2(needed) - 1e-9), 0) if needed > 1 else 1
    return least if least > current or needed * 4 <= current else current


def effective_chart(
    chart: ChartConfig, cadence: float, previous: ChartConfig | None = None
) -> ChartConfig:
    """``chart`` (as configured) with its windows stretched for points every ``cadence``
    seconds; ``previous``: what the last cycle of this chart used (its scale is kept while
    the cadence allows it)."""
    current = previous.cadence_scale if previous is not None else 1
    return stretched(chart, scale_for(chart, cadence, current))


def stretched(chart: ChartConfig, scale: int) -> ChartConfig:
    """``chart`` with every window ``scale`` times longer (accept_after at least its whole
    fetch span, so an accepted level fills the baseline as at the defaults)."""
    if scale == chart.cadence_scale:
        return chart
    f = scale / chart.cadence_scale
    base = chart.baseline
    if base.rolling_window > 0:
        base = RollingBaseline(base.rolling_window * f)
    p = chart.paging
    evaluation = chart.evaluation * f
    paging = dataclasses.replace(
        p,
        reference=p.reference * f,
        ticket_reference=p.ticket_reference * f,
        ticket_gap=p.ticket_gap * f,
        accept_after=max(p.accept_after, evaluation + base.rolling_window),
    )
    return dataclasses.replace(
        chart,
        baseline=base,
        evaluation=evaluation,
        hold=chart.hold * f,
        paging=paging,
        cadence_scale=scale,
    )
