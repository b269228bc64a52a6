"""Every edge case docs/spc.md fixes, pinned on hand-written series (center 0, sigma 1: z == x)."""

from __future__ import annotations

import numpy as np
import pytest

from spc_rules import RULE_COUNT, fit_limits, nelson_rules

NAN = float("nan")


def flagged(rule: int, values: list[float], **kwargs: int) -> list[int]:
    """Indices flagged by `rule` (1-8) on one series judged against center 0, sigma 1."""
    flags = nelson_rules(np.array(values), 0.0, 1.0, **kwargs)
    return [int(i) for i in np.flatnonzero(flags[rule - 1])]


def test_output_shape_is_rules_by_values_shape() -> None:
    assert nelson_rules(np.zeros(7), 0.0, 1.0).shape == (RULE_COUNT, 7)
    assert nelson_rules(np.zeros((3, 7)), 0.0, 1.0).shape == (RULE_COUNT, 3, 7)
    assert nelson_rules(np.zeros((3, 0)), 0.0, 1.0).shape == (RULE_COUNT, 3, 0)


# Rule 1 -------------------------------------------------------------------------------


def test_rule1_boundary_abs_z_equal_3_is_not_flagged() -> None:
    assert flagged(1, [3.0, -3.0, 3.0001, -3.0001, 0.0]) == [2, 3]


def test_rule1_boundary_reached_through_subgroup_size() -> None:
    # z = 1.5 / (1 / sqrt(4)) = 3 exactly: not beyond; 1.6 gives 3.2.
    flags = nelson_rules(np.array([1.5, 1.6]), 0.0, 1.0, n=np.array([4.0, 4.0]))
    assert flags[0].tolist() == [False, True]


def test_rule1_a_z_beyond_the_largest_double_is_beyond_not_missing() -> None:
    # A sigma of subnormal size: 1000 / 2e-308 overflows. The point is present (docs/spc.md,
    # "Points, z and missing points"), so it is beyond 3 sigma, and refits drop it.
    sigma = 2e-308
    flags = nelson_rules(np.array([1000.0, -1000.0, 0.0, sigma]), 0.0, sigma)
    assert flags[0].tolist() == [True, True, False, False]
    limits = fit_limits(np.array([1000.0, NAN, -1000.0, NAN, 0.0, 2.2e-308]), min_points=2)
    assert limits is not None and limits.refits == 1 and limits.n_points == 2


# Rule 2 -------------------------------------------------------------------------------


def test_rule2_flags_ninth_point_and_each_later_point_of_the_run() -> None:
    assert flagged(2, [0.5] * 11) == [8, 9, 10]
    assert flagged(2, [-0.5] * 9) == [8]


def test_rule2_zero_z_breaks_the_run() -> None:
    assert flagged(2, [0.5] * 8 + [0.0] + [0.5] * 8) == []
    assert flagged(2, [0.5] * 8 + [0.0] + [0.5] * 9) == [17]


def test_rule2_side_change_breaks_the_run() -> None:
    assert flagged(2, [0.5] * 8 + [-0.5] * 8) == []


def test_rule2_nan_breaks_the_run() -> None:
    assert flagged(2, [0.5] * 5 + [NAN] + [0.5] * 8) == []


def test_rule2_run_length_is_configurable_for_western_electric() -> None:
    assert flagged(2, [0.5] * 8, rule2_run=8) == [7]
    assert flagged(2, [0.5] * 8) == []


# Rule 3 -------------------------------------------------------------------------------


def test_rule3_flags_sixth_point_of_a_trend_and_later() -> None:
    assert flagged(3, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) == [5, 6]
    assert flagged(3, [0.5, 0.4, 0.3, 0.2, 0.1, 0.0]) == [5]


def test_rule3_tie_breaks_trend() -> None:
    # The equal pair (0.2, 0.2) ends the rise; the new run starts at the second 0.2.
    assert flagged(3, [0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5]) == []
    assert flagged(3, [0.0, 0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]) == [8]


