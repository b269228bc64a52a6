"""Average run lengths of the SPC engine, by vectorized simulation.

Run from the repository root:  .venv/bin/python -m benchmarks.arl [--runs 20000] [--seed 1]

Prints (as Markdown, for docs/spc.md):
1. ARL0 of independent N(0, 1) points, center 0 and sigma 1 known, zero state, for rule 1, the
   Western Electric set (rules 1, 5, 6 and rule 2 with a run of 8), all eight Nelson rules,
   CUSUM k=0.5 h=5 and EWMA lambda=0.1 L=2.7, next to docs/spc.md's published values;
2. out-of-control ARL for mean shifts of 0.5, 1, 2 and 3 sigma (rule 1 also exactly);
3. false alarms per point on log-normal latency, limits fitted on a baseline, with and
   without the log option, next to the same pipeline on normal data;
4. the same for X-bar points (means of n log-normal observations) whose subgroup size differs
   between baseline and window: the log option's log-normal subgroup model, the model it
   replaced (log of the mean, sigma / sqrt(n)), the model fitted on the raw scale instead (mean m
   and sd of one observation from the plain fit on xbar, sigma^2 = ln(1 + sd^2 / m^2)), the
   model with known parameters, and the plain model on normal subgroup means (where it is
   exact) as the reference;
5. the accuracy of that model itself: z of means of n log-normal observations against the
   true mu and sigma, per n (rule-1 rate by tail, mean and sd of z; ideally 0.0027, 0, 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

from spc_rules import MAX_REFITS, BatchLimits, Limits, fit_limits_batch, judge
from spc_rules.detectors.arl import (
    ALL_RULES,
    WESTERN_ELECTRIC,
    Detector,
    arl,
    cusum_detector,
    ewma_detector,
    nelson_detector,
    run_lengths,
)

DETECTORS: list[tuple[str, Detector, float]] = [
    ("rule 1 alone", nelson_detector((1,)), 370.4),
    ("Western Electric (1, 5, 6, 8 in a row)", nelson_detector(WESTERN_ELECTRIC, 8), 91.75),
    ("all eight Nelson rules", nelson_detector(ALL_RULES), 73.4),
    ("CUSUM k=0.5, h=5", cusum_detector(0.5, 5.0), 465.0),
    ("EWMA lambda=0.1, L=2.7", ewma_detector(0.1, 2.7), 369.0),
]
SHIFTS = (0.5, 1.0, 2.0, 3.0)
SIZES = {"1-3": (1, 3), "50-100": (50, 100), "1-100": (1, 100)}  # inclusive
SIZE_CASES = (("1-3", "50-100"), ("50-100", "1-3"), ("1-100", "1-100"))


def in_control(runs: int, rng: np.random.Generator) -> None:
    print(f"### ARL0 ({runs} runs each)\n")
    print("| chart | simulated ARL0 | standard error | published | difference / SE |")
    print("|---|---|---|---|---|")
    for name, detector, target in DETECTORS:
        mean, se = arl(run_lengths(detector, runs=runs, rng=rng))
        gap = (mean - target) / se
        print(f"| {name} | {mean:.1f} | {se:.1f} ({se / mean:.1%}) | {target} | {gap:+.2f} |")
    print()


def out_of_control(runs: int, rng: np.random.Generator) -> None:
    print(f"### ARL after a mean shift of delta sigma ({runs} runs each)\n")
    print("| chart | " + " | ".join(f"delta = {s:g}" for s in SHIFTS) + " |")
    print("|---|" + "---|" * len(SHIFTS))
    exact = [1.0 / (norm.sf(3.0 - s) + norm.cdf(-3.0 - s)) for s in SHIFTS]
    print("| rule 1 alone, exact 1/p | " + " | ".join(f"{e:.2f}" for e in exact) + " |")
    for name, detector, _ in DETECTORS:
        cells = []
        for shift in SHIFTS:
            mean, se = arl(run_lengths(detector, runs=runs, rng=rng, shift=shift))
            cells.append(f"{mean:.2f} ± {se:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print()


def false_alarms(series: int, points: int, rng: np.random.Generator) -> None:
    """Fit limits on the first half of each series (phase I), judge the second half."""
    print(f"### False alarms per point ({series} series, baseline and window of {points // 2})\n")
    print("| data | log option | phase I refits | rule 1 | any of rules 1-8 |")
    print("|---|---|---|---|---|")
    half = points // 2
    normal = rng.standard_normal((series, points))
    skewed = {s: np.exp(s * rng.standard_normal((series, points))) for s in (0.5, 1.0)}
    cases = [
        ("normal", normal, False, 0),
        ("normal", normal, False, MAX_REFITS),
        *[
            (f"log-normal, sigma_log {s}", values, log, MAX_REFITS)
            for s, values in skewed.items()
            for log in (False, True)
        ],
    ]
    for name, values, log, refits in cases:
        limits = fit_limits_batch(values[:, :half], log=log, max_refits=refits)
        flags = judge(values, limits)[:, :, half:]
        rule1, anyrule = flags[0].mean(), flags.any(axis=0).mean()
        on = "on" if log else "off"
        print(f"| {name} | {on} | up to {refits} | {rule1:.5f} | {anyrule:.4f} |")
    print(f"| normal theory, known limits | | | {2 * norm.sf(3.0):.5f} | |")
    print()


def lognormal_means(
    rng: np.random.Generator, sigma: float, sizes: tuple[int, int], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(means, sizes): each point the mean of n log-normal observations, mu = 0. Row by row
    in float32 (tens of millions of draws), summed in float64."""
    n = rng.integers(sizes[0], sizes[1] + 1, size=shape)
    x = np.empty(shape)
    for row in range(shape[0]):
        draws = rng.standard_normal(int(n[row].sum()), dtype=np.float32)
        draws *= np.float32(sigma)
        np.exp(draws, out=draws)
        starts = np.concatenate([[0], np.cumsum(n[row])[:-1]])
        x[row] = np.add.reduceat(draws, starts, dtype=np.float64) / n[row]
    return x, n.astype(np.float64)


