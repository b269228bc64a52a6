"""SPC sidecar end to end: 1,000 series x 1,000 points read from a real Prometheus.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_sidecar [--series 1000]

Prometheus (Debian's 2.42) is backfilled with one histogram, one series per target, scraped
every 15 s with one observation per scrape, so each series holds 1,000 points: 760 in a rolling
baseline, 240 in the one-hour evaluation window. Each cycle fetches the window (four hours and
a bit, in 2 h pieces), rebuilds the points, fits limits, runs rules 1-8, EWMA, CUSUM and
Cpk/Ppk, and counts the flags, exactly as the running sidecar does. The clock stands still,
so after the first cycle (which judges the whole window, as after a start) each cycle judges
no new point, as in steady state where a 30 s cycle brings about two per series. Reported per
stage: query (HTTP, Prometheus' own work included), decode (JSON to points), compute (the
engine and the flag ledger). Side by side in the same run: the stdlib json decoder against
the fast path on the same bodies, gzip against plain transfer, and rendering /metrics.
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
from prometheus_client import CollectorRegistry, generate_latest

from spc_rules.sidecar.config import load_text
from spc_rules.sidecar.decode import _slow, decode_matrix
from spc_rules.sidecar.promapi import pieces
from spc_rules.sidecar.selector import render_selector
from spc_rules.sidecar.service import Sidecar
from tests.sidecar.backends import backfilled_prometheus

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
            labels = f'target="t{s:04d}"'
            out.write(
                "".join(
                    f'{METRIC}_bucket{{{labels},le="+Inf"}} {i + 1} {ts}\n'
                    f"{METRIC}_count{{{labels}}} {i + 1} {ts}\n"
                    f"{METRIC}_sum{{{labels}}} {float(total)!r} {ts}\n"
                    for i, (ts, total) in enumerate(zip(stamps, totals, strict=True))
                )
            )
        out.write("# EOF\n")


async def cycles(url: str, end: float, count: int, gzip: bool) -> list[dict[str, float]]:
    config = load_text(CONFIG.replace("{compression}", "gzip" if gzip else "none"), "bench")
    sidecar = Sidecar(lambda: config, url, clock=lambda: end)
    stages = []
    try:
        for _ in range(count + 1):  # the first one warms Prometheus' caches
            assert await sidecar.cycle(), "a cycle failed"
            stages.append(dict(sidecar.collector.health.stage_seconds))
        registry = CollectorRegistry()
        registry.register(sidecar.collector)
        start = time.perf_counter()
        text = generate_latest(registry)
        stages.append({"render": time.perf_counter() - start, "bytes": float(len(text))})
    finally:
        await sidecar.aclose()
    return stages


async def peak_memory(url: str, end: float) -> int:
    config = load_text(CONFIG.replace("{compression}", "none"), "bench")
    sidecar = Sidecar(lambda: config, url, clock=lambda: end)
    try:
        tracemalloc.start()
        assert await sidecar.cycle()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        await sidecar.aclose()
    return peak


async def bodies(url: str, end: float) -> list[bytes]:
    sidecar = Sidecar(lambda: load_text(CONFIG.replace("{compression}", "none"), "b"), url)
    selector = render_selector((f"{METRIC}_sum", f"{METRIC}_count"), ())
    start = end - (3600 + 3 * 3600 + 600 + 60)
    try:
        return [
            await sidecar.client.raw_samples(selector, at, span)
            for at, span in pieces(start, end, 7200)
        ]
    finally:
        await sidecar.aclose()


def best_median(values: list[float]) -> str:
    return f"{min(values):.3f} s ({statistics.median(values):.3f} s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    end = float(int(time.time()) - 120)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "bench.om"
        t0 = time.perf_counter()
        write_openmetrics(source, args.series, args.points, end)
        print(f"generated {source.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f}s")
        with backfilled_prometheus(source) as prom:
            source.unlink()
            plain = asyncio.run(cycles(prom.url, end, args.cycles, gzip=False))
            zipped = asyncio.run(cycles(prom.url, end, args.cycles, gzip=True))
            peak = asyncio.run(peak_memory(prom.url, end))
            raw = asyncio.run(bodies(prom.url, end))
    render = plain.pop()
    zipped.pop()
    first_compute = plain[0]["compute"]
    plain, zipped = plain[1:], zipped[1:]
    fast, slow = [], []
    for _ in range(3):
        t = time.perf_counter()
        _ = [decode_matrix(b) for b in raw]
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        _ = [_slow(b) for b in raw]
        slow.append(time.perf_counter() - t)
    total = [sum(c.values()) for c in plain]
    print(
        f"\n{args.series} series x {args.points} points, {args.cycles} cycles, "
        f"Python {platform.python_version()}, numpy {np.__version__}\n"
    )
    print("| stage | best (median) |\n|---|---|")
    for stage in ("query", "decode", "compute"):
        print(f"| {stage} | {best_median([c[stage] for c in plain])} |")
    print(f"| **cycle** | **{best_median(total)}** |")
    print(f"| query with gzip | {best_median([c['query'] for c in zipped])} |")
    print(f"| compute of the first cycle (the whole window judged) | {first_compute:.3f} s |")
    print(f"| render /metrics ({render['bytes'] / 1e6:.1f} MB) | {render['render']:.3f} s |")
    print(f"\n| decoder, same {sum(map(len, raw)) / 1e6:.0f} MB of answers | best | ratio |")
    print(f"|---|---|---|\n| fast path | {min(fast):.3f} s | 1 |")
    print(f"| json.loads | {min(slow):.3f} s | {min(slow) / min(fast):.1f}x |")
    gz = statistics.median(c["query"] for c in zipped) / statistics.median(
        c["query"] for c in plain
    )
    print(f"\ngzip / plain query time (medians): {gz:.2f}x")
    print(f"peak traced memory in one cycle: {peak / 2**20:.0f} MiB")
    print(
        f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MiB"
    )


if __name__ == "__main__":
    main()
