"""The log-normal subgroup model of the log option: X-bar points of log-normal observations.

A subgroup point is the arithmetic mean xbar of n observations (a histogram gives only _sum and
_count), and the log option judges ln(xbar). With observations log-normal, ln(x) ~ N(mu, tau)
(tau = sigma^2 of one observation on the log scale), ln(xbar) is approximately normal
(Fenton-Wilkinson: the log-normal with the mean and variance of xbar) with

    s_n = ln(1 + (e^tau - 1) / n)          its variance
    c_n = mu + tau / 2 - s_n / 2           its mean, ln(m) - s_n / 2, m = e^(mu + tau/2)

so the center moves with n by up to tau / 2, which the plain "center, sigma / sqrt(n)" model
misses. For n == 1 both are exact (s_1 = tau, c_1 = mu); the functions here return `center` and
`sigma` themselves at n == 1, so individuals are judged bit for bit as before.

Phase I with subgroups estimates (mu, tau) with the engine's own estimators (`_estimators`),
given each point's Fenton-Wilkinson variance instead of sigma^2 / n: with a_i = ln(xbar_i) +
s_i / 2 (mean ln m for every point) and precision 1 / s_i in place of the size n_i, the
estimator is the sigma of a point of precision 1, which must come out 1. That is one equation
T(tau) = 1 per series, solved by a Newton step then secant steps on ln(tau) (about three
evaluations of the estimator); ln m is the precision-weighted mean of a, and mu = ln m - tau / 2.
With every n == 1 this is the individuals fit on ln(x), to the precision of the root.
"""

from __future__ import annotations

import numpy as np

from spc_rules.engine.core import BoolArray, FloatArray, standardize
from spc_rules.engine.estimators import Sample, SigmaMethod, counts, sigma_of, weighted_mean

MAX_STEPS = 60
TOLERANCE = 1e-7  # on ln(tau): invisible in any limit (median_mr, only piecewise smooth
# in tau, may stop with ln(tau) up to about 1e-4 off: still invisible)
MAX_STEP = 2.0  # one step changes tau by at most e^2
SECANT_SPAN = 1e-6  # closer points would give a secant slope of rounding noise
SOLVED = 1e-4  # |ln T| at the last evaluation, one (tiny) step before the root


def subgroup_variance(tau: FloatArray, n: FloatArray) -> FloatArray:
    """s_n = ln(1 + (e^tau - 1) / n): the variance of ln(xbar) for a subgroup of size n."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.asarray(np.log1p(np.expm1(tau) / n), dtype=np.float64)


def point_moments(
    center: FloatArray, sigma: FloatArray, n: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(c_n, sqrt(s_n)) of every point, broadcast over center, sigma (mu, sigma of one
    observation) and n. Exactly (center, sigma) where n == 1; NaN where n is below 1 or NaN."""
    with np.errstate(invalid="ignore", over="ignore"):
        tau = sigma * sigma
        s = subgroup_variance(tau, n)
        c = np.asarray(tau - s)  # a 0-d array where numpy would hand back a scalar
        c *= 0.5
        c += center
        sd = np.sqrt(s, out=s)
    one = np.broadcast_to(n == 1, sd.shape)
    np.copyto(c, center, where=one)
    np.copyto(sd, sigma, where=one)
    np.copyto(sd, np.nan, where=~np.broadcast_to(n >= 1, sd.shape))  # NaN size: missing too
    return c, sd


def standardize_subgroups(
    x: FloatArray, center: FloatArray, sigma: FloatArray, n: FloatArray
) -> tuple[FloatArray, BoolArray]:
    """`_core.standardize` under the model: z = (ln xbar - c_n) / sigma_n and where it exists.
    x is ln(xbar) (series, points); center and sigma (series, 1) columns, mu and sigma."""
    c, sd = point_moments(center, sigma, n)
    return standardize(x, c, sd, None)


def has_subgroups(n: FloatArray | None, mask: BoolArray) -> BoolArray:
    """Rows with at least one used point of size above 1: those get the log-normal fit."""
    if n is None:
        return np.zeros(mask.shape[0], dtype=np.bool_)
    return np.asarray(((n > 1) & mask).any(axis=1), dtype=np.bool_)


