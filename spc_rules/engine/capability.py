"""Process capability: Cp, Cpk (within, moving-range sigma) and Pp, Ppk (overall sigma).

    Cp  = (USL - LSL) / (6 sigma_within)        Pp  = (USL - LSL) / (6 sigma_overall)
    Cpk = min(USL - mean, mean - LSL) / (3 sigma_within)
    Ppk = the same with sigma_overall

mean is the n-weighted mean of the points, sigma_within MRbar / 1.128 and sigma_overall the
sample standard deviation, both as `spc_rules.engine.estimators` defines them for subgroup sizes.
With one spec limit Cpk and Ppk use that side and Cp, Pp are undefined. With the log option
everything is computed on log(x) against log(USL) / log(LSL). With the log option and subgroups
(a point of size above 1 in the series), mean and sigma are mu and sigma of ln(x) of one
log-normal observation, fitted with the log-normal subgroup model (`spc_rules.engine.lognormal`):
within by its moving-range form, overall by its standard-deviation form, each with its own mu
(mu = ln m - sigma^2 / 2 with m the mean of one observation, so a wider overall sigma comes with a
lower overall mu). The indices then describe single requests against the spec, e.g.
Cpk = (ln USL - mu) / (3 sigma), so that P(x > USL) = Phi(-3 Cpk) for log-normal requests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.engine.core import BoolArray, FloatArray, as_2d, as_values, present, sizes
from spc_rules.engine.estimators import (
    IntArray,
    Sample,
    SigmaMethod,
    counts,
    sigma_mr,
    sigma_std,
    weighted_mean,
)
from spc_rules.engine.limits import MIN_POINTS, to_fit_scale
from spc_rules.engine.lognormal import first_guess, fit_lognormal, has_subgroups


@dataclass(frozen=True)
class Capability:
    """Capability of one series; an index that is undefined is None."""

    cp: float | None
    cpk: float | None
    pp: float | None
    ppk: float | None
    mean: float  # on the fitting scale (log(x) with the log option); Cpk's
    sigma_within: float
    sigma_overall: float
    mean_overall: float  # Ppk's mean: `mean` except for log-normal subgroups
    n_points: int
    log: bool


@dataclass(frozen=True)
class BatchCapability:
    """Capability of many series, one entry per series; NaN where an index is undefined
    (one spec limit for cp/pp; no spec limit, or too few points, for all four)."""

    cp: FloatArray
    cpk: FloatArray
    pp: FloatArray
    ppk: FloatArray
    mean: FloatArray
    sigma_within: FloatArray
    sigma_overall: FloatArray
    mean_overall: FloatArray
    n_points: IntArray
    log: bool

    def __len__(self) -> int:
        return int(self.cpk.shape[0])

    def __getitem__(self, i: int) -> Capability | None:
        """Series i, or None where it has no capability at all."""
        if np.isnan(self.cpk[i]):
            return None
        return Capability(
            cp=_opt(self.cp[i]),
            cpk=_opt(self.cpk[i]),
            pp=_opt(self.pp[i]),
            ppk=_opt(self.ppk[i]),
            mean=float(self.mean[i]),
            sigma_within=float(self.sigma_within[i]),
            sigma_overall=float(self.sigma_overall[i]),
            mean_overall=float(self.mean_overall[i]),
            n_points=int(self.n_points[i]),
            log=self.log,
        )


def _opt(v: np.float64) -> float | None:
    return None if np.isnan(v) else float(v)


def _spec(limit: ArrayLike | None, rows: int, log: bool, name: str) -> FloatArray:
    """A spec limit per series (NaN: absent), on the fitting scale."""
    if limit is None:
        return np.full(rows, np.nan)
    spec = np.array(np.broadcast_to(np.asarray(limit, dtype=np.float64), (rows,)))
    if not log:
        return spec
    if np.any(spec <= 0):
        raise ValueError(f"{name} must be positive with the log option, got {limit!r}")
    return np.log(spec)


def capability_batch(
    values: ArrayLike,
    n: ArrayLike | None = None,
    *,
    usl: ArrayLike | None = None,
    lsl: ArrayLike | None = None,
    log: bool = False,
    min_points: int = MIN_POINTS,
) -> BatchCapability:
    """Cp, Cpk, Pp, Ppk of every series (rows of a NaN-padded 2-D array).

    usl, lsl: a scalar, one per series (NaN: no such limit for that series), or None.
    A series with fewer than `min_points` present points, or a sigma that is not positive,
    gets NaN everywhere.
    """
    x = as_2d(to_fit_scale(values, log))
    size = sizes(n, x)
    mask = present(x, size)
    upper = _spec(usl, x.shape[0], log, "usl")
    lower = _spec(lsl, x.shape[0], log, "lsl")
    if np.any(upper <= lower):
        raise ValueError("usl must be above lsl")
    sample = Sample.of(x, size)
    mean = weighted_mean(sample, mask)
    within = sigma_mr(sample, mask)
    overall = sigma_std(sample, mask, mean)
    mean_overall = mean.copy()
    if log and size is not None:
        _lognormal_rows(x, size, mask, (mean, within), (mean_overall, overall))
    used = counts(mask)
    ok = (used >= min_points) & (within > 0) & (overall > 0)
    ok &= np.isfinite(within) & np.isfinite(overall)

    def indices(center: FloatArray, sigma: FloatArray) -> tuple[FloatArray, FloatArray]:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            # fmin skips a NaN side, which is how one spec limit alone is handled.
            k = np.fmin(upper - center, center - lower) / (3.0 * sigma)
            c = (upper - lower) / (6.0 * sigma)
        return np.where(ok, c, np.nan), np.where(ok, k, np.nan)

    cp, cpk = indices(mean, within)
    pp, ppk = indices(mean_overall, overall)
    return BatchCapability(
        cp=cp,
        cpk=cpk,
        pp=pp,
        ppk=ppk,
        mean=mean,
        sigma_within=within,
        sigma_overall=overall,
        mean_overall=mean_overall,
        n_points=used,
        log=log,
    )


def _lognormal_rows(
    y: FloatArray,
    n: FloatArray,
    mask: BoolArray,
    within: tuple[FloatArray, FloatArray],
    overall: tuple[FloatArray, FloatArray],
) -> None:
    """Overwrite (mean, sigma) within and overall of the rows holding subgroups with the
    log-normal subgroup fits (mu, sigma of one observation), starting from the plain ones."""
    rows = np.flatnonzero(has_subgroups(n, mask))
    if rows.size == 0:
        return
    y, n, mask = y[rows], n[rows], mask[rows]
    methods: tuple[SigmaMethod, SigmaMethod] = ("mr", "std")
    for (center, sigma), method in zip((within, overall), methods, strict=True):
        start = first_guess(sigma[rows], n, mask)
        center[rows], sigma[rows] = fit_lognormal(y, n, mask, method, start)


def capability(
    values: ArrayLike,
    n: ArrayLike | None = None,
    *,
    usl: float | None = None,
    lsl: float | None = None,
    log: bool = False,
    min_points: int = MIN_POINTS,
) -> Capability | None:
    """Capability of one series (1-D); None with too few points. See capability_batch."""
    if usl is None and lsl is None:
        raise ValueError("capability needs at least one spec limit (usl or lsl)")
    x = as_values(values)
    if x.ndim != 1:
        raise ValueError("capability takes one series; use capability_batch for 2-D input")
    return capability_batch(x, n, usl=usl, lsl=lsl, log=log, min_points=min_points)[0]
