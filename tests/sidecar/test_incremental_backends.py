"""The sample cache against a real Prometheus (whose ranges include their start) and a real
VictoriaMetrics (whose ranges exclude it): cycles with the cache publish what cycles that
fetch every window whole publish, with one query per selector after the first.

The backends hold the whole fleet; each cycle queries at its own (earlier) time, so the
samples after it are not there yet, as in a running estate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

import pytest

from spc_rules.sidecar.config.loader import load_text
from testkit.backends import backfilled_prometheus, filled_victoria_metrics
from tests.sidecar.data import SCRAPE, exposition_ms, generate, openmetrics
from tests.sidecar.expected import labels
from tests.sidecar.pair import Clock, paired, published
from tests.sidecar.test_incremental import CONFIG, WHOLE


class Backend(Protocol):
    url: str


def _prometheus(end: float) -> AbstractContextManager[Backend]:
    return backfilled_prometheus(openmetrics(generate(end, 480)))


def _victoria_metrics(end: float) -> AbstractContextManager[Backend]:
    return filled_victoria_metrics(exposition_ms(generate(end, 480)))


@pytest.mark.parametrize("backend", [_prometheus, _victoria_metrics], ids=["prometheus", "vm"])
def test_cached_cycles_on_a_real_backend_publish_what_whole_fetches_publish(
    backend: Callable[[float], AbstractContextManager[Backend]],
) -> None:
    # A whole second on the scrape grid some minutes ago: past VictoriaMetrics' 30 s latency.
    end = float(int(time.time()) - 300)
    times = [end - 600.0 + 2 * SCRAPE * i for i in range(21)]
    clock = Clock(times[0] - 60.0)

    async def run(url: str) -> Iterator[int]:
        sent = []
        async with paired((url, url), clock, lambda: load_text(CONFIG, "t.yml")) as pair:
            for now in times:
                clock.now = now
                queries, whole = await pair.cycle()
                assert whole == WHOLE
                sent.append(len(queries))
            got = published(pair.cached)
        assert got[("llmscope_spc_series", labels(chart="latency"))] == 5
        return iter(sent)

    with backend(end) as server:
        sent = asyncio.run(run(server.url))
    assert next(sent) == WHOLE
    assert set(sent) == {3}  # one per selector
