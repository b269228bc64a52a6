"""p chart points from raw counter samples (``query/counters.py``) against a plain loop over
the samples, and the p chart's limits and rules in the sidecar's judging against the
engine's plain-loop reference (``testkit/spc_reference.py``)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pytest

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.judge.evaluate import evaluate
from spc_rules.sidecar.query.counters import counter_points
from spc_rules.sidecar.query.decode import RawSeries
from spc_rules.sidecar.query.points import Points
from testkit.spc_reference import p_chart_loop, p_fit_loop

Stored = tuple[dict[str, str], list[float], list[float]]


def _loop(
    numerator: Sequence[Stored], denominator: Sequence[Stored], by: Sequence[str], step: float
) -> dict[tuple[str, ...], list[tuple[float, float, float]]]:
    """(end, share, n) per chart series, sample by sample, as docs/sidecar.md says."""
    sums: dict[tuple[str, ...], dict[str, dict[int, float]]] = defaultdict(
        lambda: {"e": defaultdict(float), "n": defaultdict(float)}
    )
    span: dict[tuple[str, ...], list[float]] = {}
    step_ms = round(step * 1000)
    for role, stored in (("e", numerator), ("n", denominator)):
        for labels, ts, values in stored:
            key = tuple(labels.get(b, "") for b in by)
            sums[key]
            lo, hi = span.get(key, [math.inf, -math.inf])
            span[key] = [min(lo, ts[0]), max(hi, ts[-1])]
            prev = None
            for t, v in zip(ts, values, strict=True):
                if not math.isfinite(v):
                    continue
                if prev is not None and v - prev >= 0:
                    ms = round(t * 1000)
                    end = math.ceil(ms / step_ms) * step_ms
                    sums[key][role][end] += v - prev
                prev = v
    out = {}
    for key, roles in sums.items():
        first, last = span[key]
        points = []
        for end in sorted(set(roles["e"]) | set(roles["n"])):
            if end - step_ms < first * 1000 - 0.5 or end > last * 1000 + 0.5:
                continue
            e, n = roles["e"].get(end, 0.0), roles["n"].get(end, 0.0)
            if n > 0 and e <= n:
                points.append((end / 1000, e / n, n))
        out[key] = points
    return out


def _counters(rng: np.random.Generator) -> tuple[list[Stored], list[Stored]]:
    """Probes of three targets, each on two instances scraped at different offsets, with
    restarts, missed scrapes, a NaN sample and a target that starts late."""
    numerator, denominator = [], []
    for target in ("a", "b", "c"):
        for instance, offset in (("i1", 0.0), ("i2", 7.25)):
            start = 1_700_000_000.0 + offset + (3600.0 if target == "c" else 0.0)
            ts = start + 15.0 * np.arange(1200)
            ts = ts[rng.random(ts.size) > 0.05]  # missed scrapes
            trials = rng.integers(0, 3, ts.size).astype(float)
            errors = np.array([rng.binomial(int(n), 0.08) for n in trials], float)
            restart = rng.integers(100, ts.size - 100)
            total_n, total_e = np.cumsum(trials), np.cumsum(errors)
            total_n[restart:] -= total_n[restart - 1]
            total_e[restart:] -= total_e[restart - 1]
            n_values, e_values = total_n.tolist(), total_e.tolist()
            n_values[50] = math.nan
            labels = {"target": target, "instance": instance}
            denominator.append((labels, ts.tolist(), n_values))
            numerator.append(({**labels, "error_type": "timeout"}, ts.tolist(), e_values))
    return numerator, denominator


def _raw(stored: Sequence[Stored]) -> list[RawSeries]:
    return [RawSeries(labels, np.array(ts), np.array(v)) for labels, ts, v in stored]


@pytest.mark.parametrize("step", [60.0, 300.0, 17.5])
def test_points_equal_a_plain_loop_over_the_samples(step: float) -> None:
    numerator, denominator = _counters(np.random.default_rng(int(step)))
    got = counter_points(_raw(numerator), _raw(denominator), ["target"], step)
    want = _loop(numerator, denominator, ["target"], step)
    assert set(got) == set(want) == {("a",), ("b",), ("c",)}
    for key, points in want.items():
        assert len(points) > 10
        np.testing.assert_array_equal(got[key].timestamps, [p[0] for p in points])
        np.testing.assert_allclose(got[key].values, [p[1] for p in points], rtol=1e-15)
        np.testing.assert_array_equal(got[key].sizes, [p[2] for p in points])


def _one(ts: list[float], values: list[float], **labels: str) -> RawSeries:
    return RawSeries(labels, np.array(ts), np.array(values))


def test_edges_resets_empty_and_malformed_subgroups() -> None:
    ts = [0.0, 15, 30, 45, 60, 75, 90, 105, 120, 135, 150]
    #     subgroups of 60 s: (0, 60], (60, 120], (120, 180]: only (60, 120] is complete
    # and the first one starts at the first sample, so it is complete too.
    trials = [0.0, 2, 4, 6, 8, 1, 3, 5, 7, 9, 11]  # restart at 75: that step is no increment
    events = [0.0, 0, 1, 1, 2, 0, 0, 1, 1, 2, 2]
    got = counter_points([_one(ts, events)], [_one(ts, trials)], [], 60.0)[()]
    # (0, 60]: 2 of 8; (60, 120]: the restart step drops, 3 to 7 and 0 to 1: 1 of 6;
    # (120, 180] is not complete (the last sample is at 150).
    np.testing.assert_array_equal(got.timestamps, [60.0, 120.0])
    np.testing.assert_array_equal(got.values, [2 / 8, 1 / 6])
    np.testing.assert_array_equal(got.sizes, [8.0, 6.0])
    assert got.last_sample == 150.0

    reports: list[tuple[tuple[str, ...], int, float, float, float]] = []
    idle = [0.0, 0, 0, 0, 0, 0, 0, 0, 0]  # no trial in any subgroup: no point
    bad = [0.0, 1, 2, 3, 4, 5, 6, 7, 8]  # more events than trials: malformed
    stamps = ts[:9]
    none = counter_points([_one(stamps, idle)], [_one(stamps, idle)], [], 60.0)[()]
    assert none.timestamps.size == 0
    wrong = counter_points(
        [_one(stamps, bad)],
        [_one(stamps, [0.0, 1, 1, 1, 2, 2, 2, 2, 2])],
        [],
        60.0,
        lambda *r: reports.append(r),
    )[()]
    assert wrong.timestamps.size == 0
    assert reports == [((), 2, 120.0, 4.0, 0.0)]


def test_p_chart_limits_and_rules_in_the_sidecar_equal_the_plain_loop() -> None:
    config = load_text(
        """
