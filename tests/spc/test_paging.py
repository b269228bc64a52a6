"""Paging detector: design from budgets, the runner's episodes, and the paging sigma."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spc_rules.detectors.decision_interval import solve_h
from spc_rules.detectors.paging import (
    CusumDesign,
    PagingPolicy,
    _design,
    design_for,
    detection_seconds,
)
from spc_rules.detectors.paging_run import PagingState, run_paging
from spc_rules.detectors.paging_scale import paging_scale
from spc_rules.detectors.roots import UnresolvedError
from spc_rules.detectors.runlength import arl, averaged_arl
from tests.spc.conftest import Solve

POLICY = PagingPolicy()


def ar1(rng: np.random.Generator, rho: float, shape: tuple[int, int]) -> np.ndarray:
    """Unit-variance AR(1) rows."""
    noise = rng.standard_normal(shape) * math.sqrt(1.0 - rho * rho)
    x = np.empty(shape)
    x[:, 0] = rng.standard_normal(shape[0])
    for t in range(1, shape[1]):
        x[:, t] = rho * x[:, t - 1] + noise[:, t]
    return x


# --- budget and design -------------------------------------------------------------------------


def test_default_budget_in_points() -> None:
    # 100 series / (1 per week) = 100 weeks per series = 60,480,000 s; 15 s points.
    assert POLICY.target_arl0_points("page", 15.0) == pytest.approx(4.032e6)
    assert POLICY.target_arl0_points("page", 15.0, "both") == pytest.approx(8.064e6)
    assert POLICY.target_arl0_points("ticket", 15.0) == pytest.approx(5.76e5)
    assert POLICY.target_arl0_points("page", 1.0) == pytest.approx(6.048e7)


@pytest.mark.parametrize("severity", ["page", "ticket"])
@pytest.mark.parametrize("sigma", [0.1, 0.3, 0.6, 1.5])
@pytest.mark.parametrize("interval", [1.0, 15.0, 60.0])
def test_design_meets_its_budget_and_clip_rule(
    severity: str, sigma: float, interval: float
) -> None:
    d = design_for(POLICY, severity, log_scale=True, sigma_fit=sigma, point_interval_s=interval)  # type: ignore[arg-type]
    target = POLICY.target_arl0_points(severity, interval)  # type: ignore[arg-type]
    # ARL0 (with 0.5% worst-case outliers) at least the target, at most one 5% grid step over
    # unless the floor h = 2 (c - k) binds (tiny sigma: then the chart is safer than asked).
    assert target * (1 - 1e-4) <= d.arl0_points
    assert d.arl0_points <= target * 1.06 or d.h == pytest.approx(2 * (d.clip - d.k))
    assert d.k == pytest.approx(d.shift_sigmas / 2)
    assert 0 < d.k <= d.clip / 2
    assert d.h >= 2 * (d.clip - d.k)
    assert d.arl1_points < 100 if severity == "page" and sigma <= 0.6 else d.arl1_points > 1


@pytest.mark.parametrize("sigma", [0.3, 0.6])
def test_design_pays_for_its_reference_error(sigma: float) -> None:
    exact = design_for(POLICY, "page", log_scale=True, sigma_fit=sigma, point_interval_s=15.0)
    fitted = design_for(
        POLICY, "page", log_scale=True, sigma_fit=sigma, point_interval_s=15.0, reference_points=240
    )
    target = POLICY.target_arl0_points("page", 15.0)
    # 240 points, rounded down on the 10% grid (221): sd = 1 / sqrt(221).
    assert fitted.reference_sd == pytest.approx(1 / math.sqrt(math.exp(5.4)))
    assert target * (1 - 1e-4) <= fitted.arl0_points <= target * 1.06
    assert fitted.k == exact.k and fitted.h > exact.h
    assert averaged_arl(exact.h, exact.k, clip=3.0, outlier_rate=0.005, reference_sd=0.0676) < (
        target / 1.1
    )


def test_design_tracks_the_point_rate() -> None:
    slow = design_for(POLICY, "page", log_scale=True, sigma_fit=0.4, point_interval_s=15.0)
    fast = design_for(POLICY, "page", log_scale=True, sigma_fit=0.4, point_interval_s=1.0)
    assert fast.k == slow.k
    assert fast.h > slow.h
    assert fast.arl0_points == pytest.approx(15 * slow.arl0_points, rel=0.06)


def test_untransformed_chart_uses_sigma_shifts() -> None:
    d = design_for(POLICY, "page", log_scale=False, sigma_fit=123.0, point_interval_s=15.0)
    assert d.k == pytest.approx(POLICY.page_shift_sigmas / 2, rel=0.01)
    t = design_for(POLICY, "ticket", log_scale=False, sigma_fit=123.0, point_interval_s=15.0)
    assert t.k == pytest.approx(POLICY.ticket_shift_sigmas / 2, rel=0.01)


def test_designs_are_memoized_on_a_grid() -> None:
    _design.cache_clear()
    rng = np.random.default_rng(0)
    for sigma, interval in zip(
        rng.uniform(0.38, 0.42, 1000), rng.uniform(14, 16, 1000), strict=True
    ):
        design_for(POLICY, "page", log_scale=True, sigma_fit=sigma, point_interval_s=interval)
    assert _design.cache_info().currsize <= 30  # a few shift steps x a few ARL0 steps


def test_a_refused_design_is_remembered_too(chain_solves: list[Solve]) -> None:
    # A reference of 60 points at sigma_log 0.96: no h meets the page budget, which takes
    # the solve about 600 chain solves to find out. Every series whose sigma rounds to the
    # same design asks again (a refit of a noisy estate): the answer is remembered, not
    # solved again each time.
    _design.cache_clear()
    messages = []
    for sigma in (0.958, 0.9584, 0.959):  # one grid step
        with pytest.raises(UnresolvedError, match="no h reaches ARL") as caught:
            design_for(
                POLICY, "page", log_scale=True, sigma_fit=sigma, point_interval_s=60.0,
                reference_points=60.0,
            )  # fmt: skip
        messages.append(str(caught.value))
        if len(messages) == 1:
            first = len(chain_solves)
    assert first > 100
    assert len(chain_solves) == first
    assert len(set(messages)) == 1


def test_detection_seconds_are_run_length_quantiles_times_interval() -> None:
    d = design_for(POLICY, "page", log_scale=True, sigma_fit=0.3, point_interval_s=15.0)
    shift = math.log(2.0) / 0.3
    median, p95 = d.run_length_quantiles(shift)
    assert detection_seconds(d, shift, 15.0) == (15.0 * median, 15.0 * p95)
    assert median <= p95
    assert 15.0 * median <= 180.0  # 2x at sigma_log 0.3 pages in <= 3 minutes (median)


# --- lone outliers ------------------------------------------------------------------------------


def all_designs() -> list[CusumDesign]:
    return [
        design_for(POLICY, sev, log_scale=True, sigma_fit=s, point_interval_s=i)
        for sev in ("page", "ticket")
        for s in (0.05, 0.3, 0.6, 2.0)
        for i in (1.0, 15.0)
    ]


@pytest.mark.parametrize("size", [3.66, 7.7, 1e6, math.inf])
def test_lone_outlier_never_pages_from_zero_or_half_h(size: float) -> None:
    designs = all_designs()
    k = np.array([d.k for d in designs])
    h = np.array([d.h for d in designs])
    c = np.array([d.clip for d in designs])
    z = np.full((len(designs), 1), size)
    for start in (np.zeros(len(designs)), h / 2):
        state = PagingState(start.copy(), start.copy(), *(np.zeros(len(designs), bool),) * 2)
        run = run_paging(z, k, h, c, bad_side="both", state=state)
        assert not run.alarm.any()
        run = run_paging(-z, k, h, c, bad_side="both", state=state)
        assert not run.alarm.any()


def test_false_pages_with_lone_outliers_meet_a_small_budget() -> None:
    # Budget scaled down so a quick simulation sees ~1000 false episodes: ARL0 = 1000 points.
    policy = PagingPolicy(fleet_series=1, false_pages_per_week=7 * 86_400 / 15 / 1000)
    sigma = 0.3
    d = design_for(policy, "page", log_scale=True, sigma_fit=sigma, point_interval_s=15.0)
    rng = np.random.default_rng(11)
    z = rng.standard_normal((200, 5000))
    outlier = rng.random(z.shape) < 0.005
    z[outlier] = np.log(rng.uniform(3.0, 10.0, outlier.sum())) / sigma  # 3-10x, lone
    with_outliers = run_paging(z, d.k, d.h, d.clip, bad_side="up").opened.sum()
    clean = run_paging(z * ~outlier, d.k, d.h, d.clip, bad_side="up").opened.sum()
    expected = z.size / d.arl0_points
    # 3-10x at sigma 0.3 are all past the clip: exactly the design's worst case.
    assert 0.85 * expected < with_outliers < 1.15 * expected
    assert clean < with_outliers


# --- the runner ---------------------------------------------------------------------------------


def reference(
    z: np.ndarray, k: np.ndarray, h: np.ndarray, c: np.ndarray, side: str
) -> tuple[np.ndarray, np.ndarray]:
    """Plain loops over series, points and sides: the documented semantics."""
    series, points = z.shape
    alarm = np.zeros(z.shape, bool)
    opened = np.zeros(z.shape, bool)
    signs = {"up": [1.0], "down": [-1.0], "both": [1.0, -1.0]}[side]
    for i in range(series):
        s = dict.fromkeys(signs, 0.0)
        is_open = dict.fromkeys(signs, False)
        for t in range(points):
            if math.isnan(z[i, t]):
                continue
            for sign in signs:
                y = min(max(sign * z[i, t], -c[i]), c[i])
                s[sign] = min(max(0.0, s[sign] + y - k[i]), h[i] + c[i])
                if not is_open[sign] and s[sign] > h[i]:
                    is_open[sign] = True
                    opened[i, t] = True
                elif is_open[sign] and s[sign] <= h[i] / 2:
                    is_open[sign] = False
                    s[sign] = 0.0
            alarm[i, t] = any(is_open.values())
    return alarm, opened


@pytest.mark.parametrize("side", ["up", "down", "both"])
def test_vectorized_runner_equals_loop_and_blocks(side: str) -> None:
    rng = np.random.default_rng(5)
    z = rng.standard_normal((12, 400)) + rng.choice([-1.5, 0.0, 1.5], (12, 1))
    z[rng.random(z.shape) < 0.05] = np.nan
    z[:, 200:260] += 3.0 * rng.choice([-1.0, 1.0], (12, 1))
    k = rng.uniform(0.3, 0.9, 12)
    h = rng.uniform(2.0, 6.0, 12)
    c = rng.uniform(1.0, 4.0, 12) + k
    alarm, opened = reference(z, k, h, c, side)
    assert opened.any()
    run = run_paging(z, k, h, c, bad_side=side)  # type: ignore[arg-type]
    assert np.array_equal(run.alarm, alarm)
    assert np.array_equal(run.opened, opened)
    first = run_paging(z[:, :137], k, h, c, bad_side=side)  # type: ignore[arg-type]
    second = run_paging(z[:, 137:], k, h, c, bad_side=side, state=first.state)  # type: ignore[arg-type]
    assert np.array_equal(np.hstack([first.alarm, second.alarm]), alarm)
    np.testing.assert_array_equal(np.hstack([first.upper, second.upper]), run.upper)


def test_missing_points_leave_state_and_never_alarm() -> None:
    z = np.array([[5.0, 5.0, 5.0, np.nan, np.nan, 5.0]])
    run = run_paging(z, 0.5, 6.0, 3.0, bad_side="up")
    assert run.alarm.tolist() == [[False, False, True, False, False, True]]
    assert np.isnan(run.statistic[0, 3:5]).all()
    assert run.opened.tolist() == [[False, False, True, False, False, False]]
    mid = run_paging(z[:, :4], 0.5, 6.0, 3.0, bad_side="up")
    assert bool(mid.state.open[0])  # the episode is still open after the missing point
    assert mid.state.upper[0] == run.upper[0, 2]
    all_nan = run_paging(np.full((3, 4), np.nan), 0.5, 6.0, 3.0, bad_side="both")
    assert not all_nan.alarm.any()
    assert np.array_equal(all_nan.state.upper, np.zeros(3))


def test_a_sustained_step_is_one_episode_that_closes_after_recovery() -> None:
    d = design_for(POLICY, "page", log_scale=True, sigma_fit=0.4, point_interval_s=15.0)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((50, 600))
    z[:, 100:400] += math.log(2.0) / 0.4
    run = run_paging(z, d.k, d.h, d.clip, bad_side="up")
    assert (run.opened[:, 100:400].sum(axis=1) == 1).all()  # pages once, does not flap
    assert run.alarm[:, 150:400].all()
    assert run.upper.max() <= d.h + d.clip
    # closes within (h/2 + c)/k points plus noise, and re-arms from 0
    close_by = 400 + math.ceil((d.h / 2 + d.clip) / d.k) + 30
    assert not run.alarm[:, close_by:].any()
    assert not run.opened[:, 400:].any()


def test_down_side_pages_drops_and_ignores_rises() -> None:
    z = np.hstack([np.full((1, 20), 4.0), np.full((1, 20), -4.0)])
    run = run_paging(z, 0.5, 5.0, 3.0, bad_side="down")
    assert not run.alarm[0, :20].any()
    assert run.alarm[0, 25:].all()
    assert (run.upper == 0).all()


def test_subgroup_points_of_any_size_keep_the_budget_and_page_sooner() -> None:
    # X-bar points, n from 5 to 50, standardized as z = (xbar - center) / (sigma / sqrt(n)): k is
    # not scaled with n, so in control z ~ N(0, 1) whatever n and the budget holds exactly; a
    # shift of delta moves z by delta * sqrt(n) >= delta * sqrt(5), which only pages sooner.
    sigma = 0.6
    policy = PagingPolicy(fleet_series=1, false_pages_per_week=7 * 86_400 / 15 / 1000)
    d = design_for(policy, "page", log_scale=True, sigma_fit=sigma, point_interval_s=15.0)
    rng = np.random.default_rng(4)
    n = rng.integers(5, 51, (200, 3000))
    logs = [rng.normal(0.0, sigma, size) for size in n.ravel()[:2000]]  # real subgroups, a few
    z_real = np.array([m.mean() / (sigma / math.sqrt(len(m))) for m in logs])
    assert abs(z_real.std() - 1.0) < 0.05
    z = rng.standard_normal(n.shape)  # the same law, drawn directly for speed
    false = run_paging(z, d.k, d.h, d.clip, bad_side="up").opened.sum()
    iid_arl0 = arl(d.h, d.k, clip=d.clip)  # no outliers in this stream
    assert 0.85 < false / (z.size / iid_arl0) < 1.15
    delta = math.log(1.5) / sigma
    shifted = run_paging(z + delta * np.sqrt(n), d.k, d.h, d.clip, bad_side="up")
    first = np.argmax(shifted.alarm, axis=1) + 1
    slowest_median = d.run_length_quantiles(delta * math.sqrt(5))[0]
    assert shifted.alarm.any(axis=1).all()
    assert np.median(first) <= slowest_median


# --- autocorrelation ----------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [0.3, 0.6])
def test_paging_scale_on_ar1(rho: float) -> None:
    rng = np.random.default_rng(8)
    x = 0.4 * ar1(rng, rho, (1, 5000))[0] + 2.0
    scale = paging_scale(x)
    assert scale.rho == pytest.approx(rho, abs=0.04)
    assert scale.sigma == pytest.approx(0.4, rel=0.05)
    assert scale.sigma_paging == pytest.approx(0.4 * math.sqrt((1 + rho) / (1 - rho)), rel=0.08)
    # MR sigma underestimates: MRbar / d2 ~ sigma * sqrt(1 - rho)
    mr = np.abs(np.diff(x)).mean() / 1.128
    assert mr == pytest.approx(0.4 * math.sqrt(1 - rho), rel=0.05)


def test_paging_scale_edge_cases() -> None:
    rng = np.random.default_rng(9)
    trend = np.linspace(0.0, 3.0, 500) + rng.normal(0.0, 0.3, 500)
    assert paging_scale(trend).rho < 0.1  # a drift is not autocorrelation
    assert paging_scale(trend, detrend=False).rho > 0.5
    iid = rng.normal(0.0, 1.0, 500)
    iid[::7] = np.nan
    iid[3] = 50.0  # an outlier barely moves the robust estimate
    scale = paging_scale(iid)
    assert scale.rho < 0.15
    assert scale.sigma == pytest.approx(1.0, rel=0.1)
    assert paging_scale(-ar1(rng, 0.5, (1, 500))[0] * np.resize([1, -1], 500)).rho == 0.0
    with pytest.raises(ValueError, match="at least"):
        paging_scale(np.ones(5))
    with pytest.raises(ValueError, match="spread"):
        paging_scale(np.ones(100))


def test_autocorrelation_at_most_doubles_false_pages() -> None:
    # A page-like chart (k=0.75, clip 3) with h for ARL0 = 1000 points; baselines of 480 points
    # give the paging sigma; 200 series x 4000 points judged per case.
    k, clip, arl0 = 0.75, 3.0, 1000.0
    h = solve_h(k, arl0, clip=clip)
    rng = np.random.default_rng(10)
    rates = {}
    for rho in (0.0, 0.3, 0.6):
        x = ar1(rng, rho, (200, 4480))
        sigma = np.array([paging_scale(row[:480]).sigma_paging for row in x])
        z = x[:, 480:] / sigma[:, None]
        rates[rho] = run_paging(z, k, h, clip, bad_side="up").opened.sum() / z.size * arl0
    assert 0.8 < rates[0.0] < 1.25
    assert rates[0.3] < 2.0
    assert rates[0.6] < 2.0
