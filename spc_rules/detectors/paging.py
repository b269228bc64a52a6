"""One paging detector per chart series, calibrated in time and fleet size (docs/paging.md).

A one-sided Huber (clipped) CUSUM on the standardized points z of a series,

    S_t = max(0, S_{t-1} + clip(z_t, -c, c) - k),

opens an alarm episode when S_t > h. Its parameters come from a budget of false pages per week
per fleet of in-control series, the series' own point interval and its fitted sigma:

- k is half the reference shift in z units (the CUSUM's likelihood-ratio optimum for that step);
- h is solved with the exact Markov-chain run length (runlength.py) so that the in-control
  average run length, with lone outliers at `outlier_rate` taken at their worst case, equals the
  budget converted to points;
- the reference the points are standardized against is itself fitted on m points, so the
  increments' mean is off by b ~ N(0, 1/m) for as long as it stays; h meets the budget with
  the alarm rate averaged over that b (runlength.averaged_arl), not at b = 0;
- c bounds what any one point can add (c - k), and h >= 2 (c - k), so no single point can open an
  episode while S is below h / 2, in particular from the zero state.

Designs depend only on (reference shift, clip, outlier rate, target ARL0, reference points); these
are rounded to a grid (shift to 2%, ARL0 up to the next 5%, reference points down to the next
10%) and memoized, so a fleet costs a handful of solves.
The runner is in paging_run.py; the sigma to standardize with (autocorrelation) in paging_scale.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from spc_rules.detectors.decision_interval import solve_h
from spc_rules.detectors.runlength import arl, averaged_arl, run_length_quantiles

Severity = Literal["page", "ticket"]
BadSide = Literal["up", "down", "both"]

WEEK_S = 7 * 86_400.0
DAY_S = 86_400.0
SHIFT_GRID = 0.02  # reference shifts rounded to 2% steps (log scale)
ARL0_GRID = 0.05  # target ARL0 rounded up to the next 5% step (log scale): never less safe
REFERENCE_GRID = 0.1  # reference points rounded down to the next 10% step (log scale)
MIN_SHIFT = 0.1  # sigma units; below this a CUSUM is too slow to be worth a page


@dataclass(frozen=True)
class PagingPolicy:
    """Budgets and the shifts each severity is tuned for.

    Shifts for log-scale charts are ratios on the original scale (1.7 = +70% latency); for charts
    without a transform they are in sigma units directly.
    """

    false_pages_per_week: float = 1.0  # per `fleet_series` in-control series
    fleet_series: int = 100
    # k is tuned for 1.7x, the geometric middle of the 1.5x and 2x aims: at 2x it costs < 5% of
    # the time to page of a 2x-tuned chart and saves about a quarter of it at 1.5x.
    page_shift_ratio: float = 1.7
    page_shift_sigmas: float = 2.0
    ticket_false_per_day: float = 1.0  # per `fleet_series` in-control series
    ticket_shift_ratio: float = 1.2
    ticket_shift_sigmas: float = 1.0
    clip: float = 3.0  # Huber clip of z, sigma units
    outlier_rate: float = 0.005  # lone outliers the budget must survive (worst-case size)

    def target_arl0_points(
        self, severity: Severity, point_interval_s: float, bad_side: BadSide = "up"
    ) -> float:
        """In-control ARL per monitored side, in points, that spends exactly the budget.

        Each series may raise one false alarm per fleet_series / rate periods; a two-sided chart
        splits that between its sides.
        """
        if not point_interval_s > 0:
            raise ValueError(f"point interval must be positive: {point_interval_s}")
        if severity == "page":
            seconds = self.fleet_series / self.false_pages_per_week * WEEK_S
        else:
            seconds = self.fleet_series / self.ticket_false_per_day * DAY_S
        return seconds / point_interval_s * (2.0 if bad_side == "both" else 1.0)

    def shift_sigmas(self, severity: Severity, *, log_scale: bool, sigma_fit: float) -> float:
        """The reference shift in z units of an individual point (k is half of it)."""
        if not log_scale:
            return self.page_shift_sigmas if severity == "page" else self.ticket_shift_sigmas
        if not sigma_fit > 0:
            raise ValueError(f"sigma must be positive: {sigma_fit}")
        ratio = self.page_shift_ratio if severity == "page" else self.ticket_shift_ratio
        return math.log(ratio) / sigma_fit


@dataclass(frozen=True)
class CusumDesign:
    """One side's chart: alarm when S > h, S accumulating clip(z, -clip, clip) - k."""

    k: float
    h: float
    clip: float
    shift_sigmas: float  # reference shift (z units) k is tuned for, after rounding to the grid
    # In-control ARL with outliers at outlier_rate, exact chain, one side, its rate averaged
    # over the reference's error (reference_sd, z units: 1/sqrt(reference points)).
    arl0_points: float
    reference_sd: float
    arl1_points: float  # ARL at the reference shift, zero state, no outliers
    outlier_rate: float

    def run_length_quantiles(
        self, shift_sigmas: float, probs: Sequence[float] = (0.5, 0.95)
    ) -> tuple[int, ...]:
        """Zero-state run-length quantiles (points) for a sustained shift of shift_sigmas."""
        return run_length_quantiles(self.h, self.k, probs, clip=self.clip, mu=shift_sigmas)