charts:
  - name: errors
    kind: p
    numerator: errors_total
    denominator: requests_total
    evaluation: 2h
    baseline: 4h
    laney: true
""",
        "spc.yml",
    )
    chart = config.charts[0]
    rng = np.random.default_rng(7)
    now = 1_700_000_000.0
    stamps = np.asarray(now - 300.0 * np.arange(72)[::-1], dtype=np.float64)  # 6 h, 5 min
    n = rng.integers(15, 60, stamps.size).astype(np.float64)
    p = np.where(stamps > now - 1800, 0.2, 0.06)  # the rate rises in the last half hour
    events = rng.binomial(n.astype(int), p).astype(float)
    shares = np.asarray(events / n, dtype=np.float64)
    result = evaluate(chart, {(): Points(stamps, shares, n, float(stamps[-1]))}, now)

    base = (stamps > now - 6 * 3600) & (stamps <= now - 2 * 3600)
    fit = p_fit_loop(events[base].tolist(), n[base].tolist(), laney=True)
    assert fit is not None
    center, sigma_z, _ = fit
    assert result.limits_ok[0]
    assert result.center[0] == pytest.approx(center, rel=1e-12)
    assert result.sigma[0] == pytest.approx(sigma_z * math.sqrt(center * (1 - center)))
    assert result.ucl[0] == pytest.approx(
        center + 3 * sigma_z * math.sqrt(center * (1 - center) / n[-1])
    )
    inside = stamps > now - 2 * 3600
    _, flags = p_chart_loop(events[inside].tolist(), n[inside].tolist(), center, sigma_z)
    for rule in range(1, 9):
        want = stamps[inside][np.array(flags[rule - 1], bool)]
        # Flags on the good side (a falling error share) are no violation: direction up.
        if rule in (1, 2, 5, 6):
            want = want[(events[inside] / n[inside])[np.array(flags[rule - 1], bool)] > center]
        if rule == 3:
            continue  # rule 3 is sided by the trend; the engine tests cover it
        np.testing.assert_array_equal(result.flagged[str(rule)][0], want, err_msg=f"rule {rule}")
    assert result.flagged["1"][0].size > 0  # the rise is caught
