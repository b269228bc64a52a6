"""The running sidecar (``llmscope-spc``, its own process) against a live-scraped Prometheus.

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_sidecar_live --series 10000 [--steady 3] [--shards 1]

A real Prometheus holds 3 h 10 min of one histogram per series at 15 s (backfilled, with the
labels the scrape attaches), then scrapes the same series live every 15 s from a target in
this process (``live_estate.py``), so the sidecar's steady cycles read what a running estate
gives them: backfilled blocks, the gap while Prometheus started, and fresh scrapes in its
head block. The sidecar judges one chart (2 h rolling baseline, 1 h evaluation, EWMA, CUSUM,
a USL) every 30 s with its real clock. Reported from its own /metrics: the first cycle and the
median of the steady cycles after it (``llmscope_spc_cycle_duration_seconds`` by stage),
/metrics' size and the time to fetch it, and the sidecar's peak RSS (VmHWM). With
``--shards N`` the series are split over N sidecars (``--shard i/N``), run one after another
against the same backend, each with all of its own series. With ``--baseline-tree DIR`` the
sidecar of another checkout runs first against the same estate (before and after, one run).
Before any sidecar, the first cycle's queries are answered once (timed, cold and warm):
Prometheus' first read of freshly backfilled blocks is slow, and the first sidecar to run
would otherwise pay it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from benchmarks.bench_chart import chart_config
from benchmarks.live_estate import live_estate
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.query import fetching
from spc_rules.sidecar.query.decode import Body, RawSeries
from spc_rules.sidecar.query.promapi import PromClient
from testkit.realservers import free_port, wait_ready

STEP = 15.0
CONFIG = chart_config()


@dataclass(frozen=True)
class Run:
    first: dict[str, float]
    steady: list[dict[str, float]]
    metrics_bytes: int
    metrics_seconds: float
    series: int
    peak_rss_mib: float


def scrape(url: str) -> tuple[bytes, float]:
    start = time.perf_counter()
    with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
        body = response.read()
    return body, time.perf_counter() - start


def sample(text: bytes, name: str) -> dict[str, float]:
    """The samples of an unlabelled or singly labelled family, by their label value."""
    out = {}
    for line in text.decode().splitlines():
        if line.startswith(name):
            head, _, value = line.rpartition(" ")
            label = head.partition('="')[2].rstrip('"}')
            out[label] = float(value)
    return out


def run_sidecar(
    prometheus: str,
    config: Path,
    steady: int,
    shard: str,
    tree: Path | None = None,
    label: str = "",
) -> Run:
    """One sidecar's cycles; ``tree``: the checkout its code comes from (default: this one);
    ``label``: the shard label the backend numbered the series with (--shard.label)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = [sys.executable, "-m", "spc_rules", f"--config.file={config}"]
    args += [f"--prometheus.url={prometheus}", f"--web.listen-address=127.0.0.1:{port}"]
    args += [f"--shard={shard}", f"--shard.label={label}"] if label else [f"--shard={shard}"]
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    process = subprocess.Popen([*args, "--log.level=warn"], env=env, cwd=tree)
    try:
        wait_ready(f"{url}/-/healthy", process)
        cycles: list[dict[str, float]] = []
        seen = 0.0
        while len(cycles) < steady + 1:
            time.sleep(1.0)
            body, _ = scrape(url)
            done = sample(body, "llmscope_spc_cycles_total").get("", 0.0)
            if done > seen:
                seen = done
                cycles.append(sample(body, "llmscope_spc_cycle_duration_seconds{"))
        body, seconds = scrape(url)  # between cycles: what Prometheus' scrape would get
        series = sample(body, "llmscope_spc_series{").get("bench", 0.0)
        status = Path(f"/proc/{process.pid}/status").read_text()
        hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        return Run(
            cycles[0], cycles[1:], len(body), seconds, int(series), int(hwm.split()[1]) / 1024
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def answer_seconds(prometheus: str) -> float:
    """Seconds Prometheus takes to answer a first cycle's queries (the sidecar's own plan and
    query stage, nothing decoded)."""
    config = load_text(CONFIG, "bench")
    wanted = fetching.plan(config, time.time(), {}, {}).queries()

    async def ignored(body: Body) -> list[RawSeries]:
        return []

    async def fetch() -> float:
        client = PromClient(prometheus, timeout=config.query_timeout)
        try:
            start = time.perf_counter()
            await fetching.query(client, config, wanted, ignored)
            return time.perf_counter() - start
        finally:
            await client.aclose()

    return asyncio.run(fetch())


def total(stages: dict[str, float]) -> float:
    return sum(stages.values())


def report(shard: str, run: Run) -> None:
    med = {k: statistics.median(c[k] for c in run.steady) for k in run.first}
    stages = ", ".join(f"{k} {v:.3f}" for k, v in med.items())
    first = ", ".join(f"{k} {v:.2f}" for k, v in run.first.items())
    per = 1e6 / max(run.series, 1)
    print(
        f"| {shard} | {run.series} | {total(run.first):.2f} s ({first}) "
        f"| {statistics.median(total(c) for c in run.steady):.3f} s ({stages}) "
        f"| {statistics.median(total(c) for c in run.steady) * per:.0f} us "
        f"| {run.metrics_bytes / 1e6:.1f} MB, {run.metrics_bytes / max(run.series, 1):.0f} B "
        f"| {run.metrics_seconds:.3f} s | {run.peak_rss_mib:.0f} MiB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--steady", type=int, default=3)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        help="another checkout (e.g. a worktree of main): its sidecar runs first against the "
        "same estate, so before and after compare in one run",
    )
    args = parser.parse_args()
    scrapes = int((3 * 3600 + 600) / STEP)
    end = time.time() - 60.0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, live_estate(args.series, scrapes, end, STEP) as est:
        print(f"estate of {args.series} series ready in {time.perf_counter() - t0:.0f} s")
        config = Path(tmp) / "spc.yml"
        config.write_text(CONFIG)
        time.sleep(2 * STEP)  # live scrapes in Prometheus' head block
        # Prometheus' first read of its backfilled blocks is slow (a running server has read
        # them before): answered once here, so every sidecar below meets the same server.
        cold, warm = answer_seconds(est.url), answer_seconds(est.url)
        print(f"Prometheus answering a first cycle's queries: {cold:.2f} s cold, {warm:.2f} s warm")
        print(
            "\n| shard | series | first cycle | steady cycle, median (stages) | per series "
            "| /metrics | served in | peak RSS |\n|---|---|---|---|---|---|---|---|"
        )
        if args.baseline_tree is not None:
            run = run_sidecar(est.url, config, args.steady, "0/1", args.baseline_tree.resolve())
            report(f"0/1 ({args.baseline_tree.name})", run)
        for i in range(args.shards):
            shard = f"{i}/{args.shards}"
            report(shard, run_sidecar(est.url, config, args.steady, shard))
        print(f"load average after the runs: {os.getloadavg()}")
        print(f"\nlive scrapes served: {est.target.scrapes}")


if __name__ == "__main__":
    main()
