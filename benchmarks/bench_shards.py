"""Sidecar shards against VictoriaMetrics: is the cycle per shard flat as the estate grows?

Run from the repository root:
  .venv/bin/python -m benchmarks.bench_shards --series 30000 --shards 3
  .venv/bin/python -m benchmarks.bench_shards --series 10000 --shards 1   (the reference)

A real VictoriaMetrics single node holds ``--hours`` of one histogram per series at 15 s,
imported over HTTP with the labels its own scrape attaches, and then scrapes the same series
live every 15 s from a target in this process (``live_estate.LiveTarget``). Every sample it
ingests, imported or scraped, passes one relabeling rule (``-relabelConfig``), a ``hashmod``
of the ``target`` label into ``llmscope_shard``, as docs/deploy.md ("Sidecars") tells an
estate to do. Each shard's sidecar (``llmscope-spc --shard i/N --shard.label
llmscope_shard``, its own process) then runs one after another, and, for the comparison, shard
0 without the label: it reads every series and keeps its share by hashing. Figures as in
``bench_sidecar_live.py``: the first cycle, the median steady cycle and its stages, /metrics
and the peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from benchmarks.bench_chart import METRIC, chart_config
from benchmarks.bench_sidecar_live import report, run_sidecar
from benchmarks.live_estate import JOB, LiveTarget, labels_of
from testkit.realservers import Prometheus, free_port, victoria_metrics

STEP = 15.0
LABEL = "llmscope_shard"
# A shorter chart than bench_sidecar_live's, so that 30,000 series import in minutes.
CONFIG = chart_config("30m", "1h")


def relabeling(shards: int) -> str:
    return (
        f"- source_labels: [target]\n  modulus: {shards}\n"
        f"  target_label: {LABEL}\n  action: hashmod\n"
    )


def import_history(
    vm: Prometheus, series: int, scrapes: int, end: float, instance: str
) -> tuple[np.ndarray, np.ndarray]:
    """``scrapes`` scrapes of one observation per series up to ``end``, in blocks of 1,000
    series; returns each series' last count and sum, where the live counters go on."""
    rng = np.random.default_rng(1)
    stamps = [str(round(t * 1000)) for t in end - STEP * np.arange(scrapes)[::-1]]
    sums = np.empty(series)
    labels = labels_of(series, instance)
    for first in range(0, series, 1000):
        lines = []
        for s in range(first, min(first + 1000, series)):
            totals = np.round(np.cumsum(rng.lognormal(0.0, 0.3, scrapes)), 6)
            sums[s] = totals[-1]
            lines += [
                f"{METRIC}_count{{{labels[s]}}} {i + 1} {ts}\n"
                f"{METRIC}_sum{{{labels[s]}}} {float(total)!r} {ts}\n"
                for i, (ts, total) in enumerate(zip(stamps, totals, strict=True))
            ]
        body = "".join(lines).encode()
        request = urllib.request.Request(
            f"{vm.url}/api/v1/import/prometheus", data=body, method="POST"
        )
        urllib.request.urlopen(request, timeout=600).close()
    urllib.request.urlopen(f"{vm.url}/internal/force_flush", timeout=600).close()
    return np.full(series, float(scrapes)), sums


@contextlib.contextmanager
def vm_estate(series: int, shards: int, hours: float) -> Iterator[str]:
    """VictoriaMetrics over ``hours`` of imported history that then scrapes it live."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        instance = f"127.0.0.1:{port}"
        relabel, scrape = Path(tmp) / "relabel.yml", Path(tmp) / "scrape.yml"
        relabel.write_text(relabeling(shards))
        scrape.write_text(
            f"global:\n  scrape_interval: {STEP:g}s\nscrape_configs:\n  - job_name: {JOB}\n"
            f"    static_configs: [{{targets: ['{instance}']}}]\n"
        )
        flags = [f"-relabelConfig={relabel}", f"-promscrape.config={scrape}"]
        with victoria_metrics(flags) as vm:
            scrapes = int(hours * 3600 / STEP)
            counts, sums = import_history(vm, series, scrapes, time.time() - STEP, instance)
            target = LiveTarget(port, counts, sums)
            target.thread.start()
            try:
                yield vm.url
            finally:
                target.server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=30000)
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--steady", type=int, default=3)
    parser.add_argument("--hours", type=float, default=1.75)
    args = parser.parse_args()
    t0 = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        vm_estate(args.series, args.shards, args.hours) as url,
    ):
        print(f"estate of {args.series} series ready in {time.perf_counter() - t0:.0f} s")
        config = Path(tmp) / "spc.yml"
        config.write_text(CONFIG)
        time.sleep(2 * STEP)  # live scrapes stored
        print(
            "\n| shard | series | first cycle | steady cycle, median (stages) | per series "
            "| /metrics | served in | peak RSS |\n|---|---|---|---|---|---|---|---|"
        )
        for i in range(args.shards):
            shard = f"{i}/{args.shards}"
            report(f"{shard} by label", run_sidecar(url, config, args.steady, shard, label=LABEL))
        if args.shards > 1:
            shard = f"0/{args.shards}"
            report(f"{shard} hashed here", run_sidecar(url, config, args.steady, shard))


if __name__ == "__main__":
    main()
