"""The paging detector's design (k, h, clip) of each series to judge (docs/paging.md):
``design_for`` per series, from its sigma and point interval, remembered by those exact
inputs across cycles (they change only when its reference refits)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from spc_rules.detectors.paging import BadSide, CusumDesign, PagingPolicy, Severity, design_for
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge.judging import BoolArray
from spc_rules.sidecar.judge.reference import reference_points
from spc_rules.sidecar.query.decode import FloatArray


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
    policy, sigmas = chart.paging.policy, sigma.tolist()  # once, not per row
    for row in np.flatnonzero(ok).tolist():
        interval = intervals[row]
        if not interval > 0:
            ok[row] = False
            continue
        try:
            design = _design(
                (
                    policy,
                    severity,
                    chart.log,
                    1.0 if chart.proportion is not None else sigmas[row],
                    interval,
                    chart.direction,
                    reference_points(chart, severity, interval),
                )
            )
        except (ValueError, RuntimeError):
            # No h meets the budget: a reference of too few points for this sigma (its
            # error alone would page). The series is not judged rather than the chart.
            ok[row] = False
            continue
        k[row], h[row], clip[row] = design.k, design.h, design.clip
    return k, h, clip


_Inputs = tuple[PagingPolicy, Severity, bool, float, float, BadSide, float]


@lru_cache(maxsize=1 << 16)
def _design(inputs: _Inputs) -> CusumDesign:
    """``design_for`` remembered by its exact inputs: a series' sigma and point interval
    stay the same between its reference's refits, and rounding them to the design grid
    each cycle cost a tenth of a steady cycle at 10,000 series."""
    policy, severity, log, sigma, interval, direction, points = inputs
    return design_for(
        policy,
        severity,
        log_scale=log,
        sigma_fit=sigma,
        point_interval_s=interval,
        bad_side=direction,
        reference_points=points,
    )
