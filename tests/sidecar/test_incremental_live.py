"""The sample cache carries the running sidecar on live-scraped data, not only on a
backfilled fleet queried at simulated times.

A real Prometheus scrapes a live target every second, with what a running estate has: scrape
times of its own (not on the sidecar's cycle grid), a failed scrape (a gap), and a restart of
the target (its counters reset). Cycles run on the real clock, half a second behind it so
that both sidecars read committed scrapes. After the first, each cycle of the cached sidecar
asks only for the news since the previous cycle, less ``overlap``, in one query, and both
publish the same (docs/benchmarks.md: the running service's cost was not its cache).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.service import Sidecar
from testkit.realservers import free_port, prometheus
from tests.sidecar.expected import labels
from tests.sidecar.fakeprom import parse_query
from tests.sidecar.pair import Clock, published

METRIC = "live_duration_seconds"
TARGETS = ("a", "b", "c")
CONFIG = f"""
global: {{lookback: 5s, overlap: 5s, max_range: 1h}}
charts:
  - {{name: live, metric: {METRIC}, by: [target], evaluation: 20s, baseline: 40s,
      min_points: 5, usl: 3s, ewma: true, cusum: true}}
"""


class Target:
    """One observation per target per scrape; scrape ``fail_at`` answers 500, and from
    ``reset_at`` on the counters start again (a restart)."""

    def __init__(self, fail_at: int, reset_at: int) -> None:
        self.rng = np.random.default_rng(4)
        self.counts = dict.fromkeys(TARGETS, 0)
        self.sums = dict.fromkeys(TARGETS, 0.0)
        self.scrapes = 0
        self.fail_at, self.reset_at = fail_at, reset_at

    def exposition(self) -> str | None:
        self.scrapes += 1
        if self.scrapes == self.fail_at:
            return None
        if self.scrapes == self.reset_at:
            self.counts = dict.fromkeys(TARGETS, 0)
            self.sums = dict.fromkeys(TARGETS, 0.0)
        lines = [f"# TYPE {METRIC} histogram\n"]
        for t in TARGETS:
            self.counts[t] += 1
            self.sums[t] += round(float(self.rng.lognormal(0.0, 0.3)), 6)
            lines.append(
                f'{METRIC}_bucket{{target="{t}",le="+Inf"}} {self.counts[t]}\n'
                f'{METRIC}_count{{target="{t}"}} {self.counts[t]}\n'
                f'{METRIC}_sum{{target="{t}"}} {self.sums[t]!r}\n'
            )
        return "".join(lines)


class ChartQueries(httpx.AsyncBaseTransport):
    """Passes requests on, noting (selector, time ms, range ms) of the charts' queries (not
    the incidents' lookups of target information)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.queries: list[tuple[str, int, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if METRIC in params["query"]:
            self.queries.append(parse_query(params["query"], params["time"]))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextmanager
def serving(target: Target) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = target.exposition()
            self.send_response(500 if body is None else 200)
            data = (body or "down").encode()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_cached_cycles_on_live_scrapes_query_only_the_news_and_publish_what_whole_ones_do() -> None:
    target = Target(fail_at=10, reset_at=16)
    with serving(target) as address:
        config = (
            "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
            "scrape_configs:\n  - job_name: live\n"
            f"    static_configs: [{{targets: ['{address}']}}]\n"
        )
        with prometheus(config) as server:
            time.sleep(12.0)  # enough scrapes for provisional limits

            async def run() -> list[tuple[float, list[tuple[str, int, int]]]]:
                clock = Clock(time.time() - 0.5)
                load = lambda: load_text(CONFIG, "l.yml")  # noqa: E731
                seen = ChartQueries()
                cached = Sidecar(load, server.url, clock=clock, transport=seen)
                whole = Sidecar(load, server.url, clock=clock, cache_samples=False)
                sent: list[tuple[float, list[tuple[str, int, int]]]] = []
                try:
                    while len(sent) < 6 or target.scrapes < 22:  # past the gap and reset
                        assert len(sent) < 40, f"Prometheus scraped {target.scrapes} times"
                        clock.now = round(time.time() - 0.5, 3)
                        before = len(seen.queries)
                        assert await cached.cycle() and await whole.cycle()
                        assert published(cached) == published(whole)
                        sent.append((clock.now, seen.queries[before:]))
                        await asyncio.sleep(1.7)
                    got = published(cached)
                finally:
                    await cached.aclose()
                    await whole.aclose()
                assert got[("llmscope_spc_series", labels(chart="live"))] == 3
                assert got[("llmscope_spc_limits_available", labels(chart="live", target="a"))] == 1
                return sent

            sent = asyncio.run(run())
    _, first = sent[0]
    assert len(first) == 1 and first[0][2] == 65_000  # the whole range: 60 s and the lookback
    for (before, _), (now, queries) in itertools.pairwise(sent):
        assert len(queries) == 1  # one query per selector
        _, at_ms, range_ms = queries[0]
        assert at_ms == round(now * 1000)
        assert range_ms == at_ms - round(before * 1000) + 5_000  # the news and the overlap
