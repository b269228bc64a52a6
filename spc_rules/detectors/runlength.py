"""Exact run-length computations for the clipped (Huber) one-sided CUSUM used for paging.

The chart is S_t = max(0, S_{t-1} + clip(z_t, -c, c) - k), alarm when S_t > h, zero state S_0 = 0.
Increments are z ~ N(mu, 1); optionally a fraction `outlier_rate` of the points are lone outliers,
modelled at the worst case, the largest increment c - k (a CUSUM's run length is monotone in
its increments, so this bounds every outlier-size distribution from the safe side).

Method: the Markov chain of Brook & Evans (1972, Biometrika 59, 539-548). [0, h] is cut into
`states` cells of width w = 2h / (2 * states - 1); cell 0 is [0, w/2] (it holds the atom of S at
0), cell i the interval ((i - 1/2) w, (i + 1/2) w] represented by its center i * w, and beyond
h = (states - 1/2) w the chain is absorbed (the alarm). The continuous part of the increment is
integrated exactly over each cell. Clipping puts two point masses in the increment, at c - k and
-c - k; each is split between the two cells whose centers bracket where it lands (linear
interpolation): an error of order w^2, not w. With 400 cells the unclipped chart's zero-state
ARL is the published one to 0.01%, clipped designs stable to 0.5% (tests/spc/test_runlength.py).

A reference fitted on m points is off by b ~ N(0, reference_sd^2) in z units (1/m for a mean),
for as long as it stays: every increment's mean moves by -b. `averaged_arl` is the ARL whose
reciprocal is the false-alarm rate averaged over that b, E_b[1 / ARL(mu = b)] (Gauss-Hermite over
b): the rate, not the ARL, is what a fleet of series with independent references pays, and
b changes slowly against the chart's memory, so each reference alarms at its own 1 / ARL(b).

Plain numpy/scipy on one chart at a time; ``decision_interval.solve_h`` finds h from these, and the
paging module memoizes designs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import ndtr

from spc_rules.detectors.roots import UnresolvedError

FloatArray = npt.NDArray[np.float64]

DEFAULT_STATES = 400


def transition_matrix(
    h: float,
    k: float,
    *,
    clip: float = math.inf,
    mu: float = 0.0,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
) -> FloatArray:
    """The (states x states) substochastic transition matrix; rows lose the alarm mass."""
    if not h > 0 or states < 2 or not clip > 0 or not 0.0 <= outlier_rate < 1.0:
        raise ValueError(f"bad chart: h={h}, clip={clip}, outlier_rate={outlier_rate}")
    n = states
    w = 2.0 * h / (2 * n - 1)
    normal = 1.0 - outlier_rate
    # Continuous part of X = clip(Z + mu) - k: its CDF at the cell edges (m + 1/2) w, m = -n..n,
    # taken from the bottom of its support so the atoms are not counted.
    edges = (np.arange(-n, n + 1) + 0.5) * w + k
    bottom = float(ndtr(-clip - mu))
    cdf: FloatArray = np.asarray(
        (ndtr(np.clip(edges, -clip, clip) - mu) - bottom) * normal, dtype=np.float64
    )
    # Cell (i, j) depends on j - i only (Toeplitz): rows are copied windows of one array,
    # not gathered cell by cell (that was most of a design's time). steps[m + n - 1]: j - i = m.
    steps = cdf[1:-1] - cdf[:-2]
    q: FloatArray = sliding_window_view(steps, n)[::-1].copy()
    q[:, 0] = cdf[n - np.arange(n)]  # everything at or below w/2 lands in cell 0
    atoms = (
        (clip - k, normal * float(ndtr(mu - clip)) + outlier_rate),
        (-clip - k, normal * bottom),
    )
    for position, mass in atoms:
        if mass <= 0.0:
            continue
        if math.isinf(position):  # an unclipped outlier: alarms (position > 0) or resets
            if position < 0:
                q[:, 0] += mass
            continue
        add_point_mass(q, position, mass, h)
    return q


def add_point_mass(q: FloatArray, step: float, mass: float, h: float) -> None:
    """Add to q (states x states, cells as in transition_matrix) an increment of exactly `step`
    with probability `mass`: at or below 0 it lands in cell 0, past h it is the alarm (lost),
    otherwise it is split between the two cells whose centers bracket the landing point."""
    states = q.shape[0]
    w = 2.0 * h / (2 * states - 1)
    rows = np.arange(states)
    target = rows * w + step
    q[rows[target <= 0.0], 0] += mass
    inside = (target > 0.0) & (target <= h)
    u = target[inside] / w
    low = np.floor(u).astype(np.int64)
    frac = u - low
    high = np.minimum(low + 1, states - 1)  # past the last center: all on the last cell
    np.add.at(q, (rows[inside], low), mass * (1.0 - frac))
    np.add.at(q, (rows[inside], high), mass * frac)


def arl(
    h: float,
    k: float,
    *,
    clip: float = math.inf,
    mu: float = 0.0,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
) -> float:
    """Zero-state average run length (points until the first alarm, counted from 1)."""
    q = transition_matrix(h, k, clip=clip, mu=mu, outlier_rate=outlier_rate, states=states)
    lengths = np.linalg.solve(np.eye(states) - q, np.ones(states))
    return float(lengths[0])


REFERENCE_NODES = 7  # Gauss-Hermite nodes over the reference's error
# The largest ARL a chain's solve is trusted for (error bound about 20 %; from 1e16 on,
# the page's charts solved to negative ARLs).
PRECISE_ARL = 1e15


def averaged_arl(
    h: float,
    k: float,
    *,
    clip: float = math.inf,
    outlier_rate: float = 0.0,
    reference_sd: float = 0.0,
    states: int = DEFAULT_STATES,
    plain: float | None = None,
) -> float:
    """In-control ARL whose reciprocal is the alarm rate averaged over a reference error
    b ~ N(0, reference_sd^2) (z units): 1 / E_b[1 / ARL(mu = b)]. reference_sd 0: plain ARL.

    The ratio E_b[ARL(0) / ARL(b)] is taken on a chain of half the cells (the cells' error
    cancels in it: within 0.2% of the full chain's average for the page's designs, at a
    fifth of the cost) and applied to the full chain's ARL(0). plain: that ARL(0), where the
    caller has it.
    """
    if plain is None:
        plain = arl(h, k, clip=clip, outlier_rate=outlier_rate, states=states)
    if not reference_sd > 0:
        return plain
    coarse = max(states // 2, 2)
    base = arl(h, k, clip=clip, outlier_rate=outlier_rate, states=coarse)
    if not (1.0 <= plain <= PRECISE_ARL and 1.0 <= base <= PRECISE_ARL):  # NaN: not either
        raise UnresolvedError(f"ARL {plain:.3g} at h={h:.4g}, k={k:.4g}, past {PRECISE_ARL:.0e}")
    nodes, weights = _reference_nodes()
    ratio = 0.0
    for b, weight in zip((reference_sd * nodes).tolist(), weights.tolist(), strict=True):
        # The middle node is 0: that chain is ``base``'s, solved once.
        value = (
            base
            if b == 0.0
            else arl(h, k, clip=clip, mu=b, outlier_rate=outlier_rate, states=coarse)
        )
        # Far on the good side the ARL overflows the solve (inf, or garbage): its rate is 0.
        ratio += weight * base / value if math.isfinite(value) and value >= 1.0 else 0.0
    return plain / ratio


@cache
def _reference_nodes() -> tuple[FloatArray, FloatArray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(REFERENCE_NODES)
    return np.asarray(nodes), np.asarray(weights / weights.sum())


def run_length_survival(
    h: float,
    k: float,
    points: int,
    *,
    clip: float = math.inf,
    mu: float = 0.0,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
) -> FloatArray:
    """P(run length > t) for t = 1..points, from the zero state."""
    q = transition_matrix(h, k, clip=clip, mu=mu, outlier_rate=outlier_rate, states=states)
    alive = np.ones(states)
    out = np.empty(points)
    for t in range(points):
        alive = q @ alive  # alive[i]: P(no alarm in t + 1 steps | start in cell i)
        out[t] = alive[0]
    return out


def run_length_quantiles(
    h: float,
    k: float,
    probs: Sequence[float],
    *,
    clip: float = math.inf,
    mu: float = 0.0,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
    max_points: int = 100_000,
) -> tuple[int, ...]:
    """The smallest t with P(run length <= t) >= p, for each p (points, zero state).

    Meant for shifted charts (tens to thousands of points); raises if a quantile is beyond
    `max_points`.
    """
    q = transition_matrix(h, k, clip=clip, mu=mu, outlier_rate=outlier_rate, states=states)
    wanted = sorted(probs)
    if any(not 0.0 < p < 1.0 for p in wanted):
        raise ValueError(f"probabilities must be in (0, 1): {probs}")
    found: dict[float, int] = {}
    alive = np.ones(states)
    t = 0
    while len(found) < len(wanted):
        t += 1
        if t > max_points:
            raise RuntimeError(f"quantiles beyond {max_points} points (mu={mu}, h={h}, k={k})")
        alive = q @ alive
        for p in wanted:
            if p not in found and 1.0 - alive[0] >= p:
                found[p] = t
    return tuple(found[p] for p in probs)


def state_distribution(
    h: float,
    k: float,
    *,
    clip: float = math.inf,
    mu: float = 0.0,
    outlier_rate: float = 0.0,
    states: int = DEFAULT_STATES,
) -> tuple[FloatArray, FloatArray]:
    """Long-run distribution of S for a chart restarted at 0 after each alarm: (centers, probs).

    That is the state the paging runner holds in control (it re-arms at 0 after an episode).
    """
    q = transition_matrix(h, k, clip=clip, mu=mu, outlier_rate=outlier_rate, states=states)
    p = q.copy()
    p[:, 0] += 1.0 - q.sum(axis=1)  # the alarm mass restarts at 0
    # pi (I - P) = 0 with sum(pi) = 1: replace one equation by the normalization.
    a = (np.eye(states) - p).T
    a[0, :] = 1.0
    b = np.zeros(states)
    b[0] = 1.0
    pi = np.clip(np.linalg.solve(a, b), 0.0, None)
    w = 2.0 * h / (2 * states - 1)
    centers: FloatArray = np.arange(states, dtype=np.float64) * w
    return centers, np.asarray(pi / pi.sum(), dtype=np.float64)


def lone_outlier_alarm_probability(
    h: float, k: float, *, clip: float, outlier_rate: float = 0.0, states: int = DEFAULT_STATES
) -> float:
    """P(one maximal outlier alarms on its own) at a random in-control moment.

    A point adds at most clip - k, so it alarms alone only if S was already above
    h - (clip - k); this is the long-run probability of that (S from `state_distribution`).
    """
    centers, pi = state_distribution(h, k, clip=clip, outlier_rate=outlier_rate, states=states)
    return float(pi[centers > h - (clip - k)].sum())
