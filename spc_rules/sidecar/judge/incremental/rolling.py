"""A rolling baseline's limits, refitted on a schedule spread over the series.

A 30 s cycle adds about two points to a two-hour baseline of 480; refitting every series'
limits every cycle (choosing its usable points, phase I with refits) cost a third of a
steady cycle at 10,000 series, for limits that moved by a fraction of a sigma's error. So a
series' limits are refitted every ``refit_seconds(chart)`` (5 minutes at 15 s points, at
most a tenth of the baseline window), each series at its own phase, and kept in between
(``History.center``/``sigma``, the fit's time in ``History.limits_at``). Limits are
therefore at most that much older than the window they stand for (docs/sidecar.md,
"Limits between refits"). A series is refitted every cycle while it has no limits or only
provisional ones, and in the cycle after its exclusions changed (a new rule-1 point, an
episode opened, closed or accepted), so an incident leaves its baseline as promptly as
before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spc_rules import BatchLimits, fit_limits_batch
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.judge import warmup
from spc_rules.sidecar.judge.alarms import REFIT_S, History
from spc_rules.sidecar.judge.baseline import select
from spc_rules.sidecar.judge.judging import BoolArray
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import IntArray, Points

_GOLDEN = 0.6180339887498949  # row * this, mod 1, spreads the first fits' phases evenly
# A refit reads at most this share of new points: limits are never staler than that.
MAX_STALE_SHARE = 0.1


def refit_seconds(chart: ChartConfig) -> float:
    """How often a series' rolling-baseline limits are refitted."""
    return min(REFIT_S * chart.cadence_scale, MAX_STALE_SHARE * chart.baseline.rolling_window)


@dataclass(frozen=True)
class Rolled:
    """The limits of every series this cycle, and what the result and history keep."""

    limits: BatchLimits
    provisional: BoolArray
    usable: IntArray  # usable points up to the window's end (refitted rows; else min_points)
    baseline_points: IntArray  # points of the fit the limits come from
    # For History: NaN where every cycle refits until the limits settle (none yet, or
    # provisional); -inf (set by evaluate) where the next cycle must refit.
    fitted_at: FloatArray


def rolling_limits(
    chart: ChartConfig, series: Sequence[Points], start: float, now: float, history: History
) -> Rolled:
    """Refit the rows that are due; the others keep their limits."""
    rows = len(series)
    kept = np.isfinite(history.center) & (history.sigma > 0)
    fitted_at = history.limits_at
    due = ~kept | ~(now - fitted_at < refit_seconds(chart)) | (fitted_at > now)  # NaN: due
    idx = np.flatnonzero(due)
    chosen = select(
        [series[i] for i in idx.tolist()],
        start - chart.baseline.rolling_window,
        start,
        [history.exclusions[i] for i in idx.tolist()],
        min_points=chart.min_points,
        upto=start + chart.evaluation,
        codes=(0.0, 1.0),
        flagged=True,
        check=warmup.chart_check(chart),
    )
    fit = fit_limits_batch(
        chosen.window.values,
        chosen.window.sizes,
        method=chart.estimator,
        log=chart.log,
        min_points=chart.min_points,
        max_refits=chart.refits,
    )
    fitted = np.zeros(rows, bool)
    fitted[idx] = fit.ok
    center, sigma = history.center.copy(), history.sigma.copy()
    center[idx] = np.where(fit.ok, fit.center, center[idx])
    sigma[idx] = np.where(fit.ok, fit.sigma, sigma[idx])
    # Rows without a fit keep the last limits they had (an episode longer than the baseline
    # window leaves no usable point in it); rows without either have none.
    ok = fitted | kept
    provisional = np.zeros(rows, bool)
    provisional[idx] = chosen.provisional
    usable = np.full(rows, chart.min_points, np.int64)
    usable[idx] = chosen.usable
    counts = history.baseline_points.copy()
    counts[idx] = chosen.window.counts
    stamp = np.full(rows, np.nan)
    settled = idx[fit.ok & ~chosen.provisional]
    stamp[settled] = now
    # A first fit is dated back by a share of the period that differs per row, so the
    # refits that follow are spread over the cycles, not all due in one.
    first = settled[~np.isfinite(fitted_at[settled])]
    stamp[first] -= refit_seconds(chart) * np.modf(first * _GOLDEN)[0]
    stamp = np.where(due, stamp, fitted_at)
    zeros = np.zeros(rows, np.int64)
    limits = BatchLimits(
        center=np.where(ok, center, np.nan),
        sigma=np.where(ok, sigma, np.nan),
        ok=ok,
        n_points=counts,
        n_dropped=zeros,
        refits=zeros,
        log=chart.log,
        method=chart.estimator,
    )
    return Rolled(limits, provisional, usable, counts, stamp)
