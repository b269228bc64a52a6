"""Run-length validation against the ARL0 table of docs/spc.md (slow), and the block machinery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from spc_rules import fit_limits_batch, judge
from spc_rules.detectors.arl import (
    ALL_RULES,
    WESTERN_ELECTRIC,
    Detector,
    arl,
    cusum_detector,
    ewma_detector,
    nelson_detector,
    run_lengths,
)

DETECTORS: dict[str, Detector] = {
    "rule 1": nelson_detector((1,)),
    "western electric": nelson_detector(WESTERN_ELECTRIC, rule2_run=8),
    "nelson 1-8": nelson_detector(ALL_RULES),
    "cusum": cusum_detector(k=0.5, h=5.0),
    "ewma": ewma_detector(lam=0.1, width=2.7),
}


@pytest.mark.parametrize("name", list(DETECTORS))
@pytest.mark.parametrize("seed", [11, 12])
def test_blocks_give_the_run_length_of_one_long_series(name: str, seed: int) -> None:
    # Same random stream drawn in growing blocks or at once: the first flag must be the same.
    long = np.random.default_rng(seed).standard_normal((1, 30_000)) + 0.3
    flags, _ = DETECTORS[name](long, None)
    expected = int(np.argmax(flags[0])) + 1
    assert flags[0].any()
    got = run_lengths(DETECTORS[name], runs=1, rng=np.random.default_rng(seed), shift=0.3)
    assert got.tolist() == [expected]


# docs/spc.md's validation targets; 8,000 runs give a standard error near 1.1% of the ARL.
ARL0 = {
    "rule 1": 370.4,
    "western electric": 91.75,
    "nelson 1-8": 73.4,
    "cusum": 465.0,
    "ewma": 369.0,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ARL0))
def test_in_control_arl_matches_spc_md_table(name: str) -> None:
    lengths = run_lengths(DETECTORS[name], runs=8_000, rng=np.random.default_rng(2024))
    mean, se = arl(lengths)
    assert se < 0.02 * ARL0[name]  # the simulation is sharp enough to mean something
    assert abs(mean - ARL0[name]) < 3 * se, f"{name}: ARL0 {mean:.1f} +- {se:.1f}"


@pytest.mark.slow
@pytest.mark.parametrize("shift", [0.5, 1.0, 2.0, 3.0])
def test_rule1_out_of_control_arl_matches_normal_theory(shift: float) -> None:
    exact = 1.0 / (norm.sf(3.0 - shift) + norm.cdf(-3.0 - shift))
    lengths = run_lengths(
        DETECTORS["rule 1"], runs=8_000, rng=np.random.default_rng(7), shift=shift
    )
    mean, se = arl(lengths)
    assert abs(mean - exact) < 3 * se, (
        f"shift {shift}: ARL {mean:.2f} +- {se:.2f}, exact {exact:.2f}"
    )


@pytest.mark.slow
def test_every_chart_detects_a_one_sigma_shift_faster_than_rule1() -> None:
    rng = np.random.default_rng(8)
    base, _ = arl(run_lengths(DETECTORS["rule 1"], runs=4_000, rng=rng, shift=1.0))
    for name in ("western electric", "nelson 1-8", "cusum", "ewma"):
        mean, _ = arl(run_lengths(DETECTORS[name], runs=4_000, rng=rng, shift=1.0))
        assert mean < base / 2, name


def false_alarm_rate(values: np.ndarray, log: bool) -> float:
    """Rule-1 flags per point on the second half, limits fitted on the first half."""
    half = values.shape[1] // 2
    limits = fit_limits_batch(values[:, :half], log=log)
    return float(judge(values, limits)[0][:, half:].mean())


@pytest.mark.slow
def test_log_option_brings_lognormal_false_alarms_back_to_normal_theory() -> None:
    rng = np.random.default_rng(9)
    normal = false_alarm_rate(rng.standard_normal((2_000, 2_000)), log=False)
    latency = np.exp(0.5 * rng.standard_normal((2_000, 2_000)))  # skewed like latency
    raw, logged = false_alarm_rate(latency, log=False), false_alarm_rate(latency, log=True)
    # 2M judged points each: the standard error of a rate near 0.003 is about 4e-5
    assert raw > 3 * normal
    assert abs(logged - normal) < 0.0004
    assert 0.0020 < normal < 0.0040  # 0.0027 in theory, a little more with fitted limits
