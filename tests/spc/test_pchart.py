"""p and Laney p' charts: conventions by hand, the plain-loop reference, false-alarm rates."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from spc_rules.engine.pchart import PLimits, fit_p, midp_scores, proportions
from testkit.spc_reference import binomial_midp_score, p_chart_loop, p_fit_loop


def test_center_limits_and_z_by_hand() -> None:
    events = np.array([[1, 0, 2, 1] * 5], dtype=float)  # 20 events in 20 points of 10 trials
    n = np.full(events.shape, 10.0)
    limits = fit_p(events, n)
    assert limits.ok.tolist() == [True]
    assert limits.p[0] == pytest.approx(20 / 200)
    assert limits.trials[0] == 200.0 and limits.n_points[0] == 20
    sigma = math.sqrt(0.1 * 0.9)
    assert limits.sigma[0] == pytest.approx(sigma)
    # UCL of a point of 10: 0.1 + 3 * 0.3 / sqrt(10); LCL clipped at 0; of 1000: symmetric.
    assert limits.line(3.0, 10.0)[0] == pytest.approx(0.1 + 3 * sigma / math.sqrt(10))
    assert limits.line(-3.0, 10.0)[0] == 0.0
    assert limits.line(-2.0, 1000.0)[0] == pytest.approx(0.1 - 2 * sigma / math.sqrt(1000))
    z = limits.zscores([[5.0, 0.0]], [[10.0, 40.0]])
    assert z[0, 0] == pytest.approx((0.5 - 0.1) / (sigma / math.sqrt(10)))
    assert z[0, 1] == pytest.approx(-0.1 / (sigma / math.sqrt(40)))
    flags = limits.judge([[5.0, 0.0]], [[10.0, 40.0]])
    assert flags[0, 0].tolist() == [True, False]  # z = 4.2 is rule 1, z = -2.1 is not


def test_a_baseline_without_events_counts_half_of_one() -> None:
    n = np.full((2, 40), 5.0)
    none = np.zeros((1, 40))
    limits = fit_p(np.vstack([none, n[:1]]), n)  # row 0: no failure; row 1: every trial failed
    assert limits.p.tolist() == [0.5 / 200, 1 - 0.5 / 200]
    assert limits.ok.all()
    # The first failure after 200 clean trials is beyond the UCL at any small n.
    assert limits.judge([[1.0], [5.0]], [[1.0], [5.0]])[0, :, 0].tolist() == [True, False]


def test_missing_points_no_trials_and_impossible_counts() -> None:
    x, _ = proportions([[1.0, 0.0, 3.0, -1.0, np.nan, 2.0]], [[2.0, 0.0, 2.0, 4.0, 4.0, 0.5]])
    assert np.isnan(x[0, 1:]).all() and x[0, 0] == 0.5
    # n = 0 is "no point": it is never flagged and breaks a run of rule 2.
    events = np.array([[3.0] * 5 + [0.0] + [3.0] * 5])
    n = np.array([[10.0] * 5 + [0.0] + [10.0] * 5])
    limits = PLimits.pinned(0.1)
    flags = limits.judge(events, n)
    assert not flags[:, 0, 5].any()
    assert not flags[1].any()  # 10 points above the center, but split 5 + 5 by the gap
    assert np.isnan(limits.zscores(events, n)[0, 5])
    assert np.isnan(limits.paging_scores(events, n)[0, 5])


def test_run_rules_need_points_close_to_normal() -> None:
    # 20 clean points at n p = 0.2 sit below the center and within one sigma: no rule 2 or 7.
    limits = PLimits.pinned(0.01)
    quiet = limits.judge(np.zeros((1, 20)), np.full((1, 20), 20.0))
    assert not quiet.any()
    # At n p = 5, 4 failures in 500 (z = -0.45) are a run of 9 below the center (rule 2) and
    # of 15 within one sigma (rule 7).
    low = limits.judge(np.full((1, 20), 4.0), np.full((1, 20), 500.0))
    assert low[1, 0, 8:].all() and low[6, 0, 14:].all() and not low[0].any()
    # One point too small for the run rules breaks the run like a missing point.
    mixed = limits.judge(np.full((1, 20), 4.0), np.array([[500.0] * 8 + [20.0] + [500.0] * 11]))
    assert not mixed[1, 0, :17].any() and mixed[1, 0, 17:].all()


def test_too_few_points_or_a_bad_pin_gives_no_limits() -> None:
    limits = fit_p(np.ones((1, 19)), np.full((1, 19), 10.0))
    assert limits.ok.tolist() == [False] and np.isnan(limits.p[0])
    assert not limits.judge([[10.0]], [[10.0]]).any()
    pinned = PLimits.pinned([0.0, 0.2, 1.0])
    assert pinned.ok.tolist() == [False, True, False]


def test_midp_scores_by_hand_and_far_in_the_tail() -> None:
    # n = 1, p = 0.01: a success has mid-p 0.495, a failure 0.995.
    got = midp_scores([[0.0, 1.0]], [[1.0, 1.0]], 0.01)
    assert got[0, 0] == pytest.approx(-0.012533, abs=1e-6)
    assert got[0, 1] == pytest.approx(2.575829, abs=1e-6)
    # One failure in one trial at p = 1e-9 is 6.1 sigma, finite (from the upper tail).
    assert midp_scores([[1.0]], [[1.0]], 1e-9)[0, 0] == pytest.approx(6.1094, abs=1e-3)
    for events, n, p in [(0, 7, 0.2), (3, 7, 0.2), (7, 7, 0.2), (4, 30, 0.05), (0, 50, 0.001)]:
        expected = binomial_midp_score(events, n, p)
        assert midp_scores([[events]], [[n]], p)[0, 0] == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("laney", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_fit_z_and_rules_equal_the_loop_reference(seed: int, laney: bool) -> None:
    rng = np.random.default_rng(seed)
    points = 60
    p = [0.002, 0.02, 0.1, 0.4][seed % 4]
    n = rng.integers(0, [2, 10, 40][seed % 3], size=points).astype(float)
    drift = rng.uniform(0.3, 3.0, size=points) if laney else np.ones(points)
    events = rng.binomial(n.astype(int), np.clip(p * drift, 0, 1)).astype(float)
    events[rng.random(points) < 0.05] = np.nan
    events[: points // 2][rng.random(points // 2) < 0.1] *= 3  # outliers for the refits
    events = np.minimum(events, n)
    fitted = fit_p(events[None, :], n[None, :], laney=laney)
    ev, size = [float(v) for v in events], [float(v) for v in n]
    expected = p_fit_loop(ev, size, laney=laney)
    if expected is None:
        assert not fitted.ok[0]
        return
    assert fitted.ok[0]
    assert fitted.p[0] == pytest.approx(expected[0], rel=1e-12)
    assert fitted.sigma_z[0] == pytest.approx(expected[1], rel=1e-12)
    assert fitted.refits[0] == expected[2]
    z_ref, flags_ref = p_chart_loop(ev, size, expected[0], expected[1])
    z = fitted.zscores(events[None, :], n[None, :])[0]
    assert [None if math.isnan(v) else pytest.approx(v, rel=1e-9) for v in z] == z_ref
    assert fitted.judge(events[None, :], n[None, :])[:, 0].tolist() == flags_ref


def test_a_batch_equals_its_series_one_by_one() -> None:
    rng = np.random.default_rng(7)
    n = rng.integers(0, 30, size=(5, 80)).astype(float)
    events = rng.binomial(n.astype(int), [[0.01], [0.05], [0.1], [0.2], [0.5]]).astype(float)
    n[1, 60:] = np.nan  # a shorter series, padded
    whole = fit_p(events, n, laney=True)
    flags = whole.judge(events, n)
    for row in range(5):
        one = fit_p(events[row : row + 1], n[row : row + 1], laney=True)
        assert (one.p[0], one.sigma_z[0], one.refits[0]) == pytest.approx(
            (whole.p[row], whole.sigma_z[row], whole.refits[row]), rel=1e-12
        )
        assert (one.judge(events[row : row + 1], n[row : row + 1])[:, 0] == flags[:, row]).all()


def test_laney_sigma_z_by_hand_and_its_floor() -> None:
    # z alternates +-2 (p = 0.5, n = 4: sigma / sqrt(n) = 0.25): ranges of 4, sigma_z 4 / 1.128.
    events = np.array([[4.0, 0.0] * 10])
    n = np.full(events.shape, 4.0)
    limits = fit_p(events, n, laney=True, max_refits=0)
    assert limits.p[0] == 0.5
    assert limits.sigma_z[0] == pytest.approx(4 / 1.128)
    assert limits.line(3.0, 4.0)[0] == 1.0  # 0.5 + 3 * 0.25 * 3.55 is past 1: clipped
    # Binomial data at small n p has a moving range of z far below 1.128: the floor holds it at 1.
    rng = np.random.default_rng(3)
    quiet = rng.binomial(1, 0.01, size=(1, 2000)).astype(float)
    assert fit_p(quiet, np.ones(quiet.shape), laney=True).sigma_z[0] == 1.0


def test_laney_absorbs_overdispersion_that_floods_the_p_chart() -> None:
    rng = np.random.default_rng(11)
    points, n = 4000, 1000
    # Each subgroup's own rate varies around 0.05 (sd 0.01): sd 1.77x the binomial's at n = 1000.
    rates = np.clip(rng.normal(0.05, 0.01, size=points), 0.0, 1.0)
    events = rng.binomial(n, rates)[None, :].astype(float)
    size = np.full(events.shape, float(n))
    base, window = slice(0, 1000), slice(1000, None)
    plain = fit_p(events[:, base], size[:, base])
    laney = fit_p(events[:, base], size[:, base], laney=True)
    expected = math.sqrt(1 + 0.01**2 * n / (0.05 * 0.95))
    assert laney.sigma_z[0] == pytest.approx(expected, rel=0.08)
    plain_rate = plain.judge(events[:, window], size[:, window])[0].mean()
    laney_rate = laney.judge(events[:, window], size[:, window])[0].mean()
    assert plain_rate > 10 * 0.0027  # 2 Phi(-3 / 1.77) = 0.09 beyond 3 binomial sigmas
    assert laney_rate < 3 * 0.0027


def _exact_rule1_rate(n: int, p: float) -> float:
    x = np.arange(n + 1)
    z = (x / n - p) / (math.sqrt(p * (1 - p)) / math.sqrt(n))
    return float(binom.pmf(x, n, p)[np.abs(z) > 3].sum())


@pytest.mark.parametrize("p", [0.001, 0.01, 0.05, 0.2])
@pytest.mark.parametrize("n", [1, 10, 100, 1000])
def test_rule1_false_alarm_rate_with_known_p_is_the_binomial_tail(p: float, n: int) -> None:
    """Per point, with p known: the simulated rate is the exact binomial probability of a z
    beyond 3, whatever it is (at small n p it is far from the normal 0.0027: docs/spc.md)."""
    rng = np.random.default_rng(int(p * 1e4) + n)
    points = 200_000
    events = rng.binomial(n, p, size=(1, points)).astype(float)
    flags = PLimits.pinned(p).judge(events, np.full(events.shape, float(n)))
    exact = _exact_rule1_rate(n, p)
    sd = math.sqrt(max(exact, 1 / points) * (1 - exact) / points)
    assert abs(flags[0].mean() - exact) <= 4 * sd
