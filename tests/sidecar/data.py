"""Known histogram series for the sidecar's tests: generated observations, the counters a
scrape would have stored, and the points an exact rebuild must find.

The expected points are worked out from the generator's own bookkeeping (which scrape closed
which observations, where the process restarted), not by the sidecar's rebuild, and use the
very cumulative numbers written to the backend, so both sides see the same floats.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

METRIC = "test_duration_seconds"
SCRAPE = 15.0
# The chart the tests judge the fleet with (an item of `charts:`); tests append keys.
LATENCY_CHART = f"""
  - name: latency
    metric: {METRIC}
    selector: '{{error_type=""}}'
    by: [target]
    evaluation: 30m
    baseline: 1h
"""


@dataclass(frozen=True)
class Scrape:
    ts: float
    count: float
    total: float


@dataclass
class Series:
    labels: dict[str, str]
    scrapes: list[Scrape] = field(default_factory=list)
    # (timestamp, n) of every scrape that closes a point: n > 0 observations since the last
    # scrape, and no restart in between.
    closes: list[tuple[float, int]] = field(default_factory=list)

    def points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(timestamps, values, sizes) of the points, from the stored cumulative numbers."""
        by_ts = {s.ts: i for i, s in enumerate(self.scrapes)}
        ts, values, sizes = [], [], []
        for stamp, n in self.closes:
            i = by_ts[stamp]
            prev, cur = self.scrapes[i - 1], self.scrapes[i]
            ts.append(stamp)
            values.append((cur.total - prev.total) / (cur.count - prev.count))
            sizes.append(float(n))
        return np.array(ts), np.array(values), np.array(sizes)


class _Counter:
    """One process's histogram: observations accumulate until it restarts."""

    def __init__(self, series: Series, start_count: float = 0.0) -> None:
        self.series = series
        self.count = start_count
        self.total = 0.0
        self.pending = 0
        self.fresh = True  # no scrape stored since the start or restart

    def observe(self, values: Iterable[float]) -> None:
        for v in values:
            self.count += 1
            # Microsecond resolution keeps every stored total within 12 significant digits,
            # all VictoriaMetrics keeps, so both backends return exactly what was written.
            self.total = round(self.total + float(v), 6)
            self.pending += 1

    def restart(self) -> None:
        self.count, self.total, self.pending, self.fresh = 0.0, 0.0, 0, True

    def scrape(self, ts: float) -> None:
        if self.pending and not self.fresh:
            self.series.closes.append((ts, self.pending))
        self.series.scrapes.append(Scrape(ts, self.count, self.total))
        self.pending, self.fresh = 0, False


def generate(end: float, scrapes: int, seed: int = 7) -> list[Series]:
    """The test fleet, scrapes every 15s up to ``end``; see each block for its purpose."""
    rng = np.random.default_rng(seed)
    times = end - SCRAPE * np.arange(scrapes)[::-1]
    shift_from = len(times) - 40  # the newest 40 scrapes (10 min) of some series shift up
    fleet = []

    # Individuals, in control, then a shift up by 1.5 sigma of ln(x): rules must fire.
    steady = _Counter(Series({"target": "steady", "error_type": ""}))
    # Individuals with two restarts: one inside the baseline, one in the evaluation window.
    restart = _Counter(Series({"target": "restart", "error_type": ""}), start_count=500.0)
    # Real traffic: several observations per scrape (X-bar points with their own n), some
    # scrapes with none.
    traffic = _Counter(Series({"target": "traffic", "error_type": ""}))
    # Too few points for limits: one observation every 20 scrapes.
    sparse = _Counter(Series({"target": "sparse", "error_type": ""}))
    # Failed probes: the selector error_type="" must keep them out of every chart.
    failed = _Counter(Series({"target": "steady", "error_type": "timeout"}))
    # Missed scrapes: every 9th and 10th scrape is not stored at all.
    gappy = _Counter(Series({"target": "gappy", "error_type": ""}))
    for i, ts in enumerate(times):
        shift = 1.5 * 0.2 if i >= shift_from else 0.0
        steady.observe(rng.lognormal(shift, 0.2, 1))
        if i in (len(times) // 3, len(times) - 25):
            restart.restart()
        restart.observe(rng.lognormal(0.5, 0.3, 1))
        traffic.observe(rng.lognormal(-0.5, 0.4, rng.poisson(3.0)))
        if i % 20 == 0:
            sparse.observe(rng.lognormal(0.0, 0.1, 1))
        failed.observe(rng.uniform(5.0, 6.0, 1))
        gappy.observe(rng.lognormal(0.2, 0.25, 1))
        for counter in (steady, restart, traffic, sparse, failed):
            counter.scrape(float(ts))
        if i % 10 not in (8, 9):
            gappy.scrape(float(ts))
    fleet = [steady, restart, traffic, sparse, failed, gappy]
    return [c.series for c in fleet]


def openmetrics(series: Sequence[Series], metric: str = METRIC) -> str:
    """The fleet as OpenMetrics for ``promtool tsdb create-blocks-from openmetrics``."""
    lines = [f"# TYPE {metric} histogram"]
    for s in series:
        labels = ",".join(f'{k}="{v}"' for k, v in s.labels.items() if v)
        for sc in s.scrapes:
            stamp = f"{sc.ts:.3f}"
            lines.append(f'{metric}_bucket{{{labels},le="+Inf"}} {int(sc.count)} {stamp}')
            lines.append(f"{metric}_count{{{labels}}} {int(sc.count)} {stamp}")
            lines.append(f"{metric}_sum{{{labels}}} {sc.total!r} {stamp}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def exposition_ms(series: Sequence[Series], metric: str = METRIC) -> str:
    """The fleet in the Prometheus text format with millisecond timestamps, for
    VictoriaMetrics' /api/v1/import/prometheus."""
    lines = []
    for s in series:
        labels = ",".join(f'{k}="{v}"' for k, v in s.labels.items() if v)
        for sc in s.scrapes:
            stamp = round(sc.ts * 1000)
            lines.append(f"{metric}_count{{{labels}}} {int(sc.count)} {stamp}")
            lines.append(f"{metric}_sum{{{labels}}} {sc.total!r} {stamp}")
    return "\n".join(lines) + "\n"


def matrix_answer(series: Sequence[Series], metric: str = METRIC) -> bytes:
    """A Prometheus API answer holding every sample of the fleet as a range vector, written
    compactly as Prometheus writes it."""
    result: list[dict[str, object]] = []
    for s in series:
        labels = {k: v for k, v in s.labels.items() if v}
        for suffix, pick in (("_count", "count"), ("_sum", "total")):
            values = [[sc.ts, repr(float(getattr(sc, pick)))] for sc in s.scrapes]
            name = {"__name__": metric + suffix}
            result.append({"metric": name | labels, "values": values})
    doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(doc, separators=(",", ":")).encode()


def series_of(labels: dict[str, str], ts: Sequence[float], values: Sequence[float]) -> Series:
    """One observation per scrape at each of ``ts``, after an opening scrape with none."""
    counter = _Counter(Series(dict(labels)))
    counter.scrape(float(ts[0]) - SCRAPE)
    for stamp, value in zip(ts, values, strict=True):
        counter.observe([value])
        counter.scrape(float(stamp))
    return counter.series
