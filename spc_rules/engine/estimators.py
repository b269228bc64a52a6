"""Row-wise center and sigma estimators for (series x points) arrays with a mask of used points.

Subgroup sizes make every estimator reduce to the textbook individuals formula when n == 1:

- center: the n-weighted mean of the points, i.e. the grand mean of all observations.
- moving ranges: |x[i] - x[i-1]| * sqrt(2 / (1/n[i] + 1/n[i-1])). The difference of two
  subgroup means has variance sigma^2 (1/n[i] + 1/n[i-1]); the factor rescales it to the
  difference of two single observations, so MRbar / d2 and median(MR) / d4 stay unbiased
  for sigma of one observation (normal data) whatever the sizes.
- standard deviation: sqrt(sum(n[i] (x[i] - center)^2) / (N - 1)), the between-subgroup
  estimate of sigma of one observation (ANOVA: that sum is sigma^2 chi^2 with N-1 degrees of
  freedom for in-control data); the sample standard deviation when n == 1.

A moving range needs both of its points, so a missing point breaks it. Ranges are stored
aligned with their later point, (series, points) with column 0 empty, so that every pass is
one flat operation over a contiguous block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from spc_rules.engine.core import BoolArray, FloatArray, shifted_and

IntArray = NDArray[np.int64]

D2 = 1.128
D4 = 0.954

SigmaMethod = Literal["mr", "median_mr", "std"]
SIGMA_METHODS: tuple[SigmaMethod, ...] = ("mr", "median_mr", "std")


@dataclass(frozen=True)
class Sample:
    """A contiguous block of series: values, subgroup sizes, and the range rescaling factors."""

    x: FloatArray
    n: FloatArray | None
    scale: FloatArray | None  # sqrt(2 / (1/n[i] + 1/n[i-1])) at point i; None when n == 1

    @classmethod
    def of(cls, x: FloatArray, n: FloatArray | None) -> Sample:
        x = np.ascontiguousarray(x)
        if n is None:
            return cls(x, None, None)
        n = np.ascontiguousarray(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            inv = 1.0 / n
            both = np.empty_like(inv)
            _diff_into(both, inv, np.add)
            scale = np.sqrt(2.0 / both)
        return cls(x, n, scale)

    @classmethod
    def of_variances(cls, x: FloatArray, variance: FloatArray) -> Sample:
        """Points of known variances (relative to one unit-precision point): the precisions
        1 / variance stand in for the sizes, and the range factor is sqrt(2 / (v[i] + v[i-1]))."""
        x, variance = np.ascontiguousarray(x), np.ascontiguousarray(variance)
        with np.errstate(invalid="ignore", divide="ignore"):
            scale = np.empty_like(variance)
            _diff_into(scale, variance, np.add)
            np.divide(2.0, scale, out=scale)
            np.sqrt(scale, out=scale)
            return cls(x, 1.0 / variance, scale)

    def rows(self, index: NDArray[np.intp]) -> Sample:
        return Sample(self.x[index], _pick(self.n, index), _pick(self.scale, index))


def _pick(a: FloatArray | None, index: NDArray[np.intp]) -> FloatArray | None:
    return None if a is None else a[index]


def _diff_into(out: FloatArray, a: FloatArray, op: np.ufunc) -> None:
    """out[:, i] = op(a[:, i], a[:, i-1]) on the flat block; column 0 is left meaningless."""
    flat, fa = out.reshape(-1), a.reshape(-1)
    op(fa[1:], fa[:-1], out=flat[1:])
    flat[:1] = 0.0


def counts(mask: BoolArray) -> IntArray:
    """Used points per row."""
    return np.asarray(mask.sum(axis=1), dtype=np.int64)


def weighted_mean(sample: Sample, mask: BoolArray) -> FloatArray:
    """n-weighted mean of the used points of each row (NaN for a row with none)."""
    total = np.where(mask, sample.x, 0.0)
    if sample.n is None:
        weight = counts(mask).astype(np.float64)
    else:
        w = np.where(mask, sample.n, 0.0)
        total *= w
        weight = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total.sum(axis=1) / weight, dtype=np.float64)


def moving_ranges(sample: Sample, mask: BoolArray) -> tuple[FloatArray, BoolArray]:
    """Rescaled moving ranges aligned with their later point, and where they exist.

    A range that does not exist (either point unused, or column 0) holds 0.
    """
    pair = shifted_and(mask, mask, 1)
    used = np.where(mask, sample.x, 0.0)
    mr = np.empty_like(used)
    _diff_into(mr, used, np.subtract)
    np.abs(mr, out=mr)
    if sample.scale is not None:
        with np.errstate(invalid="ignore", over="ignore"):
            mr *= sample.scale
    np.copyto(mr, 0.0, where=~pair)
    return mr, pair


def sigma_mr(sample: Sample, mask: BoolArray) -> FloatArray:
    """MRbar / d2 per row (NaN without any moving range)."""
    mr, pair = moving_ranges(sample, mask)
    with np.errstate(invalid="ignore", divide="ignore"):
        mrbar = mr.sum(axis=1) / pair.sum(axis=1)
    return np.asarray(mrbar / D2, dtype=np.float64)


def sigma_median_mr(sample: Sample, mask: BoolArray) -> FloatArray:
    """median(MR) / d4 per row (NaN without any moving range)."""
    mr, pair = moving_ranges(sample, mask)
    np.copyto(mr, np.nan, where=~pair)
    return row_nanmedian(mr) / D4


def sigma_std(sample: Sample, mask: BoolArray, center: FloatArray) -> FloatArray:
    """sqrt(sum n (x - center)^2 / (N - 1)) per row; NaN with fewer than two points."""
    dev = np.where(mask, sample.x - center[:, None], 0.0)
    dev *= dev
    if sample.n is not None:
        dev *= np.where(mask, sample.n, 0.0)
    dof = counts(mask) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(dof > 0, dev.sum(axis=1) / dof, np.nan)
    return np.asarray(np.sqrt(var), dtype=np.float64)


def sigma_of(
    method: SigmaMethod, sample: Sample, mask: BoolArray, center: FloatArray
) -> FloatArray:
    """Dispatch on the sigma method name."""
    if method == "mr":
        return sigma_mr(sample, mask)
    if method == "median_mr":
        return sigma_median_mr(sample, mask)
    if method == "std":
        return sigma_std(sample, mask, center)
    raise ValueError(f"unknown sigma method {method!r}; expected one of {SIGMA_METHODS}")


def row_nanmedian(a: FloatArray) -> FloatArray:
    """Median of the non-NaN entries of each row, in one sort (numpy's nanmedian loops rows)."""
    if a.shape[1] == 0:
        return np.full(a.shape[0], np.nan)
    ordered = np.sort(a, axis=1)  # NaN sorts last
    m = (~np.isnan(a)).sum(axis=1)
    lo = np.clip((m - 1) // 2, 0, None)[:, None]
    hi = np.clip(m // 2, 0, a.shape[1] - 1)[:, None]
    med = 0.5 * (np.take_along_axis(ordered, lo, 1) + np.take_along_axis(ordered, hi, 1))[:, 0]
    return np.where(m > 0, med, np.nan)
