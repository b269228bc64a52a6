"""Percentiles with bootstrap confidence intervals, and the two-sample test.

The intervals are percentile-bootstrap intervals: resample the points with replacement,
take the percentile of each resample, read the 2.5% and 97.5% quantiles of those. The
generator is seeded, so the same points always give the same intervals. For a difference
between two sessions each one is resampled on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from spc_rules.sidecar.query.decode import FloatArray

RESAMPLES = 2000
CONFIDENCE = 0.95
SEED = 20240917
PERCENTILES = (50, 90, 95, 99)
_BLOCK_CELLS = 4_000_000  # resampled values held at once: bounds memory for long sessions


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float


def bootstrap(values: FloatArray, quantiles: Sequence[float], seed: int = SEED) -> FloatArray:
    """(RESAMPLES, len(quantiles)): the quantiles of each resample of ``values``."""
    rng = np.random.default_rng(seed)
    n = values.size
    out = np.empty((RESAMPLES, len(quantiles)))
    step = max(1, _BLOCK_CELLS // max(n, 1))
    for first in range(0, RESAMPLES, step):
        rows = min(step, RESAMPLES - first)
        picks = values[rng.integers(0, n, size=(rows, n))]
        out[first : first + rows] = np.quantile(picks, quantiles, axis=1).T
    return out


def _interval(draws: FloatArray) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(draws, (tail, 1 - tail))
    return float(low), float(high)


def percentiles(values: FloatArray, which: Sequence[int] = PERCENTILES) -> dict[str, Estimate]:
    """``{"p50": Estimate, ...}`` of the points; NaN everywhere without points."""
    if values.size == 0:
        nan = float("nan")
        return {f"p{p}": Estimate(nan, nan, nan) for p in which}
    qs = [p / 100 for p in which]
    point = np.quantile(values, qs)
    draws = bootstrap(values, qs)
    return {
        f"p{p}": Estimate(float(point[i]), *_interval(draws[:, i])) for i, p in enumerate(which)
    }


def change(before: FloatArray, after: FloatArray, q: float) -> Estimate:
    """The change of the q-quantile from ``before`` to ``after``, with its interval."""
    point = float(np.quantile(after, q) - np.quantile(before, q))
    # Different seeds: the two resamplings must be independent.
    draws = bootstrap(after, [q], SEED + 1)[:, 0] - bootstrap(before, [q], SEED)[:, 0]
    return Estimate(point, *_interval(draws))


@dataclass(frozen=True)
class Test:
    u: float
    p_value: float


def mann_whitney(before: FloatArray, after: FloatArray) -> Test:
    """Two-sided Mann-Whitney U test (scipy): do the two sessions' points come from the same
    distribution? Small samples without ties get the exact p-value, others the normal one."""
    result = stats.mannwhitneyu(after, before, alternative="two-sided")
    return Test(float(result.statistic), float(result.pvalue))
