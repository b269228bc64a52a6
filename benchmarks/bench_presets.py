"""Engine presets over a vLLM estate: 50 models x 4 replicas in a real Prometheus.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_presets [--models 50]

Each replica exports vLLM's families (testkit/engine_families.py, from vllm/v1/metrics/
loggers.py): the benchmark reports how many series that makes per replica and for the
estate, buckets included. Prometheus is backfilled with what the preset charts read (each
histogram's _sum and _count, the finished_reason counters; the sidecar never reads buckets)
for ``--hours`` of 15 s scrapes at ``--rate`` requests per second per replica. The sidecar
then runs with the presets found by discovery (charts vllm_e2e_latency, _time_to_first_token,
_time_per_output_token, _queue_time and the aborts p chart, by model_name: 4 replicas merged
per chart series) and the windows of ``global`` below; reported are discovery, the first
cycle (the whole window fetched and judged, as after a start) and steady cycles 30 s apart,
and, with ``--per-replica``, the same estate charted per replica (``by: [model_name,
instance]``, four times the chart series). The first cycle designs each series' paging
detector (memoized on a grid of its sigma and point interval), which dominates it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from spc_rules.detectors import paging
from spc_rules.sidecar.config.loader import SidecarConfig, load_text
from spc_rules.sidecar.presetwatch import PresetWatcher
from spc_rules.sidecar.service import Sidecar
from testkit.backends import backfilled_prometheus
from testkit.engine_traffic import Process
from testkit.engines import Exposition

SCRAPE = 15.0
CHARTS = ("e2e_latency", "time_to_first_token", "time_per_output_token", "queue_time", "aborts")
GLOBAL = "global: {evaluation: 1h, baseline: 1h, lookback: 1m}\n"
HISTOGRAMS = {  # name: (median seconds, log sigma, observations per request)
    "vllm:e2e_request_latency_seconds": (6.0, 0.6, "request"),
    "vllm:time_to_first_token_seconds": (0.25, 0.4, "request"),
    "vllm:time_per_output_token_seconds": (0.03, 0.2, "token"),
    "vllm:request_queue_time_seconds": (0.02, 0.8, "request"),
}


def series_per_replica() -> int:
    """What one vLLM replica exports for these families once every finish reason occurred."""
    process = Process("vllm", {"model_name": "m", "engine": "0"}, np.random.default_rng(0))
    process.run(600.0)
    return len(Exposition.samples(process.metrics))


def write_estate(path: Path, models: int, replicas: int, scrapes: int, rate: float) -> None:
    rng = np.random.default_rng(50)
    end = float(int(time.time()) // 15 * 15 - 15)
    base = end - SCRAPE * np.arange(scrapes)[::-1]
    # stored name -> (labels, timestamps, values)
    columns: dict[str, list[tuple[str, list[str], np.ndarray]]] = {}
    for m in range(models):
        for r in range(replicas):
            labels = f'model_name="model-{m:02d}",engine="0",instance="10.1.{m}.{r}:8000"'
            # Prometheus scrapes each replica at its own offset within the interval.
            offset = SCRAPE * ((m * replicas + r) * 0.618 % 1.0) - SCRAPE
            stamps = [f"{t:.3f}" for t in base + offset]
            requests = rng.poisson(rate * SCRAPE, scrapes)
            edges = np.concatenate(([0], np.cumsum(requests)))
            tokens = rng.integers(20, 400, int(edges[-1])) - 1
            for name, (median, sigma, per) in HISTOGRAMS.items():
                values = median * rng.lognormal(0.0, sigma, int(edges[-1]))
                weight = tokens if per == "token" else np.ones_like(tokens)
                sums = np.add.reduceat(np.append(values * weight, 0.0), edges[:-1])
                counts = np.add.reduceat(np.append(weight, 0), edges[:-1])
                columns.setdefault(f"{name}_sum", []).append((labels, stamps, np.cumsum(sums)))
                columns.setdefault(f"{name}_count", []).append((labels, stamps, np.cumsum(counts)))
            aborted = np.cumsum(rng.binomial(requests, 0.01))
            done = np.cumsum(requests)
            for reason, column in (("abort", aborted), ("stop", done - aborted)):
                tagged = f'{labels},finished_reason="{reason}"'
                columns.setdefault("vllm:request_success_total", []).append(
                    (tagged, stamps, column)
                )
    with path.open("w") as out:
        for name, rows in columns.items():  # one family after the other, as OpenMetrics wants
            out.write(f"# TYPE {name} unknown\n")
            for labels, stamps, column in rows:
                out.write(
                    "".join(
                        f"{name}{{{labels}}} {float(v)!r} {ts}\n"
                        for v, ts in zip(column.tolist(), stamps, strict=True)
                    )
                )
        out.write("# EOF\n")


async def run(config: SidecarConfig, url: str, steady: int) -> list[float]:
    """Cycle seconds: the first (whole window, paging designs not yet memoized, as in a new
    process), then ``steady`` cycles 30 s apart."""
    paging._design.cache_clear()
    clock = [time.time() - 30.0 * steady]
    sidecar = Sidecar(lambda: config, url, clock=lambda: clock[0])
    seconds = []
    try:
        for i in range(steady + 1):
            clock[0] += 30.0 if i else 0.0
            assert await sidecar.cycle(), "a cycle failed"
            seconds.append(sum(sidecar.collector.health.stage_seconds.values()))
            if i == 0:
                print(f"paging designs computed in the first cycle: {paging._design.cache_info()}")
    finally:
        await sidecar.aclose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--replicas", type=int, default=4)
    parser.add_argument("--hours", type=float, default=2.25)
    parser.add_argument("--rate", type=float, default=0.5)
    parser.add_argument("--steady", type=int, default=10)
    parser.add_argument(
        "--per-replica", action="store_true", help="also chart by model_name and instance"
    )
    args = parser.parse_args()
    scrapes = int(args.hours * 3600 / SCRAPE)
    per_replica = series_per_replica()
    replicas = args.models * args.replicas
    print(f"vLLM series per replica (buckets included): {per_replica}")
    print(f"estate: {replicas} replicas, {per_replica * replicas} series; read by the presets: ")
    print(f"  {11 * replicas} (4 histograms' _sum and _count, 3 finished_reason counters)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "estate.om"
        t0 = time.perf_counter()
        write_estate(source, args.models, args.replicas, scrapes, args.rate)
        print(f"generated {source.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f}s")
        with backfilled_prometheus(source) as prom:
            source.unlink()
            watcher = PresetWatcher(prom.url)
            t0 = time.perf_counter()
            merged = watcher.apply(load_text(GLOBAL + "presets: [vllm]\n", "bench"))
            discovery = time.perf_counter() - t0
            per_instance = load_text(
                GLOBAL
                + "presets: none\ncharts:\n"
                + "".join(
                    f"  - {{preset: vllm/{c}, by: [model_name, instance]}}\n" for c in CHARTS
                ),
                "bench",
            )
            asyncio.run(run(merged, prom.url, 1))  # warms Prometheus' caches
            by_model = asyncio.run(run(merged, prom.url, args.steady))
            by_replica = (
                asyncio.run(run(per_instance, prom.url, args.steady)) if args.per_replica else []
            )
    names = ", ".join(c.name for c in merged.charts)
    print(f"\ndiscovery (one label-values request): {discovery:.3f} s; charts: {names}")
    print("\n| chart series | first cycle | steady cycle, best (median) |\n|---|---|---|")
    for label, seconds, count in (
        ("by model_name (4 replicas merged)", by_model, args.models),
        ("by model_name, instance", by_replica, replicas),
    ):
        if not seconds:
            continue
        steady = seconds[1:]
        print(
            f"| {label}: {count * 5} | {seconds[0]:.2f} s | "
            f"{min(steady):.3f} s ({statistics.median(steady):.3f} s) |"
        )
    if by_replica:
        ratio = statistics.median(by_replica[1:]) / statistics.median(by_model[1:])
        print(f"\nper replica / per model, steady cycle (medians): {ratio:.2f}x")


if __name__ == "__main__":
    main()
