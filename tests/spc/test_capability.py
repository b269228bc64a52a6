"""Cp, Cpk, Pp, Ppk on a worked example computed by hand, one-sided specs, log scale, batches."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spc_rules import capability, capability_batch
from testkit.spc_reference import capability_loop

NAN = float("nan")

# Worked example, individuals:
#   x = 9, 11, 10, 12, 10, 8                     mean = 60 / 6 = 10
#   moving ranges 2, 1, 2, 2, 2 (sum 9)          MRbar = 9 / 5 = 1.8
#   sigma_within  = 1.8 / 1.128 = 1.595745
#   deviations -1, 1, 0, 2, 0, -2, squares sum 10  sigma_overall = sqrt(10 / 5) = sqrt(2) = 1.414214
# With USL = 16, LSL = 5:
#   Cp  = (16 - 5) / (6 * 1.595745) = 11 * 1.128 / 10.8 = 1.148889
#   Cpk = min(16 - 10, 10 - 5) / (3 * 1.595745) = 5 * 1.128 / 5.4 = 1.044444
#   Pp  = 11 / (6 * sqrt(2)) = 1.296362
#   Ppk = 5 / (3 * sqrt(2)) = 1.178511
WORKED = [9.0, 11.0, 10.0, 12.0, 10.0, 8.0]


def test_worked_example_two_spec_limits() -> None:
    cap = capability(WORKED, usl=16.0, lsl=5.0, min_points=2)
    assert cap is not None
    assert cap.mean == pytest.approx(10.0)
    assert cap.sigma_within == pytest.approx(1.595745, abs=1e-6)
    assert cap.sigma_overall == pytest.approx(1.414214, abs=1e-6)
    assert cap.cp == pytest.approx(1.148889, abs=1e-6)
    assert cap.cpk == pytest.approx(1.044444, abs=1e-6)
    assert cap.pp == pytest.approx(1.296362, abs=1e-6)
    assert cap.ppk == pytest.approx(1.178511, abs=1e-6)


def test_upper_spec_only_uses_that_side_and_leaves_cp_pp_undefined() -> None:
    # Cpk = (16 - 10) / (3 * 1.595745) = 6 * 1.128 / 5.4 = 1.253333; Ppk = 6 / (3 sqrt 2) = 1.414214
    cap = capability(WORKED, usl=16.0, min_points=2)
    assert cap is not None
    assert cap.cp is None and cap.pp is None
    assert cap.cpk == pytest.approx(1.253333, abs=1e-6)
    assert cap.ppk == pytest.approx(1.414214, abs=1e-6)


def test_lower_spec_only_uses_that_side() -> None:
    cap = capability(WORKED, lsl=5.0, min_points=2)
    assert cap is not None
    assert cap.cp is None and cap.pp is None
    assert cap.cpk == pytest.approx(1.044444, abs=1e-6)


def test_log_option_computes_against_log_usl() -> None:
    # log(x) = 0.9, 1.1, 1.0, 1.2, 1.0, 0.8: the worked example scaled by 1/10, log(USL) = 1.6.
    # Cpk = (1.6 - 1.0) / (3 * 0.18 / 1.128) = 1.253333; Ppk = 0.6 / (3 * sqrt(0.02)) = 1.414214
    cap = capability(np.exp(np.array(WORKED) / 10), usl=math.exp(1.6), log=True, min_points=2)
    assert cap is not None
    assert cap.log and cap.mean == pytest.approx(1.0)
    assert cap.cpk == pytest.approx(1.253333, abs=1e-6)
    assert cap.ppk == pytest.approx(1.414214, abs=1e-6)


def test_too_few_points_give_no_capability() -> None:
    assert capability(WORKED, usl=16.0) is None  # default needs 20 points
    assert capability([1.0, NAN], usl=16.0, min_points=2) is None


def test_spec_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="at least one spec limit"):
        capability(WORKED)
    with pytest.raises(ValueError, match="usl must be above lsl"):
        capability(WORKED, usl=5.0, lsl=16.0, min_points=2)
    with pytest.raises(ValueError, match="positive"):
        capability(WORKED, lsl=0.0, log=True, min_points=2)


def test_subgroup_sizes_weight_the_mean() -> None:
    # mean = (9*1 + 11*3) / 4 = 10.5; ranges |11 - 9| * sqrt(2 / (1 + 1/3)) = 2 sqrt(1.5)
    cap = capability([9.0, 11.0], n=[1.0, 3.0], usl=16.0, min_points=2)
    assert cap is not None
    assert cap.mean == pytest.approx(10.5)
    assert cap.sigma_within == pytest.approx(2 * math.sqrt(1.5) / 1.128)


def test_batch_takes_spec_limits_per_series_with_nan_for_absent() -> None:
    values = np.vstack([WORKED, WORKED, WORKED])
    batch = capability_batch(values, usl=[16.0, 16.0, NAN], lsl=[5.0, NAN, NAN], min_points=2)
    assert len(batch) == 3
    assert batch.cp[0] == pytest.approx(1.148889, abs=1e-6)
    assert np.isnan(batch.cp[1]) and batch.cpk[1] == pytest.approx(1.253333, abs=1e-6)
    assert np.isnan(batch.cpk[2]) and batch[2] is None
    assert batch[0] == capability(WORKED, usl=16.0, lsl=5.0, min_points=2)


finite = st.floats(-50, 50)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.one_of(finite, finite, st.just(NAN)), min_size=2, max_size=40),
    usl=st.one_of(st.none(), st.floats(60, 100)),
    lsl=st.one_of(st.none(), st.floats(-100, -60)),
)
def test_capability_matches_reference(
    values: list[float], usl: float | None, lsl: float | None
) -> None:
    if usl is None and lsl is None:
        usl = 80.0
    got = capability(values, usl=usl, lsl=lsl, min_points=2)
    expected = capability_loop(values, usl, lsl)
    if expected is None:
        assert got is None
        return
    assert got is not None
    for value, want in zip((got.cp, got.cpk, got.pp, got.ppk), expected, strict=True):
        if want is None:
            assert value is None
        else:
            assert value == pytest.approx(want, rel=1e-9)
