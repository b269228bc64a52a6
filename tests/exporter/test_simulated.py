"""The simulated provider: log-normal delays, deterministic by seed, scripted scenarios."""

from __future__ import annotations

import math
import statistics

from exporter.configfile import builtin_config
from exporter.providers.simulated import Scenario, SimulatedOptions, SimulatedProvider


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def draws(
    options: SimulatedOptions, n: int, clock: FakeClock | None = None, step: float = 1.0
) -> list[float]:
    clock = clock or FakeClock()
    provider = SimulatedProvider(clock=clock)
    out = []
    for _ in range(n):
        out.append(provider.draw("t", options, tokens=4).ttft)
        clock.now += step
    return out


def test_same_seed_gives_the_same_sequence() -> None:
    options = SimulatedOptions(seed=42)
    assert draws(options, 20) == draws(options, 20)
    assert draws(options, 20) != draws(SimulatedOptions(seed=43), 20)


def test_ttft_is_log_normal_around_the_configured_median() -> None:
    values = draws(SimulatedOptions(seed=1, ttft=0.3, ttft_spread=0.2), 4000)
    logs = [math.log(v) for v in values]
    assert abs(statistics.median(values) - 0.3) < 0.01
    assert abs(statistics.stdev(logs) - 0.2) < 0.01


def test_mean_shift_multiplies_the_median_after_its_start() -> None:
    options = SimulatedOptions(
        seed=5, ttft=0.2, ttft_spread=0.1, scenario=Scenario("mean_shift", after=100.0, factor=3.0)
    )
    values = draws(options, 400, step=0.5)  # 200 s: the shift starts half way
    before, after = values[:200], values[200:]
    assert abs(statistics.median(before) - 0.2) < 0.01
    assert abs(statistics.median(after) - 0.6) < 0.03


def test_shift_by_probe_count() -> None:
    options = SimulatedOptions(
        seed=5,
        ttft=0.2,
        ttft_spread=0.05,
        scenario=Scenario("mean_shift", after_probes=50, factor=2.0),
    )
    values = draws(options, 100)
    assert max(values[:50]) < min(values[50:])


def test_a_shift_ends_after_its_length_in_probes() -> None:
    options = SimulatedOptions(
        seed=5,
        ttft=0.2,
        ttft_spread=0.05,
        scenario=Scenario("mean_shift", after_probes=30, length_probes=20, factor=3.0),
    )
    values = draws(options, 80)
    before, during, after = values[:30], values[30:50], values[50:]
    assert max(before) < min(during)
    assert max(after) < min(during)
    assert abs(statistics.median(after) - 0.2) < 0.02


def test_a_shift_ends_after_its_length_in_time() -> None:
    options = SimulatedOptions(
        seed=5, ttft=0.2, ttft_spread=0.05, scenario=Scenario("mean_shift", after=10.0, length=10.0)
    )
    values = draws(options, 30)  # one probe a second
    assert min(values[10:20]) > max(values[:10] + values[20:])


def test_the_builtin_incident_is_a_bounded_strong_shift_of_one_target() -> None:
    # The first run's scripted incident (README "A first run"): one target, 3x, counted in
    # probes so that MONITORING_INTERVAL moves it along with everything else.
    targets = [t for t in builtin_config({}, lambda url: None).targets if t.options]
    scenarios = {
        t.name: t.options.scenario for t in targets if isinstance(t.options, SimulatedOptions)
    }
    incident = [s for s in scenarios.values() if s is not None]
    assert len(incident) == 1
    assert incident[0].kind == "mean_shift"
    assert incident[0].factor >= 2.5
    assert incident[0].length_probes is not None
    assert incident[0].length_probes >= 20
    assert incident[0].after_probes >= 40


def test_drift_grows_linearly_to_the_factor() -> None:
    options = SimulatedOptions(
        seed=9, ttft=0.1, ttft_spread=0.01, scenario=Scenario("drift", factor=2.0, ramp=100.0)
    )
    values = draws(options, 201)
    assert abs(values[0] - 0.1) < 0.005
    assert abs(values[50] - 0.15) < 0.006
    assert abs(values[200] - 0.2) < 0.01


def test_variance_increase_widens_the_spread() -> None:
    options = SimulatedOptions(
        seed=3, ttft_spread=0.1, scenario=Scenario("variance", after_probes=1000, factor=3.0)
    )
    logs = [math.log(v) for v in draws(options, 2000)]
    assert statistics.stdev(logs[1000:]) > 2.5 * statistics.stdev(logs[:1000])


def test_outage_fails_probes_for_its_length_then_recovers() -> None:
    clock = FakeClock()
    provider = SimulatedProvider(clock=clock)
    options = SimulatedOptions(seed=1, scenario=Scenario("outage", after=10.0, length=5.0))
    failures = []
    for _ in range(20):
        failures.append(provider.draw("t", options, tokens=2).failure is not None)
        clock.now += 1.0
    assert failures == [False] * 10 + [True] * 5 + [False] * 5


def test_gaps_count_follows_max_tokens() -> None:
    draw = SimulatedProvider(clock=FakeClock()).draw("t", SimulatedOptions(seed=1), tokens=32)
    assert len(draw.gaps) == 31
