"""Control limits: phase I fit on a baseline, phase II judgement against frozen or pinned limits.

`center` and `sigma` always live on the fitting scale and describe one observation. Without the
log option a point of subgroup size n has limits center +- 3 sigma / sqrt(n). With it, center
and sigma are mu and sigma of ln(x) for one log-normal observation, and a point of size n (the
mean of n observations) is judged on ln(xbar) with the log-normal subgroup model of
`spc_rules.engine.lognormal`: limits c_n +- 3 sigma_n, which is center +- 3 sigma when n == 1.
Lines reported for people (`line`, `ucl`, `lcl`) are mapped back to the original scale, where
log limits become asymmetric. How center and sigma are estimated with variable subgroup sizes is
written in `spc_rules.engine.estimators` (and `spc_rules.engine.lognormal` for the log option).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from spc_rules.engine.core import BoolArray, FloatArray, as_2d, as_values, blocks, sizes
from spc_rules.engine.estimators import (
    SIGMA_METHODS,
    IntArray,
    Sample,
    SigmaMethod,
    counts,
)
from spc_rules.engine.model import line, prepared, to_fit_scale, zscores
from spc_rules.engine.nelson import RULE_COUNT, rules_prepared
from spc_rules.engine.phase1 import LIMIT_SIGMAS, Phase1

__all__ = [
    "LIMIT_SIGMAS",
    "MAX_REFITS",
    "MIN_POINTS",
    "SIGMA_METHODS",
    "BatchLimits",
    "Limits",
    "SigmaMethod",
    "fit_limits",
    "fit_limits_batch",
    "judge",
    "to_fit_scale",
]

MIN_POINTS = 20
MAX_REFITS = 3


@dataclass(frozen=True)
class Limits:
    """Limits of one series. Pin them from configuration by constructing one directly."""

    center: float
    sigma: float
    log: bool = False
    method: str = "pinned"
    n_points: int = 0
    n_dropped: int = 0
    refits: int = 0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.center) and np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"limits need a finite center and sigma > 0, got {self}")

    def line(self, multiple: float, n: float = 1.0) -> float:
        """The line `multiple` sigmas from the center (3 for UCL, -2 ...) for a point of size n,
        on the original scale: center + multiple * sigma / sqrt(n), or with the log option
        exp(c_n + multiple * sigma_n) of the log-normal subgroup model."""
        c, s, size = np.float64(self.center), np.float64(self.sigma), np.float64(n)
        return float(line(c, s, multiple, size, self.log))

    @property
    def center_line(self) -> float:
        """The center of one observation on the original scale (with the log option the
        geometric mean, exp(center); line(0.0, n) is a subgroup's)."""
        return self.line(0.0)

    @property
    def ucl(self) -> float:
        return self.line(LIMIT_SIGMAS)

    @property
    def lcl(self) -> float:
        return self.line(-LIMIT_SIGMAS)

    def to_fit_scale(self, values: ArrayLike) -> FloatArray:
        return to_fit_scale(values, self.log)

    def zscores(self, values: ArrayLike, n: ArrayLike | None = None) -> FloatArray:
        """z of every point (original scale, subgroup sizes n) as the rules see it; NaN where
        missing. With the log option this applies the log-normal subgroup model, so feed these
        to `ewma` / `cusum` with center 0 and sigma 1."""
        return zscores(values, self.center, self.sigma, n, self.log)


_ARRAY_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("center", np.float64),
    ("sigma", np.float64),
    ("ok", np.bool_),
    ("n_points", np.int64),
    ("n_dropped", np.int64),
    ("refits", np.int64),
)


@dataclass(frozen=True)
class BatchLimits:
    """Limits of many series (arrays of one entry per series); `ok` is False where a series has
    no limits (too few baseline points, or sigma not positive): its center and sigma are NaN,
    and every rule treats its points as missing."""

    center: FloatArray
    sigma: FloatArray
    ok: BoolArray
    n_points: IntArray
    n_dropped: IntArray
    refits: IntArray
    log: bool = False
    method: str = "pinned"

    def __post_init__(self) -> None:
        # Own read-only copies, so a result cannot be changed under a caller's feet.
        size = np.size(self.center)
        for name, dtype in _ARRAY_FIELDS:
            arr = np.array(getattr(self, name), dtype=dtype, ndmin=1)
            if arr.shape != (size,):
                raise ValueError(f"{name} has shape {arr.shape}, expected ({size},)")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @classmethod
    def pinned(cls, center: ArrayLike, sigma: ArrayLike, *, log: bool = False) -> BatchLimits:
        """Fixed limits from configuration (on the log scale with `log`); bad rows get ok=False."""
        c = np.array(center, dtype=np.float64, ndmin=1)
        s = np.broadcast_to(np.asarray(sigma, dtype=np.float64), c.shape)
        ok = np.isfinite(c) & np.isfinite(s) & (s > 0)
        zeros = np.zeros(c.shape, dtype=np.int64)
        return cls(
            center=np.where(ok, c, np.nan),
            sigma=np.where(ok, s, np.nan),
            ok=ok,
            n_points=zeros,
            n_dropped=zeros,
            refits=zeros,
            log=log,
        )

    def __len__(self) -> int:
        return int(self.center.shape[0])

    def __getitem__(self, i: int) -> Limits | None:
        """The limits of series i, or None where it has none."""
        if not self.ok[i]:
            return None
        return Limits(
            center=float(self.center[i]),
            sigma=float(self.sigma[i]),
            log=self.log,
            method=self.method,
            n_points=int(self.n_points[i]),
            n_dropped=int(self.n_dropped[i]),
            refits=int(self.refits[i]),
        )

    def line(self, multiple: float, n: ArrayLike = 1.0) -> FloatArray:
        """`Limits.line` of every series on the original scale, NaN without limits.

        n scalar or one per series gives one value per series; n shaped (series, points) gives
        the line at every point (X-bar limits that move with the subgroup size).
        """
        size = np.asarray(n, dtype=np.float64)
        c, s = self.center, self.sigma
        if size.ndim == 2:
            c, s = c[:, None], s[:, None]
        return line(c, s, multiple, size, self.log)

    def to_fit_scale(self, values: ArrayLike) -> FloatArray:
        return to_fit_scale(values, self.log)

    def zscores(self, values: ArrayLike, n: ArrayLike | None = None) -> FloatArray:
        """`Limits.zscores` of 2-D values (series x points), one row per series."""
        return zscores(values, self.center, self.sigma, n, self.log)


