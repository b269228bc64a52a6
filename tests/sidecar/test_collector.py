"""The collector is held back during a cycle (the sidecar's included) and collects what the
cycle left in reference cycles at its end."""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.heap import collected_at_end
from spc_rules.sidecar.judge import ledger
from spc_rules.sidecar.judge.evaluate import ChartResult
from spc_rules.sidecar.judge.evaluate import evaluate as real_evaluate
from spc_rules.sidecar.service import Sidecar
from testkit.fakeserver import Script, Step, serving
from tests.sidecar.data import LATENCY_CHART, generate, matrix_answer

END = 1_700_000_000.0


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_collector_waits_for_the_cycle_and_then_frees_its_reference_cycles() -> None:
    assert gc.isenabled()
    with collected_at_end():
        assert not gc.isenabled()
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # a cycle: reference counting alone never frees it
        alive = weakref.ref(a)
        del a, b
        churn: list[list[int]] = [
            [] for _ in range(10 * gc.get_threshold()[0])
        ]  # would set off collections
        assert alive() is not None  # nothing collected it while the cycle ran
        del churn
    assert gc.isenabled()
    assert alive() is None


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    try:
        with collected_at_end():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_sidecar_judges_with_the_collector_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    def evaluate(*args: Any, **kwargs: Any) -> ChartResult:
        seen.append(gc.isenabled())
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(ledger, "evaluate", evaluate)
    fleet = [s for s in generate(END, 400) if not s.labels["error_type"]]
    answer = Script(200, {"Content-Type": "application/json"}, [Step(matrix_answer(fleet))])
    config = f"global: {{query_timeout: 5s, max_range: 1d}}\ncharts:{LATENCY_CHART}"

    async def run() -> None:
        async with serving(lambda r: answer) as server:
            sidecar = Sidecar(lambda: load_text(config, "t.yml"), server.url, clock=lambda: END)
            try:
                assert await sidecar.cycle()
            finally:
                await sidecar.aclose()

    asyncio.run(run())
    assert seen == [False]
    assert gc.isenabled()
