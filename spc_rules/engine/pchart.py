"""Proportion charts (p and Laney p') with subgroups of varying size, as docs/spc.md defines them.

A point is `events` out of `n` trials (failed probes out of all probes between two scrapes).
A p-chart is the X-bar chart of 0/1 observations whose sigma is known from the center:
sigma = sqrt(p (1 - p)) for one trial, so a point of size n has z = (x/n - p) / sqrt(p (1 - p) / n)
and limits p +- 3 sqrt(p (1 - p) / n), clipped to [0, 1]. The Nelson rules are therefore the
engine's own (`rules_prepared`) on the proportions with that center and sigma.

Laney's p' (Quality Engineering 14(4), 2002) multiplies that sigma by sigma_z, the moving-range
sigma of the baseline's z: sigma_z = mean |z_i - z_(i-1)| / 1.128. Here sigma_z is never below 1
(p' only widens): at small n p the moving range of binomial z is far below 1.128 even when the
binomial model holds, so a narrowing p' would add false alarms exactly where a p-chart already
has the most (docs/spc.md, "p-charts").

Binomial z is discrete and skewed at small n p, which breaks the normal-theory design of the
paging CUSUM; `paging_scores` gives the mid-p normal scores it runs on instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import bdtr, bdtrc, ndtri

from spc_rules.engine.core import BoolArray, FloatArray, as_2d
from spc_rules.engine.estimators import D2, IntArray
from spc_rules.engine.nelson import RULE_COUNT, rules_prepared

MIN_POINTS = 20
MAX_REFITS = 3
LIMIT_SIGMAS = 3.0
HALF_EVENT = 0.5  # a baseline without events (or without non-events) counts half of one
RUN_RULES_MIN_COUNT = 5.0  # n p and n (1 - p) from which rules 2-8 apply (rule of thumb)


@dataclass(frozen=True)
class PLimits:
    """Limits of a batch of proportion series: one entry per series.

    `p` is the center (events over trials of the baseline), `sigma_z` Laney's factor (1 for a
    plain p-chart), `ok` False where a series has no limits (p and sigma_z NaN).
    """

    p: FloatArray
    sigma_z: FloatArray
    ok: BoolArray
    n_points: IntArray  # baseline points used (after refits)
    trials: FloatArray  # the baseline trials behind p
    refits: IntArray
    laney: bool = False

    @classmethod
    def pinned(cls, p: ArrayLike, sigma_z: ArrayLike = 1.0, *, laney: bool = False) -> PLimits:
        """Fixed limits from configuration; rows with p outside (0, 1) get ok False."""
        center = np.array(p, dtype=np.float64, ndmin=1)
        factor = np.broadcast_to(np.asarray(sigma_z, dtype=np.float64), center.shape)
        ok = (center > 0) & (center < 1) & (factor > 0) & np.isfinite(factor)
        zeros = np.zeros(center.shape, dtype=np.int64)
        return cls(
            p=np.where(ok, center, np.nan),
            sigma_z=np.where(ok, factor, np.nan),
            ok=ok,
            n_points=zeros,
            trials=np.zeros(center.shape),
            refits=zeros,
            laney=laney,
        )

    def __len__(self) -> int:
        return int(self.p.shape[0])

    @property
    def sigma(self) -> FloatArray:
        """sigma_z sqrt(p (1 - p)), of one trial: a point of size n has sigma / sqrt(n)."""
        return np.asarray(self.sigma_z * np.sqrt(self.p * (1.0 - self.p)), dtype=np.float64)

    def line(self, multiple: float, n: ArrayLike = 1.0) -> FloatArray:
        """p + multiple sigma / sqrt(n) clipped to [0, 1]; n (series, points): every point's."""
        size = np.asarray(n, dtype=np.float64)
        p, s = self.p, self.sigma
        if size.ndim == 2:
            p, s = p[:, None], s[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.clip(p + multiple * s / np.sqrt(size), 0.0, 1.0), np.float64)

    def zscores(self, events: ArrayLike, n: ArrayLike) -> FloatArray:
        """z of every point (series, points): (x/n - p) / (sigma / sqrt(n)); NaN where missing."""
        x, size = proportions(events, n)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x - self.p[:, None]) / (self.sigma[:, None] / np.sqrt(size))
        return np.where(self.ok[:, None], z, np.nan)

    def judge(self, events: ArrayLike, n: ArrayLike, *, rule2_run: int = 9) -> BoolArray:
        """Nelson flags (8, series, points) on the p-chart's z; rules 3 and 4 on the proportions.

        Rule 1 applies to every point. Rules 2-8 count only points whose binomial is close to
        normal (n p and n (1 - p) both at least RUN_RULES_MIN_COUNT); any other point is missing
        for them and breaks their runs: at small n p a run of successes sits below the center
        and within one sigma by construction, so rules 2 and 7 would flag nearly every point.
        """
        x, size = proportions(events, n)
        center, sigma = self.p[:, None], self.sigma[:, None]
        flags = rules_prepared(x, center, sigma, size, rule2_run)
        with np.errstate(invalid="ignore"):
            expected = size * np.minimum(center, 1.0 - center)
        near_normal = np.where(expected >= RUN_RULES_MIN_COUNT, x, np.nan)
        flags[1:] = rules_prepared(near_normal, center, sigma, size, rule2_run)[1:]
        return flags.reshape((RULE_COUNT, *x.shape))

    def paging_scores(self, events: ArrayLike, n: ArrayLike) -> FloatArray:
        """What the paging detector runs on: mid-p normal scores over sigma_z (see module doc)."""
        scores = midp_scores(events, n, self.p[:, None])
        return np.asarray(scores / self.sigma_z[:, None], dtype=np.float64)


