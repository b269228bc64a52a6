"""The sigma to standardize paging points with, from a baseline that may be autocorrelated.

A CUSUM adds points up, so what sets its false-alarm rate over the tens of points it spans is
the variance of sums of points, that is the long-run variance, not the variance of one point.
For an AR(1) series with lag-1 correlation rho the long-run standard deviation is

    sigma_long = sigma * sqrt((1 + rho) / (1 - rho)),

and standardizing with it bounds the variance of every partial sum by that of independent
points, so the false-page rate stays at or below the design's (docs/paging.md; tested with
rho 0.3 and 0.6). A moving-range sigma is the wrong base here: MRbar / d2 estimates
sigma * sqrt(1 - rho), too small by the factor the CUSUM needs to be larger.

The estimate is robust-ish: values are winsorized at 3 robust sigmas (median absolute deviation)
around a least-squares line through time (`detrend`, default on, so that a rolling baseline's
drift, e.g. a diurnal rhythm, is not read as autocorrelation), then the marginal sigma and the
lag-1 correlation are the moments of the winsorized residuals (the sigma corrected for the
winsorizing at the normal, rho for its small-sample bias), rho clipped to [0, max_rho].
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import ArrayLike

WINSOR = 3.0
MAD_TO_SIGMA = 1.482602218505602
MIN_VALUES = 20


@dataclass(frozen=True)
class PagingScale:
    sigma: float  # marginal sigma of one value (fitting scale)
    rho: float  # lag-1 autocorrelation, clipped to [0, max_rho]
    inflation: float  # sqrt((1 + rho) / (1 - rho))

    @property
    def sigma_paging(self) -> float:
        """The long-run sigma: standardize paging points with it, and design with it."""
        return self.sigma * self.inflation


def paging_scale(values: ArrayLike, *, detrend: bool = True, max_rho: float = 0.9) -> PagingScale:
    """Marginal sigma, lag-1 autocorrelation and long-run inflation of baseline values in order.

    values: the baseline on the fitting scale (log(x) for log charts), oldest first; NaN marks a
    missing point (pairs across it are skipped). For X-bar points pass z-scores standardized with
    sigma = 1 and multiply the chart's sigma by the returned `inflation`.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    t = np.flatnonzero(np.isfinite(x))
    if t.size < MIN_VALUES:
        raise ValueError(f"need at least {MIN_VALUES} baseline values, got {t.size}")
    y = x[t]
    if detrend:
        # Line through winsorized values (so outliers do not tilt it), then residuals.
        center, spread = _robust(y)
        slope, intercept = np.polyfit(t, np.clip(y, center - 4 * spread, center + 4 * spread), 1)
        y = y - (slope * t + intercept)
    center, spread = _robust(y)
    if spread == 0.0:
        raise ValueError("baseline without spread: sigma is zero")
    r = np.clip(y - center, -WINSOR * spread, WINSOR * spread)
    r = r - r.mean()
    n = r.size
    fitted = 2 if detrend else 1
    sigma = math.sqrt(float(r @ r) / (n - fitted) / _winsor_variance(WINSOR))
    pairs = np.flatnonzero(np.diff(t) == 1)  # consecutive positions, both present
    if pairs.size < MIN_VALUES // 2:
        rho_raw = 0.0
    else:
        rho_raw = float(r[pairs] @ r[pairs + 1]) / pairs.size / (float(r @ r) / n)
        rho_raw += (1.0 + (3.0 + fitted) * rho_raw) / n  # bias of the lag-1 estimate, ~(1+4rho)/n
    rho = min(max(rho_raw, 0.0), max_rho)
    return PagingScale(sigma=sigma, rho=rho, inflation=math.sqrt((1.0 + rho) / (1.0 - rho)))


def _robust(y: np.ndarray) -> tuple[float, float]:
    """Median and MAD sigma; the standard deviation where the MAD is zero (ties)."""
    center = float(np.median(y))
    spread = MAD_TO_SIGMA * float(np.median(np.abs(y - center)))
    return center, spread if spread > 0 else float(np.std(y))


