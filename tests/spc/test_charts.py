"""EWMA and CUSUM: hand-computed recursions, missing points, continuation, reference loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spc_rules import cusum, ewma, ewma_limit, zscores
from testkit.spc_reference import cusum_loop, ewma_loop

NAN = float("nan")


def as_list(a: np.ndarray) -> list[float | None]:
    return [None if math.isnan(v) else float(v) for v in a]


def test_ewma_recursion_by_hand_with_a_missing_point() -> None:
    # lam = 0.5: E = 0.5, 0.75, (missing: state kept, no statistic), 0.875
    # limit = 1.5 * sqrt(0.5 / 1.5) = 0.866025: only the last point is beyond it
    result = ewma([1.0, 1.0, NAN, 1.0], 0.0, 1.0, lam=0.5, width=1.5)
    assert as_list(result.statistic) == [0.5, 0.75, None, 0.875]
    assert result.limit == pytest.approx(0.866025, abs=1e-6)
    assert result.signal.tolist() == [False, False, False, True]
    assert float(result.last) == 0.875


def test_ewma_defaults_are_spc_md_published_values() -> None:
    result = ewma(np.zeros(3), 0.0, 1.0)
    assert result.limit == pytest.approx(2.7 * math.sqrt(0.1 / 1.9))
    assert ewma_limit(0.1, 2.7) == result.limit


def test_ewma_standardizes_by_subgroup_size() -> None:
    # x = 11 with n = 4, center 10, sigma 2: z = 1 / (2 / 2) = 1, E = lam * z = 0.1
    result = ewma([11.0], 10.0, 2.0, n=[4.0])
    assert result.statistic.tolist() == [pytest.approx(0.1)]


def test_cusum_recursion_by_hand() -> None:
    # k = 0.5, h = 1: C+ = 0.5, 1.0, 1.5, 0.0;  C- = 0, 0, 0, 2.5
    # C+ == h at the second point is not beyond it (strict), 1.5 is; C- = 2.5 signals downward.
    result = cusum([1.0, 1.0, 1.0, -3.0], 0.0, 1.0, k=0.5, h=1.0)
    assert result.upper.tolist() == [0.5, 1.0, 1.5, 0.0]
    assert result.lower.tolist() == [0.0, 0.0, 0.0, 2.5]
    assert result.signal_upper.tolist() == [False, False, True, False]
    assert result.signal_lower.tolist() == [False, False, False, True]
    assert result.signal.tolist() == [False, False, True, True]


def test_cusum_missing_point_keeps_the_state_and_never_signals() -> None:
    result = cusum([2.0, NAN, 2.0], 0.0, 1.0, k=0.5, h=2.0)
    assert as_list(result.upper) == [1.5, None, 3.0]
    assert result.signal.tolist() == [False, False, True]


def test_cusum_is_not_reset_after_a_signal() -> None:
    result = cusum([3.0] * 5, 0.0, 1.0)  # C+ = 2.5, 5, 7.5, ...
    assert result.signal.tolist() == [False, False, True, True, True]


def test_rows_without_limits_have_no_statistic() -> None:
    values = np.ones((2, 4))
    result = ewma(values, center=[0.0, 0.0], sigma=[1.0, NAN])
    assert np.isnan(result.statistic[1]).all() and not result.signal[1].any()
    assert result.last.tolist() == [pytest.approx(1 - 0.9**4), 0.0]


def test_initial_state_continues_a_chart_across_calls() -> None:
    x = np.random.default_rng(0).normal(size=(3, 50)) + 0.5
    whole_e, whole_c = ewma(x, 0.0, 1.0), cusum(x, 0.0, 1.0)
    first_e, first_c = ewma(x[:, :20], 0.0, 1.0), cusum(x[:, :20], 0.0, 1.0)
    rest_e = ewma(x[:, 20:], 0.0, 1.0, initial=first_e.last)
    rest_c = cusum(x[:, 20:], 0.0, 1.0, initial=(first_c.last_upper, first_c.last_lower))
    np.testing.assert_array_equal(rest_e.statistic, whole_e.statistic[:, 20:])
    np.testing.assert_array_equal(rest_c.upper, whole_c.upper[:, 20:])
    np.testing.assert_array_equal(rest_c.lower, whole_c.lower[:, 20:])
    np.testing.assert_array_equal(rest_e.last, whole_e.last)


def test_lambda_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="lam"):
        ewma([1.0], 0.0, 1.0, lam=0.0)


point = st.one_of(st.floats(-5, 5), st.just(NAN))


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.lists(point, min_size=1, max_size=30), min_size=1, max_size=5),
    lam=st.sampled_from([0.1, 0.25, 1.0]),
    h=st.sampled_from([1.0, 5.0]),
)
def test_charts_match_reference_loops(rows: list[list[float]], lam: float, h: float) -> None:
    width = max(len(r) for r in rows)
    values = np.full((len(rows), width), NAN)
    for i, row in enumerate(rows):
        values[i, : len(row)] = row
    center, sigma = 0.5, 2.0
    e, c = ewma(values, center, sigma, lam=lam), cusum(values, center, sigma, h=h)
    for i, z in enumerate(zscores(values, center, sigma)):
        zs = [None if math.isnan(v) else float(v) for v in z]
        stats, signals = ewma_loop(zs, lam=lam)
        assert_close(e.statistic[i], stats)
        assert e.signal[i].tolist() == signals
        ups, downs, cusum_signals = cusum_loop(zs, h=h)
        assert_close(c.upper[i], ups)
        assert_close(c.lower[i], downs)
        assert c.signal[i].tolist() == cusum_signals


def assert_close(got: np.ndarray, expected: list[float | None]) -> None:
    want = np.array([NAN if v is None else v for v in expected])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)  # NaN matches NaN
