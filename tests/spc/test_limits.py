"""Phase I limits (individuals, X-bar, log, refits, too few points) and phase II judgement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spc_rules import (
    SIGMA_METHODS,
    BatchLimits,
    Limits,
    SigmaMethod,
    fit_limits,
    fit_limits_batch,
    judge,
    nelson_rules,
)
from tests.spc.asserts import assert_same_limits

NAN = float("nan")
FIVE = [1.0, 3.0, 2.0, 5.0, 4.0]  # moving ranges 2, 1, 3, 1


def test_mr_sigma_is_mean_moving_range_over_d2() -> None:
    limits = fit_limits(FIVE, min_points=2)
    assert limits is not None
    assert limits.center == pytest.approx(3.0)
    assert limits.sigma == pytest.approx(1.75 / 1.128)  # MRbar = 7 / 4
    assert limits.ucl == pytest.approx(3.0 + 3 * 1.75 / 1.128)
    assert limits.lcl == pytest.approx(3.0 - 3 * 1.75 / 1.128)
    assert limits.line(2.0) == pytest.approx(3.0 + 2 * 1.75 / 1.128)


def test_median_mr_sigma_is_median_moving_range_over_d4() -> None:
    limits = fit_limits(FIVE, method="median_mr", min_points=2)
    assert limits is not None
    assert limits.sigma == pytest.approx(1.5 / 0.954)  # ranges 1, 1, 2, 3: median 1.5


def test_std_sigma_is_sample_standard_deviation() -> None:
    limits = fit_limits(FIVE, method="std", min_points=2)
    assert limits is not None
    assert limits.sigma == pytest.approx(math.sqrt(10 / 4))  # squares 4+0+1+4+1 over N-1


def test_moving_range_across_a_missing_point_is_not_formed() -> None:
    limits = fit_limits([1.0, 3.0, NAN, 2.0, 5.0], min_points=2)
    assert limits is not None
    assert limits.sigma == pytest.approx(2.5 / 1.128)  # ranges 2 and 3 only
    assert limits.n_points == 4


def test_too_few_points_give_no_limits() -> None:
    rng = np.random.default_rng(0)
    assert fit_limits(rng.normal(size=19)) is None
    assert fit_limits(rng.normal(size=20)) is not None
    assert fit_limits([*rng.normal(size=19), NAN, NAN]) is None
    assert fit_limits([]) is None


def test_constant_baseline_gives_no_limits() -> None:
    assert fit_limits([5.0] * 30) is None


def test_unknown_method_and_bad_bounds_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown sigma method"):
        fit_limits(FIVE, method="range", min_points=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_points"):
        fit_limits(FIVE, min_points=1)
    with pytest.raises(ValueError, match="max_refits"):
        fit_limits(FIVE, max_refits=-1)


def test_xbar_center_is_n_weighted_and_ranges_rescaled_to_single_observations() -> None:
    limits = fit_limits([1.0, 2.0], n=[1.0, 3.0], min_points=2)
    assert limits is not None
    assert limits.center == pytest.approx((1 * 1 + 2 * 3) / 4)
    # |2 - 1| has variance sigma^2 (1/1 + 1/3); times sqrt(2 / (4/3)) it is one MR of individuals.
    assert limits.sigma == pytest.approx(math.sqrt(1.5) / 1.128)


def test_xbar_std_sigma_weights_squared_deviations_by_n() -> None:
    limits = fit_limits([1.0, 2.0, 4.0], n=[1.0, 3.0, 2.0], method="std", min_points=2)
    assert limits is not None
    center = (1 + 6 + 8) / 6
    ss = 1 * (1 - center) ** 2 + 3 * (2 - center) ** 2 + 2 * (4 - center) ** 2
    assert limits.sigma == pytest.approx(math.sqrt(ss / 2))


def test_sizes_of_one_give_the_individuals_fit() -> None:
    x = np.random.default_rng(1).normal(size=50)
    assert fit_limits(x, n=np.ones(50)) == fit_limits(x)


@pytest.mark.parametrize("method", SIGMA_METHODS)
def test_xbar_sigma_estimates_sigma_of_one_observation(method: SigmaMethod) -> None:
    # Subgroup means of 1..9 observations with sigma 2: every method must recover 2, not 2/sqrt(n).
    rng = np.random.default_rng(2)
    n = rng.integers(1, 10, size=20_000).astype(float)
    x = 10.0 + rng.normal(size=n.size) * 2.0 / np.sqrt(n)
    limits = fit_limits(x, n=n, method=method, max_refits=0)
    assert limits is not None
    assert limits.sigma == pytest.approx(2.0, rel=0.03)
    assert limits.center == pytest.approx(10.0, abs=0.02)


def test_xbar_limits_narrow_with_sqrt_n() -> None:
    limits = Limits(center=10.0, sigma=2.0)
    assert limits.line(3.0, n=4.0) == pytest.approx(13.0)
    batch = BatchLimits.pinned([10.0, 0.0], [2.0, 1.0])
    sizes = np.array([[1.0, 4.0], [9.0, 1.0]])
    np.testing.assert_allclose(batch.line(-3.0, n=sizes), [[4.0, 7.0], [-1.0, -3.0]])


def test_log_option_fits_on_log_scale_and_reports_asymmetric_limits() -> None:
    y = [0.0, 0.2, 0.1, 0.4, 0.3] * 5
    limits = fit_limits(np.exp(y), log=True)
    assert limits is not None
    # log-scale moving ranges: 0.2, 0.1, 0.3, 0.1 in each cycle, 0.3 between cycles
    sigma = (5 * (0.2 + 0.1 + 0.3 + 0.1) + 4 * 0.3) / 24 / 1.128
    assert limits.center == pytest.approx(0.2)
    assert limits.sigma == pytest.approx(sigma)
    assert limits.center_line == pytest.approx(math.exp(0.2))
    assert limits.ucl == pytest.approx(math.exp(0.2 + 3 * sigma))
    assert limits.lcl == pytest.approx(math.exp(0.2 - 3 * sigma))
    assert limits.ucl - limits.center_line > limits.center_line - limits.lcl > 0


def test_log_option_treats_non_positive_values_as_missing() -> None:
    limits = fit_limits([1.0, 2.0, 0.0, -1.0, 4.0, 3.0], log=True, min_points=4)
    assert limits is not None
    assert limits.n_points == 4


def test_phase1_drops_rule1_points_and_refits() -> None:
    rng = np.random.default_rng(3)
    baseline = rng.normal(size=40)
    baseline[10] = 25.0
    limits = fit_limits(baseline)
    clean = fit_limits(np.delete(baseline, 10), max_refits=0)
    assert limits is not None and clean is not None
    assert limits.n_dropped == 1 and limits.refits >= 1
    assert limits.center == pytest.approx(clean.center)


def test_phase1_refits_are_bounded() -> None:
    # Each refit narrows the limits enough to expose the next, smaller outlier.
    values = [0.0, 0.1] * 15 + [50.0, 0.0, 9.0, 0.0, 2.5]
    once = fit_limits(values, max_refits=1)
    never = fit_limits(values, max_refits=0)
    unbounded = fit_limits(values, max_refits=10)
    assert once is not None and never is not None and unbounded is not None
    assert (never.refits, once.refits) == (0, 1)
    assert never.n_dropped == 0 and once.n_dropped == 1
    assert unbounded.refits > 1


def test_refit_that_would_leave_too_few_points_is_not_taken() -> None:
    values = [0.0, 0.1] * 10
    values[5] = 30.0
    limits = fit_limits(values, min_points=20)
    assert limits is not None
    assert (limits.refits, limits.n_dropped, limits.n_points) == (0, 0, 20)


def test_batch_fit_matches_series_by_series_fit_with_padding() -> None:
    rng = np.random.default_rng(4)
    lengths = [30, 25, 5, 60]
    values = np.full((4, 60), NAN)
    n = np.ones((4, 60))
    for i, m in enumerate(lengths):
        values[i, :m] = rng.normal(size=m) + i
        n[i, :m] = rng.integers(1, 4, size=m)
    batch = fit_limits_batch(values, n)
    assert batch.ok.tolist() == [True, True, False, True]
    for i, m in enumerate(lengths):
        assert_same_limits(batch[i], fit_limits(values[i, :m], n[i, :m]))
    assert np.isnan(batch.center[2]) and np.isnan(batch.sigma[2])


def test_results_are_read_only() -> None:
    batch = fit_limits_batch(np.random.default_rng(5).normal(size=(2, 30)))
    with pytest.raises(ValueError, match="read-only"):
        batch.center[0] = 1.0
    limits = batch[0]
    assert limits is not None
    with pytest.raises(AttributeError):
        limits.center = 1.0  # type: ignore[misc]


def test_pinned_limits_must_be_usable() -> None:
    with pytest.raises(ValueError, match="sigma > 0"):
        Limits(center=1.0, sigma=0.0)
    batch = BatchLimits.pinned([1.0, 2.0], [1.0, NAN])
    assert batch.ok.tolist() == [True, False]
    assert batch[1] is None
    assert len(batch) == 2


def test_phase2_judges_window_against_frozen_baseline_limits() -> None:
    rng = np.random.default_rng(6)
    series = rng.normal(size=200)
    series[100:] += 4.0  # a shift after the baseline
    limits = fit_limits(series[:100])
    assert limits is not None
    flags = judge(series, limits)
    assert flags[:, 100:].any(axis=0).mean() > 0.5
    np.testing.assert_array_equal(flags, nelson_rules(series, limits.center, limits.sigma))


def test_phase2_with_log_judges_on_the_log_scale() -> None:
    limits = Limits(center=0.0, sigma=0.1, log=True)
    flags = judge([1.0, math.exp(0.31), math.exp(-0.29), -1.0], limits)
    assert flags[0].tolist() == [False, True, False, False]


def test_phase2_batch_rows_without_limits_are_not_judged() -> None:
    values = np.vstack([np.arange(20.0), np.arange(20.0)])
    flags = judge(values, BatchLimits.pinned([0.0, 0.0], [1.0, NAN]))
    assert flags[:, 0].any() and not flags[:, 1].any()
