"""Paging design table: k, h, ARL0 and exact times to page/ticket at 15 s points.

Run `.venv/bin/python -m benchmarks.paging_design [interval_s]`, or `... cadences` for the time
to page at 15 s, 1 min, 5 min and 1 h points with the windows the sidecar stretches for them
(judge/cadence.py); otherwise it uses only the paging modules. Every figure is from the exact
Markov chain (zero state, which for a CUSUM is the slowest start), not a simulation. Times are
run length * point interval. The page pays for its reference's error (a mean of the sidecar's
default `paging.reference`, 1 h of points); times are at a reference without error.
"""

from __future__ import annotations

import math
import sys

from spc_rules.detectors.paging import PagingPolicy, design_for, detection_seconds
from spc_rules.detectors.runlength import arl
from spc_rules.sidecar.config.model import ChartConfig, PagingConfig
from spc_rules.sidecar.judge.cadence import effective_chart

SIGMAS = (0.3, 0.4, 0.6)
RATIOS = (1.2, 1.5, 2.0, 5.0)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def table(interval_s: float, policy: PagingPolicy | None = None) -> list[str]:
    policy = policy or PagingPolicy()
    head = " | ".join(f"{r:g}x med / p95 (min)" for r in RATIOS)
    lines = [
        f"point interval {interval_s:g} s; policy {policy}",
        "",
        f"| severity | sigma_log | k | h | h/(c-k) | ARL0 target (pts) | ARL0 iid (pts) | {head} "
        "| 2/delta^2 ln ARL0 at 2x / 1.5x (min) |",
        "|---" * (8 + len(RATIOS)) + "|",
    ]
    for severity in ("page", "ticket"):
        target = policy.target_arl0_points(severity, interval_s)
        for sigma in SIGMAS:
            points = PagingConfig().reference / interval_s if severity == "page" else math.inf
            d = design_for(
                policy,
                severity,
                log_scale=True,
                sigma_fit=sigma,
                point_interval_s=interval_s,
                reference_points=points,
            )
            cells = []
            for ratio in RATIOS:
                med, p95 = detection_seconds(d, math.log(ratio) / sigma, interval_s)
                cells.append(f"{_minutes(med)} / {_minutes(p95)}")
            bound = [
                2 * math.log(target) / (math.log(r) / sigma) ** 2 * interval_s for r in (2.0, 1.5)
            ]
            iid = arl(d.h, d.k, clip=d.clip)
            lines.append(
                f"| {severity} | {sigma} | {d.k:.3f} | {d.h:.2f} | {d.h / (d.clip - d.k):.1f} "
                f"| {target:.3g} | {iid:.3g} | " + " | ".join(cells) + " | "
                f"{_minutes(bound[0])} / {_minutes(bound[1])} |"
            )
    return lines


CADENCES = (15.0, 60.0, 300.0, 3600.0)


def cadence_table() -> list[str]:
    """Time to page per cadence, with the windows the sidecar stretches for it
    (judge/cadence.py): the page's reference holds (reference x scale) / cadence points."""
    chart = ChartConfig("latency", "m")
    cells = " | ".join(f"{r:g}x median / p95 (points; time)" for r in (1.5, 2.0, 3.0))
    lines = [
        f"| cadence | scale | reference points | sigma_log | h | {cells} |",
        "|---" * 8 + "|",
    ]
    for cadence in CADENCES:
        judged = effective_chart(chart, cadence)
        points = judged.paging.reference / cadence
        for sigma in SIGMAS:
            try:
                d = design_for(
                    judged.paging.policy,
                    "page",
                    log_scale=True,
                    sigma_fit=sigma,
                    point_interval_s=cadence,
                    reference_points=points,
                )
            except (ValueError, RuntimeError):
                lines.append(
                    f"| {cadence:g} s | {judged.cadence_scale} | {points:g} | {sigma} "
                    "| no h | not judged: the reference is too short for this sigma |||"
                )
                continue
            row = []
            for ratio in (1.5, 2.0, 3.0):
                med, p95 = d.run_length_quantiles(math.log(ratio) / sigma)
                row.append(f"{med} / {p95}; {_span(med * cadence)} / {_span(p95 * cadence)}")
            lines.append(
                f"| {cadence:g} s | {judged.cadence_scale} | {points:g} | {sigma} | {d.h:.2f} | "
                + " | ".join(row)
                + " |"
            )
    return lines


def _span(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 3 * 3600 else f"{seconds / 3600:.0f} h"


def main() -> None:
    if sys.argv[1:] == ["cadences"]:
        print("\n".join(cadence_table()))
        return
    interval = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
    print("\n".join(table(interval)))


if __name__ == "__main__":
    main()