def _adjusted(y: FloatArray, n: FloatArray, tau: FloatArray) -> tuple[Sample, FloatArray]:
    """a = ln(xbar) + s_n / 2 with the precisions 1 / s_n in place of the sizes, and s_n."""
    s = subgroup_variance(tau[:, None], n)
    return Sample.of_variances(y + s / 2, s), s


def _log_t(
    y: FloatArray, n: FloatArray, mask: BoolArray, method: SigmaMethod, tau: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(ln T(tau), ln m, s_n) per row; the root is ln T = 0."""
    sample, s = _adjusted(y, n, tau)
    log_mean = weighted_mean(sample, mask)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(sigma_of(method, sample, mask, log_mean)), log_mean, s


def _slope(n: FloatArray, mask: BoolArray, tau: FloatArray, s: FloatArray) -> FloatArray:
    """About d ln T / d ln tau: T scales like s^(-1/2), so minus half the mean elasticity
    d ln s_n / d ln tau = tau e^tau / ((n + e^tau - 1) s_n) of the used points (1 at n == 1)."""
    col = tau[:, None]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        e = np.where(mask, col * np.exp(col) / ((n + np.expm1(col)) * s), 0.0)
        return np.asarray(-0.5 * e.sum(axis=1) / counts(mask), dtype=np.float64)


def first_guess(sigma: FloatArray, n: FloatArray, mask: BoolArray) -> FloatArray:
    """A starting sigma from the plain fit's, which takes var(ln xbar) as sigma^2 / n: the one
    whose s_n at the row's mean size matches that (exact for all sizes 1 or all large)."""
    size = np.where(mask, n, 0.0).sum(axis=1) / counts(mask)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return np.asarray(np.sqrt(np.log1p(size * np.expm1(sigma * sigma / size))), np.float64)


def fit_lognormal(
    y: FloatArray, n: FloatArray, mask: BoolArray, method: SigmaMethod, start: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """(mu, sigma) of one observation per row from the used points y = ln(xbar) of sizes n.

    start: a first guess of sigma per row; a row whose guess is not finite and positive, or
    whose equation has no root the steps converge to, gets NaN.
    """
    rows_total = y.shape[0]
    log_tau = np.full(rows_total, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        np.log(start * start, out=log_tau, where=np.isfinite(start) & (start > 0))
    log_mean, slope = np.full(rows_total, np.nan), np.full(rows_total, np.nan)
    last_x, last_g, last_step = (np.full(rows_total, np.nan) for _ in range(3))
    solved = np.zeros(rows_total, dtype=np.bool_)
    rows = np.flatnonzero(np.isfinite(log_tau))
    for step_number in range(MAX_STEPS):
        if rows.size == 0:
            break
        x = log_tau[rows]
        # Usually every row takes every step but the last: spare the copies then.
        pick = slice(None) if rows.size == rows_total else rows
        g, log_mean[rows], s = _log_t(y[pick], n[pick], mask[pick], method, np.exp(x))
        if step_number == 0:  # a Newton step on the approximate slope, then secants
            slope[rows] = _slope(n[pick], mask[pick], np.exp(x), s)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                secant = (g - last_g[rows]) / (x - last_x[rows])
            usable = (np.abs(x - last_x[rows]) > SECANT_SPAN) & (secant < 0)
            slope[rows] = np.where(usable, secant, slope[rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            step = np.clip(-g / slope[rows], -MAX_STEP, MAX_STEP)
        # Done when the step is below tolerance, or the next one (at most |step| times the
        # ratio of the last two, the convergence being superlinear) would be.
        done = (np.abs(step) <= TOLERANCE) | (step * step <= TOLERANCE * np.abs(last_step[rows]))
        done &= np.abs(g) < SOLVED  # a tiny step with T far from 1 is no root
        last_x[rows], last_g[rows], last_step[rows] = x, g, step
        log_tau[rows] = x + step  # a NaN step (no root) leaves the row NaN
        solved[rows[done]] = True
        rows = rows[~done & np.isfinite(step)]
    # ln m is from the last evaluation, one step (below 1e-7 in ln tau) before: no difference.
    tau = np.exp(log_tau)
    return np.where(solved, log_mean - tau / 2, np.nan), np.where(solved, np.sqrt(tau), np.nan)
