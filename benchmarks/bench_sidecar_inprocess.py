"""The sidecar's cycles in one process at 1,000 to 30,000 series, for per-series figures and
profiles: no Prometheus to backfill, so a 30,000-series run takes minutes, not an hour.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_sidecar_inprocess --series 10000 [--steady 4] [--profile 2]

The real ``Sidecar`` (the service's cycle: plan, query, decode, compute, incidents) talks
through an httpx mock transport that answers ``/api/v1/query`` with a range selector as
Prometheus does (its JSON layout, label sets sorted, one target scraped every 15 s: 3 h 15 min
of one histogram per series, growing with the simulated clock). The chart is
``bench_sidecar_live``'s (2 h rolling baseline, 1 h evaluation, EWMA, CUSUM, a USL, paging),
cycles 30 s apart. Decode and compute run in the calling thread (not a worker), so
``--profile N`` (cProfile of cycle N, 0 is the first) sees them. The answers are generated in
Python, which the query stage includes: compare query figures with ``bench_sidecar_live``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import re
import resource
import statistics
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import httpx

import spc_rules.sidecar.service as service
from benchmarks.bench_chart import METRIC, chart_config
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.service import Sidecar

STEP = 15.0
CYCLE = 30.0
CONFIG = chart_config()
EMPTY = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'


class Estate:
    """One observation per series per scrape, every ``STEP`` from ``start`` to ``end``; with
    ``idle`` a share of the scrapes (at random) brings none, as a probe slower than the scrape
    interval leaves them."""

    def __init__(self, series: int, start: float, end: float, idle: float = 0.0) -> None:
        import numpy as np  # noqa: PLC0415  (after spc_rules: one BLAS thread, spc_rules/_blas.py)

        self.stamps = np.arange(start, end + 1e-9, STEP)
        rng = np.random.default_rng(1)
        shape = (series, self.stamps.size)
        seen = rng.random(shape) >= idle
        observations = rng.lognormal(0.0, 0.3, shape) * seen
        self.sums = np.round(np.cumsum(observations, axis=1), 6)
        self.counts = np.cumsum(seen, axis=1)
        self.labels = [f'"instance":"x","job":"live","target":"t{s:05d}"' for s in range(series)]

    def body(self, at: float, span: float) -> bytes:
        import numpy as np  # noqa: PLC0415

        lo = int(np.searchsorted(self.stamps, at - span, side="right"))
        hi = int(np.searchsorted(self.stamps, at, side="right"))
        ts = [f"{t:.3f}" for t in self.stamps[lo:hi]]
        parts = []
        counts, sums = self.counts[:, lo:hi].tolist(), self.sums[:, lo:hi].tolist()
        rows = zip(self.labels, counts, sums, strict=True)
        for labels, row_counts, row_sums in rows:
            count = ",".join(f'[{t},"{n}"]' for t, n in zip(ts, row_counts, strict=True))
            values = ",".join(f'[{t},"{v!r}"]' for t, v in zip(ts, row_sums, strict=True))
            parts.append(
                f'{{"metric":{{"__name__":"{METRIC}_count",{labels}}},"values":[{count}]}}'
            )
            parts.append(f'{{"metric":{{"__name__":"{METRIC}_sum",{labels}}},"values":[{values}]}}')
        result = ",".join(parts)
        return (
            f'{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}'.encode()
        )


class _InThread:
    """``asyncio`` for the service module, with ``to_thread`` run in the calling thread."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    async def to_thread(func: Callable[..., Any], /, *args: Any) -> Any:
        return func(*args)


def run(series: int, steady: int, profile: int | None, idle: float = 0.0) -> list[dict[str, float]]:
    now0 = 1.7e9
    estate = Estate(series, now0 - 3 * 3600 - 900, now0 + CYCLE * (steady + 1), idle)

    def answer(request: httpx.Request) -> httpx.Response:
        query = unquote(request.url.params["query"])
        found = re.search(r"\[(\d+)ms\]$", query)
        if METRIC not in query or found is None:
            return httpx.Response(200, content=EMPTY)
        span = int(found.group(1)) / 1000
        return httpx.Response(200, content=estate.body(float(request.url.params["time"]), span))

    config = load_text(CONFIG, "bench")
    clock = [now0]
    service.asyncio = _InThread()  # type: ignore[attr-defined,assignment]
    fetching.asyncio = _InThread()  # type: ignore[attr-defined,assignment]
    sidecar = Sidecar(
        lambda: config, "http://prometheus", clock=lambda: clock[0],
        transport=httpx.MockTransport(answer),
    )  # fmt: skip
    stages: list[dict[str, float]] = []

    async def cycles() -> None:
        try:
            for i in range(steady + 1):
                clock[0] = now0 + CYCLE * i
                profiler = cProfile.Profile() if i == profile else None
                if profiler is not None:
                    profiler.enable()
                assert await sidecar.cycle(), "a cycle failed"
                if profiler is not None:
                    profiler.disable()
                    order = os.environ.get("BENCH_PROFILE_SORT", "cumulative")  # or tottime
                    pstats.Stats(profiler).sort_stats(order).print_stats(40)
                stages.append(dict(sidecar.collector.health.stage_seconds))
        finally:
            await sidecar.aclose()

    asyncio.run(cycles())
    return stages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--steady", type=int, default=4)
    parser.add_argument("--profile", type=int, help="profile this cycle (0: the first)")
    parser.add_argument("--idle", type=float, default=0.0, help="share of scrapes without news")
    args = parser.parse_args()
    stages = run(args.series, args.steady, args.profile, args.idle)
    n = args.series
    first, rest = stages[0], stages[1:]
    med = {k: statistics.median(c[k] for c in rest) for k in first}
    total = statistics.median(sum(c.values()) for c in rest)
    cold = ", ".join(f"{k} {v:.2f}" for k, v in first.items())
    warm = ", ".join(f"{k} {v:.3f}" for k, v in med.items())
    print(
        "| series | first cycle (stages) | steady, median (stages) | per series | first per "
        "series | peak RSS | load |\n|---|---|---|---|---|---|---|"
    )
    print(
        f"| {n} | {sum(first.values()):.2f} s ({cold}) | {total:.3f} s ({warm}) "
        f"| {total / n * 1e6:.0f} us | {sum(first.values()) / n * 1e6:.0f} us "
        f"| {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB "
        f"| {os.getloadavg()[0]:.1f} |"
    )


if __name__ == "__main__":
    main()
