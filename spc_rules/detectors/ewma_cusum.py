"""EWMA and CUSUM charts for small sustained shifts, on standardized points.

Both charts run on z = (x - center) / (sigma / sqrt(n)) (or on `Limits.zscores`, which is that
z under the log option's subgroup model), so subgroups of any size feed one chart whose
in-control statistic does not depend on n, and the published ARLs apply as they are.
Statistics are therefore in sigma units. The recursion is one loop over time that updates every
series at once.

Conventions (docs/spc.md gives the defaults):
- zero state: EWMA starts at 0 (the center), CUSUM at C+ = C- = 0, unless `initial` continues
  an earlier chart (pass the previous result's `last`).
- EWMA limit: +-width * sqrt(lam / (2 - lam)), the asymptotic limit the published ARLs use.
- a signal is the statistic beyond its limit (strictly); a chart is not reset after a signal,
  so it keeps signalling while the shift persists, like a continuing run.
- a missing point (NaN, size below 1, no limits) leaves the state unchanged, reports NaN and
  never signals.
- only this beyond-limit signal applies: the Nelson run rules assume independent points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.engine.core import BoolArray, FloatArray, prepare, standardize

# A recursion step: (states at t-1, z at t) -> states at t, for all series at once.
_Step = Callable[[tuple[FloatArray, ...], FloatArray], tuple[FloatArray, ...]]


@dataclass(frozen=True)
class EwmaResult:
    statistic: FloatArray  # same shape as values, sigma units, NaN at missing points
    limit: float  # the chart signals where abs(statistic) > limit
    signal: BoolArray
    last: FloatArray  # state after the last point, one per series (0-d for one series)


@dataclass(frozen=True)
class CusumResult:
    upper: FloatArray  # C+, same shape as values, NaN at missing points
    lower: FloatArray  # C- (a positive number for a downward shift)
    h: float
    signal_upper: BoolArray  # C+ > h
    signal_lower: BoolArray  # C- > h
    last_upper: FloatArray
    last_lower: FloatArray

    @property
    def signal(self) -> BoolArray:
        return self.signal_upper | self.signal_lower


def ewma_limit(lam: float, width: float) -> float:
    """The asymptotic EWMA limit in sigma units."""
    return float(width * np.sqrt(lam / (2.0 - lam)))


def ewma(
    values: ArrayLike,
    center: ArrayLike,
    sigma: ArrayLike,
    n: ArrayLike | None = None,
    *,
    lam: float = 0.1,
    width: float = 2.7,
    initial: ArrayLike | None = None,
) -> EwmaResult:
    """EWMA E[t] = lam * z[t] + (1 - lam) * E[t-1]; signals where abs(E[t]) > ewma_limit().

    values, center, sigma, n as in `nelson_rules`. Against fitted or pinned limits pass
    `limits.zscores(values, n)` with center 0 and sigma 1: that applies the log option and its
    log-normal subgroup model, which a center and sigma per series cannot express.
    initial: the state to start from (zero state when None), e.g. a previous result's `last`.
    """
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lam must be in (0, 1], got {lam}")
    z = _z(values, center, sigma, n)

    def step(states: tuple[FloatArray, ...], zt: FloatArray) -> tuple[FloatArray, ...]:
        return (lam * zt + (1.0 - lam) * states[0],)

    (stat,), (last,) = _recurse(z, (_start(initial, z),), step)
    limit = ewma_limit(lam, width)
    stat = stat.reshape(np.shape(values))
    return EwmaResult(
        statistic=stat,
        limit=limit,
        signal=np.abs(stat) > limit,
        last=last.reshape(np.shape(values)[:-1]),
    )


def cusum(
    values: ArrayLike,
    center: ArrayLike,
    sigma: ArrayLike,
    n: ArrayLike | None = None,
    *,
    k: float = 0.5,
    h: float = 5.0,
    initial: tuple[ArrayLike, ArrayLike] | None = None,
) -> CusumResult:
    """Two-sided tabular CUSUM on z: C+ = max(0, C+ + z - k), C- = max(0, C- - z - k).

    Signals where C+ > h (upward shift) or C- > h (downward shift).
    initial: (C+, C-) to start from (zero state when None), e.g. a previous result's last_*.
    """
    z = _z(values, center, sigma, n)
    up0 = _start(None if initial is None else initial[0], z)
    down0 = _start(None if initial is None else initial[1], z)

    def step(states: tuple[FloatArray, ...], zt: FloatArray) -> tuple[FloatArray, ...]:
        up, down = states
        return np.maximum(0.0, up + zt - k), np.maximum(0.0, down - zt - k)

    (upper, lower), (last_up, last_down) = _recurse(z, (up0, down0), step)
    shape = np.shape(values)
    upper, lower = upper.reshape(shape), lower.reshape(shape)
    return CusumResult(
        upper=upper,
        lower=lower,
        h=h,
        signal_upper=upper > h,
        signal_lower=lower > h,
        last_upper=last_up.reshape(shape[:-1]),
        last_lower=last_down.reshape(shape[:-1]),
    )


def _z(values: ArrayLike, center: ArrayLike, sigma: ArrayLike, n: ArrayLike | None) -> FloatArray:
    """z as (series, points); NaN at missing points."""
    z, _ = standardize(*prepare(values, center, sigma, n))
    return z


def _start(initial: ArrayLike | None, z: FloatArray) -> FloatArray:
    """The state before the first point, one per series."""
    if initial is None:
        return np.zeros(z.shape[0])
    return np.array(np.broadcast_to(np.asarray(initial, dtype=np.float64).ravel(), z.shape[:1]))


def _recurse(
    z: FloatArray,
    start: tuple[FloatArray, ...],
    step: _Step,
) -> tuple[tuple[FloatArray, ...], tuple[FloatArray, ...]]:
    """Run `step` over time for all series at once; missing points keep the state.

    Returns the statistics (series, points), NaN at missing points, and the final states.
    """
    zt = np.ascontiguousarray(z.T)  # time first: each step reads one contiguous row
    missing = np.isnan(zt)
    stats = tuple(np.empty_like(zt) for _ in start)
    states = start
    for t in range(zt.shape[0]):
        updated = step(states, zt[t])
        states = tuple(
            np.where(missing[t], old, new) for old, new in zip(states, updated, strict=True)
        )
        for out, state in zip(stats, states, strict=True):
            out[t] = state
    for out in stats:
        out[missing] = np.nan
    return tuple(out.T for out in stats), states