def raw_scale_fit(values: np.ndarray, n: np.ndarray) -> BatchLimits:
    """mu, sigma of one log-normal observation from the raw-scale moments: m the n-weighted
    mean of xbar, sd the rescaled moving ranges over d2 (the plain fit on xbar, no refits)."""
    raw = fit_limits_batch(values, n, max_refits=0)
    sigma2 = np.log1p((raw.sigma / raw.center) ** 2)
    return BatchLimits.pinned(np.log(raw.center) - sigma2 / 2, np.sqrt(sigma2), log=True)


def subgroup_false_alarms(series: int, points: int, rng: np.random.Generator) -> None:
    """Baseline of `points` subgroups of one size range, window of `points` of another."""
    print(
        f"### False alarms per point, log-normal X-bar points ({series} series, baseline and "
        f"window of {points} points each, refits up to {MAX_REFITS})\n"
    )
    print("| sigma_log | baseline n | window n | model | rule 1 | rule 2 | rule 6 | any rule |")
    print("|---|---|---|---|---|---|---|---|")
    shape = (series, points)
    for sigma in (0.3, 0.5, 1.0):
        for base_sizes, window_sizes in SIZE_CASES:
            xb, nb = lognormal_means(rng, sigma, SIZES[base_sizes], shape)
            xw, nw = lognormal_means(rng, sigma, SIZES[window_sizes], shape)
            values, n = np.hstack([xb, xw]), np.hstack([nb, nw])
            normal = rng.standard_normal(n.shape) / np.sqrt(n)
            # Whole series judged, window kept: runs may start in the baseline, as in the sidecar.
            models = {
                "before: log of the mean, sigma / sqrt(n)": judge(
                    np.log(values), fit_limits_batch(np.log(xb), nb), n
                ),
                "log-normal subgroup model": judge(values, fit_limits_batch(xb, nb, log=True), n),
                "same, fitted on the raw scale (no refits)": judge(
                    values, raw_scale_fit(xb, nb), n
                ),
                "same, mu and sigma known": judge(values, Limits(0.0, sigma, log=True), n),
                "normal data, plain model (reference)": judge(
                    normal, fit_limits_batch(normal[:, :points], nb), n
                ),
            }
            for name, flags in models.items():
                window = flags[:, :, points:]
                r1, r2, r6 = (float(window[r].mean()) for r in (0, 1, 5))
                anyrule = float(window.any(axis=0).mean())
                cells = f"{r1:.5f} | {r2:.4f} | {r6:.4f} | {anyrule:.4f}"
                print(f"| {sigma} | {base_sizes} | {window_sizes} | {name} | {cells} |")
    print()


def model_accuracy(rng: np.random.Generator, observations: int = 20_000_000) -> None:
    """z of log-normal subgroup means with known mu = 0 and sigma: the approximation alone."""
    print(
        f"### The log-normal subgroup model with known parameters ({observations:,} draws a cell)\n"
    )
    print("| sigma_log | n | points | rule 1 | z > 3 | z < -3 | mean z | sd z |")
    print("|---|---|---|---|---|---|---|---|")
    for sigma in (0.3, 0.5, 1.0):
        for size in (1, 2, 3, 10, 50, 100):
            count = min(observations // size, 2_000_000)
            x, n = lognormal_means(rng, sigma, (size, size), (1, count))
            z = Limits(0.0, sigma, log=True).zscores(x, n)
            up, down = float((z > 3).mean()), float((z < -3).mean())
            cells = f"{up + down:.5f} | {up:.5f} | {down:.5f} | {z.mean():+.3f} | {z.std():.3f}"
            print(f"| {sigma} | {size} | {count:,} | {cells} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20_000, help="runs per in-control ARL")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    in_control(args.runs, rng)
    out_of_control(args.runs // 2, rng)
    false_alarms(2_000, 2_000, rng)
    subgroup_false_alarms(400, 1_000, rng)
    model_accuracy(rng)
    print(f"(simulated in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
