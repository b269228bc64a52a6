"""The log option's log-normal subgroup model: formulas by hand, lines, z, fit, capability."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spc_rules import (
    SIGMA_METHODS,
    BatchLimits,
    Limits,
    SigmaMethod,
    capability,
    ewma,
    fit_limits,
    fit_limits_batch,
    judge,
    nelson_rules,
)
from spc_rules.engine.lognormal import fit_lognormal, point_moments
from tests.spc.asserts import assert_same_limits

NAN = float("nan")

# By hand, one observation with mu = 0, sigma = 0.5 (tau = 0.25): e^0.25 - 1 = 0.284025.
#   n = 4:   s = ln(1 + 0.284025 / 4)   = ln(1.071006)   = 0.068599, sigma_4 = 0.261914
#            c = (0.25 - 0.068599) / 2  = 0.090701
#   n = 100: s = ln(1 + 0.284025 / 100) = ln(1.0028403) = 0.0028362, sigma_100 = 0.053256
#            c = (0.25 - 0.0028362) / 2 = 0.123582   (tends to ln m = 0.125 as n grows)
#   UCL at n = 4: exp(0.090701 + 3 * 0.261914) = exp(0.876442) = 2.402335
#   LCL at n = 4: exp(0.090701 - 3 * 0.261914) = exp(-0.695040) = 0.499054
HALF = Limits(center=0.0, sigma=0.5, log=True)


def lognormal_means(rng: np.random.Generator, n: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Means of n[i] log-normal observations each."""
    sizes = n.astype(np.int64).ravel()
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    draws = np.exp(mu + sigma * rng.standard_normal(int(sizes.sum())))
    return (np.add.reduceat(draws, starts) / sizes).reshape(n.shape)


def test_subgroup_center_and_sigma_follow_fenton_wilkinson() -> None:
    c, sd = point_moments(np.array(0.0), np.array(0.5), np.array([4.0, 100.0]))
    np.testing.assert_allclose(c, [0.090701, 0.123582], atol=1e-6)
    np.testing.assert_allclose(sd, [0.261914, 0.053256], atol=1e-6)


def test_size_one_is_exactly_the_individuals_center_and_sigma() -> None:
    c, sd = point_moments(np.array(0.3), np.array(0.7), np.array([1.0, 0.5, NAN]))
    assert (c[0], sd[0]) == (0.3, 0.7)
    assert np.isnan(sd[1:]).all()  # below 1 or NaN: no point


def test_log_limits_of_a_subgroup_are_reported_on_the_original_scale() -> None:
    assert HALF.line(3.0, 4.0) == pytest.approx(2.402335, abs=1e-6)
    assert HALF.line(-3.0, 4.0) == pytest.approx(0.499054, abs=1e-6)
    assert HALF.line(0.0, 100.0) == pytest.approx(math.exp(0.123582), abs=1e-6)
    assert HALF.ucl == math.exp(1.5) and HALF.center_line == 1.0  # n == 1 as before


def test_batch_lines_move_with_the_subgroup_size_of_every_point() -> None:
    batch = BatchLimits.pinned([0.0, 1.0], [0.5, 0.5], log=True)
    n = np.array([[1.0, 4.0], [4.0, NAN]])
    lines = batch.line(3.0, n)
    assert lines[0, 0] == math.exp(1.5)
    assert lines[0, 1] == pytest.approx(2.402335, abs=1e-6)
    assert lines[1, 0] == pytest.approx(math.e * 2.402335, rel=1e-6)
    assert np.isnan(lines[1, 1])


def test_zscores_measure_ln_xbar_from_c_n_in_sigma_n() -> None:
    x = [math.exp(0.090701 + 0.261914), math.exp(0.123582 - 2 * 0.053256), 2.0, -1.0, 2.0]
    z = HALF.zscores(x, [4.0, 100.0, 1.0, 4.0, 0.0])
    np.testing.assert_allclose(z[:2], [1.0, -2.0], atol=1e-4)  # 6-digit constants
    assert z[2] == math.log(2.0) / 0.5  # individuals: (ln x - mu) / sigma as before
    assert np.isnan(z[3:]).all()  # x <= 0, and n == 0


def test_ewma_on_limits_zscores_uses_the_subgroup_model() -> None:
    x = [math.exp(0.090701 + 0.261914)]  # z = 1 at n = 4
    result = ewma(HALF.zscores(x, [4.0]), 0.0, 1.0, lam=0.1)
    assert result.statistic.tolist() == [pytest.approx(0.1, abs=1e-6)]


def test_judge_flags_rule1_on_model_z_and_trends_on_ln_xbar() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(1, 200, size=400).astype(float)
    x = lognormal_means(rng, n, 0.0, 0.8) * np.exp(rng.normal(0.0, 0.2, size=400))
    flags = judge(x, Limits(center=0.0, sigma=0.8, log=True), n)
    z = Limits(center=0.0, sigma=0.8, log=True).zscores(x, n)
    np.testing.assert_array_equal(flags[0], np.abs(z) > 3)
    assert flags[0].any()
    np.testing.assert_array_equal(flags[2:4], nelson_rules(np.log(x), 0.0, 1.0)[2:4])