def test_rule3_nan_breaks_trend() -> None:
    assert flagged(3, [0.0, 0.1, 0.2, NAN, 0.3, 0.4, 0.5]) == []


def test_rule3_reads_raw_values_not_z() -> None:
    # Rising means with shrinking subgroups: z falls (0.8, 0.6, ...), the values still rise.
    x = np.array([0.10, 0.11, 0.12, 0.13, 0.14, 0.15])
    n = np.array([64.0, 36.0, 25.0, 16.0, 9.0, 4.0])
    z = x * np.sqrt(n)
    assert np.all(np.diff(z) < 0)
    assert nelson_rules(x, 0.0, 1.0, n=n)[2].tolist() == [False] * 5 + [True]


# Rule 4 -------------------------------------------------------------------------------

ZIGZAG = [0.0, 0.5] * 7  # 14 points, 13 alternating differences


def test_rule4_flags_fourteenth_alternating_point_and_later() -> None:
    assert flagged(4, ZIGZAG) == [13]
    assert flagged(4, [*ZIGZAG, 0.0, 0.5]) == [13, 14, 15]
    assert flagged(4, ZIGZAG[:13]) == []


def test_rule4_zero_difference_breaks_alternation() -> None:
    broken = [*ZIGZAG[:7], ZIGZAG[6], *ZIGZAG[7:]]  # repeat point 7: a zero difference
    assert flagged(4, broken) == []


def test_rule4_nan_breaks_alternation() -> None:
    assert flagged(4, [*ZIGZAG[:7], NAN, *ZIGZAG[7:]]) == []


def test_rule4_two_rises_in_a_row_restart_the_count() -> None:
    # The rise 0.5 -> 0.7 repeats the previous direction: 13 alternating differences start at 0.5.
    series = [0.0, 0.5, 0.7, *[0.2, 0.7] * 6]
    assert flagged(4, series) == [14]


# Rule 5 -------------------------------------------------------------------------------


def test_rule5_two_of_three_beyond_two_sigma_same_side() -> None:
    assert flagged(5, [2.5, 0.0, 2.5]) == [2]
    assert flagged(5, [0.0, -2.5, -2.5]) == [2]
    assert flagged(5, [2.5, -2.5, 2.5]) == [2]  # the two above count, the one below does not


def test_rule5_opposite_sides_do_not_add_up() -> None:
    assert flagged(5, [0.0, 2.5, -2.5]) == []


def test_rule5_newest_point_must_be_one_of_them() -> None:
    assert flagged(5, [0.0, 2.5, 2.5, 0.0]) == [2]


def test_rule5_boundary_abs_z_equal_2_does_not_count() -> None:
    assert flagged(5, [0.0, 2.0, 2.5]) == []
    assert flagged(5, [0.0, -2.0, -2.5]) == []


def test_rule5_nan_breaks_the_window() -> None:
    assert flagged(5, [2.5, NAN, 2.5]) == []
    assert flagged(5, [0.0, 2.5, NAN, 2.5, 0.0, 2.5]) == [5]


def test_rule5_needs_a_complete_window_at_the_start() -> None:
    assert flagged(5, [2.5, 2.5]) == []
    assert flagged(5, [2.5, 2.5, 2.5]) == [2]


# Rule 6 -------------------------------------------------------------------------------


def test_rule6_four_of_five_beyond_one_sigma_same_side() -> None:
    assert flagged(6, [1.5, 1.5, 0.0, 1.5, 1.5]) == [4]
    assert flagged(6, [-1.5, 0.0, -1.5, -1.5, -1.5]) == [4]


def test_rule6_opposite_sides_do_not_add_up() -> None:
    assert flagged(6, [1.5, -1.5, 1.5, -1.5, 1.5]) == []
    assert flagged(6, [-1.5, 1.5, 1.5, 0.0, 1.5]) == []


