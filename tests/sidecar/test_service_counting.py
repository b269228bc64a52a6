"""The running sidecar counts each flagged point once, across cycles, reloads and restarts,
and stops publishing a series that stopped."""

from __future__ import annotations

import asyncio

import numpy as np

from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from spc_rules.sidecar.service import Sidecar
from testkit.fakeserver import Script, Step, serving
from tests.sidecar.data import LATENCY_CHART, METRIC, SCRAPE, Series, generate, matrix_answer
from tests.sidecar.data import series_of as series_from
from tests.sidecar.expected import labels, scrape

END = 1_700_000_000.0
MINUTE = 60.0
# Three outliers (3x the median: about 5.5 sigma of ln x) in an otherwise calm series whose
# other points stay within 2 sigma, so rule 1 flags exactly these.
SPIKES = (END - 25 * MINUTE, END - 15 * MINUTE, END - 5 * MINUTE)


def _spiky() -> Series:
    ts = END - SCRAPE * np.arange(720)[::-1]
    rng = np.random.default_rng(3)
    values = np.exp(np.clip(rng.normal(0.0, 0.2, ts.size), -0.4, 0.4))
    values[np.isin(ts, SPIKES)] = 3.0
    return series_from({"target": "a", "error_type": ""}, ts.tolist(), values.tolist())


def _config(evaluation: str) -> SidecarConfig:
    text = f"""
charts:
  - {{name: c, metric: {METRIC}, by: [target], rules: [1], evaluation: {evaluation},
      baseline: 1h, hold: 10m}}
"""
    return load_text(text, "t.yml")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _rule1(sidecar: Sidecar) -> tuple[float | None, float | None, float | None]:
    """(rule 1's count, violation_last_timestamp_seconds, violation_active) of rule 1. The
    count is the ledger's, which /metrics publishes summed over the rules in
    violations_total (checked here too)."""
    got = scrape(sidecar.collector)
    key = labels(chart="c", target="a", rule="1")
    view = sidecar.collector.views["c"]
    row = view.result.keys.index(("a",))
    totals = {rule: float(count[row]) for rule, count in view.violations.totals.items()}
    published = got.get(("llmscope_spc_violations_total", labels(chart="c", target="a")))
    assert published == sum(totals.values())
    return (
        totals["1"],
        got.get(("llmscope_spc_violation_last_timestamp_seconds", key)),
        got.get(("llmscope_spc_violation_active", key)),
    )


def _answer(series: list[Series]) -> Script:
    return Script(200, {"Content-Type": "application/json"}, [Step(matrix_answer(series))])


def test_a_reload_that_lengthens_the_window_counts_no_point_twice() -> None:
    configs = [_config("10m")]
    answer = _answer([_spiky()])

    async def run() -> None:
        clock = Clock(END - 40 * MINUTE)
        async with serving(lambda r: answer) as server:
            sidecar = Sidecar(lambda: configs[0], server.url, clock=clock)
            try:
                for at in (END - 20 * MINUTE, END - 10 * MINUTE, END):
                    clock.now = at
                    assert await sidecar.cycle()
                assert _rule1(sidecar) == (3.0, SPIKES[-1], 1.0)
                configs[0] = _config("30m")  # the window now holds all three spikes again
                assert sidecar.reload() is None
                assert await sidecar.cycle()
                assert _rule1(sidecar) == (3.0, SPIKES[-1], 1.0)
            finally:
                await sidecar.aclose()

    asyncio.run(run())


def test_after_a_restart_points_flagged_before_it_are_not_counted_again() -> None:
    answer = _answer([_spiky()])

    async def run() -> None:
        async with serving(lambda r: answer) as server:
            # The first process counted all three spikes; the second starts at END - 2m.
            clock = Clock(END - 2 * MINUTE)
            sidecar = Sidecar(lambda: _config("30m"), server.url, clock=clock)
            try:
                clock.now = END
                assert await sidecar.cycle()
                # Not counted again, but the newest one is still within its hold: the alert
                # that fired before the restart stays active through it.
                assert _rule1(sidecar) == (0.0, SPIKES[-1], 1.0)
            finally:
                await sidecar.aclose()

    asyncio.run(run())


def test_a_series_that_stopped_inside_the_baseline_window_is_not_published() -> None:
    fleet = [s for s in generate(END, 400) if not s.labels["error_type"]]
    ts = END - 40 * MINUTE - SCRAPE * np.arange(120)[::-1]  # its last sample: 40 minutes ago
    stopped = series_from({"target": "stopped", "error_type": ""}, ts.tolist(), [1.0] * ts.size)
    answer = _answer([*fleet, stopped])
    config = f"charts:{LATENCY_CHART}"  # evaluation 30m, baseline 1h, lookback 5m

    async def run() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        async with serving(lambda r: answer) as server:
            sidecar = Sidecar(lambda: load_text(config, "t.yml"), server.url, clock=lambda: END)
            try:
                assert await sidecar.cycle()
                return scrape(sidecar.collector)
            finally:
                await sidecar.aclose()

    got = asyncio.run(run())
    targets = {dict(key).get("target") for _, key in got} - {None}
    assert targets == {s.labels["target"] for s in fleet}
    assert got[("llmscope_spc_series", labels(chart="latency"))] == len(fleet)