def proportions(events: ArrayLike, n: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """x / n as (series, points), NaN at missing points, and n broadcast alike.

    A point is missing when n is NaN or below 1 (no trials: "no point"), or events is not
    within [0, n] (a counter that moved the wrong way, or a numerator that is not a subset).
    """
    e = as_2d(np.asarray(events, dtype=np.float64))
    size = np.broadcast_to(np.asarray(n, dtype=np.float64), e.shape)
    present = (size >= 1) & (e >= 0) & (e <= size)  # NaN compares False: missing
    with np.errstate(invalid="ignore", divide="ignore"):
        x = np.where(present, e / size, np.nan)
    return x, size


def midp_scores(events: ArrayLike, n: ArrayLike, p: ArrayLike) -> FloatArray:
    """Phi^-1 of the mid-p value, P(X < x) + P(X = x) / 2 with X ~ Binomial(n, p).

    Counts are rounded to whole trials. The upper half is computed from the upper tail, so a
    score keeps its precision far out (a failure after 0 of 10^6 is still a finite score).
    """
    x, size = proportions(events, n)
    missing = np.isnan(x)
    # scipy's binomial functions want whole numbers as integers; missing points compute 0 of 1.
    m = np.where(missing, 1.0, np.rint(size)).astype(np.int64)
    k = np.where(missing, 0.0, np.rint(x * size)).astype(np.int64)
    prior = np.maximum(k - 1, 0)
    prob = np.broadcast_to(np.asarray(p, dtype=np.float64), x.shape)
    with np.errstate(invalid="ignore"):
        below = np.where(k >= 1, bdtr(prior, m, prob), 0.0)  # P(X <= k - 1)
        upper = 0.5 * (bdtrc(k, m, prob) + np.where(k >= 1, bdtrc(prior, m, prob), 1.0))
        lower = 0.5 * (below + bdtr(k, m, prob))
        z = np.where(lower <= 0.5, ndtri(lower), -ndtri(upper))
    return np.where(missing, np.nan, z)


def fit_p(
    events: ArrayLike,
    n: ArrayLike,
    *,
    laney: bool = False,
    min_points: int = MIN_POINTS,
    max_refits: int = MAX_REFITS,
) -> PLimits:
    """Phase I of proportion series (rows of 2-D events and n; NaN or n = 0 where no point).

    p is the events over the trials of the present points; with no event (or no non-event) in
    the baseline it counts half of one (p = 0.5 / N, or 1 - 0.5 / N). Refits drop the points
    whose mid-p score is beyond 3 (improbable under the binomial fit itself, which discrete
    tiny-n points are not: a lone failure at n p = 0.01 is not dropped) and refit, at most
    max_refits times; a refit that would leave fewer than min_points is not taken.
    """
    if min_points < 2 or max_refits < 0:
        raise ValueError(f"need min_points >= 2 and max_refits >= 0: {min_points}, {max_refits}")
    x, size = proportions(events, n)
    used = ~np.isnan(x)
    p, sigma_z, ok = _fit(x, size, used, laney, min_points)
    refits = np.zeros(x.shape[0], dtype=np.int64)
    for _ in range(max_refits):
        with np.errstate(invalid="ignore"):
            scores = midp_scores(x * size, size, p[:, None]) / sigma_z[:, None]
            beyond = used & (np.abs(scores) > LIMIT_SIGMAS) & ok[:, None]
        rows = beyond.any(axis=1)
        if not rows.any():
            break
        kept = used & ~beyond
        p2, s2, ok2 = _fit(x, size, kept, laney, min_points)
        take = rows & ok2
        if not take.any():
            break
        used[take], p[take], sigma_z[take] = kept[take], p2[take], s2[take]
        refits[take] += 1
    trials = np.where(used, size, 0.0).sum(axis=1)
    return PLimits(
        p=np.where(ok, p, np.nan),
        sigma_z=np.where(ok, sigma_z, np.nan),
        ok=ok,
        n_points=used.sum(axis=1).astype(np.int64),
        trials=trials,
        refits=refits,
        laney=laney,
    )


def _fit(
    x: FloatArray, size: FloatArray, used: BoolArray, laney: bool, min_points: int
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Center, sigma_z and ok of every row from its `used` points."""
    trials = np.where(used, size, 0.0).sum(axis=1)
    events = np.where(used, x * size, 0.0).sum(axis=1)
    ok = used.sum(axis=1) >= min_points
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.clip(events, HALF_EVENT, trials - HALF_EVENT) / trials
    sigma_z = np.ones(x.shape[0])
    if laney:
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (x - p[:, None]) / np.sqrt(p[:, None] * (1.0 - p[:, None]) / size)
        pairs = used[:, 1:] & used[:, :-1]
        ranges = np.where(pairs, np.abs(np.diff(np.where(used, z, 0.0), axis=1)), 0.0)
        count = pairs.sum(axis=1)
        ok &= count > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            sigma_z = np.maximum(ranges.sum(axis=1) / count / D2, 1.0)
    ok &= np.isfinite(p) & (trials >= 1)
    return p, sigma_z, ok
