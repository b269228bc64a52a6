"""Exact run lengths of the clipped CUSUM (spc_rules/detectors/runlength.py).

Published figures are quoted with their source; most reached us through the examples of the R
package `spc` (S. Knoth, xcusum.arl help page), which lists the original papers' table values.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from spc_rules.detectors import decision_interval, runlength
from spc_rules.detectors.decision_interval import solve_h
from spc_rules.detectors.roots import UnresolvedError, bracketed_root, increasing_root
from spc_rules.detectors.runlength import (
    arl,
    averaged_arl,
    lone_outlier_alarm_probability,
    run_length_quantiles,
    run_length_survival,
    state_distribution,
)
from tests.spc.conftest import Solve


def two_sided(h: float, k: float, mu: float) -> float:
    # Two one-sided charts with the same k and h: 1/L = 1/L+ + 1/L- (Lucas & Crosier 1982,
    # Technometrics 24, 199-205), the relation their two-sided table is built on.
    return 1.0 / (1.0 / arl(h, k, mu=mu) + 1.0 / arl(h, k, mu=-mu))


@pytest.mark.parametrize(
    ("h", "k", "mu", "published", "rel"),
    [
        # Brook & Evans (1972), Biometrika 59, 539-548, subsection 4.3: k=0.5, h=3 (their own,
        # coarser Markov chain): L0 = 117.59, L(1.5) = 3.75.
        (3.0, 0.5, 0.0, 117.59, 0.001),
        (3.0, 0.5, 1.5, 3.75, 0.002),
        # Waldmann (1986), Technometrics 28, 61-67, Tables 3, 1, 5: k=0.5, h=3, mu = -0.5, 0, 0.5
        # give 1963, 117.4, 17.35 (bounds-based; 117.4 is 0.17% under the chain's limit 117.6).
        (3.0, 0.5, -0.5, 1963.0, 0.002),
        (3.0, 0.5, 0.0, 117.4, 0.003),
        (3.0, 0.5, 0.5, 17.35, 0.002),
        # Vance (1986), J. Quality Technology 18, 189-193, Table 1 (with Goel & Wu 1971): k=0,
        # h=10, one-sided.
        (10.0, 0.0, -0.25, 2071.51, 0.001),
        (10.0, 0.0, -0.125, 400.28, 0.001),
        (10.0, 0.0, 0.0, 124.66, 0.001),
        (10.0, 0.0, 0.125, 59.30, 0.001),
        (10.0, 0.0, 0.25, 36.71, 0.001),
        (10.0, 0.0, 0.5, 20.37, 0.001),
        (10.0, 0.0, 1.0, 10.75, 0.001),
    ],
)
def test_one_sided_arl_matches_published_tables(
    h: float, k: float, mu: float, published: float, rel: float
) -> None:
    assert arl(h, k, mu=mu) == pytest.approx(published, rel=rel)


@pytest.mark.parametrize(
    ("mu", "published"),
    # Lucas & Crosier (1982), Technometrics 24, Table 1: two-sided tabular CUSUM k=0.5, h=4
    # (also Montgomery, Introduction to Statistical Quality Control, the tabular CUSUM ARL
    # table for k=1/2, h=4). Published to 3 significant figures.
    [(0.0, 168.0), (0.25, 74.2), (0.5, 26.6), (0.75, 13.3), (1.0, 8.38), (2.0, 3.34), (3.0, 2.19)],
)
def test_two_sided_h4_matches_lucas_crosier(mu: float, published: float) -> None:
    assert two_sided(4.0, 0.5, mu) == pytest.approx(published, rel=0.004)


def test_k_half_h5_in_control() -> None:
    # Two-sided k=0.5, h=5: 465 (Montgomery, Introduction to Statistical Quality Control, the same
    # CUSUM ARL table; the figure docs/spc.md validates charts.cusum against). One side: ~930.9
    # (twice it, up to the rounding of the table); h=4 one side: ~335.4 (twice 168 rounded).
    assert two_sided(5.0, 0.5, 0.0) == pytest.approx(465.0, rel=0.002)
    assert arl(5.0, 0.5) == pytest.approx(930.9, rel=0.0005)
    assert arl(4.0, 0.5) == pytest.approx(335.4, rel=0.0005)


def test_huge_clip_is_the_unclipped_chart() -> None:
    assert arl(5.0, 0.5, clip=40.0) == pytest.approx(arl(5.0, 0.5), rel=1e-9)
    assert arl(4.0, 0.5, clip=40.0, mu=1.0) == pytest.approx(arl(4.0, 0.5, mu=1.0), rel=1e-9)


@pytest.mark.parametrize(
    ("h", "k", "clip", "outlier_rate"), [(11.2, 0.663, 3.0, 0.005), (19.7, 0.303, 3.0, 0.005)]
)
def test_clipped_chain_is_stable_in_the_number_of_states(
    h: float, k: float, clip: float, outlier_rate: float
) -> None:
    fine = arl(h, k, clip=clip, outlier_rate=outlier_rate, states=1600)
    assert arl(h, k, clip=clip, outlier_rate=outlier_rate) == pytest.approx(fine, rel=0.005)


def simulate_run_lengths(
    h: float, k: float, clip: float, outlier_rate: float, runs: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    s = np.zeros(runs)
    length = np.zeros(runs, dtype=np.int64)
    alive = np.ones(runs, bool)
    t = 0
    while alive.any():
        t += 1
        z = rng.standard_normal(runs)
        z[rng.random(runs) < outlier_rate] = 1e9  # an outlier: clipped to clip
        s = np.maximum(0.0, s + np.clip(z, -clip, clip) - k)
        hit = alive & (s > h)
        length[hit] = t
        alive &= ~hit
    return length


@pytest.mark.parametrize(
    ("h", "k", "clip", "outlier_rate"),
    # Heavy clipping (big atoms in the increment) and worst-case outliers at 2%.
    [(3.0, 0.5, 1.5, 0.0), (4.0, 0.5, 2.0, 0.02)],
)
def test_clipped_chain_matches_simulation(
    h: float, k: float, clip: float, outlier_rate: float
) -> None:
    lengths = simulate_run_lengths(h, k, clip, outlier_rate, runs=4000, seed=7)
    se = lengths.std() / math.sqrt(lengths.size)
    exact = arl(h, k, clip=clip, outlier_rate=outlier_rate)
    assert abs(lengths.mean() - exact) < 3.5 * se + 0.005 * exact


def test_outliers_only_shorten_the_in_control_run_length() -> None:
    clean = arl(8.0, 0.8, clip=3.0)
    dirty = arl(8.0, 0.8, clip=3.0, outlier_rate=0.005)
    assert dirty < clean


@pytest.mark.parametrize(
    ("target", "clip", "outlier_rate", "k"),
    [(1000.0, math.inf, 0.0, 0.5), (4.032e6, 3.0, 0.005, 0.85), (5.76e5, 3.0, 0.005, 0.3)],
)
def test_solve_h_hits_the_target(target: float, clip: float, outlier_rate: float, k: float) -> None:
    h = solve_h(k, target, clip=clip, outlier_rate=outlier_rate)
    assert arl(h, k, clip=clip, outlier_rate=outlier_rate) == pytest.approx(target, rel=1e-5)


def test_averaged_design_meets_its_rate_with_a_random_reference_error() -> None:
    # Each simulated series judges its points against a reference off by its own
    # b ~ N(0, sd^2), restarting at 0 after each alarm; the fleet's alarm rate is the design's.
    k, clip, target, sd = 0.5, 3.0, 300.0, 0.15
    h = solve_h(k, target, clip=clip, reference_sd=sd)
    assert averaged_arl(h, k, clip=clip, reference_sd=sd) == pytest.approx(target, rel=1e-5)
    plain = solve_h(k, target, clip=clip)
    assert h > plain  # paying for the reference's error raises h
    rng = np.random.default_rng(3)
    series, points = 4000, 3000
    b = sd * rng.standard_normal(series)
    s = np.zeros(series)
    alarms = np.zeros(series)
    for _ in range(points):
        s = np.maximum(0.0, s + np.clip(rng.standard_normal(series) + b, -clip, clip) - k)
        hit = s > h
        alarms += hit
        s[hit] = 0.0
    rate = alarms.sum() / (series * points)
    se = math.sqrt(alarms.sum()) / (series * points)  # Poisson count
    assert abs(rate - 1.0 / target) < 3.5 * se + 0.03 / target
    # The plain design, blind to the reference's error, alarms clearly more often.
    assert 1.0 / averaged_arl(plain, k, clip=clip, reference_sd=sd) > 1.3 / target


def test_averaged_arl_without_reference_error_is_the_arl() -> None:
    assert averaged_arl(8.0, 0.8, clip=3.0) == arl(8.0, 0.8, clip=3.0)


def test_solve_h_respects_a_floor_that_already_exceeds_the_target() -> None:
    h = solve_h(1.0, 50.0, clip=3.0, min_h=6.0)
    assert h == 6.0
    assert arl(h, 1.0, clip=3.0) > 50.0


def test_saturated_shift_has_the_deterministic_run_length() -> None:
    # Far beyond the clip every point adds exactly clip - k = 2.5: 7.5 <= h = 8 < 10, so 4 points.
    assert run_length_quantiles(8.0, 0.5, (0.05, 0.5, 0.99), clip=3.0, mu=30.0) == (4, 4, 4)
    assert arl(8.0, 0.5, clip=3.0, mu=30.0) == pytest.approx(4.0, abs=1e-6)


def test_quantiles_agree_with_the_survival_function() -> None:
    survival = run_length_survival(6.0, 0.6, 200, clip=3.0, mu=1.2)
    assert np.all(np.diff(survival) <= 1e-15)
    median, p95 = run_length_quantiles(6.0, 0.6, (0.5, 0.95), clip=3.0, mu=1.2)
    assert survival[median - 1] <= 0.5 < survival[median - 2]
    assert survival[p95 - 1] <= 0.05 < survival[p95 - 2]
    # The mean from the survival sum equals the ARL (tail beyond 200 points is negligible here).
    assert 1.0 + survival.sum() == pytest.approx(arl(6.0, 0.6, clip=3.0, mu=1.2), rel=1e-6)


def test_state_distribution_matches_a_long_simulation() -> None:
    h, k, clip = 4.0, 0.5, 2.0
    centers, pi = state_distribution(h, k, clip=clip)
    assert pi.sum() == pytest.approx(1.0)
    rng = np.random.default_rng(3)
    s = np.zeros(400)
    above = 0
    total = 0
    for _ in range(3000):
        s = np.maximum(0.0, s + np.clip(rng.standard_normal(400), -clip, clip) - k)
        s[s > h] = 0.0  # restart after an alarm, as the runner does after an episode
        above += int((s > 2.0).sum())
        total += s.size
    exact = float(pi[centers > 2.0].sum())
    assert above / total == pytest.approx(exact, rel=0.05)
    assert float(pi[0]) > 0.4  # the atom at 0 (P(S = 0) is large for k = 0.5)


def test_lone_outlier_probability_falls_with_h() -> None:
    probs = [lone_outlier_alarm_probability(h, 0.7, clip=3.0) for h in (6.0, 8.0, 10.0)]
    assert probs[0] > probs[1] > probs[2] > 0.0


@pytest.mark.parametrize(
    ("f", "low", "high", "root"),
    [
        (lambda x: math.log(x) - math.log(7.25), 1.0, 20.0, 7.25),
        (lambda x: x**3 - 2.0, 0.0, 3.0, 2.0 ** (1 / 3)),
        (lambda x: math.expm1(4.0 * (x - 0.3)), -5.0, 9.0, 0.3),  # very curved
        (lambda x: x - 4.0, 1.0, 4.0, 4.0),  # the root at the bracket's end
    ],
)
def test_root_finder_brackets_the_root_within_its_tolerance(
    f: Callable[[float], float], low: float, high: float, root: float
) -> None:
    calls = []

    def counted(x: float) -> float:
        calls.append(x)
        return f(x)

    got = bracketed_root(counted, low, high, xtol=1e-6, rtol=1e-9)
    assert abs(got - root) <= 1e-6 + 1e-9 * root
    assert len(calls) < 60  # superlinear, not a crawl along one side of the bracket


def test_a_solve_evaluates_no_chart_twice(chain_solves: list[Solve]) -> None:
    # Each evaluation of a page's design is nine chain solves: the values found while
    # bracketing the root are handed to the root finder, and the averaged rate's middle
    # node (a reference error of 0) is the base chain, not solved again.
    h = decision_interval.solve_h(0.5, 300.0, clip=3.0, outlier_rate=0.005, reference_sd=0.07)
    assert len(chain_solves) == len(set(chain_solves))
    assert averaged_arl(h, 0.5, clip=3.0, outlier_rate=0.005, reference_sd=0.07) == pytest.approx(
        300.0, rel=1e-5
    )


@pytest.mark.parametrize(
    ("k", "target", "reference_sd"),
    [(0.5, 300.0, 0.07), (1.5, 4.1975e6, 0.0672), (0.893, 4.1975e6, 0.0672), (0.5, 1e5, 0.03)],
)
def test_a_page_design_takes_few_chain_solves(
    chain_solves: list[Solve], k: float, target: float, reference_sd: float
) -> None:
    # The first cycle solves every distinct design: secant steps close in on the root of
    # the nearly linear log ARL in a few evaluations of nine solves each (false position
    # took 66 to 125 chain solves for these, creeping up on the root from one side).
    h = decision_interval.solve_h(
        k, target, clip=3.0, outlier_rate=0.005, reference_sd=reference_sd
    )
    solved = len(chain_solves)
    assert solved <= 60
    assert averaged_arl(
        h, k, clip=3.0, outlier_rate=0.005, reference_sd=reference_sd
    ) == pytest.approx(target, rel=1e-5)


def test_the_root_finder_takes_a_point_within_ftol_without_closing_the_bracket() -> None:
    def count(ftol: float) -> tuple[int, float]:
        calls = []

        def f(x: float) -> float:
            calls.append(x)
            return math.log(x) - math.log(7.25)

        got = bracketed_root(f, 1.0, 20.0, xtol=1e-6, rtol=1e-9, ftol=ftol)
        return len(calls), got

    closed, exact = count(0.0)
    near, got = count(1e-6)
    assert abs(math.log(got) - math.log(7.25)) <= 1e-6
    assert abs(exact - 7.25) <= 1e-6
    assert near < closed


def test_the_averaged_solve_starts_where_the_plain_slope_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From the plain chart's h, the averaged solve's first step goes as far as the plain
    # chain's slope says its gap needs (and 5 % more): just past the root, where a step of
    # 10 % of h went two to ten times the distance past it.
    averaged: list[float] = []
    real = runlength.averaged_arl

    def recorded(h: float, k: float, **kwargs: float) -> float:
        if kwargs.get("reference_sd", 0.0) > 0:
            averaged.append(h)
        return real(h, k, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runlength, "averaged_arl", recorded)
    cases = [
        (0.5, 300.0, 0.07),
        (1.5, 4.1975e6, 0.0672),
        (0.893, 4.1975e6, 0.0672),
        (0.5, 1e5, 0.03),
    ]
    for k, target, sd in cases:
        averaged.clear()
        h = decision_interval.solve_h(k, target, clip=3.0, outlier_rate=0.005, reference_sd=sd)
        assert real(h, k, clip=3.0, outlier_rate=0.005, reference_sd=sd) == pytest.approx(
            target, rel=1e-5
        )
        plain, first_step = averaged[:2]  # the plain chart's h, then the first step
        assert h < first_step < h + 0.25 * (h - plain)


def test_a_budget_no_resolvable_h_meets_is_refused_with_its_reason() -> None:
    # A reference of 60 points (sd 0.135) and k 0.43 against an ARL0 of about 1e6: the
    # averaged ARL0 grows so slowly that ARL0(0) passes what the solve resolves first. Past
    # that the chain's solves return noise (a negative ARL at h 52, which math.log refused).
    with pytest.raises(UnresolvedError, match="no h reaches ARL"):
        solve_h(0.4261, 1.008e6, clip=3.0, outlier_rate=0.005, reference_sd=0.1353)
    # Where it can, the same reference gets its design: a larger k needs a smaller h (its
    # ARL0(0) of 3e12 leaves the averaged ARL0 a relative error near 1e-4).
    h = solve_h(0.4901, 1.008e6, clip=3.0, outlier_rate=0.005, reference_sd=0.1353)
    assert arl(h, 0.4901, clip=3.0, outlier_rate=0.005) <= runlength.PRECISE_ARL
    assert averaged_arl(
        h, 0.4901, clip=3.0, outlier_rate=0.005, reference_sd=0.1353
    ) == pytest.approx(1.008e6, rel=1e-3)


def test_a_root_just_below_where_f_stops_resolving_is_still_found() -> None:
    def f(x: float) -> float:
        if x > 10.0:
            raise UnresolvedError(f"{x} is past 10")
        return x - 9.5

    # Steps of 1.5 from 1 pass 10 at 11.4: the search goes back half way, not up.
    got = increasing_root(f, 1.0, 1.5, step=1.5, ceiling=1e4, xtol=1e-9, rtol=0.0)
    assert got == pytest.approx(9.5, abs=1e-8)
    with pytest.raises(UnresolvedError, match="past 10"):  # the root is past the limit
        increasing_root(lambda x: f(x) - 1.0, 1.0, 1.5, step=1.5, ceiling=1e4, xtol=1e-9, rtol=0.0)
