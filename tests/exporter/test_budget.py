"""The cost guard: daily token and spend budgets pause a target until the next UTC day."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, generate_latest

from exporter.accounting.budget import BudgetGuard
from exporter.app import Exporter
from exporter.config.types import Budget
from exporter.configfile import load_text


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_tokens_budget_is_exhausted_once_reached() -> None:
    guard = BudgetGuard(Clock(1_000_000.0))
    budget = Budget(daily_tokens=100)
    assert not guard.exhausted("t", budget)
    guard.charge("t", 99, 0.0)
    assert not guard.exhausted("t", budget)
    guard.charge("t", 1, 0.0)
    assert guard.exhausted("t", budget)


def test_spend_budget_and_the_next_utc_day_resets_it() -> None:
    clock = Clock(86400.0 * 20_000 + 3600)  # 01:00 UTC
    guard = BudgetGuard(clock)
    budget = Budget(daily_usd=0.01)
    guard.charge("t", 10, 0.01)
    assert guard.exhausted("t", budget)
    assert guard.seconds_to_next_day() == 86400 - 3600
    clock.now += 86400 - 3600  # 00:00 UTC the next day
    assert not guard.exhausted("t", budget)
    assert guard.spent("t") == (0, 0.0)


def test_no_budget_never_pauses() -> None:
    guard = BudgetGuard(Clock(0.0))
    guard.charge("t", 10**9, 10**6)
    assert not guard.exhausted("t", None)


def test_exporter_pauses_target_when_daily_tokens_are_spent() -> None:
    config = load_text(
        """
targets:
  - {name: capped, provider: simulated, model: m, interval: 50ms, ttft: 1ms, gap: 1ms,
     max_tokens: 4, budget: {daily_tokens: 40}}
  - {name: free, provider: simulated, model: m, interval: 50ms, ttft: 1ms, gap: 1ms,
     max_tokens: 4}
""",
        "t.yml",
        {},
    )
    registry = CollectorRegistry()

    async def go() -> None:
        exporter = Exporter(lambda: config, registry, wall_clock=Clock(86400.0 * 20_000))
        await exporter.start()
        await asyncio.sleep(1.5)
        await exporter.stop()

    asyncio.run(go())
    value = registry.get_sample_value
    probes = value("llmscope_probes_total", {"target": "capped"})
    spent = value("llmscope_budget_spent_today_tokens", {"target": "capped"})
    # Each simulated probe uses 4 output tokens and ~9 input tokens: the guard lets probes
    # run until 40 are spent, then no more: the overshoot is bounded by one probe.
    assert probes is not None and 2 <= probes <= 4
    assert spent is not None and 40 <= spent < 40 + 14
    assert value("llmscope_budget_paused", {"target": "capped"}) == 1
    assert value("llmscope_target_idle", {"target": "capped", "reason": "budget_exhausted"}) == 1
    free = value("llmscope_probes_total", {"target": "free"})
    assert free is not None and free > 10
    assert b'llmscope_budget_paused{target="free"}' not in generate_latest(registry)


def test_a_reload_keeps_the_pause_and_a_removed_target_loses_its_budget_series() -> None:
    capped = (
        "  - {name: capped, provider: simulated, model: m, interval: 50ms, ttft: 1ms, "
        "gap: 1ms, max_tokens: 4, budget: {daily_tokens: 20}}\n"
    )
    other = "  - {name: other, provider: simulated, model: m, interval: 50ms, ttft: 1ms}\n"
    configs = [
        load_text("targets:\n" + capped + other, "t.yml", {}),
        load_text("targets:\n" + capped + other, "t.yml", {}),
        load_text("targets:\n" + other, "t.yml", {}),
    ]
    loads = iter(configs)
    registry = CollectorRegistry()
    value = registry.get_sample_value
    seen: list[tuple[float | None, float | None, float | None]] = []

    async def go() -> None:
        exporter = Exporter(lambda: next(loads), registry, wall_clock=Clock(86400.0 * 20_000))
        await exporter.start()
        await asyncio.sleep(0.6)
        assert value("llmscope_budget_paused", {"target": "capped"}) == 1
        assert await exporter.reload() is None  # the same config again
        seen.append(
            (
                value("llmscope_budget_paused", {"target": "capped"}),
                value("llmscope_budget_spent_today_tokens", {"target": "capped"}),
                value("llmscope_probe_skipped_total", {"target": "capped"}),
            )
        )
        assert await exporter.reload() is None  # capped removed
        await exporter.stop()

    asyncio.run(go())
    paused, spent, skipped = seen[0]
    assert paused == 1
    assert spent is not None and spent >= 20
    for name in (
        "llmscope_budget_paused",
        "llmscope_budget_daily_tokens",
        "llmscope_budget_spent_today_tokens",
    ):
        assert value(name, {"target": "capped"}) is None
    assert not skipped  # a pause is not counted as skipped slots
