"""Judging p charts: the engine's proportion charts (``spc_rules.engine.pchart``) behind the
interface the sidecar's judging reads off ``BatchLimits``.

A p chart's point is a share x/n with size n (``query.counters``), so events are x * n. The
limits, zone lines, z and Nelson flags are the p-chart's (Laney's p' with ``laney: true``):
center p, sigma sqrt(p (1 - p)) of one trial (times sigma_z for p'), lines p +- k sigma /
sqrt(n) clipped to [0, 1]. The alarm detectors run on the mid-p normal scores of each point
against the reference share (``PLimits.paging_scores``), with the detector designed for
standard normal points (``sigma_fit`` 1, shifts in sigmas): binomial z at small n p would
break the false page budget (docs/spc.md, "Paging on p-charts").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spc_rules import BatchLimits
from spc_rules.engine.core import BoolArray, FloatArray
from spc_rules.engine.pchart import PLimits, fit_p
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.query.windows import Window


@dataclass(frozen=True)
class ProportionLimits:
    """The limits of a batch of p chart series, one entry per series."""

    inner: PLimits

    @property
    def ok(self) -> BoolArray:
        return self.inner.ok

    @property
    def center(self) -> FloatArray:
        """The center share p (kept as the series' limits while no fit is possible)."""
        return self.inner.p

    @property
    def sigma(self) -> FloatArray:
        """Of one trial: sigma_z sqrt(p (1 - p))."""
        return self.inner.sigma

    def line(self, multiple: float, n: FloatArray | float = 1.0) -> FloatArray:
        return self.inner.line(multiple, n)

    def zscores(self, values: FloatArray, sizes: FloatArray) -> FloatArray:
        return self.inner.zscores(values * sizes, sizes)

    def flags(self, values: FloatArray, sizes: FloatArray) -> BoolArray:
        """Nelson flags (8, series, points), with the p-chart's convention for tiny n p."""
        return self.inner.judge(values * sizes, sizes)


def fit(chart: ChartConfig, base: Window) -> ProportionLimits:
    """Phase I of the baseline's points."""
    proportion = chart.proportion
    assert proportion is not None
    return ProportionLimits(
        fit_p(
            base.values * base.sizes,
            base.sizes,
            laney=proportion.laney,
            min_points=chart.min_points,
            max_refits=chart.refits,
        )
    )


def kept(limits: ProportionLimits, center: FloatArray, sigma: FloatArray) -> ProportionLimits:
    """Rows without a fit keep the share and sigma they had (``center``, ``sigma`` of one
    trial, NaN where none)."""
    inner = limits.inner
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = sigma / np.sqrt(center * (1.0 - center))
    keep = ~inner.ok & np.isfinite(center) & (factor > 0)
    if not keep.any():
        return limits
    old = PLimits.pinned(np.where(keep, center, 0.5), np.where(keep, factor, 1.0))
    return ProportionLimits(
        PLimits(
            p=np.where(keep, old.p, inner.p),
            sigma_z=np.where(keep, old.sigma_z, inner.sigma_z),
            ok=inner.ok | (keep & old.ok),
            n_points=inner.n_points,
            trials=inner.trials,
            refits=inner.refits,
            laney=inner.laney,
        )
    )


def reference(chart: ChartConfig, chosen: Window) -> tuple[FloatArray, FloatArray]:
    """An alarm reference per series: the share p of the chosen points and sigma_z (1 for a
    plain p chart), NaN without enough points."""
    limits = fit(chart, chosen).inner
    return limits.p, limits.sigma_z


def paging_points(chart: ChartConfig, reference: BatchLimits, fresh: Window) -> FloatArray:
    """What the detector runs on, for the new points of ``fresh`` (NaN for its context and
    for series without a reference): z against the reference (``center`` and ``sigma``) of a
    histogram chart; for a p chart, the mid-p scores against the reference share ``center``
    over Laney's sigma_z (``sigma``)."""
    values = np.where(fresh.inside, fresh.values, np.nan)
    if chart.proportion is None:
        return reference.zscores(values, fresh.sizes)
    shares = PLimits.pinned(reference.center, reference.sigma)
    return shares.paging_scores(values * fresh.sizes, fresh.sizes)
