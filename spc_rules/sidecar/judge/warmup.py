"""Provisional limits that an incident cannot poison: which of a new series' earliest points
they are fitted on (docs/sidecar.md, "Provisional limits").

The usable points are cut into **regimes** at level changes (binary segmentation): a segment
splits where the means before and after differ most in standard errors, when that difference
is more than both ``SPLIT_Z`` standard errors and the chart's smallest move that matters
(``ln(min_effect)`` on log charts). Values are first clipped at ``CLIP`` robust sigmas from
their median, so a lone outlier cannot make a regime of its own; the sigma comes from
successive differences (the smallest 90% of them), which a level change moves at one point
only, so a change cannot hide itself by widening the sigma.

The provisional fit reads the **longest regime** (the level the series spends most of its time
at; on a tie, the one on the chart's good side), its earliest half but at least ``min_points``
of it, and waits while no regime holds ``min_points``. An in-control series is one regime:
its provisional limits are those of its earliest points, as without this check. An incident
among the first points is a regime of its own, shorter than the normal level's once the
series has run past it, so it neither enters the limits nor goes unjudged (the points wait,
unjudged, until limits exist: ``judging.judge_new``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray

EDGE = 3  # the fewest points a regime may be cut to
SPLIT_Z = 3.5  # standard errors of the difference of means that make a change (the largest
# of many correlated splits: an in-control segment of 20-240 points splits in 1-3%)
CLIP = 3.0  # robust sigmas from the median where values are clipped before the means
MAD = 1.482602218505602  # median absolute deviation to sigma (normal)
KEEP = 0.9  # the share of successive differences the sigma reads (the smallest)
_Q = 1.6448536269514722  # the standard normal's 95% quantile: |Z| < _Q holds 90%
# E[Z^2 | |Z| < _Q] for a standard normal Z
_TRIMMED = 1.0 - 2.0 * _Q * math.exp(-_Q * _Q / 2.0) / math.sqrt(2.0 * math.pi) / KEEP


@dataclass(frozen=True)
class LevelCheck:
    """How a chart's values are cut into regimes: on ln x for log charts; the smallest change
    that counts, on that scale (0: the statistical test alone); which side is good."""

    log: bool
    min_shift: float = 0.0
    direction: str = "up"


def level_check(log: bool, min_effect: float | None, direction: str) -> LevelCheck:
    """A chart's check: ``ln(min_effect)`` is the smallest change that counts."""
    shift = math.log(min_effect) if log and min_effect is not None and min_effect > 1 else 0.0
    return LevelCheck(log, shift, direction)


def chart_check(chart: ChartConfig) -> LevelCheck | None:
    """The check of a histogram chart; p charts' shares keep their earliest points."""
    if chart.proportion is not None:
        return None
    return level_check(chart.log, chart.min_effect, chart.direction)


def provisional(values: FloatArray, min_points: int, check: LevelCheck) -> IntArray | None:
    """Positions (into ``values``, oldest first) a provisional fit reads; None: wait."""
    x = np.log(values) if check.log else np.asarray(values, np.float64)
    if x.size < min_points:
        return None
    if not np.all(np.isfinite(x)):
        return np.arange(max(min_points, x.size // 2))  # not on this scale: as before
    bounds = regimes(x, check.min_shift)
    long = [(lo, hi) for lo, hi in bounds if hi - lo >= min_points]
    if not long:
        return None
    sign = {"up": 1.0, "down": -1.0}.get(check.direction, 0.0)
    lo, hi = max(long, key=lambda b: (b[1] - b[0], -sign * float(np.mean(x[b[0] : b[1]]))))
    return np.arange(lo, lo + max(min_points, (hi - lo) // 2))


def regimes(x: FloatArray, min_shift: float = 0.0) -> list[tuple[int, int]]:
    """[start, end) of each run of ``x`` at one level, oldest first."""
    if x.size < 2 * EDGE:
        return [(0, x.size)]
    center = float(np.median(x))
    sigma = _diff_sigma(np.abs(np.diff(x)))
    if not sigma > 0:
        sigma = MAD * float(np.median(np.abs(x - center))) or float(np.std(x))
    if not sigma > 0:
        return [(0, x.size)]
    y = np.clip(x, center - CLIP * sigma, center + CLIP * sigma)
    out: list[tuple[int, int]] = []
    todo = [(0, y.size)]
    while todo:
        lo, hi = todo.pop()
        cut = _split(y[lo:hi], sigma, min_shift)
        if cut is None:
            out.append((lo, hi))
        else:
            todo += [(lo, lo + cut), (lo + cut, hi)]
    return sorted(out)


def _diff_sigma(d: FloatArray) -> float:
    """sigma from successive differences: the root mean square of the smallest 90% of them
    (a level change makes one large difference, an outlier two), corrected to the normal."""
    kept = np.sort(d)[: max(math.ceil(KEEP * d.size), 1)]
    return math.sqrt(float(kept @ kept) / kept.size / _TRIMMED / 2.0)


def _split(y: FloatArray, sigma: float, min_shift: float) -> int | None:
    """Where a segment changes level (its best split, when significant), else None."""
    n = y.size
    if n < 2 * EDGE:
        return None
    # A segment's own spread around its median, where smaller: a minority at another level
    # (an incident's edge) hardly moves it, while it may inflate the differences' sigma.
    sigma = min(sigma, MAD * float(np.median(np.abs(y - np.median(y)))) or sigma)
    j = np.arange(EDGE, n - EDGE + 1)
    sums = np.cumsum(y)
    before = sums[j - 1] / j
    after = (sums[-1] - sums[j - 1]) / (n - j)
    gap = np.abs(before - after)
    z = gap / (sigma * np.sqrt(1.0 / j + 1.0 / (n - j)))
    best = int(np.argmax(z))
    if z[best] > SPLIT_Z and gap[best] > min_shift:
        return int(j[best])
    return None
