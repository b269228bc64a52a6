"""The sidecar's /metrics alone: bytes per chart series, rendering and serving it.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_publish [--series 10000]

One chart with every rule, EWMA, CUSUM and a USL (the chart of ``bench_sidecar.py``) is
judged once over synthetic in-control points, without Prometheus: what is measured here is
only what the results cost a scrape. Reported: the samples and bytes per chart series; the
render after a cycle (the first scrape of a cycle's results); a scrape served from the same
results again; the same with ``Accept-Encoding: gzip``; each through the sidecar's own HTTP
server on 127.0.0.1, as Prometheus fetches it.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import statistics
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.bench_chart import chart_config
from servicekit.web.server import WebServer
from spc_rules.sidecar.config.loader import load_text
from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.families import ChartView
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.publish import SidecarCollector, metrics_route
from spc_rules.sidecar.query.decode import FloatArray
from spc_rules.sidecar.query.points import Points, SeriesKey

CONFIG = chart_config("30m", "1h")
STEP = 15.0
JUDGED = 100  # series judged; the rest repeat them under new keys


def views(series: int, now: float) -> dict[str, ChartView]:
    """One chart of ``series`` in-control series, points every 15 s for 1.5 h: ``JUDGED``
    series are judged (a cold judgement is slow) and repeated under new keys up to
    ``series``, which changes neither the bytes nor the work of a scrape."""
    chart = load_text(CONFIG, "bench").charts[0]
    rng = np.random.default_rng(1)
    stamps: FloatArray = now - STEP * np.arange(360, dtype=np.float64)[::-1]
    ones = np.ones(stamps.size)
    judged = min(series, JUDGED)
    points: dict[SeriesKey, Points] = {
        (f"t{s:05d}",): Points(stamps, rng.lognormal(0.0, 0.3, stamps.size), ones, stamps[-1])
        for s in range(judged)
    }
    result, violations = ViolationLedger(counted_after=now).judge(chart, points, now)
    times = -(-series // judged)
    keys = tuple((f"t{s:05d}",) for s in range(judged * times))
    view = ChartView(
        dataclasses.replace(_tiled(result, judged, times), keys=keys),
        _tiled(violations, judged, times),
    )
    return {chart.name: _cut(view, series)}


def _tiled(value: Any, rows: int, times: int) -> Any:
    """``value`` with every per-series array (and tuple) repeated ``times``."""

    def tile(part: Any) -> Any:
        return np.concatenate([part] * times) if isinstance(part, np.ndarray) else part * times

    return _per_series(value, rows, tile)


def _cut(view: ChartView, series: int) -> ChartView:
    rows = len(view.result.keys)
    if rows == series:
        return view

    def head(part: Any) -> Any:
        return part[:series]

    keys = view.result.keys[:series]
    result = dataclasses.replace(_per_series(view.result, rows, head), keys=keys)
    return ChartView(result, _per_series(view.violations, rows, head))


def _per_series(value: Any, rows: int, change: Callable[[Any], Any]) -> Any:
    """``value`` with ``change`` applied to every array and tuple of one entry per series
    (``rows`` of them), through dicts and dataclasses (a chart's configuration excepted)."""
    if isinstance(value, np.ndarray) and value.ndim and value.shape[0] == rows:
        return change(value)
    if isinstance(value, tuple) and len(value) == rows:
        return change(value)
    if isinstance(value, dict):
        return {k: _per_series(v, rows, change) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, (type, ChartConfig)):
        fields = {
            f.name: _per_series(getattr(value, f.name), rows, change)
            for f in dataclasses.fields(value)
        }
        return dataclasses.replace(value, **fields)
    return value


def fetch(url: str, *, zipped: bool = False) -> tuple[bytes, float]:
    headers = {"Accept-Encoding": "gzip"} if zipped else {}
    start = time.perf_counter()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
        body = r.read()
        encoding = r.headers.get("Content-Encoding")
    seconds = time.perf_counter() - start
    return (gzip.decompress(body) if encoding == "gzip" else body), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    now = float(int(time.time()))
    t0 = time.perf_counter()
    judged = views(args.series, now)
    print(f"judged {args.series} series in {time.perf_counter() - t0:.1f} s")
    collector = SidecarCollector(lambda: now)
    server = WebServer("127.0.0.1:0", {"GET /metrics": metrics_route(collector)})
    server.start()
    url = f"http://127.0.0.1:{server.port}/metrics"
    first, again, zipped = [], [], []
    try:
        for _ in range(args.repeat):
            collector.views = dict(judged)  # a new cycle's results: the next scrape renders
            body, seconds = fetch(url)
            first.append(seconds)
            again.append(fetch(url)[1])
            unzipped, seconds = fetch(url, zipped=True)
            assert unzipped == body
            zipped.append(seconds)
    finally:
        server.stop()
    n = args.series
    samples = sum(1 for line in body.split(b"\n") if b'series="' in line)
    print(f"\n| {n} series | value |\n|---|---|")
    print(f"| /metrics | {len(body) / 1e6:.2f} MB |")
    print(f"| bytes per chart series | {len(body) / n:.0f} |")
    print(f"| samples per chart series | {samples / n:.1f} |")
    for label, runs in (
        ("first scrape after a cycle (render + serve)", first),
        ("scrape again, same results", again),
        ("scrape with Accept-Encoding: gzip", zipped),
    ):
        print(f"| {label} | {statistics.median(runs):.3f} s |")


if __name__ == "__main__":
    main()
