"""What a point is judged against: the fitting scale, and the center and spread of a point of
subgroup size n under the plain model or the log option's log-normal subgroup model."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.engine.core import FloatArray, as_values, blocks, prepare, standardize
from spc_rules.engine.lognormal import point_moments, standardize_subgroups

Prepared = tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]


def to_fit_scale(values: ArrayLike, log: bool) -> FloatArray:
    """The values the limits are fitted on: log(x) with the log option (x <= 0 becomes missing)."""
    x = as_values(values)
    if not log:
        return x
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(x > 0, np.log(x), np.nan)


def line(
    center: FloatArray | np.float64,
    sigma: FloatArray | np.float64,
    multiple: float,
    n: FloatArray | np.float64,
    log: bool,
) -> FloatArray:
    """The line `multiple` sigmas from the center of a point of size n, on the original scale:
    center + multiple * sigma / sqrt(n), or with `log` exp(c_n + multiple * sigma_n)."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if not log:
            return np.asarray(center + multiple * sigma / np.sqrt(n), dtype=np.float64)
        c, sd = point_moments(np.asarray(center), np.asarray(sigma), np.asarray(n))
        return np.asarray(np.exp(c + multiple * sd), dtype=np.float64)


def prepared(
    values: ArrayLike, center: ArrayLike, sigma: ArrayLike, n: ArrayLike | None, log: bool
) -> Prepared:
    """Values on the fitting scale as (series, points), center and sigma as (series, 1)
    columns, n like the values (see `_core.prepare`)."""
    return prepare(to_fit_scale(values, log), center, sigma, n)


def zscores(
    values: ArrayLike, center: ArrayLike, sigma: ArrayLike, n: ArrayLike | None, log: bool
) -> FloatArray:
    """z of every point as the rules see it (NaN where missing), shaped like values: with `log`
    and sizes, under the log-normal subgroup model. Row blocks keep temporaries small."""
    x, c, s, size = prepared(values, center, sigma, n, log)
    z = np.empty_like(x)
    for rows in blocks(*x.shape):
        if log and size is not None:
            z[rows], _ = standardize_subgroups(x[rows], c[rows], s[rows], size[rows])
        else:
            z[rows], _ = standardize(
                x[rows], c[rows], s[rows], None if size is None else size[rows]
            )
    return z.reshape(np.shape(values))
