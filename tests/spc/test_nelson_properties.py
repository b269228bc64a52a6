"""The vectorized rules agree with the plain-loop reference on generated series."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import spc_rules.engine.core
from spc_rules import nelson_rules, zscores
from testkit.spc_reference import nelson_loop, zscore

NAN = float("nan")

# Small multiples of 0.5 hit the boundaries abs(z) == 0, 1, 2, 3 exactly, and repeat values
# often enough to produce ties and zero differences; NaN tests the breaks.
grid = st.sampled_from([-3.5, -3.0, -2.5, -2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
point = st.one_of(grid, grid, grid, st.just(NAN), st.floats(-4, 4))
series = st.lists(point, max_size=80)
sizes_of = st.sampled_from([1.0, 1.0, 4.0, 0.0, NAN])
centers = st.sampled_from([0.0, 0.5, -1.0])
sigmas = st.sampled_from([1.0, 0.5, 2.0])
runs = st.sampled_from([9, 8])


def reference(
    values: list[float], center: float, sigma: float, n: list[float] | None, run: int
) -> np.ndarray:
    return np.array(nelson_loop(values, center, sigma, n, rule2_run=run), dtype=bool).reshape(
        8, len(values)
    )


@settings(max_examples=400, deadline=None)
@given(values=series, center=centers, sigma=sigmas, run=runs)
def test_rules_match_reference_on_one_series(
    values: list[float], center: float, sigma: float, run: int
) -> None:
    got = nelson_rules(np.array(values), center, sigma, rule2_run=run)
    np.testing.assert_array_equal(got, reference(values, center, sigma, None, run))


@settings(max_examples=200, deadline=None)
@given(data=st.data(), center=centers, sigma=sigmas)
def test_rules_match_reference_with_subgroup_sizes(
    data: st.DataObject, center: float, sigma: float
) -> None:
    values = data.draw(series)
    n = data.draw(st.lists(sizes_of, min_size=len(values), max_size=len(values)))
    got = nelson_rules(np.array(values), center, sigma, n=np.array(n))
    np.testing.assert_array_equal(got, reference(values, center, sigma, n, 9))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(series, centers, sigmas), min_size=1, max_size=12),
    block_points=st.sampled_from([1, 7, 50, 1 << 18]),
)
def test_batch_of_padded_rows_matches_reference_row_by_row(
    rows: list[tuple[list[float], float, float]], block_points: int
) -> None:
    # Small blocks split the batch: no pattern may leak from one series or block to the next.
    width = max(len(r[0]) for r in rows)
    values = np.full((len(rows), width), NAN)
    for i, (row, _, _) in enumerate(rows):
        values[i, : len(row)] = row
    center = np.array([r[1] for r in rows])
    sigma = np.array([r[2] for r in rows])
    with patch.object(spc_rules.engine.core, "BLOCK_POINTS", block_points):
        got = nelson_rules(values, center, sigma)
    for i, (row, c, s) in enumerate(rows):
        np.testing.assert_array_equal(got[:, i, : len(row)], reference(row, c, s, None, 9))
        assert not got[:, i, len(row) :].any()


@given(values=series, center=centers, sigma=sigmas)
def test_zscores_match_spc_formula(values: list[float], center: float, sigma: float) -> None:
    expected = [zscore(v, center, sigma) for v in values]
    got = zscores(np.array(values), center, sigma)
    assert [None if np.isnan(z) else float(z) for z in got] == expected
