"""A live estate for the sidecar benchmarks: a real Prometheus backfilled with hours of one
histogram per series, which then goes on live, scraped from a target in this process.

The backfilled samples carry the ``job`` and ``instance`` labels the scrape attaches, so the
backfill and the live samples are one stored series each, as in an estate whose Prometheus
has run for hours; the live counters continue the backfilled ones. The backfill ends where
the live scrapes begin, minus the time the blocks took to build (a gap, as after a restart of
Prometheus).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from benchmarks.bench_chart import METRIC
from testkit.backends import BackfilledPrometheus
from testkit.realservers import PROMTOOL, free_port, require

JOB = "live"


def labels_of(series: int, instance: str = "") -> list[str]:
    """The series' labels; with ``instance``, also those the scrape attaches."""
    scraped = f'job="{JOB}",instance="{instance}",' if instance else ""
    return [f'{scraped}target="t{s:05d}"' for s in range(series)]


def write_backfill(
    path: Path, series: int, scrapes: int, end: float, step: float, instance: str
) -> tuple[np.ndarray, np.ndarray]:
    """``scrapes`` scrapes of one observation each, ``step`` apart up to ``end``; returns
    each series' last count and sum, where its live counters go on."""
    rng = np.random.default_rng(1)
    stamps = [f"{t:.3f}" for t in end - step * np.arange(scrapes)[::-1]]
    sums = np.empty(series)
    with path.open("w") as out:
        out.write(f"# TYPE {METRIC} histogram\n")
        for s, labels in enumerate(labels_of(series, instance)):
            totals = np.round(np.cumsum(rng.lognormal(0.0, 0.3, scrapes)), 6)
            sums[s] = totals[-1]
            out.write(
                "".join(
                    f'{METRIC}_bucket{{{labels},le="+Inf"}} {i + 1} {ts}\n'
                    f"{METRIC}_count{{{labels}}} {i + 1} {ts}\n"
                    f"{METRIC}_sum{{{labels}}} {float(total)!r} {ts}\n"
                    for i, (ts, total) in enumerate(zip(stamps, totals, strict=True))
                )
            )
        out.write("# EOF\n")
    return np.full(series, float(scrapes)), sums


class LiveTarget:
    """Serves the series' histograms; each scrape brings one observation per series."""

    def __init__(self, port: int, counts: np.ndarray, sums: np.ndarray) -> None:
        self.counts, self.sums = counts.copy(), sums.copy()
        self.rng = np.random.default_rng(2)
        self.labels = labels_of(counts.size)
        self.lock = threading.Lock()
        self.scrapes = 0
        target = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = target.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def exposition(self) -> str:
        with self.lock:
            self.counts += 1
            self.sums += np.round(self.rng.lognormal(0.0, 0.3, self.counts.size), 6)
            self.scrapes += 1
            counts, sums = self.counts.tolist(), self.sums.tolist()
        lines = [f"# TYPE {METRIC} histogram\n"]
        for labels, n, total in zip(self.labels, counts, sums, strict=True):
            lines.append(
                f'{METRIC}_bucket{{{labels},le="+Inf"}} {n:.0f}\n'
                f"{METRIC}_count{{{labels}}} {n:.0f}\n"
                f"{METRIC}_sum{{{labels}}} {total!r}\n"
            )
        return "".join(lines)


@dataclass(frozen=True)
class Estate:
    url: str  # of Prometheus
    target: LiveTarget


@contextlib.contextmanager
def live_estate(series: int, scrapes: int, end: float, step: float = 15.0) -> Iterator[Estate]:
    """Prometheus over ``scrapes`` backfilled scrapes ending at ``end``, then scraping the
    live target every ``step`` seconds."""
    directory = Path(tempfile.mkdtemp(prefix="llmscope-live-"))
    port = free_port()
    instance = f"127.0.0.1:{port}"
    try:
        source = directory / "backfill.om"
        counts, sums = write_backfill(source, series, scrapes, end, step, instance)
        blocks = [require(PROMTOOL), "tsdb", "create-blocks-from", "openmetrics"]
        subprocess.run(
            [*blocks, str(source), str(directory / "data")],
            check=True,
            capture_output=True,
        )
        source.unlink()
        (directory / "prometheus.yml").write_text(
            f"global:\n  scrape_interval: {step:g}s\n  scrape_timeout: {step:g}s\n"
            f"scrape_configs:\n  - job_name: {JOB}\n"
            f"    static_configs: [{{targets: ['{instance}']}}]\n"
        )
        target = LiveTarget(port, counts, sums)
        target.thread.start()
        backend = BackfilledPrometheus(directory)
        try:
            backend.start()
            yield Estate(backend.url, target)
        finally:
            backend.stop()
            target.server.shutdown()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