def fit_limits_batch(
    values: ArrayLike,
    n: ArrayLike | None = None,
    *,
    method: SigmaMethod = "mr",
    log: bool = False,
    min_points: int = MIN_POINTS,
    max_refits: int = MAX_REFITS,
) -> BatchLimits:
    """Phase I: fit center and sigma of every series (rows of a NaN-padded 2-D array).

    method: "mr" (MRbar / 1.128), "median_mr" (median MR / 0.954) or "std" (sample standard
        deviation); with subgroup sizes see `spc_rules.engine.estimators` for the exact formulas.
    log: fit on log(x); values <= 0 are then missing. A series with subgroups (a baseline
        point of size above 1) then gets the log-normal subgroup fit of
        `spc_rules.engine.lognormal`.
    min_points: a series with fewer present baseline points gets no limits (ok False).
    max_refits: up to this many times, drop the baseline points beyond the current 3-sigma
        limits (rule 1) and refit. A refit that would leave a series with no limits is not
        taken: that series keeps its previous fit and stops refitting.
    """
    if min_points < 2:
        raise ValueError(f"min_points must be at least 2, got {min_points}")
    if max_refits < 0:
        raise ValueError(f"max_refits must be at least 0, got {max_refits}")
    x = as_2d(to_fit_scale(values, log))
    size = sizes(n, x)  # a 1-D n goes with 1-D values: it broadcasts against the one row
    rows = x.shape[0]
    center, sigma = np.empty(rows), np.empty(rows)
    ok = np.empty(rows, dtype=np.bool_)
    available, used = np.empty(rows, dtype=np.int64), np.empty(rows, dtype=np.int64)
    refits = np.zeros(rows, dtype=np.int64)
    for blk in blocks(*x.shape):
        sample = Sample.of(x[blk], None if size is None else size[blk])
        fit = Phase1(sample, method, min_points, log)
        available[blk] = counts(fit.mask)
        refits[blk] = fit.refit(max_refits)
        center[blk], sigma[blk], ok[blk] = fit.center, fit.sigma, fit.ok
        used[blk] = counts(fit.mask)
    return BatchLimits(
        center=center,
        sigma=sigma,
        ok=ok,
        n_points=used,
        n_dropped=available - used,
        refits=refits,
        log=log,
        method=method,
    )


def fit_limits(
    values: ArrayLike,
    n: ArrayLike | None = None,
    *,
    method: SigmaMethod = "mr",
    log: bool = False,
    min_points: int = MIN_POINTS,
    max_refits: int = MAX_REFITS,
) -> Limits | None:
    """Phase I on one series (1-D); None when the baseline gives no limits. See fit_limits_batch."""
    x = as_values(values)
    if x.ndim != 1:
        raise ValueError("fit_limits takes one series; use fit_limits_batch for 2-D input")
    batch = fit_limits_batch(
        x[None, :], n, method=method, log=log, min_points=min_points, max_refits=max_refits
    )
    return batch[0]


def judge(
    values: ArrayLike,
    limits: Limits | BatchLimits,
    n: ArrayLike | None = None,
    *,
    rule2_run: int = 9,
) -> BoolArray:
    """Phase II: Nelson flags (8, *values.shape) of values against frozen or pinned limits.

    Takes values on the original scale (the log option, with its log-normal subgroup model, is
    applied here). 1-D values go with `Limits`, 2-D (series x points) with `BatchLimits` of one
    entry per row. Rules 3 and 4 read the values on the fitting scale, the others `zscores`.
    """
    x, c, s, size = prepared(values, limits.center, limits.sigma, n, limits.log)
    flags = rules_prepared(x, c, s, size, rule2_run, lognormal=limits.log)
    return flags.reshape((RULE_COUNT, *np.shape(values)))
