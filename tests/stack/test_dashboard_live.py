"""Every dashboard query returns data from a real stack: exporter, Prometheus, sidecar.

A panel may stay empty only for a reason listed below, and only while the exporter's own
/metrics proves that reason (no sample starting with the named prefix): on a machine with
a GPU, the GPU panels must fill too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tests.stack.dashboards import Expr, expressions, load_all, panels, substitute
from tests.stack.livestack import CHART, live_stack
from tests.stack.promapi import instant

# $__rate_interval as Grafana computes it for a 1 s scrape interval is 4 s; 10 s keeps
# several samples in every window without waiting long.
VALUES = {
    "__rate_interval": "10s",
    "__interval": "1s",
    "__range": "1h",
    "target": ".*",
    "instance": ".*",
    "job": ".*",
    "chart": CHART,
    "series": ".*",
    "errors": ".*",
    # The hidden variables from llmscope_spc_chart_info of the stack's chart.
    "metric": "gen_ai_client_operation_duration_seconds",
    "selector": 'error_type=""',
    "by": "target",
    "engine": ".*",
}
DEADLINE = 45.0


@dataclass(frozen=True)
class Gap:
    """Panels (by dashboard uid and title) allowed to be empty, and why."""

    reason: str
    absent: str  # no exporter sample may start with this while the gap is claimed
    panels: frozenset[tuple[str, str]]


def _host(*titles: str) -> frozenset[tuple[str, str]]:
    return frozenset(("llmscope-host-gpu", t) for t in titles)


GAPS = (
    Gap(
        "no NVIDIA GPU or driver on this machine",
        "llmscope_gpu_",
        _host(
            "GPU temperature and peak",
            "GPU power, peak and limit",
            "GPU mean power from the energy counter",
            "GPU energy in the time range",
            "Peak power in the time range",
            "Peak temperature in the time range",
            "GPU utilization",
            "GPU memory",
            "GPU clocks",
            "Clock slowdowns",
            "Fan speed",
            "ECC errors",
        ),
    ),
    Gap(
        "no GPU energy counter (no GPU, or older than Volta), so no energy is charged to "
        "sim-priced's probes (gpu: all)",
        "llmscope_target_energy_joules_total",
        _host(
            "Energy per output token",
            "Mean GPU power while probing",
            "Energy charged in the time range",
            "variable: target",
        ),
    ),
    Gap(
        "no RAPL counter readable (no /sys/class/powercap, or energy_uj readable by root only)",
        "llmscope_cpu_energy_joules_total",
        _host("CPU power from RAPL"),
    ),
    Gap(
        "NVML reports no fans (data-centre cards)",
        "llmscope_gpu_fan_speed_ratio",
        _host("Fan speed"),
    ),
    Gap(
        "NVML reports no ECC counts (consumer cards)",
        "llmscope_gpu_ecc_errors_total",
        _host("ECC errors"),
    ),
    Gap(
        "no physical network interface is visible (containers show only virtual ones)",
        "llmscope_host_network_",
        _host("Network throughput", "Network errors"),
    ),
    Gap(
        "no whole disk is visible",
        "llmscope_host_disk_",
        _host("Disk busy", "Disk throughput", "Disk operations"),
    ),
)


def _samples(exposition: str) -> list[str]:
    return [line for line in exposition.splitlines() if line and not line.startswith("#")]


def _allowed_gaps(exposition: str) -> dict[tuple[str, str], str]:
    samples = _samples(exposition)
    allowed: dict[tuple[str, str], str] = {}
    for gap in GAPS:
        if not any(s.startswith(gap.absent) for s in samples):
            allowed |= dict.fromkeys(gap.panels, gap.reason)
    return allowed


def _all_expressions() -> list[Expr]:
    return [e for d in load_all().values() for e in expressions(d)]


def _empty(url: str, exprs: list[Expr]) -> dict[Expr, str]:
    """Expressions without data now, with what Prometheus said."""
    out = {}
    for expr in exprs:
        query = substitute(expr.expr, VALUES)
        if expr.panel.startswith("annotation:"):
            # Grafana evaluates annotations over the dashboard's range, not at its end: an
            # event (a model change) counts wherever it fell in the last minutes.
            query = f"({query})[5m:1s]"
        answer = instant(url, query)
        if answer.error or not answer.result:
            out[expr] = answer.error or "no data"
    return out


def test_gaps_name_existing_panels() -> None:
    titles = {(d["uid"], p["title"]) for d in load_all().values() for p in panels(d)}
    titles |= {(e.dashboard, e.panel) for e in _all_expressions()}
    for gap in GAPS:
        assert gap.panels <= titles, gap.panels - titles


def test_every_panel_query_returns_data_from_the_live_stack(tmp_path: Path) -> None:
    exprs = _all_expressions()
    with live_stack(tmp_path) as stack:
        deadline = time.monotonic() + DEADLINE
        while True:
            allowed = _allowed_gaps(stack.exporter.metrics())
            empty = _empty(stack.prometheus.url, exprs)
            unexplained = {
                e: why for e, why in empty.items() if (e.dashboard, e.panel) not in allowed
            }
            if not unexplained or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        # Sanity: the sidecar judged the pinned chart and flagged its points.
        flagged = instant(stack.prometheus.url, 'llmscope_spc_violation_active{rule="1"} == 1')
    report = "\n".join(f"{e.where}: {why}\n    {e.expr}" for e, why in unexplained.items())
    assert not unexplained, f"queries without data after {DEADLINE:.0f}s:\n{report}"
    assert flagged.result
