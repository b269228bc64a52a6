"""p-chart validation tables for docs/spc.md ("p-charts"): false alarms per point and paging.

Run `.venv/bin/python -m benchmarks.pchart`. Three tables:

1. Per-point false-alarm rates on in-control binomial points, p 0.001..0.2 and n 1..1,000:
   rule 1 with p known (exact binomial probability), rule 1 and any of rules 1-8 with limits
   fitted per series on a 500-point baseline and judged on the next 1,000 points (400 series).
2. The paging detector's in-control ARL over the design's (15 s points), exact discrete chain,
   on raw binomial z and on the mid-p scores the sidecar feeds it (>= 1: within the budget).
3. Exact zero-state ARL (points) after the error rate rises by a factor, page and ticket.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom

from spc_rules.detectors.discrete_runlength import discrete_arl
from spc_rules.detectors.paging import PagingPolicy, design_for
from spc_rules.engine.pchart import PLimits, fit_p, midp_scores

PS = (0.001, 0.01, 0.05, 0.2)
NS = (1, 10, 100, 1000)


def exact_rule1(n: int, p: float) -> float:
    x = np.arange(n + 1)
    z = (x / n - p) / (math.sqrt(p * (1 - p)) / math.sqrt(n))
    return float(binom.pmf(x, n, p)[np.abs(z) > 3].sum())


def fitted_rates(n: int, p: float, rng: np.random.Generator) -> tuple[float, float]:
    series, base, window = 400, 500, 1000
    events = rng.binomial(n, p, size=(series, base + window)).astype(float)
    size = np.full(events.shape, float(n))
    limits = fit_p(events[:, :base], size[:, :base])
    flags = limits.judge(events, size)[:, :, base:]
    return float(flags[0].mean()), float(flags.any(axis=0).mean())


def scores(n: int, p: float, p_true: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(n + 1, dtype=float)
    mass = binom.pmf(x, n, p_true)
    keep = mass > 1e-15
    values = midp_scores(x[keep][None, :], np.full((1, int(keep.sum())), float(n)), p)[0]
    return values, mass[keep] / mass[keep].sum()


def main() -> None:
    rng = np.random.default_rng(1)
    print("| p | n | n p | rule 1, p known (exact) | rule 1, fitted | any rule, fitted |")
    print("|---|---|---|---|---|---|")
    for p in PS:
        for n in NS:
            r1, anyrule = fitted_rates(n, p, rng)
            exact = exact_rule1(n, p)
            print(f"| {p:g} | {n} | {n * p:g} | {exact:.5f} | {r1:.5f} | {anyrule:.4f} |")
    designs = {
        s: design_for(PagingPolicy(), s, log_scale=False, sigma_fit=1.0, point_interval_s=15.0)
        for s in ("page", "ticket")
    }
    print("\n| severity | p | " + " | ".join(f"n={n} raw z / mid-p" for n in NS) + " |")
    print("|---" * (2 + len(NS)) + "|")
    for severity, d in designs.items():
        for p in PS:
            cells = []
            for n in NS:
                x = np.arange(n + 1)
                mass = binom.pmf(x, n, p)
                keep = mass > 1e-15
                raw = (x[keep] / n - p) / math.sqrt(p * (1 - p) / n)
                w = mass[keep] / mass[keep].sum()
                a_raw = discrete_arl(d.h, d.k, d.clip, raw, w) / d.arl0_points
                a_mid = discrete_arl(d.h, d.k, d.clip, *scores(n, p, p)) / d.arl0_points
                cells.append(f"{a_raw:.3g} / {a_mid:.3g}")
            print(f"| {severity} | {p:g} | " + " | ".join(cells) + " |")
    print("\n| severity | n | p | 1.5x | 2x | 3x | 5x | 10x |")
    print("|---" * 8 + "|")
    for severity, d in designs.items():
        for n, p in ((1, 0.01), (20, 0.01), (100, 0.01), (20, 0.05)):
            cells = []
            for ratio in (1.5, 2.0, 3.0, 5.0, 10.0):
                arl = discrete_arl(d.h, d.k, d.clip, *scores(n, p, min(p * ratio, 1.0)))
                cells.append(f"{arl:.3g}")
            print(f"| {severity} | {n} | {p:g} | " + " | ".join(cells) + " |")
    limits = PLimits.pinned(0.01)
    print("\npinned p 0.01: UCL at n = 20:", f"{float(limits.line(3.0, 20.0)[0]):.4f}")


if __name__ == "__main__":
    main()
