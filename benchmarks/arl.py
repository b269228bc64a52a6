"""Average run lengths of the SPC engine, by vectorized simulation.

Run from the repository root:  .venv/bin/python -m benchmarks.arl [--runs 20000] [--seed 1]

Prints (as Markdown, for docs/spc.md):
1. ARL0 of independent N(0, 1) points, center 0 and sigma 1 known, zero state, for rule 1, the
   Western Electric set (rules 1, 5, 6 and rule 2 with a run of 8), all eight Nelson rules,
   CUSUM k=0.5 h=5 and EWMA lambda=0.1 L=2.7, next to SPC.md's published values;
2. out-of-control ARL for mean shifts of 0.5, 1, 2 and 3 sigma (rule 1 also exactly);
3. false alarms per point on log-normal latency, limits fitted on a baseline, with and
   without the log option, next to the same pipeline on normal data.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import norm

from spc_rules import MAX_REFITS, fit_limits_batch, judge
from spc_rules._arl import (
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


def in_control(runs: int, rng: np.random.Generator) -> None:
    print(f"### ARL0 ({runs} runs each)\n")
    print("| chart | simulated ARL0 | standard error | SPC.md | difference / SE |")
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
    print(f"(simulated in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
