"""SPC sidecar end to end: 1,000 series x 1,000 points read from a real Prometheus.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_sidecar [--series 1000]
(1,000, 10,000 or 30,000 series; per-series figures come with every table, so runs at
different sizes compare: a flat cost per series is linear in series). The running service
against a live-scraped Prometheus is ``bench_sidecar_live.py``.

Prometheus (Debian's 2.42) is backfilled with one histogram, one series per target, scraped
every 15 s with one observation per scrape, so each cycle's window holds 1,000 points per
series: 760 in a rolling baseline, 240 in the one-hour evaluation window. Cycles run 30 s
apart, as the running sidecar's do, so each brings two new points per series; each rebuilds
the points, fits limits, runs rules 1-8, EWMA, CUSUM and Cpk/Ppk, and counts the flags.

Reported per stage (query: HTTP, Prometheus' own work included; decode: JSON to points;
compute: the engine and the flag ledger): the first cycle, which fetches the whole window
(four hours and a bit, in 2 h pieces) and judges all of it, as after a start; the steady
state with the sample cache, where a cycle fetches only the last 90 s (one query); and
cycles that fetch the whole window every time (the sidecar without its cache). Side by
side in the same run: the stdlib json decoder against the fast path on the same bodies,
gzip against plain transfer, rendering /metrics, and memory.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import resource
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.config.selector import render_selector
from spc_rules.sidecar.query.decode import _slow, decode_matrix
from spc_rules.sidecar.query.promapi import pieces
from spc_rules.sidecar.service import Sidecar
from testkit.backends import backfilled_prometheus

METRIC = "bench_duration_seconds"
SCRAPE = 15.0
CONFIG = f"""
global: {{lookback: 1m, max_range: 2h, compression: {{compression}}}}
charts:
  - name: bench
    metric: {METRIC}
    by: [target]
    evaluation: 1h
    baseline: 3h10m
    usl: 3s
    ewma: true
    cusum: true
