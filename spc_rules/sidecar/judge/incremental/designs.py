"""The paging detector's design (k, h, clip) of each series to judge (docs/paging.md):
``design_for`` per series, from its sigma and point interval, remembered by those exact
inputs across cycles (they change only when its reference refits)."""

from __future__ import annotations

import numpy as np

from spc_rules.detectors.paging import BadSide, CusumDesign, PagingPolicy, Severity, design_for
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.judging import BoolArray
from spc_rules.sidecar.judge.reference import reference_points
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.memo import Memo


def designs(
    chart: ChartConfig,
    severity: Severity,
    point_intervals: FloatArray,
    sigma: FloatArray,
    ok: BoolArray,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """k, h and clip of each row ``ok`` to judge (memoized designs); a row without a design
    is cleared from ``ok``."""
    rows = len(point_intervals)
    k, h, clip = np.full(rows, 0.5), np.full(rows, 1.0), np.full(rows, 1.0)
    intervals = point_intervals.tolist()
    sigmas = [1.0] * rows if chart.proportion is not None else sigma.tolist()
    # What a design depends on besides sigma and interval: the reference's points per
    # second of interval (its window; inf where the reference is exact).
    chart_inputs = (
        chart.paging.policy, severity, chart.log, chart.direction,
        reference_points(chart, severity, 1.0),
    )  # fmt: skip
    known = _KNOWN.get(chart_inputs)
    if known is None:
        known = _KNOWN.keep(chart_inputs, {})
    judged = np.flatnonzero(ok).tolist()
    for row in judged:
        inputs = (sigmas[row], intervals[row])
        if inputs not in known:
            known[inputs] = _design(chart, severity, *inputs)
        design = known[inputs]
        if design is None:
            ok[row] = False
            continue
        k[row], h[row], clip[row] = design.k, design.h, design.clip
    if len(known) > DESIGNS_KEPT:  # forget the designs of sigmas no series has any more
        used = ((sigmas[row], intervals[row]) for row in judged)
        _KNOWN[chart_inputs] = {inputs: known[inputs] for inputs in used}
    return k, h, clip


# Designs by a chart's inputs, then by a series' sigma and point interval: they stay the
# same between its reference's refits, and rounding them to the design grid each cycle cost
# a tenth of a steady cycle at 10,000 series (hashing every input per row, a twentieth).
_Known = dict[tuple[float, float], CusumDesign | None]
DESIGNS_KEPT = 1 << 16  # per chart and severity, a few MB; past that only those in use
_KNOWN: Memo[tuple[PagingPolicy, Severity, bool, BadSide, float], _Known] = Memo(64)


def _design(
    chart: ChartConfig, severity: Severity, sigma: float, interval: float
) -> CusumDesign | None:
    """The series' design; None where it has none: no point interval yet, or no h meets
    the budget (a reference of too few points for this sigma: its error alone would page),
    and the series is not judged rather than the chart."""
    if not interval > 0:
        return None
    try:
        return design_for(
            chart.paging.policy,
            severity,
            log_scale=chart.log,
            sigma_fit=sigma,
            point_interval_s=interval,
            bad_side=chart.direction,
            reference_points=reference_points(chart, severity, interval),
        )
    except (ValueError, RuntimeError):
        return None
