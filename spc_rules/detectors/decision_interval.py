"""The decision interval h of a paging chart: the h whose in-control ARL (exact, by the
Markov chain of ``runlength.py``) is a target, as root of log ARL(h) - log target.

The chain is called through the ``runlength`` module, not names imported from it, so that a
test counting its solves sees every one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from spc_rules.detectors import runlength
from spc_rules.detectors.roots import increasing_root
from spc_rules.detectors.runlength import DEFAULT_STATES


def solve_h(
    k: float,
    target_arl: float,
    *,
    clip: float = math.inf,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
    min_h: float = 0.0,
    reference_sd: float = 0.0,
) -> float:
    """The decision interval h >= min_h whose in-control (mu = 0) zero-state ARL is target_arl
    (averaged over a reference error of reference_sd, see `averaged_arl`).

    Root of log ARL(h) - log target by secant steps in a bracket (roots.py). When
    min_h alone already gives more than the target, returns min_h (the chart is then safer than
    asked).
    """
    if not target_arl > 1.0:
        raise ValueError(f"target ARL must exceed 1: {target_arl}")
    if outlier_rate > 0 and not clip < math.inf:
        raise ValueError("outliers need a finite clip: an unclipped outlier always alarms")
    if outlier_rate * target_arl >= 1.0 and min_h < clip - k:
        min_h = clip - k  # below that a lone outlier alarms: the ARL cannot exceed 1/rate

    def gap(h: float, plain: float | None = None) -> float:
        value = runlength.averaged_arl(
            h, k, clip=clip, outlier_rate=outlier_rate, reference_sd=reference_sd,
            states=states, plain=plain,
        )  # fmt: skip
        return math.log(value) - math.log(target_arl)

    low = max(min_h, 1e-3)
    try:
        if not reference_sd > 0:
            return _root(gap, low, max(1.5 * low, 1.0), step=1.5)
        # The plain chart's h is below: averaging the rate only raises it. Its last steps
        # give log ARL's slope there, and the averaged gap at that h how far up to go.
        tried: dict[float, float] = {}  # h: the plain chart's ARL

        def plain_gap(h: float) -> float:
            tried[h] = runlength.arl(h, k, clip=clip, outlier_rate=outlier_rate, states=states)
            return math.log(tried[h]) - math.log(target_arl)

        low = _root(plain_gap, low, max(1.5 * low, 1.0), step=1.5)
        at_low = gap(low, tried.get(low))
        return _root(gap, low, _first_step(tried, low, at_low), step=1.1, at_low=at_low)
    except RuntimeError as err:  # UnresolvedError included, and kept as such
        raise type(err)(f"no h reaches ARL {target_arl:g} (k={k:.4g}): {err}") from None


# The solve stops at an h whose log ARL is within a millionth of the target's: the chain
# itself is good to 0.5 %, and closing the bracket to xtol took one or two solves more.
GAP_TOLERANCE = 1e-6


def _root(
    gap: Callable[[float], float],
    low: float,
    high: float,
    *,
    step: float,
    at_low: float | None = None,
) -> float:
    return increasing_root(
        gap, low, high, step=step, ceiling=1e4, xtol=1e-6, rtol=1e-9, ftol=GAP_TOLERANCE,
        at_low=at_low,
    )  # fmt: skip


def _first_step(tried: dict[float, float], low: float, at_low: float) -> float:
    """Where the averaged solve looks first above the plain chart's h (``low``): as far as the
    plain chain's slope there says the averaged gap ``at_low`` needs, and 5% more, so that one
    evaluation usually brackets the root tightly; 1.1 times ``low`` without a slope.
    tried: the plain chart's ARL at each h its solve evaluated."""
    if math.isfinite(at_low) and low in tried and tried[low] > 0:
        # The next point nearest ``low`` not so close that the solve's rounding would swamp
        # the difference.
        apart = [h for h in tried if abs(h - low) > 1e-4 * low and tried[h] > 0]
        if apart:
            h = min(apart, key=lambda point: abs(point - low))
            slope = (math.log(tried[h]) - math.log(tried[low])) / (h - low)
            if slope > 0:
                return low + 1.05 * max(-at_low, 0.0) / slope + 1e-6
    return max(1.1 * low, 1.0)