"""


def write_openmetrics(path: Path, series: int, points: int, end: float) -> None:
    """One observation per scrape, so ``points + 1`` scrapes give ``points`` points."""
    rng = np.random.default_rng(1)
    stamps = [f"{t:.3f}" for t in end - SCRAPE * np.arange(points + 1)[::-1]]
    with path.open("w") as out:
        out.write(f"# TYPE {METRIC} histogram\n")
        for s in range(series):
            totals = np.round(np.cumsum(rng.lognormal(0.0, 0.3, points + 1)), 6)
            labels = f'target="t{s:05d}"'
            out.write(
                "".join(
                    f'{METRIC}_bucket{{{labels},le="+Inf"}} {i + 1} {ts}\n'
                    f"{METRIC}_count{{{labels}}} {i + 1} {ts}\n"
                    f"{METRIC}_sum{{{labels}}} {float(total)!r} {ts}\n"
                    for i, (ts, total) in enumerate(zip(stamps, totals, strict=True))
                )
            )
        out.write("# EOF\n")


async def cycles(
    url: str, times: list[float], *, gzip: bool = False, cache: bool = True, trace: bool = False
) -> tuple[list[dict[str, float]], dict[str, float]]:
    """The stages of a cycle at each of ``times``; then rendering /metrics, the cache's
    arrays (MiB) and, with ``trace`` (which slows the cycles), the peak traced memory (MiB)
    of the first cycle and of the others."""
    config = load_text(CONFIG.replace("{compression}", "gzip" if gzip else "none"), "bench")
    clock = [times[0]]
    sidecar = Sidecar(lambda: config, url, clock=lambda: clock[0], cache_samples=cache)
    stages, peaks = [], []
    try:
        if trace:
            tracemalloc.start()
        for now in times:
            clock[0] = now
            tracemalloc.reset_peak()
            assert await sidecar.cycle(), "a cycle failed"
            peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
            stages.append(dict(sidecar.collector.health.stage_seconds))
        tracemalloc.stop()
        held = sum(h.nbytes() for h in sidecar._held.values()) / 2**20
        start = time.perf_counter()
        text = sidecar.collector.render()
        render = time.perf_counter() - start
    finally:
        tracemalloc.stop()
        await sidecar.aclose()
    extra = {"held": held, "render": render}
    if trace:
        extra |= {"first_peak": peaks[0], "peak": max(peaks[1:])}
    return stages, extra | {"bytes": float(len(text))}


async def bodies(url: str, end: float) -> list[bytes]:
    sidecar = Sidecar(lambda: load_text(CONFIG.replace("{compression}", "none"), "b"), url)
    selector = render_selector((f"{METRIC}_sum", f"{METRIC}_count"), ())
    start = end - (3600 + 3 * 3600 + 600 + 60)
    try:
        return [
            bytes(await sidecar.client.raw_samples(selector, at, span))
            for at, span in pieces(start, end, 7200)
        ]
    finally:
        await sidecar.aclose()


def best_median(values: list[float]) -> str:
    return f"{min(values):.3f} s ({statistics.median(values):.3f} s)"


def per_series(seconds: float, series: int) -> str:
    return f"{seconds / series * 1e6:.0f} us"


def table(title: str, runs: list[dict[str, float]], series: int) -> None:
    print(f"\n| {title} | best (median) | median per series |\n|---|---|---|")
    for stage in ("query", "decode", "compute"):
        values = [c[stage] for c in runs]
        print(
            f"| {stage} | {best_median(values)} | {per_series(statistics.median(values), series)} |"
        )
    totals = [sum(c.values()) for c in runs]
    med = per_series(statistics.median(totals), series)
    print(f"| **cycle** | **{best_median(totals)}** | **{med}** |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--steady", type=int, default=20)
    args = parser.parse_args()
    end = float(int(time.time()) - 120)
    # Cycles 30 s apart that end at ``end``; each window holds ``points`` points.
    steps = max(args.cycles, args.steady) + 1
    first = end - 30.0 * (steps - 1)
    times = [first + 30.0 * i for i in range(steps)]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bench.om"
        t0 = time.perf_counter()
        write_openmetrics(source, args.series, args.points + 2 * (steps - 1), end)
        print(f"generated {source.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f}s")
        with backfilled_prometheus(source) as prom:
            source.unlink()
            asyncio.run(cycles(prom.url, times[:1], cache=False))  # warms Prometheus' caches
            whole, _ = asyncio.run(cycles(prom.url, times[: args.cycles + 1], cache=False))
            zipped, _ = asyncio.run(
                cycles(prom.url, times[: args.cycles + 1], gzip=True, cache=False)
            )
            cached, extra = asyncio.run(cycles(prom.url, times[: args.steady + 1]))
            _, traced = asyncio.run(cycles(prom.url, times[:4], trace=True))
            raw = asyncio.run(bodies(prom.url, first))
    fast, slow = [], []
    for _ in range(3):
        t = time.perf_counter()
        _ = [decode_matrix(b) for b in raw]
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        _ = [_slow(b) for b in raw]
        slow.append(time.perf_counter() - t)
    print(
        f"\n{args.series} series x {args.points} points, cycles 30 s apart, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    cold = cached[0]
    n = args.series
    print("\n| first cycle (cold cache, whole window judged) | s | per series |\n|---|---|---|")
    for stage in ("query", "decode", "compute"):
        print(f"| {stage} | {cold[stage]:.3f} | {per_series(cold[stage], n)} |")
    print(f"| **cycle** | **{sum(cold.values()):.3f}** | **{per_series(sum(cold.values()), n)}** |")
    table(f"steady state with the cache, {args.steady} cycles", cached[1:], n)
    table(f"whole windows every cycle (no cache), {args.cycles} cycles", whole[1:], n)
    print(f"| query with gzip (whole windows) | {best_median([c['query'] for c in zipped[1:]])} |")
    print(
        f"| render /metrics ({extra['bytes'] / 1e6:.1f} MB, {extra['bytes'] / n:.0f} bytes "
        f"per series) | {extra['render']:.3f} s |"
    )
    print(f"\n| decoder, same {sum(map(len, raw)) / 1e6:.0f} MB of answers | best | ratio |")
    print(f"|---|---|---|\n| fast path | {min(fast):.3f} s | 1 |")
    print(f"| json.loads | {min(slow):.3f} s | {min(slow) / min(fast):.1f}x |")
    gz = statistics.median(c["query"] for c in zipped[1:]) / statistics.median(
        c["query"] for c in whole[1:]
    )
    print(f"\ngzip / plain query time (medians): {gz:.2f}x")
    print(f"peak traced memory, first cycle: {traced['first_peak']:.0f} MiB")
    print(f"peak traced memory, steady-state cycles: {traced['peak']:.0f} MiB")
    print(f"arrays held by the sample cache: {extra['held']:.0f} MiB")
    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB"
    )


if __name__ == "__main__":
    main()
