"""SPC engine speed: phase I limits plus all eight Nelson rules on 10,000 series x 1,000 points.

Run from the repository root:  .venv/bin/python -m benchmarks.bench_spc [--series 10000]

Pinned to one core. Each series: a baseline of the first 500 points (phase I with the default
refits), then all 1,000 points judged against those limits (the window keeps the baseline as
context for runs, as the sidecar does). Two inputs: individuals, and X-bar points with a
subgroup size per point and NaN padding at the end of rows. The plain-loop reference
(testkit/spc_reference.py) runs the same work on a subset of series in the same process and is
scaled to the full batch; the results are checked equal on that subset.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from spc_rules import capability_batch, cusum, ewma, fit_limits_batch, judge
from testkit.spc_reference import fit_loop, nelson_loop

BASELINE = 500


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(best, median) wall seconds over `repeat` runs after one warm-up, and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times), result


def make_inputs(
    series: int, points: int, rng: np.random.Generator
) -> dict[str, tuple[NDArray[np.float64], NDArray[np.float64] | None]]:
    individuals = rng.standard_normal((series, points))
    n = rng.integers(1, 6, size=(series, points)).astype(np.float64)
    xbar = 5.0 + rng.standard_normal((series, points)) / np.sqrt(n)
    for row, length in enumerate(rng.integers(BASELINE + 100, points + 1, size=series)):
        xbar[row, length:] = np.nan  # ragged series, padded with NaN
    return {"individuals": (individuals, None), "X-bar, n = 1..5, NaN padded": (xbar, n)}


def engine(values: NDArray[np.float64], n: NDArray[np.float64] | None) -> Any:
    base_n = None if n is None else n[:, :BASELINE]
    limits = fit_limits_batch(values[:, :BASELINE], base_n)
    return limits, judge(values, limits, n)


def loops(values: NDArray[np.float64], n: NDArray[np.float64] | None) -> list[Any]:
    out = []
    for i, row in enumerate(values.tolist()):
        sizes = None if n is None else n[i].tolist()
        fit = fit_loop(row[:BASELINE], None if sizes is None else sizes[:BASELINE])
        center, sigma = (fit[0], fit[1]) if fit else (float("nan"), float("nan"))
        out.append(nelson_loop(row, center, sigma, sizes))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--points", type=int, default=1_000)
    parser.add_argument("--loop-series", type=int, default=100, help="subset for the loops")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = np.random.default_rng(0)
    size = f"{args.series:,} series x {args.points:,} points"
    print(f"## SPC engine ({size}, one core, numpy {np.__version__})\n")
    print("| input | limits + rules 1-8, best (median) | plain loops, scaled | speed-up |")
    print("|---|---|---|---|")
    for name, (values, n) in make_inputs(args.series, args.points, rng).items():
        best, median, (limits, flags) = timed(partial(engine, values, n), args.repeat)
        sub = args.loop_series
        start = time.perf_counter()
        reference = loops(values[:sub], None if n is None else n[:sub])
        loop_time = (time.perf_counter() - start) * args.series / sub
        assert np.array_equal(flags[:, :sub], np.array(reference, dtype=bool).transpose(1, 0, 2))
        print(
            f"| {name} | {best:.3f} s ({median:.3f} s) | {loop_time:.1f} s "
            f"({sub} series timed) | {loop_time / best:.0f}x |"
        )
    values, n = make_inputs(args.series, args.points, rng)["individuals"]
    limits = fit_limits_batch(values[:, :BASELINE])
    parts: dict[str, Callable[[], Any]] = {
        "phase I fit alone (500-point baselines, refits)": lambda: fit_limits_batch(
            values[:, :BASELINE]
        ),
        "rules 1-8 alone (1,000 points)": lambda: judge(values, limits),
        "EWMA (1,000 points)": lambda: ewma(values, limits.center, limits.sigma),
        "CUSUM (1,000 points)": lambda: cusum(values, limits.center, limits.sigma),
        "Cp/Cpk/Pp/Ppk (1,000 points)": lambda: capability_batch(values, usl=3.5, lsl=-3.5),
    }
    print("\n| part, individuals | best (median) |")
    print("|---|---|")
    for label, fn in parts.items():
        best, median, _ = timed(fn, args.repeat)
        print(f"| {label} | {best:.3f} s ({median:.3f} s) |")


if __name__ == "__main__":
    main()
