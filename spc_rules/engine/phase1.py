"""Phase I of one block of series.

Fit, then drop the points beyond the limits (rule 1) and refit, a bounded number of times.
With the log option, rows holding subgroups (a used point of size above 1) get the log-normal
subgroup model of `spc_rules.engine.lognormal`, both for the fit and for the rule-1 z of the refits;
other rows get the plain fit on ln(x).
"""

from __future__ import annotations

import numpy as np

from spc_rules.engine.core import BoolArray, FloatArray, present, standardize
from spc_rules.engine.estimators import (
    IntArray,
    Sample,
    SigmaMethod,
    counts,
    sigma_of,
    weighted_mean,
)
from spc_rules.engine.lognormal import (
    first_guess,
    fit_lognormal,
    has_subgroups,
    standardize_subgroups,
)

LIMIT_SIGMAS = 3.0


class Phase1:
    """Phase I state of one block of series: the points in use and the current fit."""

    def __init__(
        self, sample: Sample, method: SigmaMethod, min_points: int, log: bool = False
    ) -> None:
        self.sample, self.method, self.min_points, self.log = sample, method, min_points, log
        self.mask = present(sample.x, sample.n)
        # Decided once, on the points present before any refit.
        self.lognormal = has_subgroups(sample.n if log else None, self.mask)
        every = np.arange(self.mask.shape[0])
        self.center, self.sigma, self.ok = self._fit(sample, self.mask, every, None)

    def _fit(
        self, sample: Sample, mask: BoolArray, index: IntArray, start: FloatArray | None
    ) -> tuple[FloatArray, FloatArray, BoolArray]:
        """Fit the rows `index` of the block, whose sample and mask are given; `start` is the
        previous sigma of those rows, where the log-normal fit starts its search (refits)."""
        center = weighted_mean(sample, mask)
        sigma = sigma_of(self.method, sample, mask, center)
        sub = np.flatnonzero(self.lognormal[index])
        if sub.size and sample.n is not None:
            y, n, used = sample.x[sub], sample.n[sub], mask[sub]
            guess = first_guess(sigma[sub], n, used) if start is None else start[sub]
            center[sub], sigma[sub] = fit_lognormal(y, n, used, self.method, guess)
        ok = counts(mask) >= self.min_points
        ok &= np.isfinite(center) & np.isfinite(sigma) & (sigma > 0)
        return np.where(ok, center, np.nan), np.where(ok, sigma, np.nan), ok

    def _z(self, sample: Sample, rows: IntArray) -> FloatArray:
        """Rule-1 z of the block rows `rows` against their current fit."""
        center, sigma = self.center[rows, None], self.sigma[rows, None]
        if self.log and sample.n is not None:
            z, _ = standardize_subgroups(sample.x, center, sigma, sample.n)
        else:
            z, _ = standardize(sample.x, center, sigma, sample.n)
        return z

    def refit(self, max_refits: int) -> IntArray:
        """Drop rule-1 points and refit, at most max_refits times; the refits taken per row.

        Each round works only on the rows still changing, so later rounds cost little.
        """
        taken = np.zeros(self.mask.shape[0], dtype=np.int64)
        rows = np.flatnonzero(self.ok)
        for _ in range(max_refits):
            every = rows.size == self.mask.shape[0]  # first round, usually: spare the copies
            sample = self.sample if every else self.sample.rows(rows)
            mask = self.mask if every else self.mask[rows]
            beyond = (np.abs(self._z(sample, rows)) > LIMIT_SIGMAS) & mask  # dropped stay dropped
            changed = np.flatnonzero(beyond.any(axis=1))
            if changed.size == 0:
                break
            kept = mask[changed] & ~beyond[changed]
            index = rows[changed]
            center, sigma, ok = self._fit(sample.rows(changed), kept, index, self.sigma[index])
            rows = rows[changed[ok]]  # a refit that leaves no limits is not taken
            self.center[rows], self.sigma[rows], self.mask[rows] = center[ok], sigma[ok], kept[ok]
            taken[rows] += 1
        return taken