@cache  # called once per fit with the same c: scipy's pdf and sf cost more than the fit
def _winsor_variance(c: float) -> float:
    """E[clip(Z, -c, c)^2] for standard normal Z."""
    # The normal's tail and density from math: scipy.stats would cost the sidecar 23 MiB.
    tail = 0.5 * math.erfc(c / math.sqrt(2.0))
    pdf = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    return 1.0 - 2.0 * (c * pdf + tail) + 2.0 * c * c * tail


def paging_sigma_rows(values: np.ndarray, *, max_rho: float = 0.9) -> np.ndarray:
    """``paging_scale(row).sigma_paging`` of every row of a (series x points) array at once,
    NaN where a row has too few values or no spread (where ``paging_scale`` raises); rows are
    NaN-padded, and a NaN inside a row is a missing point as there. The same arithmetic in
    array form (the detrending line by its closed form, not ``polyfit``: equal to rounding),
    for the sidecar, which fits thousands of series per cycle."""
    x = np.asarray(values, dtype=np.float64)
    present = np.isfinite(x)
    n = present.sum(axis=1)
    t = np.broadcast_to(np.arange(x.shape[1], dtype=np.float64), x.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        center, spread = _robust_rows(x, n)
        # Detrend: least squares line through the winsorized values, then residuals.
        v = np.clip(x, (center - 4 * spread)[:, None], (center + 4 * spread)[:, None])
        tm = np.where(present, t, 0.0).sum(axis=1) / n
        vm = np.where(present, v, 0.0).sum(axis=1) / n
        dt = np.where(present, t - tm[:, None], 0.0)
        slope = (dt * np.where(present, v - vm[:, None], 0.0)).sum(axis=1) / (dt * dt).sum(axis=1)
        y = x - (slope[:, None] * t + (vm - slope * tm)[:, None])
        center, spread = _robust_rows(y, n)
        r = np.clip(y - center[:, None], -WINSOR * spread[:, None], WINSOR * spread[:, None])
        r = np.where(present, r - (np.where(present, r, 0.0).sum(axis=1) / n)[:, None], 0.0)
        rr = (r * r).sum(axis=1)
        pairs = (present[:, :-1] & present[:, 1:]).sum(axis=1)
        lag = (r[:, :-1] * r[:, 1:]).sum(axis=1)  # 0 wherever either point is missing
        rho = lag / pairs / (rr / n) + (1.0 + 5.0 * (lag / pairs / (rr / n))) / n
        sigma = np.sqrt(rr / (n - 2) / _winsor_variance(WINSOR))
    rho = np.clip(np.where(pairs < MIN_VALUES // 2, 0.0, rho), 0.0, max_rho)
    inflation = np.sqrt((1.0 + rho) / (1.0 - rho))
    return np.where((n >= MIN_VALUES) & (spread > 0), sigma * inflation, np.nan)


def _robust_rows(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_robust`` of each row's finite values (n of them, NaN-padded anywhere)."""
    center = _median_rows(x, n)
    spread = MAD_TO_SIGMA * _median_rows(np.abs(x - center[:, None]), n)
    present = np.isfinite(x)
    mean = np.where(present, x, 0.0).sum(axis=1) / n
    var = np.where(present, (x - mean[:, None]) ** 2, 0.0).sum(axis=1) / n
    return center, np.where(spread > 0, spread, np.sqrt(var))


def _median_rows(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Median of each row's n finite values: sorting puts the NaNs last."""
    ordered = np.sort(x, axis=1)
    rows = np.arange(x.shape[0])
    lo = np.clip((n - 1) // 2, 0, max(x.shape[1] - 1, 0))
    hi = np.clip(n // 2, 0, max(x.shape[1] - 1, 0))
    if x.shape[1] == 0:
        return np.full(x.shape[0], np.nan)
    return np.where(n > 0, (ordered[rows, lo] + ordered[rows, hi]) / 2.0, np.nan)
