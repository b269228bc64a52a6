"""Phase I of one block of series.

Fit, then drop the points beyond the limits (rule 1) and refit, a bounded number of times.
"""

from __future__ import annotations

import numpy as np

from spc_rules._core import BoolArray, FloatArray, present, standardize
from spc_rules._estimators import (
    IntArray,
    Sample,
    SigmaMethod,
    counts,
    sigma_of,
    weighted_mean,
)

LIMIT_SIGMAS = 3.0


class Phase1:
    """Phase I state of one block of series: the points in use and the current fit."""

    def __init__(self, sample: Sample, method: SigmaMethod, min_points: int) -> None:
        self.sample, self.method, self.min_points = sample, method, min_points
        self.mask = present(sample.x, sample.n)
        self.center, self.sigma, self.ok = self._fit(sample, self.mask)

    def _fit(self, sample: Sample, mask: BoolArray) -> tuple[FloatArray, FloatArray, BoolArray]:
        center = weighted_mean(sample, mask)
        sigma = sigma_of(self.method, sample, mask, center)
        ok = counts(mask) >= self.min_points
        ok &= np.isfinite(center) & np.isfinite(sigma) & (sigma > 0)
        return np.where(ok, center, np.nan), np.where(ok, sigma, np.nan), ok

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
            z, _ = standardize(sample.x, self.center[rows, None], self.sigma[rows, None], sample.n)
            beyond = (np.abs(z) > LIMIT_SIGMAS) & mask  # dropped points stay dropped
            changed = np.flatnonzero(beyond.any(axis=1))
            if changed.size == 0:
                break
            kept = mask[changed] & ~beyond[changed]
            center, sigma, ok = self._fit(sample.rows(changed), kept)
            rows = rows[changed[ok]]  # a refit that leaves no limits is not taken
            self.center[rows], self.sigma[rows], self.mask[rows] = center[ok], sigma[ok], kept[ok]
            taken[rows] += 1
        return taken