def test_rule6_newest_point_must_be_one_of_them() -> None:
    assert flagged(6, [1.5, 1.5, 1.5, 1.5, 0.0]) == []


def test_rule6_boundary_abs_z_equal_1_does_not_count() -> None:
    assert flagged(6, [1.5, 1.0, 0.0, 1.5, 1.5]) == []
    assert flagged(6, [1.5, 1.5, 1.0, 1.5, 1.5]) == [4]


def test_rule6_nan_breaks_the_window() -> None:
    assert flagged(6, [1.5, 1.5, NAN, 1.5, 1.5]) == []


# Rule 7 -------------------------------------------------------------------------------


def test_rule7_fifteen_within_one_sigma_either_side() -> None:
    assert flagged(7, [0.5, -0.5] * 8) == [14, 15]


def test_rule7_boundary_abs_z_equal_1_breaks_the_run() -> None:
    assert flagged(7, [0.5] * 7 + [1.0] + [0.5] * 7) == []
    assert flagged(7, [0.5] * 7 + [-1.0] + [0.5] * 7) == []
    assert flagged(7, [0.5] * 7 + [0.999] + [0.5] * 7) == [14]


def test_rule7_nan_breaks_the_run() -> None:
    assert flagged(7, [0.5] * 7 + [NAN] + [0.5] * 8) == []


# Rule 8 -------------------------------------------------------------------------------


def test_rule8_eight_beyond_one_sigma_either_side() -> None:
    assert flagged(8, [1.5, -1.5] * 5) == [7, 8, 9]


def test_rule8_boundary_abs_z_equal_1_breaks_the_run() -> None:
    assert flagged(8, [1.5] * 4 + [1.0] + [1.5] * 4) == []
    assert flagged(8, [1.5] * 4 + [-1.0] + [1.5] * 4) == []


def test_rule8_nan_breaks_the_run() -> None:
    assert flagged(8, [1.5] * 4 + [NAN] + [1.5] * 4) == []


# Missing points and batches -------------------------------------------------------------


def test_missing_point_is_never_flagged() -> None:
    flags = nelson_rules(np.array([*[0.5] * 20, NAN]), 0.0, 1.0)
    assert not flags[:, -1].any()


@pytest.mark.parametrize("n", [0.0, 0.5, NAN])
def test_subgroup_size_below_one_is_a_missing_point(n: float) -> None:
    sizes = np.ones(9)
    sizes[4] = n
    assert not nelson_rules(np.full(9, 0.5), 0.0, 1.0, n=sizes)[1].any()


@pytest.mark.parametrize(("center", "sigma"), [(NAN, 1.0), (0.0, NAN), (0.0, 0.0), (0.0, -1.0)])
def test_series_without_usable_limits_gets_no_flags_at_all(center: float, sigma: float) -> None:
    trend = np.arange(20.0)  # would break rules 1, 2 and 3
    assert not nelson_rules(trend, center, sigma).any()


def test_batch_rows_use_their_own_center_and_sigma() -> None:
    values = np.array([[5.0, 5.0, 5.0], [5.0, 5.0, NAN]])
    flags = nelson_rules(values, center=np.array([0.0, 5.0]), sigma=np.array([1.0, 1.0]))
    assert flags[0].tolist() == [[True, True, True], [False, False, False]]


def test_bad_parameter_shapes_are_rejected() -> None:
    with pytest.raises(ValueError, match="center"):
        nelson_rules(np.zeros((2, 5)), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="n of shape"):
        nelson_rules(np.zeros((2, 5)), 0.0, 1.0, n=np.ones(4))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        nelson_rules(np.zeros((2, 2, 2)), 0.0, 1.0)
    with pytest.raises(ValueError, match="rule2_run"):
        nelson_rules(np.zeros(5), 0.0, 1.0, rule2_run=0)
