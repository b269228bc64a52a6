"""The paging detector on p-chart points: the false-page budget holds on mid-p scores.

The designs are solved for normal z; binomial points are discrete and skewed at small n p, so
these tests compute the exact in-control run length on the scores' own distribution
(`discrete_arl`) for the page and ticket designs at 15 s points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from spc_rules.detectors.discrete_runlength import discrete_arl
from spc_rules.detectors.paging import PagingPolicy, design_for
from spc_rules.detectors.paging_run import run_paging
from spc_rules.engine.pchart import PLimits, midp_scores

DESIGNS = {
    severity: design_for(
        PagingPolicy(), severity, log_scale=False, sigma_fit=1.0, point_interval_s=15.0
    )
    for severity in ("page", "ticket")
}


def _scores(n: int, p: float, p_true: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every possible mid-p score of a point of n trials judged against p, and its probability
    when the true rate is p_true (default p); masses below 1e-15 are dropped and renormalized."""
    x = np.arange(n + 1, dtype=float)
    mass = binom.pmf(x, n, p if p_true is None else p_true)
    keep = mass > 1e-15
    scores = midp_scores(x[keep][None, :], np.full((1, int(keep.sum())), float(n)), p)[0]
    return scores, mass[keep] / mass[keep].sum()


def test_the_discrete_chain_agrees_with_simulation() -> None:
    rng = np.random.default_rng(5)
    values, probs = _scores(3, 0.2)
    h, k, clip = 2.5, 0.25, 3.0
    exact = discrete_arl(h, k, clip, values, probs, states=1000)
    runs = 4000
    draws = rng.choice(values, p=probs, size=(runs, 4000))
    s = np.zeros(runs)
    length = np.zeros(runs)
    alive = np.ones(runs, bool)
    for t in range(draws.shape[1]):
        s = np.where(alive, np.maximum(0.0, s + np.clip(draws[:, t], -clip, clip) - k), s)
        ended = alive & (s > h)
        length[ended] = t + 1
        alive &= ~ended
    assert not alive.any()
    se = length.std() / math.sqrt(runs)
    assert abs(length.mean() - exact) < 3.5 * se + 0.01 * exact


@pytest.mark.parametrize("severity", ["page", "ticket"])
@pytest.mark.parametrize("p", [0.001, 0.01, 0.05, 0.2])
def test_false_pages_stay_within_the_budget_on_midp_scores(severity: str, p: float) -> None:
    design = DESIGNS[severity]
    for n in (1, 2, 5, 20, 100, 1000):
        values, probs = _scores(n, p)
        for side in (1.0, -1.0):  # the up side, and the down side (negated scores)
            got = discrete_arl(design.h, design.k, design.clip, side * values, probs)
            assert got >= design.arl0_points, (n, side, got / design.arl0_points)


def test_raw_binomial_z_would_break_the_budget_and_a_size_mixture_holds() -> None:
    design = DESIGNS["page"]
    n, p = 100, 0.001
    x = np.arange(n + 1)
    mass = binom.pmf(x, n, p)
    keep = mass > 1e-15
    raw = (x[keep] / n - p) / math.sqrt(p * (1 - p) / n)
    raw_arl = discrete_arl(design.h, design.k, design.clip, raw, mass[keep] / mass[keep].sum())
    assert raw_arl < 0.05 * design.arl0_points  # over 20 times the budget's false pages
    # Points of sizes 1, 5, 20 and 100 in equal shares: one distribution, weighted.
    parts = [_scores(size, 0.01) for size in (1, 5, 20, 100)]
    values = np.concatenate([v for v, _ in parts])
    probs = np.concatenate([w / len(parts) for _, w in parts])
    assert discrete_arl(design.h, design.k, design.clip, values, probs) >= design.arl0_points


def test_a_fivefold_error_rate_pages_and_the_in_control_run_does_not() -> None:
    """p 0.01 to 0.05 at 20 probes a point: the exact chain says 45 points (docs/spc.md); a
    simulated series pages within a few times that, and 50,000 in-control points raise nothing."""
    design = DESIGNS["page"]
    values, probs = _scores(20, 0.01, p_true=0.05)
    arl1 = discrete_arl(design.h, design.k, design.clip, values, probs)
    assert 30 < arl1 < 60
    rng = np.random.default_rng(9)
    limits = PLimits.pinned(0.01)
    n = np.full((1, 50_000), 20.0)
    quiet = rng.binomial(20, 0.01, size=n.shape).astype(float)
    run = run_paging(limits.paging_scores(quiet, n), design.k, design.h, design.clip, bad_side="up")
    assert not run.opened.any()
    shifted = rng.binomial(20, 0.05, size=(1, 400)).astype(float)
    scores = limits.paging_scores(shifted, n[:, :400])
    run = run_paging(scores, design.k, design.h, design.clip, bad_side="up", state=run.state)
    first = int(np.argmax(run.opened[0]))
    assert run.opened.any() and first < 5 * arl1