def design_for(
    policy: PagingPolicy,
    severity: Severity,
    *,
    log_scale: bool,
    sigma_fit: float,
    point_interval_s: float,
    bad_side: BadSide = "up",
    reference_points: float = math.inf,
) -> CusumDesign:
    """The chart for one series: from its point interval (seconds) and its paging sigma.

    reference_points: how many points the series' reference (center) is the mean of; the
    design pays for its error (1/reference_points in z units). inf: a known center.

    sigma_fit is the sigma points are standardized with (on the fitting scale, per individual
    value: for X-bar points the shift in z is shift * sqrt(n), which only pages sooner).
    Memoized on the rounded inputs, so calling it per series per cycle is cheap; ValueError
    or RuntimeError (UnresolvedError) where no h meets the budget.
    """
    shift = policy.shift_sigmas(severity, log_scale=log_scale, sigma_fit=sigma_fit)
    target = policy.target_arl0_points(severity, point_interval_s, bad_side)
    found = _design(
        _round_shift(shift, policy.clip),
        policy.clip,
        policy.outlier_rate,
        math.ceil(math.log(target) / ARL0_GRID - 1e-9),
        _reference_step(reference_points),
    )
    if isinstance(found, CusumDesign):
        return found
    raise found.kind(found.message)


def detection_seconds(
    design: CusumDesign,
    shift_sigmas: float,
    point_interval_s: float,
    probs: Sequence[float] = (0.5, 0.95),
) -> tuple[float, ...]:
    """Quantiles of the time from a step to its alarm, in seconds (run length * interval)."""
    return tuple(n * point_interval_s for n in design.run_length_quantiles(shift_sigmas, probs))


def _reference_step(points: float) -> int | None:
    """Reference points on a 10% grid, rounded down (never less safe); None: exact center."""
    if math.isinf(points):
        return None
    if not points >= 1.0:
        raise ValueError(f"a reference needs at least one point: {points}")
    return math.floor(math.log(points) / REFERENCE_GRID + 1e-9)


def _round_shift(shift: float, clip: float) -> float:
    """Shift on a 2% grid, within [MIN_SHIFT, clip] (beyond clip every point is clipped)."""
    rounded = math.exp(round(math.log(shift) / SHIFT_GRID) * SHIFT_GRID)
    return min(max(rounded, MIN_SHIFT), clip)


@dataclass(frozen=True)
class _NoDesign:
    """Why a key has no design, memoized like a design: a refused design costs up to a few
    hundred chain solves, and its key comes back every cycle."""

    kind: type[ValueError] | type[RuntimeError]
    message: str


@lru_cache(maxsize=4096)
def _design(
    shift: float, clip: float, outlier_rate: float, arl0_step: int, reference_step: int | None
) -> CusumDesign | _NoDesign:
    target = math.exp(arl0_step * ARL0_GRID)
    sd = 0.0 if reference_step is None else math.exp(-0.5 * reference_step * REFERENCE_GRID)
    k = shift / 2.0
    try:
        # h >= 2 (c - k): a lone point cannot alarm unless S already passed h / 2.
        h = solve_h(
            k, target, clip=clip, outlier_rate=outlier_rate, min_h=2.0 * (clip - k), reference_sd=sd
        )
        return CusumDesign(
            k=k,
            h=h,
            clip=clip,
            shift_sigmas=shift,
            arl0_points=averaged_arl(h, k, clip=clip, outlier_rate=outlier_rate, reference_sd=sd),
            reference_sd=sd,
            arl1_points=arl(h, k, clip=clip, mu=shift),
            outlier_rate=outlier_rate,
        )
    except (ValueError, RuntimeError) as err:  # UnresolvedError is a RuntimeError
        return _NoDesign(type(err), str(err))