@pytest.mark.parametrize("method", SIGMA_METHODS)
def test_fit_recovers_mu_and_sigma_of_one_observation(method: SigmaMethod) -> None:
    # Means of 1..40 observations: the plain model would see ln m - s_n / 2, not mu. 20,000
    # points estimate sigma within about 0.6% (1 sd); the model's own bias is about -0.3% here.
    rng = np.random.default_rng(1)
    n = rng.integers(1, 41, size=20_000).astype(float)
    x = lognormal_means(rng, n, 1.0, 0.5)
    limits = fit_limits(x, n, method=method, log=True, max_refits=0)
    assert limits is not None
    assert limits.sigma == pytest.approx(0.5, rel=0.03)
    assert limits.center == pytest.approx(1.0, abs=0.01)


def test_lognormal_fit_on_individuals_reduces_to_the_log_scale_fit() -> None:
    y = np.random.default_rng(2).normal(size=(1, 300))
    plain = fit_limits(np.exp(y[0]), log=True, max_refits=0)
    assert plain is not None
    for method in SIGMA_METHODS:
        start = np.array([2.0])
        mu, sigma = fit_lognormal(y, np.ones_like(y), np.ones_like(y, bool), method, start)
        reference = fit_limits(np.exp(y[0]), log=True, max_refits=0, method=method)
        assert reference is not None
        assert float(sigma[0]) == pytest.approx(reference.sigma, rel=1e-9)
        assert float(mu[0]) == pytest.approx(reference.center, rel=1e-9)


def test_sizes_of_one_keep_the_log_individuals_fit_exactly() -> None:
    x = np.exp(np.random.default_rng(3).normal(size=60))
    assert fit_limits(x, n=np.ones(60), log=True) == fit_limits(x, log=True)


def test_individuals_with_sizes_of_one_are_judged_as_before() -> None:
    # The engine before this model: the rules on ln(x) with center, sigma and n.
    rng = np.random.default_rng(7)
    x = np.exp(rng.normal(size=(3, 300)))
    ones = np.ones_like(x)
    ones[1, 40:60] = 0.0  # points without observations stay missing
    limits = fit_limits_batch(x[:, :100], log=True)
    before = nelson_rules(np.log(x), limits.center, limits.sigma, ones)
    np.testing.assert_array_equal(judge(x, limits, ones), before)
    np.testing.assert_array_equal(judge(x, limits), judge(x, limits, np.ones_like(x)))
    np.testing.assert_array_equal(limits.line(3.0, np.ones(3)), limits.line(3.0))


def test_batch_gives_subgroup_rows_the_model_and_individuals_rows_the_plain_fit() -> None:
    rng = np.random.default_rng(4)
    n = np.vstack([np.ones(80), rng.integers(1, 30, size=80)]).astype(float)
    x = lognormal_means(rng, n, 0.0, 0.5)
    batch = fit_limits_batch(x, n, log=True)
    assert_same_limits(batch[0], fit_limits(x[0], log=True))
    assert_same_limits(batch[1], fit_limits(x[1], n[1], log=True))


def test_refits_drop_an_outlying_subgroup_under_the_model() -> None:
    rng = np.random.default_rng(5)
    n = rng.integers(20, 60, size=200).astype(float)
    x = lognormal_means(rng, n, 0.0, 0.4)
    clean = fit_limits(x, n, log=True, max_refits=0)
    x[50] *= 3.0  # a slow scrape interval
    limits = fit_limits(x, n, log=True)
    assert clean is not None and limits is not None
    assert limits.refits >= 1 and limits.n_dropped >= 1
    assert limits.center == pytest.approx(clean.center, abs=0.02)
    assert limits.sigma == pytest.approx(clean.sigma, rel=0.05)


def test_capability_with_subgroups_describes_one_observation() -> None:
    rng = np.random.default_rng(6)
    n = rng.integers(5, 50, size=2000).astype(float)
    x = lognormal_means(rng, n, 0.0, 0.5)
    cap = capability(x, n, usl=math.exp(2.0), log=True)
    assert cap is not None
    # mu of one request is 0; ln of the mean request, 0.125, is what a log-of-means fit sees.
    assert cap.mean == pytest.approx(0.0, abs=0.02)
    assert cap.sigma_within == pytest.approx(0.5, rel=0.03)
    assert cap.sigma_overall == pytest.approx(0.5, rel=0.03)
    assert cap.cpk == pytest.approx((2.0 - cap.mean) / (3 * cap.sigma_within), rel=1e-12)
    assert cap.ppk == pytest.approx((2.0 - cap.mean_overall) / (3 * cap.sigma_overall), rel=1e-12)
