"""Average time to signal of the sidecar's alarms, measured with its own judging code.

Every case feeds simulated chart series through ``ViolationLedger.judge``, cycle after cycle:
the very call the running sidecar's compute stage makes per chart (the points each cycle sees
are those a fetch of the chart's span returns). Nothing of the
detectors is re-implemented here.

- In-control cases (issue 12): iid log-normal latency (sigma of ln x 0.3 and 0.6), 0.5% lone
  outliers of 3-10x, AR(1) with lag-1 correlation 0.3 and 0.6, a +-30% diurnal rhythm, the
  probe interval changing from 15 s to 5 s half-way, X-bar points of n 5..50. Printed: false
  pages and false tickets per week per 100 series.
- Shifts: after 8 hours in control, a step of 1.2x, 1.5x, 2x or 5x, or a +50% drift over
  6 hours, at a random time. Printed: median and 95th percentile of the time from the shift
  to the point that opened the first page episode, and to the first episode of either
  severity ("at least a ticket").

    python -m benchmarks.ats                       # the issue's sizes: 100 series x 4 weeks
    python -m benchmarks.ats --series 20 --days 2  # a quick look
    python -m benchmarks.ats --workers 16          # cases in parallel processes

The cycle is 5 minutes (``--cycle``): references refit at most every 5 minutes in the sidecar
anyway (alarms.REFIT_S), and a point's decision does not depend on when a cycle sees it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from spc_rules.sidecar.config.model import ChartConfig
from spc_rules.sidecar.config.windows import fetch_span
from spc_rules.sidecar.judge.ledger import ViolationLedger
from spc_rules.sidecar.query.points import Points, SeriesKey

STEP_S = 15.0
WEEK_S = 7 * 86_400.0
WARMUP_S = 8 * 3600.0  # in control before a shift, and before counting false alarms
CHART = ChartConfig("latency", "m", by=("series",), rules=(1,))


@dataclass(frozen=True)
class Data:
    ts: np.ndarray  # (points,) shared by every series
    values: np.ndarray  # (series, points), original scale
    sizes: np.ndarray  # (series, points)
    shift_at: np.ndarray | None = None  # per series, for shift cases


Maker = Callable[[np.random.Generator, int, float], Data]


def _iid(sigma: float) -> Maker:
    def make(rng: np.random.Generator, series: int, seconds: float) -> Data:
        ts = STEP_S * np.arange(1, int(seconds / STEP_S) + 1)
        values = rng.lognormal(0.0, sigma, (series, ts.size))
        return Data(ts, values, np.ones_like(values))

    return make


def _outliers(rng: np.random.Generator, series: int, seconds: float) -> Data:
    d = _iid(0.4)(rng, series, seconds)
    hit = rng.random(d.values.shape) < 0.005
    d.values[hit] *= rng.uniform(3.0, 10.0, int(hit.sum()))
    return d


def _ar1(rho: float) -> Maker:
    def make(rng: np.random.Generator, series: int, seconds: float) -> Data:
        ts = STEP_S * np.arange(1, int(seconds / STEP_S) + 1)
        noise = rng.normal(0.0, 0.4 * math.sqrt(1 - rho * rho), (series, ts.size))
        x = np.empty_like(noise)
        x[:, 0] = rng.normal(0.0, 0.4, series)
        for t in range(1, ts.size):
            x[:, t] = rho * x[:, t - 1] + noise[:, t]
        return Data(ts, np.exp(x), np.ones_like(x))

    return make


def _diurnal(rng: np.random.Generator, series: int, seconds: float) -> Data:
    d = _iid(0.4)(rng, series, seconds)
    phase = rng.uniform(0, 2 * math.pi, (series, 1))
    d.values[:] *= 1.0 + 0.3 * np.sin(2 * math.pi * d.ts / 86_400.0 + phase)
    return d


def _interval_change(rng: np.random.Generator, series: int, seconds: float) -> Data:
    half = seconds / 2
    ts = np.concatenate([np.arange(STEP_S, half, STEP_S), np.arange(half, seconds, 5.0)])
    values = rng.lognormal(0.0, 0.4, (series, ts.size))
    return Data(ts, values, np.ones_like(values))


def _xbar(rng: np.random.Generator, series: int, seconds: float) -> Data:
    ts = STEP_S * np.arange(1, int(seconds / STEP_S) + 1)
    n = rng.integers(5, 51, (series, ts.size)).astype(np.float64)
    # The mean of n log-normal observations (sigma 0.4), drawn through its exact moments
    # would need a sum; summing n draws per point is exact and cheap enough.
    values = np.empty(n.shape)
    for size in range(5, 51):
        where = n == size
        values[where] = rng.lognormal(0.0, 0.4, (int(where.sum()), size)).mean(axis=1)
    return Data(ts, values, n)


def _shifted(sigma: float, ratio: float, drift_s: float = 0.0) -> Maker:
    def make(rng: np.random.Generator, series: int, seconds: float) -> Data:
        d = _iid(sigma)(rng, series, seconds)
        at = WARMUP_S + rng.uniform(0, 3600.0, series)
        if drift_s:
            grow = np.clip((d.ts[None, :] - at[:, None]) / drift_s, 0.0, 1.0)
            d.values[:] *= 1.0 + (ratio - 1.0) * grow
        else:
            d.values[:] *= np.where(d.ts[None, :] >= at[:, None], ratio, 1.0)
        return Data(d.ts, d.values, d.sizes, at)

    return make


NULL_CASES: dict[str, Maker] = {
    "iid sigma 0.3": _iid(0.3),
    "iid sigma 0.6": _iid(0.6),
    "0.5% outliers 3-10x (sigma 0.4)": _outliers,
    "AR(1) rho 0.3 (sigma 0.4)": _ar1(0.3),
    "AR(1) rho 0.6 (sigma 0.4)": _ar1(0.6),
    "diurnal +-30% (sigma 0.4)": _diurnal,
    "interval 15 s -> 5 s (sigma 0.4)": _interval_change,
    "X-bar n 5..50 (sigma 0.4)": _xbar,
}
SHIFT_CASES: dict[str, Maker] = {
    f"{name} (sigma {sigma})": _shifted(sigma, ratio, drift)
    for sigma in (0.3, 0.4, 0.6)
    for name, ratio, drift in (
        ("1.2x step", 1.2, 0.0),
        ("1.5x step", 1.5, 0.0),
        ("2x step", 2.0, 0.0),
        ("5x step", 5.0, 0.0),
        ("+50% drift over 6h", 1.5, 6 * 3600.0),
    )
}


def judge(data: Data, cycle_s: float) -> dict[str, list[tuple[int, float]]]:
    """(series, timestamp) of every episode opened, per severity, by the sidecar's compute
    stage run every ``cycle_s`` over the span it would fetch."""
    ledger = ViolationLedger(counted_after=-math.inf)
    span = fetch_span(CHART) + 300.0
    keys: tuple[SeriesKey, ...] = tuple((f"s{i}",) for i in range(data.values.shape[0]))
    found: dict[str, list[tuple[int, float]]] = {"page": [], "ticket": []}
    for now in np.arange(data.ts[0] + cycle_s, data.ts[-1] + cycle_s, cycle_s).tolist():
        lo, hi = np.searchsorted(data.ts, (now - span, now), side="right")
        ts = data.ts[lo:hi]
        points = {
            key: Points(ts, data.values[i, lo:hi], data.sizes[i, lo:hi], now)
            for i, key in enumerate(keys)
        }
        result, _ = ledger.judge(CHART, points, now)
        for severity, episodes in result.alarms.items():
            for row, stamps in enumerate(episodes.opened):
                found[severity] += [(row, t) for t in stamps.tolist()]
    return found


def null_case(args: tuple[str, int, float, float, int]) -> tuple[str, float, float, float]:
    name, series, seconds, cycle_s, seed = args
    started = time.perf_counter()
    data = NULL_CASES[name](np.random.default_rng(seed), series, seconds)
    found = judge(data, cycle_s)
    weeks = (data.ts[-1] - WARMUP_S) / WEEK_S * series / 100.0
    rate = {s: sum(t > WARMUP_S for _, t in found[s]) / weeks for s in found}
    return name, rate["page"], rate["ticket"], time.perf_counter() - started


def shift_case(args: tuple[str, int, float, float, int]) -> tuple[str, list[float], list[float]]:
    name, series, _, cycle_s, seed = args
    data = SHIFT_CASES[name](
        np.random.default_rng(seed), series, WARMUP_S + 4 * 3600.0 + 6 * 3600.0
    )
    assert data.shift_at is not None
    shift_at: list[float] = data.shift_at.tolist()
    found = judge(data, cycle_s)

    def first(events: list[tuple[int, float]]) -> list[float]:
        delays = []
        for row, at in enumerate(shift_at):
            after = [t - at for r, t in events if r == row and t >= at]
            delays.append(min(after) / 60.0 if after else math.inf)
        return delays

    return name, first(found["page"]), first(found["page"] + found["ticket"])


def _quantiles(delays: list[float]) -> str:
    x = np.sort(np.array(delays))
    missed = np.count_nonzero(~np.isfinite(x))
    # Order statistics, so that a missed shift (inf) counts as the slowest one.
    med, p95 = (float(x[max(math.ceil(q * x.size) - 1, 0)]) for q in (0.5, 0.95))
    return f"{_minutes(med)} / {_minutes(p95)}" + (f" ({missed} missed)" if missed else "")


def _minutes(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "never"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", type=int, default=100)
    p.add_argument("--days", type=float, default=28.0)
    p.add_argument("--cycle", type=float, default=300.0, help="seconds between cycles")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--only", choices=("null", "shift", "both"), default="both")
    p.add_argument("--match", default="", help="only the cases whose name contains this")
    args = p.parse_args()
    seconds = args.days * 86_400.0

    def jobs(cases: dict[str, Maker], seed: int) -> list[tuple[str, int, float, float, int]]:
        return [
            (n, args.series, seconds, args.cycle, seed + i)
            for i, n in enumerate(cases)
            if args.match in n
        ]

    jobs_null, jobs_shift = jobs(NULL_CASES, 0), jobs(SHIFT_CASES, 100)
    started = time.perf_counter()
    print(
        f"# {dt.date.today()} on {platform.node()} ({os.cpu_count()} CPUs), "
        f"{args.series} series, {args.days:g} days of {STEP_S:g} s points, "
        f"{args.cycle:g} s cycles",
        flush=True,
    )
    with ProcessPoolExecutor(args.workers) as pool:
        if args.only != "shift":
            print(
                "\n| in control | false pages / week / 100 series "
                "| false tickets / week / 100 series |"
            )
            print("|---|---|---|", flush=True)
            for name, page, ticket, _ in pool.map(null_case, jobs_null):
                print(f"| {name} | {page:.2f} | {ticket:.1f} |", flush=True)
        if args.only != "null":
            print("\n| shift | time to page, minutes (median / p95) | time to a ticket or page |")
            print("|---|---|---|", flush=True)
            for name, to_page, to_any in pool.map(shift_case, jobs_shift):
                print(f"| {name} | {_quantiles(to_page)} | {_quantiles(to_any)} |", flush=True)
    print(f"\n# {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
